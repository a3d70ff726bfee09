// SPDX-License-Identifier: GPL-2.0-only
// Live update of xenstored by process hand-over. The old daemon stops reading its sockets,
// waits for its replies to drain, dumps its state in the xenstore migration format (with the
// live-update reply queued as the requester's pending output, as HEAD does), spawns the new
// daemon with `-U` and an IPC channel, and passes it the dump, the listening server and every
// client socket (SCM_RIGHTS via child_process). The new daemon restores, sends its pending
// output, says "ready" and carries on; the old one exits without closing (and so without
// unlinking) the listening socket. If the new daemon fails, the old one resumes.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Connection } from '../toolstack/xenstored/connection.ts';
import type { LiveUpdateOptions, Xenstored } from '../toolstack/xenstored/core.ts';
import { dumpState } from '../toolstack/xenstored/lu.ts';
import { HEADER_SIZE, latin1, wr32, XS_CONTROL } from '../toolstack/xenstored/wire.ts';
import { SocketConnection } from './xenstored-socket.ts';

export interface LuContext {
  server: net.Server;
  /** The read-only socket's server (socket_ro). */
  serverRo: net.Server;
  /** Set while a hand-over runs: connections the old process still accepts go to the new one. */
  late?: { forward(sock: net.Socket, ro: boolean): void };
  /** Attach a socket to this daemon (late connections of a failed hand-over). */
  attach(sock: net.Socket, ro: boolean): void;
  /** argv to start the new daemon with (after the script path), without -U. */
  args: string[];
  script: string;
}

function frame(type: number, reqId: number, txId: number, s: string): Uint8Array {
  const p = latin1(s, true);
  const f = new Uint8Array(HEADER_SIZE + p.length);
  wr32(f, 0, type); wr32(f, 4, reqId); wr32(f, 8, txId); wr32(f, 12, p.length);
  f.set(p, HEADER_SIZE);
  return f;
}

function socketsOf(core: Xenstored): SocketConnection[] {
  return [...core.conns.values()].filter((c): c is SocketConnection => c instanceof SocketConnection);
}

