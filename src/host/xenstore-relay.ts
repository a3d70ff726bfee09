// SPDX-License-Identifier: GPL-2.0-only
// The xenstore ring relay: the host daemon pumps a guest's xenstore ring page (xen-digest
// §1.10, struct xenstore_domain_interface; xen-4.7 docs/misc/xenstore-ring.txt) to and from
// a Unix-socket connection to xenstored that it made the domain's own connection with
// `CONTROL ring-relay <domid>` (src/toolstack/xenstored/relay.ts). xenstored runs in its own
// process and cannot see guest memory; this process owns it and the event channels.
//
// The guest is hostile: indexes more than a ring apart set `error = RINGIDX`, a frame header
// announcing more than XENSTORE_PAYLOAD_MAX sets `error = PROTO`; either way the relay is
// dropped (socket closed, so xenstored forgets the connection's watches and transactions)
// and the guest is notified; nothing else happens to the host or other domains. A guest that
// writes `connection = 1` gets the reconnect of §1.10: the relay is closed and reopened (its
// watches and transactions go, as on a real ring), indexes zeroed, `connection = 0`, notify.
// Flow control: request bytes are taken from the ring only while less than OUT_MAX bytes of
// replies wait for the guest; beyond that the socket is not read either (xenstored then
// holds the rest, and drops a connection that lets 64 MiB pile up).
import { connect, type Socket } from 'node:net';
import type { Dom0Port } from '../toolstack/ctrl/dom0-dev.ts';
import {
  IDX_CONNECTION, IDX_ERROR, IDX_FEATURES, IDX_REQ_CONS, IDX_REQ_PROD, IDX_RSP_CONS, IDX_RSP_PROD, OFF_REQ, OFF_RSP,
  XENSTORE_ERROR_COMM, XENSTORE_ERROR_NONE, XENSTORE_ERROR_PROTO, XENSTORE_ERROR_RINGIDX, XENSTORE_RECONNECT,
  XENSTORE_RING_SIZE, XENSTORE_SERVER_FEATURE_ERROR, XENSTORE_SERVER_FEATURE_RECONNECTION,
} from '../toolstack/xenstored/ring.ts';
import { FrameReader, HEADER_SIZE, encodeFrame, latin1, rd32, XS_CONTROL } from '../toolstack/xenstored/wire.ts';

const OUT_MAX = 64 * 1024;
const MASK = XENSTORE_RING_SIZE - 1;

export interface StoreRelayOptions {
  socketPath: string;
  domid: number;
  /** The guest's ring page (4096 bytes of machine memory). */
  page: Uint8Array;
  log(line: string): void;
  /** A guest became runnable from outside the run loop (socket data): kick the loop. */
  wake(): void;
}

export class StoreRelay {
  private readonly idx: Int32Array;
  private sock: Socket | null = null;
  private ready = false;
  private out: Uint8Array[] = [];
  private outOff = 0;
  private outBytes = 0;
  private readonly reader: FrameReader;
  /** Set by fail() (hostile ring) or close(): the relay does nothing more. */
  broken = false;
  private closed = false;
  /** dom0's end of the store event channel (bound by the owner once the relay exists). */
  port: Dom0Port | null = null;
  /** Request frames relayed to xenstored (logs, tests). */
  requests = 0;

