// SPDX-License-Identifier: GPL-2.0-only
// Unix-socket transport for xenstored: where the socket lives (Xen's rules: --socket, else
// XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket; the read-only
// socket is that path plus `_ro`, mode 0660, as R47's xs_daemon_socket_ro()) and the
// connection class that feeds socket bytes to the core. Socket clients are dom0 (privileged).
//
// Fast path: the connection drives Node's libuv stream handle (the Pipe under a net.Socket)
// itself: reads land in one shared buffer (`useUserBuffer`), replies are encoded straight into
// the connection's off-heap output buffer (no frame object per reply) and go out through
// `writeBuffer` with no stream machinery; every connection's output of one event-loop turn
// leaves in one write (cork per turn). Backpressure: a client that does not read its replies
// stops being read from at 1 MiB queued and is dropped at 64 MiB.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { CONN_RING, CONN_SOCKET, Connection } from '../toolstack/xenstored/connection.ts';
import { HEADER_SIZE, wr32 } from '../toolstack/xenstored/wire.ts';

export const DEFAULT_RUNDIR = '/var/run/xenstored';

export function socketPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  return `${env.XENSTORED_RUNDIR || DEFAULT_RUNDIR}/socket`;
}

/** The read-only socket: the read-write path plus `_ro` (R47 xs_lib.c xs_daemon_socket_ro()). */
export function socketRoPath(rw: string): string {
  return `${rw}_ro`;
}

const PAUSE_AT = 1 << 20;
const DROP_AT = 64 << 20;
const EMPTY = new Uint8Array(0);
const NOOP = (): void => {};

/** The parts of Node's libuv stream handle (src/stream_base.cc, Node 20) used here. */
interface StreamHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
  writeBuffer(req: WriteReq, buf: Uint8Array): number;
  close(cb?: () => void): void;
  onread: (ab?: ArrayBuffer) => void;
  readonly writeQueueSize: number;
}
interface WriteReq { handle: StreamHandle; buffer: Uint8Array | null; oncomplete: (status: number) => void; async: boolean }
interface StreamWrap {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** Node's stream_wrap binding (process.binding allow-list), or undefined on a Node without it. */
const SW: StreamWrap | undefined = (() => {
  if (process.env.XENSTORED_STREAMS === '1') return undefined;
  try {
    const b = (process as unknown as { binding(n: string): StreamWrap }).binding('stream_wrap');
    return typeof b.WriteWrap === 'function' && b.streamBaseState ? b : undefined;
  } catch { return undefined; }
})();

/** One read buffer for every connection: each read is parsed before the next one. */
const RBUF = new Uint8Array(65536);
/**
 * First size of a connection's output buffer. Larger than V8's on-heap typed-array limit, so
 * the bytes are off-heap and libuv writes them in place (an on-heap array would be copied out).
 */
const OUT_MIN = 8192;

/** Connections with output queued this turn (the first nDirty slots), and the flush of them. */
const dirty: (SocketConnection | null)[] = [];
let nDirty = 0;
let flushScheduled = false;
let inRead = false;

/**
 * Output held back until the crash-recovery journal is in the supervisor's pipe (beforeWrite
 * returned false; SocketConnection.release() ends it), and the connections whose requests ran
 * meanwhile (their journal entry is made at the release).
 */
let held = false;
const heldReaders = new Set<SocketConnection>();

function flushAll(reader: SocketConnection | null = null): void {
  flushScheduled = false;
  if (nDirty === 0) return;
  if (held) { if (reader) heldReaders.add(reader); return; }
  if (SocketConnection.beforeWrite?.(reader) === false) { held = true; return; }
  writeDirty();
}

function writeDirty(): void {
  // A flush may queue more (a drop's watch events): those join this loop.
  for (let i = 0; i < nDirty; i++) { const c = dirty[i]!; dirty[i] = null; c.flush(); }
  nDirty = 0;
}

export class SocketConnection extends Connection {
  /**
   * Called once before the output of a turn is written (after the requests that produced it
   * ran), with the connection whose input produced it (null for output of timers and other
   * turns): the crash-recovery journal. Covers replies and watch events to every connection.
   * Returning false holds all output back until release() (the journal is not yet in the pipe).
   */
  static beforeWrite: ((reader: SocketConnection | null) => boolean | void) | undefined;

  /** The journal sent by beforeWrite is in the pipe: journal what ran since, then write. */
  static release(): void {
    if (!held) return;
    const hook = SocketConnection.beforeWrite;
    let ok = true;
    if (hook) {
      if (heldReaders.size === 0) ok = hook(null) !== false;
      else for (const r of heldReaders) if (hook(r) === false) ok = false;
      heldReaders.clear();
    }
    if (!ok) return; // more journal in flight: its completion calls release() again
    held = false;
    writeDirty();
  }
  /** Called with every chunk read, before it is parsed (the crash-recovery input log). */
  static onInput: ((c: SocketConnection, chunk: Uint8Array) => void) | undefined;
  /** Called when the client goes away. */
  onClosed?: () => void;