async function drained(conns: SocketConnection[], ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (conns.some((c) => !c.closed && c.backlog() > 0)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

export async function liveUpdate(ctx: LuContext, core: Xenstored, conn: Connection, reqId: number, txId: number,
  opts: LiveUpdateOptions): Promise<string | undefined> {
  // From now until this process exits, connections it accepts (it shares the listening
  // socket; libuv cannot stop accepting without closing, and closing would unlink the path)
  // are queued and passed on to the new daemon; on failure they join this one.
  let inFlight = 0;
  let sendsDone: () => void = () => {};
  const late: [net.Socket, boolean][] = [];
  let forwardLate = false;
  let child: ChildProcess | undefined;
  const lateSend = (sock: net.Socket, ro: boolean): void => {
    inFlight++;
    void send({ t: 'late', ro }, sock).then(() => { if (--inFlight === 0) sendsDone(); });
  };
  ctx.late = { forward: (sock, ro) => { if (forwardLate) lateSend(sock, ro); else late.push([sock, ro]); } };
  const send = (m: unknown, h?: net.Server | net.Socket | object): Promise<void> => new Promise((res) => {
    if (!child?.connected) { res(); return; }
    child.send(m as never, h as never, { keepOpen: true }, () => res());
  });
  const socks = socketsOf(core);
  for (const c of socks) c.stopReading();
  const resume = (msg: string): string => {
    ctx.late = undefined;
    for (const c of socketsOf(core)) c.startReading();
    for (const [sock, ro] of late.splice(0)) ctx.attach(sock, ro);
    return msg;
  };
  if (!(await drained(socks, 5000))) return resume('BUSY');
  let state: Uint8Array;
  try {
    state = dumpState(core, { rwSocketFd: -1, extraOut: new Map([[conn.id, frame(XS_CONTROL, reqId, txId, 'OK')]]) });
  } catch (e) {
    return resume(`live-update: ${e instanceof Error ? e.message : String(e)}`);
  }
  const args = opts.cmdline ? opts.cmdline.split(/\s+/).filter(Boolean) : ctx.args;
  const script = opts.binary ?? ctx.script;
  let proc: ChildProcess;
  try {
    proc = child = spawn(process.execPath, [...process.execArgv, script, ...args, '-U'], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
  } catch (e) {
    return resume(`live-update: cannot start ${script}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const outcome = new Promise<string | undefined>((res) => {
    const timer = setTimeout(() => { proc.kill('SIGKILL'); res('live-update: new xenstored did not become ready'); }, Math.max(10, opts.timeout) * 1000);
    proc.on('message', (m: { t?: string; msg?: string }) => {
      if (m.t === 'ready') { clearTimeout(timer); res(undefined); }
      if (m.t === 'fail') { clearTimeout(timer); res(`live-update: ${m.msg}`); }
    });
    proc.on('exit', (code, sig) => { clearTimeout(timer); res(`live-update: new xenstored exited (${code ?? sig})`); });
    proc.on('error', (e) => { clearTimeout(timer); res(`live-update: ${e.message}`); });
  });
  void (async () => {
    await send({ t: 'state', data: state });
    await send({ t: 'server', ro: false }, ctx.server);
    await send({ t: 'server', ro: true }, ctx.serverRo);
    for (const c of socks) if (!c.closed) await send({ t: 'sock', id: c.id }, c.transferable());
    await send({ t: 'end' });
    forwardLate = true;
    for (const [sock, ro] of late.splice(0)) lateSend(sock, ro);
  })();
  const err = await outcome;
  if (err !== undefined) return resume(err);
  if (inFlight > 0 || !forwardLate) {
    await new Promise<void>((r) => { sendsDone = r; setTimeout(r, 2000); });
    while (!forwardLate) await new Promise((r) => setTimeout(r, 5));
    if (inFlight > 0) await new Promise<void>((r) => { sendsDone = r; setTimeout(r, 2000); });
  }
  // Handed over: leave without closing anything (closing the server would unlink its path).
  process.exit(0);
}

/**
 * The new daemon's side: receive the dump, the server and the sockets. Every connection this
 * process gets otherwise - accepted by the old process after the hand-over began ('late'
 * messages) or by this one on the shared listening socket - goes to `onConnection`, queued
 * until it is set. The server is switched to pauseOnConnect at once: a connection it accepts
 * before the daemon is ready, or while this daemon in turn hands over, must not be read
 * (bytes read into a socket that is then passed on would be lost with this process).
 * `predecessorGone` resolves when the old process has exited and every message it sent was
 * read: a new hand-over must not start before (connections still on the pipe would be lost).
 */
export function receiveHandover(): Promise<{ state: Uint8Array; server: net.Server; serverRo: net.Server;
  sockets: Map<number, net.Socket | object>; onConnection(f: (s: net.Socket, ro: boolean) => void): void; predecessorGone: Promise<void> }> {
  const queued: [net.Socket, boolean][] = [];
  let handler: ((s: net.Socket, ro: boolean) => void) | undefined;
  const deliver = (s: net.Socket, ro: boolean): void => { if (handler) handler(s, ro); else queued.push([s, ro]); };
  const onConnection = (f: (s: net.Socket, ro: boolean) => void): void => { handler = f; for (const [s, ro] of queued.splice(0)) f(s, ro); };
  const predecessorGone = new Promise<void>((r) => {
    if (!process.connected) r(); else process.once('disconnect', () => r());
  });
  return new Promise((res, rej) => {
    let state: Uint8Array | undefined;
    let server: net.Server | undefined;
    let serverRo: net.Server | undefined;
    const sockets = new Map<number, net.Socket | object>();
    const timer = setTimeout(() => rej(new Error('no hand-over from the old xenstored')), 20000);
    process.on('message', (m: { t: string; data?: Uint8Array; id?: number; ro?: boolean }, h?: net.Server | net.Socket) => {
      if (m.t === 'state') state = m.data;
      else if (m.t === 'server') {
        const s = h as net.Server;
        const ro = m.ro === true;
        if (ro) serverRo = s; else server = s;
        (s as unknown as { pauseOnConnect: boolean }).pauseOnConnect = true;
        s.on('connection', (c: net.Socket) => deliver(c, ro));
      } else if (m.t === 'sock' && h) sockets.set(m.id!, h);
      else if (m.t === 'late' && h) deliver(h as net.Socket, m.ro === true);
      else if (m.t === 'end') {
        clearTimeout(timer);
        if (!state || !server || !serverRo) rej(new Error('incomplete hand-over'));
        else res({ state, server, serverRo, sockets, onConnection, predecessorGone });
      }
    });
  });
}
