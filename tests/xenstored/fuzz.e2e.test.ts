// SPDX-License-Identifier: GPL-2.0-only
// Bad input: 100,000 malformed frames (unknown types, missing NULs, bad tx_ids, invalid paths,
// random garbage, oversized payloads, floods past the domain quotas) from several connections
// while a well-behaved client keeps working. The daemon must answer every bad frame with an
// error (or drop just that connection for an oversized payload), never crash, and never lose
// the good client's data. 90,000 frames go to the real daemon over its socket; the quota
// floods (10,000 frames) come from unprivileged domain connections driven in-process.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MemConn, SockClient, frame, newCore, parseFrames, startDaemon, type Frame } from './harness.ts';

const READ = 2, WATCH = 4, TX_START = 6, TX_END = 7, WRITE = 11, CONTROL = 0, ERROR = 16;

/** xorshift32: reproducible garbage. */
function rng(seed: number): () => number {
  let x = seed | 0 || 1;
  return () => { x ^= x << 13; x ^= x >>> 17; x ^= x << 5; return x >>> 0; };
}

interface Bad { bytes: Buffer; expect: string | null /* error name, or null = any single reply */ }

function badFrame(r: () => number, reqId: number): Bad {
  const kind = r() % 6;
  switch (kind) {
    case 0: { // unknown type
      let t = 23 + (r() % 0xffdc);
      if (t === 0xffff) t = 0xfffe;
      return { bytes: frame(t, reqId, 0, Buffer.from('x\0')), expect: 'ENOSYS' };
    }
    case 1: // missing NUL
      return { bytes: frame([READ, 1, 3, 12, 13][r() % 5]!, reqId, 0, '/no/nul/' + (r() % 1000)), expect: 'EINVAL' };
    case 2: // bad tx_id
      return { bytes: frame(READ, reqId, 1_000_000 + (r() % 1_000_000), '/tool\0'), expect: 'ENOENT' };
    case 3: { // invalid path
      const bad = ['/a//b', '/trailing/', 'bad char', '/' + 'x'.repeat(3100), '/\x01\x02', '/a/b%c'][r() % 6]!;
      return { bytes: frame(READ, reqId, 0, bad + '\0'), expect: 'EINVAL' };
    }
    case 4: { // server-only types sent by a client
      return { bytes: frame(r() % 2 ? 15 : 16, reqId, 0, 'x\0y\0'), expect: 'ENOSYS' };
    }
    default: { // random garbage of a known type (never START, whose garbage payload opens transactions)
      const n = r() % 200;
      const p = Buffer.alloc(n);
      for (let i = 0; i < n; i++) p[i] = r() & 0xff;
      let t = r() % 23;
      if (t === TX_START || t === 15 || t === 16 || t === CONTROL) t = READ;
      return { bytes: frame(t, reqId, 0, p), expect: null };
    }
  }
}

async function waitReplies(c: SockClient, got: Frame[], n: number): Promise<void> {
  for (let i = 0; got.length < n; i++) {
    if (c.closed) throw new Error('bad connection closed unexpectedly');
    if (i > 5000) throw new Error(`only ${got.length}/${n} replies`);
    await new Promise((res) => setTimeout(res, 2));
  }
}

