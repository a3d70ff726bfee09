// SPDX-License-Identifier: GPL-2.0-only
// A domain's xenstore connection: the shared ring page plus its event channel.
// Spec: xen-digest §1.10 "Domain ring page" (xen-4.7 docs/misc/xenstore-ring.txt):
//   +0     req[1024]   [GUEST] writes, server reads      +2048 req_cons [HV]  +2052 req_prod [GUEST]
//   +1024  rsp[1024]   [HV] writes, guest reads          +2056 rsp_cons [GUEST] +2060 rsp_prod [HV]
//   +2064  server_features [HV]   +2068 connection [GUEST sets 1, HV sets 0]   +2072 error [HV]
// Indexes are free-running uint32; byte x lives at x & 1023. Data before index, then notify.
// The page is any Uint8Array view (a SharedArrayBuffer frame of guest memory in tsxen); the
// event channel is a notify callback, and the host calls onEvent() when the guest notifies.
import { CONN_RING, Connection } from './connection.ts';
import { XS_WATCH_EVENT } from './wire.ts';

export const XENSTORE_RING_SIZE = 1024;
export const OFF_REQ = 0;
export const OFF_RSP = 1024;
export const IDX_REQ_CONS = 2048 / 4;
export const IDX_REQ_PROD = 2052 / 4;
export const IDX_RSP_CONS = 2056 / 4;
export const IDX_RSP_PROD = 2060 / 4;
export const IDX_FEATURES = 2064 / 4;
export const IDX_CONNECTION = 2068 / 4;
export const IDX_ERROR = 2072 / 4;

export const XENSTORE_SERVER_FEATURE_RECONNECTION = 1;
export const XENSTORE_SERVER_FEATURE_ERROR = 2;
export const XENSTORE_CONNECTED = 0;
export const XENSTORE_RECONNECT = 1;
export const XENSTORE_ERROR_NONE = 0;
export const XENSTORE_ERROR_COMM = 1;
export const XENSTORE_ERROR_RINGIDX = 2;
export const XENSTORE_ERROR_PROTO = 3;

/** Watch events queued beyond this for a domain that does not read are dropped (logged). */
const MAX_QUEUED = 4096;

export interface RingPort {
  /** Send on the domain's event channel. */
  notify(): void;
  readonly evtchn: number;
}

export class RingConnection extends Connection {
  private readonly idx: Int32Array;
  private readonly out: Uint8Array[] = [];
  private readonly outIsEvent: boolean[] = [];
  /** Bytes of out[0] already copied into the ring. */
  private outOff = 0;
  private replies = 0;
  /** Ring broken (bad index or oversized frame): ignored until re-introduced. */
  broken = false;
  onDropEvent?: () => void;

  constructor(id: number, domid: number, readonly page: Uint8Array, readonly port: RingPort) {
    super(id, CONN_RING, domid, false);
    if (page.length < 4096 || (page.byteOffset & 3) !== 0) throw new Error('ring page must be a 4-byte aligned 4096-byte view');
    this.idx = new Int32Array(page.buffer, page.byteOffset + 2048, 8);
    Atomics.store(this.idx, IDX_FEATURES - 512,
      Atomics.load(this.idx, IDX_FEATURES - 512) | XENSTORE_SERVER_FEATURE_RECONNECTION | XENSTORE_SERVER_FEATURE_ERROR);
  }

  private ld(i: number): number { return Atomics.load(this.idx, i - 512) >>> 0; }
  private st(i: number, v: number): void { Atomics.store(this.idx, i - 512, v | 0); }

  private fail(err: number, why: string): void {
    this.broken = true;
    this.st(IDX_ERROR, err);
    this.port.notify();
    this.sink?.drop(this, why);
  }

  /** The guest notified its event channel. */
  onEvent(): void {
    if (this.closed || this.broken) return;
    if (this.ld(IDX_CONNECTION) === XENSTORE_RECONNECT) { this.reconnect(); return; }
    let moved = this.pull();
    if (this.broken || this.closed) return;
    moved = this.flush() || moved;
    // Frames held back by the outstanding quota go on as the guest consumes replies.
    while (this.reader.pendingLength > 0 && !this.closed && !this.broken) {
      const before = this.reader.pendingLength;
      if (!this.reader.push(new Uint8Array(0))) { this.fail(XENSTORE_ERROR_PROTO, 'bad frame'); return; }
      moved = this.flush() || moved;
      if (this.reader.pendingLength === before) break;
    }
    if (moved) this.port.notify();
  }

