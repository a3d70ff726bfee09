// SPDX-License-Identifier: GPL-2.0-only
// Back-to-back live updates while clients keep opening connections: every connection opened
// during (or between) the updates gets its reply. Reproduces the lost-connection window of a
// hand-over (a connection accepted by a daemon that had not yet taken the listening socket
// over, or read and buffered by an old daemon passing it on, or still queued on the pipe to a
// daemon that is itself handing over).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, SockClient, startDaemon } from './harness.ts';

const READ = 2, WRITE = 11, CONTROL = 0;

test('connections opened during back-to-back live updates are all served', { timeout: 120_000 }, async (t) => {
  const d = await startDaemon();
  try {
    const admin = await SockClient.connect(d.path);
    assert.equal(await admin.ask(WRITE, '/storm\0here'), 'OK\0');
    let storm = true;
    let ok = 0;
    const lost: string[] = [];
    // Each storm connection sends its request at once and waits at most 8 s for the reply.
    const one = async (): Promise<void> => {
      let c: SockClient | undefined;
      try {
        c = await SockClient.connect(d.path);
        const r = await Promise.race([c.ask(READ, '/storm\0'),
          new Promise<string>((res) => setTimeout(() => res('no reply within 8 s'), 8000))]);
        if (r === 'here') ok++; else lost.push(r);
      } catch (e) { lost.push(String(e)); } finally { c?.close(); }
    };
    const loops = [0, 1, 2].map(async () => { while (storm) await one(); });
    const script = join(ROOT, 'src/host/xenstored-main.ts');
    for (let i = 0; i < 5; i++) {
      assert.equal(await admin.ask(CONTROL, `live-update\0-f\0${script}\0`), 'OK\0');
      assert.equal(await admin.ask(CONTROL, 'live-update\0-s\0'), 'OK\0', `update ${i}`);
    }
    await new Promise((r) => setTimeout(r, 300));
    storm = false;
    await Promise.all(loops);
    t.diagnostic(`${ok} connections served, ${lost.length} lost`);
    assert.deepEqual(lost, [], `${lost.length} of ${ok + lost.length} connections lost`);
    assert.ok(ok > 50, `only ${ok} connections made`);
    assert.ok(!admin.closed);
    assert.equal(await admin.ask(CONTROL, 'check\0'), 'OK\0');
    admin.close();
  } finally {
    await d.stop();
  }
});
