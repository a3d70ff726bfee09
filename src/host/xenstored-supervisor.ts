// SPDX-License-Identifier: GPL-2.0-only
// Crash recovery: `xenstored --supervise`. A small supervisor process owns the listening socket
// and a duplicate of every client socket (it never reads them), and runs the daemon as a child.
// The daemon journals its whole state (the migration image) to the supervisor over IPC before
// it writes the replies of each batch of mutating requests; the pipe keeps what was written
// even if the daemon dies. When the daemon exits for any reason - a crash, a kill, or a live
// update (it sends a final image and exits) - the supervisor starts a new daemon with the last
// image and hands it every client socket again. See docs/design/xenstored.md for the limits.
import { spawn, type ChildProcess } from 'node:child_process';
import type net from 'node:net';
import type { Connection } from '../toolstack/xenstored/connection.ts';
import type { LiveUpdateOptions, Xenstored } from '../toolstack/xenstored/core.ts';
import { dumpState, restoreState } from '../toolstack/xenstored/lu.ts';
import { HEADER_SIZE, latin1, wr32, XS_CONTROL } from '../toolstack/xenstored/wire.ts';
import { SocketConnection, listen } from './xenstored-socket.ts';

type Msg = { t: string; data?: Uint8Array; id?: number; script?: string; args?: string[] };

export interface SuperviseOptions {
  path: string; script: string; args: string[]; log: (l: string) => void; onListening?: () => void;
}

export async function supervise(o: SuperviseOptions): Promise<void> {
  const server = await listen(o.path);
  const sockets = new Map<number, net.Socket>();
  let nextId = 1;
  let image: Uint8Array | undefined;
  let script = o.script;
  let args = o.args;
  let child: ChildProcess | null = null;
  let stopping = false;
  let crashes: number[] = [];

  const handOver = (c: ChildProcess, id: number, s: net.Socket): void => {
    if (c.connected) c.send({ t: 'sock', id } as never, s as never, { keepOpen: true });
  };
  const start = (): void => {
    const c = spawn(process.execPath, [...process.execArgv, script, ...args, '--supervised'], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
    });
    child = c;
    c.on('message', (m: Msg) => {
      if (m.t === 'image') image = m.data;
      else if (m.t === 'closed') { sockets.get(m.id!)?.destroy(); sockets.delete(m.id!); }
      else if (m.t === 'lu') { image = m.data; if (m.script) script = m.script; if (m.args) args = m.args; }
    });
    c.on('exit', (code, sig) => {
      if (child !== c) return;
      child = null;
      if (stopping) return;
      const now = Date.now();
      crashes = crashes.filter((t) => now - t < 10_000);
      crashes.push(now);
      if (code !== 0) o.log(`daemon exited (${code ?? sig}); restarting from the last journal`);
      setTimeout(start, crashes.length > 5 ? 1000 : 0);
    });
    c.send({ t: 'init', data: image } as never);
    for (const [id, s] of sockets) handOver(c, id, s);
    c.send({ t: 'end' } as never);
  };
  server.on('connection', (s: net.Socket) => {
    const id = nextId++;
    sockets.set(id, s);
    if (child) handOver(child, id, s);
  });
  const stop = (): void => {
    stopping = true;
    child?.kill('SIGTERM');
    server.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  start();
  o.onListening?.();
}

function frame(reqId: number, txId: number, s: string): Uint8Array {
  const p = latin1(s, true);
  const f = new Uint8Array(HEADER_SIZE + p.length);
  wr32(f, 0, XS_CONTROL); wr32(f, 4, reqId); wr32(f, 8, txId); wr32(f, 12, p.length);
  f.set(p, HEADER_SIZE);
  return f;
}

/** The daemon side under a supervisor: restore, then journal after every mutating batch. */
export function runSupervised(core: Xenstored, log: (l: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let init: Uint8Array | undefined;
    const early = new Map<number, net.Socket>();
    let ready = false;
    const attach = (id: number, s: net.Socket): void => {
      const c = new SocketConnection(id, s);
      c.onClosed = () => process.send?.({ t: 'closed', id });
      core.attach(c);
    };
    process.on('message', (m: Msg, h?: net.Socket) => {
      if (m.t === 'init') init = m.data;
      else if (m.t === 'sock' && h) { if (ready) attach(m.id!, h); else early.set(m.id!, h); }
      else if (m.t === 'end') {
        let pending = new Map<Connection, Uint8Array>();
        if (init) {
          pending = restoreState(core, init, {
            socket: (id) => { const s = early.get(id); if (!s) return undefined; early.delete(id); const c = new SocketConnection(id, s); c.onClosed = () => process.send?.({ t: 'closed', id }); return c; },
          });
        }
        for (const [id, s] of early) attach(id, s);
        early.clear();
        ready = true;
        for (const [c, out] of pending) c.transmit(out);
        core.frozen = false;
        core.resumeAll();
        SocketConnection.beforeWrite = () => {
          if (core.changes === journaled) return;
          journaled = core.changes;
          process.send?.({ t: 'image', data: dumpState(core, { rwSocketFd: -1 }) });
        };
        if (init) log(`restored: ${core.store.nodes.size} nodes, ${core.conns.size} connections`);
        resolve();
      }
    });
    let journaled = -1;
  });
}

/** Live update under a supervisor: send the final image (with the reply) and exit. */
export async function supervisedLiveUpdate(core: Xenstored, conn: Connection, reqId: number, txId: number,
  opts: LiveUpdateOptions): Promise<string | undefined> {
  const socks = [...core.conns.values()].filter((c): c is SocketConnection => c instanceof SocketConnection);
  for (const c of socks) c.stopReading();
  const end = Date.now() + 5000;
  while (socks.some((c) => !c.closed && c.backlog() > 0)) {
    if (Date.now() > end) { for (const c of socks) c.startReading(); return 'BUSY'; }
    await new Promise((r) => setTimeout(r, 2));
  }
  const data = dumpState(core, { rwSocketFd: -1, extraOut: new Map([[conn.id, frame(reqId, txId, 'OK')]]) });
  SocketConnection.beforeWrite = undefined;
  await new Promise<void>((r) => process.send!({ t: 'lu', data, script: opts.binary, args: opts.cmdline?.split(/\s+/).filter(Boolean) }, () => r()));
  process.exit(0);
}