  /** Copy request bytes out of the ring into the frame reader. */
  private pull(): boolean {
    const cons = this.ld(IDX_REQ_CONS);
    const prod = this.ld(IDX_REQ_PROD);
    const avail = (prod - cons) >>> 0;
    if (avail === 0) return false;
    if (avail > XENSTORE_RING_SIZE) { this.fail(XENSTORE_ERROR_RINGIDX, 'bad request ring index'); return false; }
    const buf = new Uint8Array(avail);
    for (let i = 0; i < avail; i++) buf[i] = this.page[OFF_REQ + ((cons + i) & (XENSTORE_RING_SIZE - 1))]!;
    this.st(IDX_REQ_CONS, (cons + avail) >>> 0);
    if (!this.reader.push(buf)) { this.fail(XENSTORE_ERROR_PROTO, 'payload longer than XENSTORE_PAYLOAD_MAX'); return true; }
    return true;
  }

  override feed(chunk: Uint8Array): void {
    if (chunk.length === 0) { this.resume(); return; }
    super.feed(chunk);
  }

  override resume(): void {
    if (this.closed || this.broken) return;
    if (this.reader.pendingLength > 0 && !this.reader.push(new Uint8Array(0))) this.fail(XENSTORE_ERROR_PROTO, 'bad frame');
    if (this.flush()) this.port.notify();
  }

  /** Copy queued output into the response ring; true if anything moved. */
  private flush(): boolean {
    if (this.out.length === 0) return false;
    const cons = this.ld(IDX_RSP_CONS);
    let prod = this.ld(IDX_RSP_PROD);
    const used = (prod - cons) >>> 0;
    if (used > XENSTORE_RING_SIZE) { this.fail(XENSTORE_ERROR_RINGIDX, 'bad response ring index'); return false; }
    let space = XENSTORE_RING_SIZE - used;
    let moved = false;
    while (space > 0 && this.out.length > 0) {
      const f = this.out[0]!;
      const n = Math.min(space, f.length - this.outOff);
      for (let i = 0; i < n; i++) this.page[OFF_RSP + ((prod + i) & (XENSTORE_RING_SIZE - 1))] = f[this.outOff + i]!;
      prod = (prod + n) >>> 0;
      space -= n;
      this.outOff += n;
      moved = true;
      if (this.outOff === f.length) {
        this.out.shift();
        this.outOff = 0;
        if (!this.outIsEvent.shift()) this.replies--;
      }
    }
    if (moved) this.st(IDX_RSP_PROD, prod);
    if (moved && this.reader.pendingLength > 0) queueMicrotask(() => this.resume());
    return moved;
  }

  transmit(frame: Uint8Array): void {
    if (this.closed || this.broken) return;
    const isEvent = frame[0] === XS_WATCH_EVENT && frame[1] === 0 && frame[2] === 0 && frame[3] === 0;
    if (isEvent && this.out.length >= MAX_QUEUED) { this.onDropEvent?.(); return; }
    if (!isEvent) this.replies++;
    this.out.push(frame);
    this.outIsEvent.push(isEvent);
    if (this.flush()) this.port.notify();
  }

  private reconnect(): void {
    this.reader.reset();
    this.out.length = 0;
    this.outIsEvent.length = 0;
    this.outOff = 0;
    this.replies = 0;
    this.sink?.reset(this);
    this.st(IDX_REQ_CONS, 0); this.st(IDX_REQ_PROD, 0); this.st(IDX_RSP_CONS, 0); this.st(IDX_RSP_PROD, 0);
    this.st(IDX_ERROR, XENSTORE_ERROR_NONE);
    this.st(IDX_CONNECTION, XENSTORE_CONNECTED);
    this.port.notify();
  }

  pendingOutput(): Uint8Array {
    let n = 0;
    for (let i = 0; i < this.out.length; i++) n += this.out[i]!.length - (i === 0 ? this.outOff : 0);
    const b = new Uint8Array(n);
    let o = 0;
    for (let i = 0; i < this.out.length; i++) { const f = this.out[i]!.subarray(i === 0 ? this.outOff : 0); b.set(f, o); o += f.length; }
    return b;
  }
  outstanding(): number { return this.replies; }
  shutdown(): void { /* the page and event channel belong to the host; nothing to close here */ }
  spec(): { domid: number; tdomid: number; evtchn: number } {
    return { domid: this.domid, tdomid: this.target, evtchn: this.port.evtchn };
  }
}
