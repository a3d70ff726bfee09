// SPDX-License-Identifier: GPL-2.0-only
// A client that sends requests and does not read its replies: the kernel's socket buffer fills,
// libuv queues the daemon's writes (asynchronous writes keep their buffers), the daemon stops
// reading that client at 1 MiB queued, and when the client reads again every reply arrives
// intact and in order while another client is served all along.
import assert from 'node:assert/strict';
import net from 'node:net';
import { test } from 'node:test';
import { SockClient, frame, parseFrames, startDaemon } from './harness.ts';

const READ = 2, WRITE = 11;

test('replies queued behind a client that does not read arrive intact, in order; others are served', { timeout: 60_000 }, async () => {
  const d = await startDaemon();
  try {
    const admin = await SockClient.connect(d.path);
    const values: string[] = [];
    for (let i = 0; i < 8; i++) {
      values.push(String.fromCharCode(97 + i).repeat(4000) + i);
      assert.equal(await admin.ask(WRITE, `/bp/v${i}\0${values[i]}`), 'OK\0');
    }
    // 3000 pipelined READs of ~4 KiB values: ~12 MiB of replies, nobody reading.
    const s = net.connect(d.path);
    await new Promise<void>((r) => s.once('connect', () => r()));
    s.pause();
    const N = 3000;
    const reqs: Buffer[] = [];
    for (let i = 0; i < N; i++) reqs.push(frame(READ, i, 0, `/bp/v${i % 8}\0`));
    // In batches, so the daemon reads and writes many times while the client is not reading.
    for (let b = 0; b < N; b += 100) {
      s.write(Buffer.concat(reqs.slice(b, b + 100)));
      await new Promise((r) => setTimeout(r, 10));
    }
    await new Promise((r) => setTimeout(r, 500));
    // The daemon still serves others meanwhile.
    for (let i = 0; i < 20; i++) assert.equal(await admin.ask(READ, `/bp/v${i % 8}\0`), values[i % 8]);
    // Now read everything: every reply, in order, with its own bytes.
    const chunks: Buffer[] = [];
    let have = 0;
    const need = Array.from({ length: N }, (_, i) => 16 + values[i % 8]!.length).reduce((a, b) => a + b, 0);
    await new Promise<void>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`only ${have} of ${need} bytes`)), 30_000);
      s.on('data', (b: Buffer) => { chunks.push(b); have += b.length; if (have >= need) { clearTimeout(t); res(); } });
      s.resume();
    });
    const frames = parseFrames(Buffer.concat(chunks));
    assert.equal(frames.length, N);
    for (let i = 0; i < N; i++) {
      const f = frames[i]!;
      assert.equal(f.reqId, i);
      assert.equal(f.payload.toString('latin1'), values[i % 8], `reply ${i}`);
    }
    s.destroy();
    admin.close();
  } finally {
    await d.stop();
  }
});
