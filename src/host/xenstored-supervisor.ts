// SPDX-License-Identifier: GPL-2.0-only
// Crash recovery: `xenstored --supervise`. A small supervisor process owns the listening socket
// and a duplicate of every client socket (it never reads them), and runs the daemon as a child.
// The daemon journals its whole state (the migration image) to the supervisor over IPC before
// it writes the replies of each batch of mutating requests; the pipe keeps what was written
// even if the daemon dies. When the daemon exits for any reason - a crash, a kill, or a live
// update (it sends a final image and exits) - the supervisor starts a new daemon with the last
// image and hands it every client socket again. See docs/design/xenstored.md for the limits.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import type { Connection } from '../toolstack/xenstored/connection.ts';
import type { LiveUpdateOptions, Xenstored } from '../toolstack/xenstored/core.ts';
import { dumpState, restoreState } from '../toolstack/xenstored/lu.ts';
import { HEADER_SIZE, latin1, wr32, XS_CONTROL, XS_WRITE } from '../toolstack/xenstored/wire.ts';
import { SocketConnection, listen, socketRoPath } from './xenstored-socket.ts';

type Msg = {
  t: string; data?: Uint8Array; id?: number; ro?: boolean; script?: string; args?: string[];
  override?: [number, Uint8Array][]; replay?: [number, Uint8Array][];
};

export interface SuperviseOptions {
  path: string; script: string; args: string[]; log: (l: string) => void; onListening?: () => void;
}

