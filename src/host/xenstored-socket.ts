// SPDX-License-Identifier: GPL-2.0-only
// Unix-socket transport for xenstored: where the socket lives (Xen's rules: --socket, else
// XENSTORED_PATH, else $XENSTORED_RUNDIR/socket, else /var/run/xenstored/socket) and the
// connection class that feeds socket bytes to the core. Socket clients are dom0 (privileged).
// Backpressure: a client that does not read its replies stops being read from.
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import { dirname } from 'node:path';
import { CONN_RING, CONN_SOCKET, Connection } from '../toolstack/xenstored/connection.ts';

export const DEFAULT_RUNDIR = '/var/run/xenstored';

export function socketPath(flag: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return flag;
  if (env.XENSTORED_PATH) return env.XENSTORED_PATH;
  return `${env.XENSTORED_RUNDIR || DEFAULT_RUNDIR}/socket`;
}

const PAUSE_AT = 1 << 20;
const DROP_AT = 64 << 20;
const EMPTY = new Uint8Array(0);
/** Node's onread buffer mode for client sockets (XENSTORED_ONREAD=1; off by default, see below). */
const USER_BUFFER = process.env.XENSTORED_ONREAD === '1';

export class SocketConnection extends Connection {
  private paused = false;
  /** Called after a chunk's requests ran and before their replies are written (the journal). */
  static beforeWrite: (() => void) | undefined;
  /** Called when the client goes away. */
  onClosed?: () => void;
  /** Reads go to a reusable buffer (no stream buffering to drain). */
  private userBuffer = false;

  readonly socket: net.Socket;

  /**
   * `raw` is the socket as accepted (paused) or handed over. Its handle is re-wrapped with
   * Node's `onread` buffer mode: reads land in one reusable buffer, with no Buffer allocation
   * and no stream 'data' machinery per message (the frame reader copies what it keeps).
   */
  constructor(id: number, raw: net.Socket) {
    super(id, CONN_SOCKET, 0, true);
    const onChunk = (chunk: Uint8Array): void => {
      // Replies to the frames of one chunk leave in one write.
      this.batch = [];
      this.feed(chunk);
      const b = this.batch;
      this.batch = null;
      SocketConnection.beforeWrite?.();
      if (b.length === 1) this.write(b[0]!);
      else if (b.length > 1) this.write(Buffer.concat(b));
    };
    const handle = (raw as unknown as { _handle?: object | null })._handle;
    let socket = raw;
    if (USER_BUFFER && handle && !raw.readableLength) {
      (raw as unknown as { _handle: object | null })._handle = null;
      raw.destroy();
      const rbuf = Buffer.allocUnsafe(65536);
      socket = new net.Socket({
        handle, readable: true, writable: true,
        onread: { buffer: rbuf, callback: (n: number) => { onChunk(rbuf.subarray(0, n)); return true; } },
      } as net.SocketConstructorOpts);
      this.userBuffer = true;
    } else {
      socket.on('data', onChunk);
      socket.resume(); // accepted with pauseOnConnect: flowing must be switched on explicitly
    }
    this.socket = socket;
    socket.on('close', () => this.sink?.drop(this, ''));
    socket.on('error', () => { /* 'close' follows */ });
    socket.on('drain', () => {
      if (this.paused) { this.paused = false; socket.resume(); }
    });
  }

  private batch: Uint8Array[] | null = null;

  transmit(frame: Uint8Array): void {
    if (this.closed) return;
    if (this.batch) this.batch.push(frame);
    else this.write(frame);
  }

  private write(frame: Uint8Array): void {
    if (this.closed) return;
    const s = this.socket;
    s.write(frame);
    const backlog = s.writableLength;
    if (backlog > PAUSE_AT && !this.paused) { this.paused = true; s.pause(); }
    if (backlog > DROP_AT) this.sink?.drop(this, 'client does not read its replies');
  }

  pendingOutput(): Uint8Array { return EMPTY; }
  outstanding(): number { return 0; }
  shutdown(): void { this.socket.destroy(); this.onClosed?.(); }
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

  /** Stop reading for a hand-over: bytes Node already read go to the frame reader. */
  stopReading(): void {
    const s = this.socket;
    s.pause();
    const h = (s as unknown as { _handle?: { readStop?: () => number } })._handle;
    h?.readStop?.();
    if (!this.userBuffer) for (let c: Buffer | null; (c = s.read() as Buffer | null) !== null;) this.feed(c);
  }

  startReading(): void {
    const h = (this.socket as unknown as { _handle?: { readStart?: () => number } })._handle;
    h?.readStart?.();
    if (!this.paused) this.socket.resume();
  }
}

/** Bind the listening socket, removing a stale one; refuses if a daemon answers there. */
export async function listen(path: string): Promise<net.Server> {
  mkdirSync(dirname(path), { recursive: true });
  const alive = await new Promise<boolean>((res) => {
    const c = net.connect(path);
    c.on('connect', () => { c.destroy(); res(true); });
    c.on('error', () => res(false));
  });
  if (alive) throw new Error(`${path}: another xenstored is listening there`);
  try { (await import('node:fs')).unlinkSync(path); } catch { /* not there */ }
  const server = net.createServer({ pauseOnConnect: true });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => { server.off('error', rej); res(); });
  });
  (await import('node:fs')).chmodSync(path, 0o600);
  return server;
}
