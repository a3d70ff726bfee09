// SPDX-License-Identifier: GPL-2.0-only
// The null xenstored: the floor of any Node daemon on this transport, for the ceiling argument
// in docs/bench-xenstored.md. It answers the bench client's two requests (WRITE -> "OK\0",
// READ -> the value last written) over the same libuv fast path as ours (src/host/
// xenstored-socket.ts: a stream handle driven directly, reads into one user buffer, one
// writeBuffer per read) and does nothing else: no validation, permissions, quotas, watches,
// transactions or error replies. NOT a xenstored; never run it for anything but the bench.
// Run by the bench as BENCH_OURS=null (bundled to build/xenstored-null.cjs first).
import net from 'node:net';
import { unlinkSync } from 'node:fs';

interface Handle {
  readStart(): number; readStop(): number; close(): void; useUserBuffer(b: Uint8Array): void;
  writeBuffer(req: object, b: Uint8Array): number; onread: () => void;
}
interface StreamWrap { WriteWrap: new () => { handle: Handle; oncomplete: () => void; async: boolean }; streamBaseState: Int32Array; kReadBytesOrError: number }

const SW = (process as unknown as { binding(n: string): StreamWrap }).binding('stream_wrap');
const RBUF = new Uint8Array(65536);
const OUT = new Uint8Array(65536);
const values = new Map<string, Uint8Array>();
const EMPTY = new Uint8Array(0);

const path = process.argv[process.argv.indexOf('--socket') + 1]!;
try { unlinkSync(path); } catch { /* not there */ }

net.createServer({ pauseOnConnect: true }, (s) => {
  const h = (s as unknown as { _handle: Handle | null })._handle!;
  h.readStop();
  (s as unknown as { _handle: Handle | null })._handle = null;
  s.destroy();
  const req = new SW.WriteWrap();
  req.handle = h;
  req.oncomplete = () => {};
  h.onread = () => {
    const n = SW.streamBaseState[SW.kReadBytesOrError]!;
    if (n < 0) { h.readStop(); h.close(); return; }
    let off = 0;
    let o = 0;
    // Whole frames only: the bench client has one request in flight, so a read is one frame.
    while (n - off >= 16) {
      const len = RBUF[off + 12]! | (RBUF[off + 13]! << 8);
      const p = off + 16;
      let nul = p;
      while (RBUF[nul] !== 0) nul++;
      const key = String.fromCharCode.apply(null, RBUF.subarray(p, nul) as unknown as number[]);
      OUT.set(RBUF.subarray(off, off + 12), o); // type, req_id, tx_id echoed
      let plen: number;
      if (RBUF[off] === 11) {
        values.set(key, RBUF.slice(nul + 1, p + len));
        OUT[o + 16] = 79; OUT[o + 17] = 75; OUT[o + 18] = 0; // "OK\0"
        plen = 3;
      } else {
        const v = values.get(key) ?? EMPTY;
        OUT.set(v, o + 16);
        plen = v.length;
      }
      OUT[o + 12] = plen; OUT[o + 13] = plen >> 8; OUT[o + 14] = 0; OUT[o + 15] = 0;
      o += 16 + plen;
      off += 16 + len;
    }
    req.async = false;
    h.writeBuffer(req, OUT.subarray(0, o));
  };
  h.useUserBuffer(RBUF);
  h.readStart();
}).listen(path);