export async function supervise(o: SuperviseOptions): Promise<void> {
  const sockets = new Map<number, net.Socket>();
  const readOnly = new Set<number>();
  let nextId = 1;
  let child: ChildProcess | null = null;
  const accepted = (s: net.Socket, ro: boolean): void => {
    const id = nextId++;
    sockets.set(id, s);
    if (ro) readOnly.add(id);
    if (child) handOver(child, id, s);
  };
  const serverRo = await listen(socketRoPath(o.path), (s) => accepted(s, true), 0o660);
  const server = await listen(o.path, (s) => accepted(s, false));
  let image: Uint8Array | undefined;
  let script = o.script;
  let args = o.args;
  let stopping = false;
  let crashes: number[] = [];
  // The input log: chunks the daemon read after the last image, in order, per connection
  // (replayed into a restarted daemon: requests it read but never answered), and for a
  // connection whose input was consumed by read-only requests since the image, the partial
  // frame it had left (replaces the image's in-data for that connection).
  const log: [number, Uint8Array][] = [];
  const override = new Map<number, Uint8Array>();
  const forget = (id: number): void => {
    override.delete(id);
    for (let i = log.length - 1; i >= 0; i--) if (log[i]![0] === id) log.splice(i, 1);
  };

  const handOver = (c: ChildProcess, id: number, s: net.Socket): void => {
    if (c.connected) c.send({ t: 'sock', id, ro: readOnly.has(id) } as never, s as never, { keepOpen: true });
  };
  // Daemons started since the last journal: a replayed request that kills every daemon
  // (a poison pill) is dropped after three tries, its client then waits as without the log.
  let unjournaled = 0;
  const start = (): void => {
    if (++unjournaled > 3 && log.length > 0) {
      o.log(`dropping ${log.length} unanswered input chunks: three daemons died on them`);
      log.length = 0;
    }
    const c = spawn(process.execPath, [...process.execArgv, script, ...args, '--supervised'], {
      stdio: ['inherit', 'inherit', 'inherit', 'ipc'], serialization: 'advanced',
    });
    child = c;
    c.on('message', (m: Msg) => {
      if (m.t === 'in') log.push([m.id!, m.data!]);
      else if (m.t === 'mark') { forget(m.id!); override.set(m.id!, m.data!); unjournaled = 0; }
      else if (m.t === 'image') { image = m.data; log.length = 0; override.clear(); unjournaled = 0; }
      else if (m.t === 'closed') { sockets.get(m.id!)?.destroy(); sockets.delete(m.id!); readOnly.delete(m.id!); forget(m.id!); }
      else if (m.t === 'lu') {
        image = m.data; log.length = 0; override.clear();
        if (m.script) script = m.script;
        if (m.args) args = m.args;
      }
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
    c.send({ t: 'init', data: image, override: [...override], replay: log } as never);
    for (const [id, s] of sockets) handOver(c, id, s);
    c.send({ t: 'end' } as never);
  };

  const stop = (): void => {
    stopping = true;
    child?.kill('SIGTERM');
    server.close();
    serverRo.close();
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

/**
 * The daemon side under a supervisor: restore, replay the input the previous daemon read and
 * did not answer, then journal. Every chunk read goes to the supervisor before it is parsed
 * ('in'); before output is written, the whole image if anything changed ('image'), else a
 * mark for the connection that read ('mark': its input so far is answered, except the partial
 * frame it carries). So a request the daemon dies on is replayed by the next one, and a
 * request whose reply went out is not.
 */
export function runSupervised(core: Xenstored, log: (l: string) => void): Promise<void> {
  return new Promise((resolve) => {
    let init: Msg | undefined;
    const early = new Map<number, [net.Socket, boolean]>();
    const conns = new Map<number, SocketConnection>();
    let ready = false;
    let journaled = -1;
    const make = (id: number, s: net.Socket, ro: boolean): SocketConnection => {
      const c = new SocketConnection(id, s, ro);
      c.onClosed = () => process.send?.({ t: 'closed', id });
      conns.set(id, c);
      return c;
    };
    process.on('message', (m: Msg, h?: net.Socket) => {
      if (m.t === 'init') init = m;
      else if (m.t === 'sock' && h) { if (ready) core.attach(make(m.id!, h, m.ro === true)); else early.set(m.id!, [h, m.ro === true]); }
      else if (m.t === 'end') {
        let pending = new Map<Connection, Uint8Array>();
        core.frozen = true;
        if (init?.data) {
          pending = restoreState(core, init.data, {
            socket: (id) => { const e = early.get(id); if (!e) return undefined; early.delete(id); return make(id, e[0], e[1]); },
            ring: (id, domid, evtchn) => { const e = early.get(id); if (!e) return undefined; early.delete(id); return make(id, e[0], e[1]).becomeRelay(domid, evtchn); },
          });
        }
        for (const [id, [s, ro]] of early) core.attach(make(id, s, ro));
        early.clear();
        // The previous daemon's input after its last image: frozen, so nothing runs yet.
        for (const [id, rest] of init?.override ?? []) { const c = conns.get(id); if (c) { c.reader.reset(); c.reader.push(rest); } }
        let replayed = 0;
        for (const [id, chunk] of init?.replay ?? []) { const c = conns.get(id); if (c) { c.reader.push(chunk); replayed += chunk.length; } }
        ready = true;
        SocketConnection.onInput = (c, chunk) => { process.send?.({ t: 'in', id: c.id, data: chunk.slice() }); };
        // process.send() only queues once the pipe is full (a supervisor that falls behind):
        // output is held until every journal message sent is in the pipe (its callback; a
        // write that completed at once calls back on the next tick). Without this, replies
        // went out ahead of their journal and a SIGKILL then lost acknowledged writes.
        let unsent = 0;
        const sent = (): void => { if (--unsent === 0) SocketConnection.release(); };
        const journal = (m: Msg): void => { if (process.send) { unsent++; process.send(m, sent); } };
        SocketConnection.beforeWrite = (reader) => {
          if (core.changes !== journaled) {
            journaled = core.changes;
            journal({ t: 'image', data: dumpState(core, { rwSocketFd: -1 }) });
          } else if (reader) journal({ t: 'mark', id: reader.id, data: reader.reader.pending() });
          return unsent === 0;
        };
        for (const [c, out] of pending) c.transmit(out);
        core.frozen = false;
        core.resumeAll();
        if (init?.data) log(`restored: ${core.store.nodes.size} nodes, ${core.conns.size} connections, ${replayed} bytes of unanswered input`);
        installFault(core);
        resolve();
      }
    });
  });
}

/**
 * Fault injection for the crash tests: XENSTORED_TEST_KILL_ON="PATH|FILE" makes the daemon
 * SIGKILL itself while processing a WRITE to PATH (after reading it, before answering), once:
 * FILE is created first and its existence disarms it.
 */
function installFault(core: Xenstored): void {
  const spec = process.env.XENSTORED_TEST_KILL_ON;
  if (!spec) return;
  const [path, once] = spec.split('|') as [string, string];
  const prefix = latin1(path, true);
  const orig = core.process.bind(core);
  core.process = (conn, type, reqId, txId, p) => {
    if (type === XS_WRITE && p.length > prefix.length && prefix.every((b, i) => p[i] === b) && !existsSync(once)) {
      writeFileSync(once, '');
      process.kill(process.pid, 'SIGKILL');
    }
    return orig(conn, type, reqId, txId, p);
  };
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
