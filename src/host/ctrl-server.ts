// SPDX-License-Identifier: GPL-2.0-only
// The control socket of the host daemon: JSON lines over <rundir>/ctrl.sock (mode 0600). Each
// request line {id, method, params} gets one reply line {id, ok, result|error}; a malformed line
// gets an EPROTO error (id -1 when none could be read) and the connection stays usable.
// `console.attach` switches the connection to raw console bytes (docs/design/dom0.md §3-§4).
import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { CtrlError, MAX_LINE_BYTES, parseRequest, type Request, type Response } from '../toolstack/ctrl/protocol.ts';

/** Handles one parsed request; a CtrlError becomes an error reply, anything else EIO. */
export type Dispatch = (req: Request, conn: CtrlConn) => unknown;

export interface CtrlConn {
  sock: Socket;
  /** Hand the connection over to raw mode (console): further bytes go to `onRaw`. */
  goRaw(onRaw: (b: Buffer) => void, onClose: () => void): void;
}

export class CtrlServer {
  private server: Server | null = null;
  private readonly conns = new Set<Socket>();

  constructor(readonly path: string, private readonly dispatch: Dispatch, private readonly log: (s: string) => void) {}

  listen(): Promise<void> {
    if (existsSync(this.path)) unlinkSync(this.path); // the caller checked no live host owns it
    return new Promise((ok, fail) => {
      const srv = createServer((s) => this.accept(s));
      srv.once('error', fail);
      srv.listen(this.path, () => {
        chmodSync(this.path, 0o600);
        this.server = srv;
        ok();
      });
    });
  }

  private accept(sock: Socket): void {
    this.conns.add(sock);
    let buf = '';
    let raw: ((b: Buffer) => void) | null = null;
    let rawClose: (() => void) | null = null;
    const conn: CtrlConn = {
      sock,
      goRaw: (onRaw, onClose) => {
        raw = onRaw;
        rawClose = onClose;
        if (buf.length > 0) {
          const rest = Buffer.from(buf, 'utf8');
          buf = '';
          onRaw(rest);
        }
      },
    };
    sock.on('error', () => {});
    sock.on('close', () => {
      this.conns.delete(sock);
      rawClose?.();
    });
    sock.on('data', (b: Buffer) => {
      if (raw !== null) return raw(b);
      buf += b.toString('utf8');
      if (buf.length > MAX_LINE_BYTES) {
        this.reply(sock, { id: -1, ok: false, error: { code: 'EPROTO', message: `request line longer than ${MAX_LINE_BYTES} bytes` } });
        sock.end();
        buf = '';
        return;
      }
      let nl: number;
      while (raw === null && (nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.trim() === '') continue;
        this.handle(line, conn);
      }
    });
  }

  private handle(line: string, conn: CtrlConn): void {
    let id = -1;
    try {
      const req = parseRequest(line);
      id = req.id;
      const result = this.dispatch(req, conn);
      if (result instanceof Promise) {
        result.then(
          (r) => this.reply(conn.sock, { id, ok: true, result: (r ?? {}) as never }),
          (e: unknown) => this.fail(conn.sock, id, req.method, e),
        );
      } else this.reply(conn.sock, { id, ok: true, result: (result ?? {}) as never });
    } catch (e) {
      if (id === -1) {
        const m = /"id"\s*:\s*(-?\d+)/.exec(line);
        if (m) id = Number(m[1]);
      }
      this.fail(conn.sock, id, 'request', e);
    }
  }

  private fail(sock: Socket, id: number, what: string, e: unknown): void {
    if (e instanceof CtrlError) {
      this.reply(sock, { id, ok: false, error: e.toBody() });
      return;
    }
    const m = e instanceof Error ? e.message : String(e);
    this.log(`ctrl: ${what} failed unexpectedly: ${e instanceof Error ? e.stack ?? m : m}`);
    this.reply(sock, { id, ok: false, error: { code: 'EIO', message: `${what}: internal error: ${m}` } });
  }

  private reply(sock: Socket, r: Response): void {
    if (!sock.destroyed) sock.write(JSON.stringify(r) + '\n');
  }

  async close(): Promise<void> {
    for (const s of this.conns) s.destroy();
    const srv = this.server;
    this.server = null;
    if (srv !== null) await new Promise<void>((r) => srv.close(() => r()));
    if (existsSync(this.path)) unlinkSync(this.path);
  }
}