  constructor(private readonly o: StoreRelayOptions) {
    const p = o.page;
    this.idx = new Int32Array(p.buffer, p.byteOffset + 2048, 8);
    this.st(IDX_FEATURES, this.ld(IDX_FEATURES) | XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
    this.reader = new FrameReader((type, reqId, txId, payload) => {
      this.requests++;
      this.sock!.write(encodeFrame(type, reqId, txId, payload));
    });
  }

  private ld(i: number): number { return Atomics.load(this.idx, i - 512) >>> 0; }
  private st(i: number, v: number): void { Atomics.store(this.idx, i - 512, v | 0); }

  /** Open the socket and turn it into the domain's connection; resolves once xenstored said OK. */
  open(timeoutMs = 10_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const s = connect(this.o.socketPath);
      this.sock = s;
      this.ready = false;
      let head = new Uint8Array(0);
      // A xenstored that does not answer must not hang the host (domain.create waits for this).
      const timer = setTimeout(() => fail(new Error(`xenstore relay for d${this.o.domid}: no answer from xenstored within ${timeoutMs} ms`)), timeoutMs);
      const ok = (): void => { clearTimeout(timer); resolve(); };
      const fail = (e: Error): void => { clearTimeout(timer); if (!this.ready) s.destroy(); reject(e); };
      s.on('error', (e) => { if (!this.ready) fail(new Error(`xenstore relay for d${this.o.domid}: ${e.message}`)); });
      s.on('connect', () => s.write(encodeFrame(XS_CONTROL, 0x7e1a1, 0, latin1(`ring-relay\0${this.o.domid}\0`))));
      s.on('data', (b: Buffer) => {
        if (s !== this.sock) return;
        if (this.ready) { this.fromStore(new Uint8Array(b)); return; }
        const nb = new Uint8Array(head.length + b.length);
        nb.set(head); nb.set(b, head.length);
        head = nb;
        if (head.length < HEADER_SIZE || head.length < HEADER_SIZE + rd32(head, 12)) return;
        const len = rd32(head, 12);
        const answer = Buffer.from(head.subarray(HEADER_SIZE, HEADER_SIZE + len)).toString('latin1').replace(/\0$/, '');
        if (rd32(head, 0) !== XS_CONTROL || answer !== 'OK') {
          fail(new Error(`xenstore relay for d${this.o.domid}: xenstored answered ${answer}`));
          return;
        }
        this.ready = true;
        ok();
        if (head.length > HEADER_SIZE + len) this.fromStore(head.slice(HEADER_SIZE + len));
        this.onEvent(); // requests the guest queued meanwhile
      });
      s.on('close', () => {
        if (s !== this.sock || this.closed || this.broken) return;
        // xenstored dropped us (RELEASE, or it died): tell the guest its connection is gone.
        this.o.log(`d${this.o.domid}: xenstore relay closed by xenstored`);
        this.broken = true;
        this.st(IDX_ERROR, XENSTORE_ERROR_COMM);
        this.port?.notify();
        this.o.wake();
      });
    });
  }

  /** Bytes from xenstored for the guest. */
  private fromStore(b: Uint8Array): void {
    if (this.broken || this.closed) return;
    this.out.push(b);
    this.outBytes += b.length;
    if (this.flush()) { this.port?.notify(); this.o.wake(); }
    if (this.outBytes > OUT_MAX) this.sock?.pause();
  }

  /** The guest notified the store event channel (or the relay just opened). */
  onEvent(): void {
    if (this.broken || this.closed) return;
    if (this.ld(IDX_CONNECTION) === XENSTORE_RECONNECT) { this.reconnect(); return; }
    if (!this.ready) return;
    let moved = this.flush();
    if (this.broken) return;
    if (this.outBytes <= OUT_MAX) {
      this.sock?.resume();
      moved = this.pull() || moved;
    }
    if (moved && !this.broken) this.port?.notify();
  }

  private fail(err: number, why: string): void {
    this.o.log(`d${this.o.domid}: xenstore ring dropped: ${why}`);
    this.broken = true;
    this.st(IDX_ERROR, err);
    this.sock?.destroy();
    this.port?.notify();
  }

  /** Request bytes out of the ring, whole frames to xenstored. */
  private pull(): boolean {
    const cons = this.ld(IDX_REQ_CONS);
    const prod = this.ld(IDX_REQ_PROD);
    const avail = (prod - cons) >>> 0;
    if (avail === 0) return false;
    if (avail > XENSTORE_RING_SIZE) { this.fail(XENSTORE_ERROR_RINGIDX, `request ring indexes cons ${cons} prod ${prod}`); return false; }
    const buf = new Uint8Array(avail);
    for (let i = 0; i < avail; i++) buf[i] = this.o.page[OFF_REQ + ((cons + i) & MASK)]!;
    this.st(IDX_REQ_CONS, (cons + avail) >>> 0);
    if (!this.reader.push(buf)) this.fail(XENSTORE_ERROR_PROTO, 'request payload longer than XENSTORE_PAYLOAD_MAX');
    return true;
  }

  /** Queued reply bytes into the response ring; true if any moved. */
  private flush(): boolean {
    if (this.out.length === 0) return false;
    const cons = this.ld(IDX_RSP_CONS);
    let prod = this.ld(IDX_RSP_PROD);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) { this.fail(XENSTORE_ERROR_RINGIDX, `response ring indexes cons ${cons} prod ${prod}`); return false; }
    let space = XENSTORE_RING_SIZE - used;
    let moved = false;
    while (space > 0 && this.out.length > 0) {
      const f = this.out[0]!;
      const n = Math.min(space, f.length - this.outOff);
      for (let i = 0; i < n; i++) this.o.page[OFF_RSP + ((prod + i) & MASK)] = f[this.outOff + i]!;
      prod = (prod + n) >>> 0;
      space -= n;
      this.outOff += n;
      this.outBytes -= n;
      moved = true;
      if (this.outOff === f.length) { this.out.shift(); this.outOff = 0; }
    }
    if (moved) this.st(IDX_RSP_PROD, prod);
    return moved;
  }

  private reconnect(): void {
    this.o.log(`d${this.o.domid}: xenstore ring reconnect`);
    const old = this.sock;
    this.sock = null;
    old?.destroy();
    this.ready = false;
    this.reader.reset();
    this.out = [];
    this.outOff = 0;
    this.outBytes = 0;
    this.st(IDX_REQ_CONS, 0); this.st(IDX_REQ_PROD, 0); this.st(IDX_RSP_CONS, 0); this.st(IDX_RSP_PROD, 0);
    this.st(IDX_ERROR, XENSTORE_ERROR_NONE);
    this.st(IDX_CONNECTION, 0);
    this.port?.notify();
    this.open().catch((e: unknown) => this.o.log(e instanceof Error ? e.message : String(e)));
  }

  /** The domain is going away (or the host stops): close the socket, unbind. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.sock?.destroy();
    this.port?.close();
  }
}