test('100,000 malformed frames: errors or a dropped bad connection, never a crash, no data lost', { timeout: 120_000 }, async () => {
  const t0 = Date.now();
  const d = await startDaemon();
  let sent = 0;
  try {
    const good = await SockClient.connect(d.path);
    let stopGood = false;
    let goodOps = 0;
    const goodErrors: string[] = [];
    assert.equal(await good.ask(WATCH, '/good\0g\0'), 'OK\0');
    const goodLoop = (async () => {
      for (let i = 0; !stopGood; i++) {
        const k = `/good/k${i % 50}`;
        if ((await good.ask(WRITE, `${k}\0v${i}`)) !== 'OK\0') goodErrors.push(`write ${i}`);
        if ((await good.ask(READ, `${k}\0`)) !== `v${i}`) goodErrors.push(`read ${i}`);
        if (i % 25 === 0) {
          const tx = Number((await good.ask(TX_START, '\0')).slice(0, -1));
          await good.ask(WRITE, `/good/tx${i % 7}\0t${i}`, tx);
          if ((await good.ask(TX_END, 'T\0', tx)) !== 'OK\0') goodErrors.push(`commit ${i}`);
        }
        goodOps++;
      }
    })();

    const PER_CONN = 22_375;
    const OVERSIZED = 125;
    const workers = [1, 2, 3, 4].map(async (seed) => {
      const r = rng(seed * 7919);
      let c = await SockClient.connect(d.path);
      let got: Frame[] = [];
      const attach = (cl: SockClient): void => {
        cl.sock.removeAllListeners('data');
        let buf = Buffer.alloc(0);
        cl.sock.on('data', (b) => {
          buf = Buffer.concat([buf, b]);
          const fs = parseFrames(buf);
          let used = 0;
          for (const f of fs) used += 16 + f.payload.length;
          buf = buf.subarray(used);
          got.push(...fs.filter((f) => f.type !== 15));
        });
      };
      attach(c);
      let done = 0;
      let reqId = 1;
      while (done < PER_CONN) {
        const batch: Bad[] = [];
        const firstId = reqId;
        for (let i = 0; i < 500 && done + batch.length < PER_CONN; i++) batch.push(badFrame(r, reqId++));
        got = [];
        c.sock.write(Buffer.concat(batch.map((b) => b.bytes)));
        await waitReplies(c, got, batch.length);
        assert.equal(got.length, batch.length);
        for (let i = 0; i < batch.length; i++) {
          const f = got[i]!;
          assert.equal(f.reqId, firstId + i, 'replies in order, req_id echoed');
          const e = batch[i]!.expect;
          if (e) assert.deepEqual([f.type, f.payload.toString()], [ERROR, e + '\0']);
        }
        done += batch.length;
        sent += batch.length;
        if (done % 4000 < 500) {
          // An oversized payload: the daemon drops this connection (and only this one).
          for (let k = 0; k < OVERSIZED / 5; k++) {
            const h = frame(WRITE, 1, 0, '');
            h.writeUInt32LE(4097 + (r() % 100000), 12);
            c.sock.write(h);
            for (let i = 0; i < 500 && !c.closed; i++) await new Promise((res) => setTimeout(res, 2));
            assert.ok(c.closed, 'oversized frame drops the connection');
            sent++;
            c = await SockClient.connect(d.path);
            attach(c);
          }
        }
      }
      c.close();
    });
    await Promise.all(workers);
    stopGood = true;
    await goodLoop;
    assert.deepEqual(goodErrors, []);
    assert.ok(goodOps > 50, `the good client kept working (${goodOps} iterations)`);
    assert.equal(d.proc.exitCode, null, 'the daemon is alive');
    for (let k = 0; k < 50; k++) assert.match(await good.ask(READ, `/good/k${k}\0`), /^v\d+$/);
    assert.equal(await good.ask(CONTROL, 'check\0'), 'OK\0');
    assert.ok(good.events.length > 1, 'the good client\'s watch still fires');
    good.close();
  } finally {
    await d.stop();
  }

  // Quota floods from unprivileged domains (in-process core; socket clients are dom0).
  const { core } = newCore();
  const dom0 = new MemConn(core);
  for (const dom of [5, 6]) { dom0.ask(WRITE, `/local/domain/${dom}\0`); dom0.ask(14, `/local/domain/${dom}\0n${dom}\0`); }
  dom0.ask(WRITE, '/precious\0data');
  const r = rng(4242);
  const flood = [new MemConn(core, 5), new MemConn(core, 6)];
  const seen = new Map<string, number>();
  let floodSent = 0;
  while (floodSent < 10_000) {
    const c = flood[floodSent % 2]!;
    const k = r() % 4;
    let out: string;
    if (k === 0) out = c.ask(WRITE, `n${r() % 5000}\0v`);
    else if (k === 1) out = c.ask(WATCH, `w${r() % 5000}\0t\0`);
    else if (k === 2) out = c.ask(TX_START, '\0');
    else out = c.ask(WRITE, `big\0${'x'.repeat(2100 + (r() % 1900))}`);
    if (out.startsWith('ERROR:')) seen.set(out, (seen.get(out) ?? 0) + 1);
    floodSent++;
  }
  sent += floodSent;
  assert.ok((seen.get('ERROR:ENOSPC\0') ?? 0) > 1000, 'nodes/transactions/node-size quota hits');
  assert.ok((seen.get('ERROR:E2BIG\0') ?? 0) > 1000, 'watch quota hits');
  for (const dom of [5, 6]) assert.ok(core.store.ownedBy(dom) <= 1000);
  assert.equal(dom0.ask(READ, '/precious\0'), 'data');
  assert.deepEqual(core.store.check(), []);
  assert.ok(sent >= 100_000, `${sent} frames`);
  assert.ok(Date.now() - t0 < 60_000, `took ${Date.now() - t0} ms`);
});