  /** The libuv handle (fast path), or null when running on a net.Socket stream. */
  private handle: StreamHandle | null = null;
  /** The stream (fallback path only). */
  private stream: net.Socket | null = null;
  /** Output not yet handed to the transport: out[0, outLen). */
  private out: Uint8Array = EMPTY;
  private outLen = 0;
  private isDirty = false;
  private paused = false;
  private reading = false;
  private req: WriteReq | null = null;

  /**
   * `s` is a socket as accepted (paused), a socket received over IPC, or a bare handle
   * received over IPC (a hand-over sends handles). Bytes a net.Socket already buffered are
   * parsed first.
   */
  constructor(id: number, s: net.Socket | object, readOnly = false) {
    super(id, CONN_SOCKET, 0, true);
    this.readOnly = readOnly;
    let early: Buffer[] = [];
    if (s instanceof net.Socket) {
      const h = (s as unknown as { _handle: StreamHandle | null })._handle;
      if (SW && h) {
        h.readStop();
        for (let c: Buffer | null; (c = s.read() as Buffer | null) !== null;) early.push(c);
        (s as unknown as { _handle: StreamHandle | null })._handle = null;
        s.destroy();
        this.handle = h;
      } else {
        this.stream = s;
      }
    } else if (SW) {
      this.handle = s as StreamHandle;
    } else {
      this.stream = new net.Socket({ handle: s } as net.SocketConstructorOpts);
    }
    if (this.handle) {
      const h = this.handle;
      h.onread = () => this.onRead();
      h.useUserBuffer(RBUF);
    } else {
      const st = this.stream!;
      st.on('data', (c: Buffer) => this.onChunk(c));
      st.on('close', () => this.sink?.drop(this, ''));
      st.on('error', () => { /* 'close' follows */ });
      st.on('drain', () => this.unpause());
    }
    if (early.length) queueMicrotask(() => { if (this.sink) for (const c of early) this.onChunk(c); early = []; });
    this.startReading();
  }

  private onRead(): void {
    const n = SW!.streamBaseState[SW!.kReadBytesOrError]!;
    if (n < 0) { this.sink?.drop(this, ''); return; } // EOF or error
    if (n > 0) this.onChunk(RBUF, n);
  }

  /** Frames of chunk[0, n) run, then the turn's output is written (this connection's at least). */
  private onChunk(chunk: Uint8Array, n = chunk.length): void {
    SocketConnection.onInput?.(this, n === chunk.length ? chunk : chunk.subarray(0, n));
    const outer = inRead;
    inRead = true;
    try {
      if (!this.closed && !this.reader.push(chunk, n)) this.sink?.drop(this, 'payload longer than XENSTORE_PAYLOAD_MAX');
    } finally { inRead = outer; }
    if (!outer) flushAll(this);
  }

  transmit(frame: Uint8Array): void {
    if (this.closed) return;
    const o = this.reserve(frame.length);
    this.out.set(frame, o);
  }

  /** A reply encoded in place: header and payload go straight into the output buffer. */
  override transmitReply(type: number, reqId: number, txId: number, payload: Uint8Array): void {
    if (this.closed) return;
    const n = payload.length;
    const o = this.reserve(HEADER_SIZE + n);
    const b = this.out;
    wr32(b, o, type); wr32(b, o + 4, reqId); wr32(b, o + 8, txId); wr32(b, o + 12, n);
    if (n <= 32) for (let i = 0; i < n; i++) b[o + HEADER_SIZE + i] = payload[i]!;
    else b.set(payload, o + HEADER_SIZE);
  }

  /** Room for `n` more bytes of output (returns where they go); queues this turn's flush. */
  private reserve(n: number): number {
    const o = this.outLen;
    if (o + n > this.out.length) {
      const nb = new Uint8Array(Math.max(OUT_MIN, o + n, this.out.length * 2));
      nb.set(this.out.subarray(0, o));
      this.out = nb;
    }
    this.outLen = o + n;
    if (!this.isDirty) {
      this.isDirty = true;
      dirty[nDirty++] = this;
      if (!inRead && !flushScheduled) { flushScheduled = true; process.nextTick(flushAll); }
    }
    return o;
  }

  /** Write everything queued in one write. */
  flush(): void {
    this.isDirty = false;
    const n = this.outLen;
    if (n === 0 || this.closed) { this.outLen = 0; return; }
    this.outLen = 0;
    // A write libuv completed at once leaves nothing queued (libuv tries a direct write only
    // with an empty queue): the backlog (a C++ getter) is checked only after a queued one.
    if (this.handle) { if (!this.writeHandle(this.handle, this.out.subarray(0, n))) return; }
    else this.stream!.write(this.out.slice(0, n));
    const backlog = this.backlog();
    if (backlog > DROP_AT) this.sink?.drop(this, 'client does not read its replies');
    else if (backlog > PAUSE_AT && !this.paused) { this.paused = true; this.pauseReading(); }
  }

