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
  while (conns.some((c) => !c.closed && c.socket.writableLength > 0)) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 2));
  }
  return true;
}

export async function liveUpdate(ctx: LuContext, core: Xenstored, conn: Connection, reqId: number, txId: number,
  opts: LiveUpdateOptions): Promise<string | undefined> {
  const socks = socketsOf(core);
  for (const c of socks) c.stopReading();
  const resume = (msg: string): string => { for (const c of socketsOf(core)) c.startReading(); return msg; };
  if (!(await drained(socks, 5000))) return resume('BUSY');
  let state: Uint8Array;
  try {
    state = dumpState(core, { rwSocketFd: -1, extraOut: new Map([[conn.id, frame(XS_CONTROL, reqId, txId, 'OK')]]) });
  } catch (e) {
    return resume(`live-update: ${e instanceof Error ? e.message : String(e)}`);
  }
  const args = opts.cmdline ? opts.cmdline.split(/\s+/).filter(Boolean) : ctx.args;
  const script = opts.binary ?? ctx.script;
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [...process.execArgv, script, ...args, '-U'], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'],
      serialization: 'advanced',
    });
  } catch (e) {
    return resume(`live-update: cannot start ${script}: ${e instanceof Error ? e.message : String(e)}`);
  }
  const outcome = new Promise<string | undefined>((res) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); res('live-update: new xenstored did not become ready'); }, Math.max(10, opts.timeout) * 1000);
    child.on('message', (m: { t?: string; msg?: string }) => {
      if (m.t === 'ready') { clearTimeout(timer); res(undefined); }
      if (m.t === 'fail') { clearTimeout(timer); res(`live-update: ${m.msg}`); }
    });
    child.on('exit', (code, sig) => { clearTimeout(timer); res(`live-update: new xenstored exited (${code ?? sig})`); });
    child.on('error', (e) => { clearTimeout(timer); res(`live-update: ${e.message}`); });
  });
  const send = (m: unknown, h?: net.Server | net.Socket): Promise<void> => new Promise((res) => {
    if (!child.connected) { res(); return; }
    child.send(m as never, h as never, { keepOpen: true }, () => res());
  });
  void (async () => {
    await send({ t: 'state', data: state });
    await send({ t: 'server' }, ctx.server);
    for (const c of socks) if (!c.closed) await send({ t: 'sock', id: c.id }, c.socket);
    await send({ t: 'end' });
  })();
  const err = await outcome;
  if (err !== undefined) return resume(err);
  // Handed over: leave without closing anything (closing the server would unlink its path).
  process.exit(0);
}

/** The new daemon's side: receive the dump, the server and the sockets. */
export function receiveHandover(): Promise<{ state: Uint8Array; server: net.Server; sockets: Map<number, net.Socket> }> {
  return new Promise((res, rej) => {
    let state: Uint8Array | undefined;
    let server: net.Server | undefined;
    const sockets = new Map<number, net.Socket>();
    const timer = setTimeout(() => rej(new Error('no hand-over from the old xenstored')), 20000);
    process.on('message', (m: { t: string; data?: Uint8Array; id?: number }, h?: net.Server | net.Socket) => {
      if (m.t === 'state') state = m.data;
      else if (m.t === 'server') server = h as net.Server;
      else if (m.t === 'sock' && h) sockets.set(m.id!, h as net.Socket);
      else if (m.t === 'end') {
        clearTimeout(timer);
        if (!state || !server) rej(new Error('incomplete hand-over'));
        else res({ state, server, sockets });
      }
    });
  });
}