  /** Hand `buf` to libuv; true if the write was queued (not all taken by the kernel at once). */
  private writeHandle(h: StreamHandle, buf: Uint8Array): boolean {
    // The request object only matters if libuv queues the write (kLastWriteWasAsync); until
    // then one is reused. (`async` is Node's own bookkeeping field; nothing native reads it.)
    let req = this.req;
    if (!req) {
      req = new SW!.WriteWrap();
      req.handle = h;
      req.oncomplete = (status: number) => this.afterWrite(status);
      req.async = false;
    }
    const err = h.writeBuffer(req, buf);
    if (err !== 0) { this.sink?.drop(this, ''); return false; }
    if (SW!.streamBaseState[SW!.kLastWriteWasAsync]) {
      req.buffer = buf; // keep the bytes alive until libuv is done with them
      req.async = true;
      this.req = null;
      this.out = new Uint8Array(this.out.length); // libuv still reads the old one
      return true;
    }
    this.req = req;
    return false;
  }

  private afterWrite(status: number): void {
    if (status < 0) { this.sink?.drop(this, ''); return; }
    if (this.paused && this.backlog() < PAUSE_AT / 2) this.unpause();
  }

  private unpause(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.reading) this.resumeReading();
  }

  /** Bytes handed to the socket and not yet taken by the kernel. */
  backlog(): number {
    return this.outLen + (this.handle ? this.handle.writeQueueSize : this.stream!.writableLength);
  }

  private pauseReading(): void {
    if (this.handle) this.handle.readStop(); else this.stream!.pause();
  }
  private resumeReading(): void {
    if (this.closed) return;
    if (this.handle) this.handle.readStart(); else this.stream!.resume();
  }

  pendingOutput(): Uint8Array { return EMPTY; }
  outstanding(): number { return 0; }

  shutdown(): void {
    this.outLen = 0; // a pending flush finds it closed and empty
    this.out = EMPTY;
    if (this.handle) { const h = this.handle; h.onread = NOOP; h.readStop(); h.close(); }
    else this.stream!.destroy();
    this.onClosed?.();
  }

  spec(): { fd: number; domid?: number; tdomid?: number; evtchn?: number } {
    return this.kind === CONN_RING ? { fd: this.id, domid: this.domid, tdomid: this.target, evtchn: this.relayEvtchn } : { fd: this.id };
  }

  /** The domain's store event channel once this socket is a ring relay (the migration record's conn-spec). */
  relayEvtchn = 0;
  /**
   * Dom0 made this socket domain `domid`'s ring relay (CONTROL ring-relay, relay.ts): from now on
   * it is that domain's ring connection (conn-type 0, unprivileged). The host daemon pumps the
   * guest's ring page through it; it is handed over at live update like any socket.
   */
  becomeRelay(domid: number, evtchn: number): this {
    this.kind = CONN_RING;
    this.domid = domid;
    this.privileged = false;
    this.relayEvtchn = evtchn;
    return this;
  }

  /** What a hand-over sends to the next process: the bare handle, or the stream. */
  transferable(): net.Socket | object { return this.handle ?? this.stream!; }

  /** Stop reading for a hand-over (a frame half received stays in the frame reader). */
  stopReading(): void {
    this.reading = false;
    if (this.handle) this.handle.readStop();
    else {
      const s = this.stream!;
      s.pause();
      // Stop libuv too, and tell net.Socket so (its resume() then starts reading again).
      const h = (s as unknown as { _handle?: { readStop(): number; reading: boolean } | null })._handle;
      if (h) { h.readStop(); h.reading = false; }
      for (let c: Buffer | null; (c = s.read() as Buffer | null) !== null;) this.feed(c);
    }
  }

  startReading(): void {
    this.reading = true;
    if (this.paused) return;
    if (this.handle) this.handle.readStart();
    else this.stream!.resume();
  }
}

/**
 * Bind the listening socket, removing a stale one; refuses if a daemon answers there.
 * `onConnection` is attached before the socket listens: a client may connect at once.
 */
export async function listen(path: string, onConnection: (s: net.Socket) => void, mode = 0o600): Promise<net.Server> {
  mkdirSync(dirname(path), { recursive: true });
  const alive = await new Promise<boolean>((res) => {
    const c = net.connect(path);
    c.on('connect', () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
  if (alive) throw new Error(`${path}: another xenstored is listening there`);
  try { (await import('node:fs')).unlinkSync(path); } catch { /* not there */ }
  const server = net.createServer({ pauseOnConnect: true }, onConnection);
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => { server.off('error', rej); res(); });
  });
  (await import('node:fs')).chmodSync(path, mode);
  return server;
}
