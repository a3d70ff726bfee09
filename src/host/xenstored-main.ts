// SPDX-License-Identifier: GPL-2.0-only
// `xenstored`: the xenstore daemon process. Listens on a Unix socket (path per Xen's rules,
// see --help), runs the pure core (src/toolstack/xenstored) and provides its host hooks:
// logging, live update by process hand-over (xenstored-lu.ts). Flags follow cxenstored's
// where they exist (-E -S -W -t -A -Q -F -N -T -U -V).
import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import type net from 'node:net';
import { Xenstored } from '../toolstack/xenstored/core.ts';
import { setQuota } from '../toolstack/xenstored/domain.ts';
import { restoreState } from '../toolstack/xenstored/lu.ts';
import { liveUpdate, receiveHandover, type LuContext } from './xenstored-lu.ts';
import { DEFAULT_RUNDIR, SocketConnection, listen, socketPath, socketRoPath } from './xenstored-socket.ts';
import { runSupervised, supervise, supervisedLiveUpdate } from './xenstored-supervisor.ts';

const USAGE = `usage: xenstored [options]

The xenstore daemon. Clients (Debian's xenstore-utils, pyxs, libxenstore) connect to its
Unix socket; socket connections are dom0.

Socket path, first that applies:
  --socket PATH               this path
  XENSTORED_PATH=PATH         (environment) this path
  XENSTORED_RUNDIR=DIR        (environment) DIR/socket
  default                     ${DEFAULT_RUNDIR}/socket
The directory is created if missing; a stale socket file is replaced. Beside it, PATH_ro
(mode 0660) is the read-only socket: reads and watches work, writes fail with EACCES.

Options:
  -h, --help                  this text
  -F, --pid-file FILE         write the daemon's pid to FILE (rewritten after a live update)
  -N, --no-fork               stay in the foreground (the default)
      --daemon                detach and run in the background
  -E, --entry-nb N            nodes per domain (default 1000)
  -S, --entry-size N          node record size in bytes (default 2048)
  -W, --watch-nb N            watches per domain (default 128)
  -t, --transaction N         open transactions per connection (default 10)
  -A, --perm-nb N             permission entries per node (default 5)
  -Q, --quota NAME=N          any quota: nodes, watches, transactions, node-size,
                              outstanding (default 20), permissions, transaction-nodes
                              (default 1024), memory (bytes of nodes, default 2621440);
                              0 = unlimited. Dom0 is exempt from all.
  -q, --quota-soft memory=N   soft memory quota: passing it is logged (default 2097152)
  -K, --keep-orphans          a released domain's nodes are given to dom0, not deleted
  -T, --trace-file FILE       log every request and reply to FILE
  -V, --verbose               log to stderr
      --supervise             crash recovery: a supervisor process keeps the socket and the
                              client connections and restarts the daemon from its journal
                              if it dies (see docs/design/xenstored.md for the limits)
  -U, --live-update           (internal) take over from the old daemon during a live update

Control (any dom0 client, e.g. xenstore-control): help, log on|off, print TEXT, check,
memreport, quota [set NAME N|DOMID], live-update -f SCRIPT [-c ARGS], then live-update -s [-t SEC] [-F]
(or: xenstore-control live-update SCRIPT).
`;

interface Opts {
  socket?: string; pidFile?: string; daemon: boolean; traceFile?: string; verbose: boolean;
  lu: boolean; quotas: string[]; softQuotas: string[]; args: string[]; supervise: boolean; supervised: boolean; keepOrphans: boolean;
}

function parse(argv: string[]): Opts | string {
  const o: Opts = { daemon: false, verbose: false, lu: false, quotas: [], softQuotas: [], args: [], supervise: false, supervised: false, keepOrphans: false };
  const letters: Record<string, string> = { '-E': 'nodes', '--entry-nb': 'nodes', '-S': 'node-size', '--entry-size': 'node-size',
    '-W': 'watches', '--watch-nb': 'watches', '-t': 'transactions', '--transaction': 'transactions',
    '-A': 'permissions', '--perm-nb': 'permissions' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const val = (): string => { const v = argv[++i]; if (v === undefined) throw new Error(`${a} needs a value`); return v; };
    try {
      if (a === '-h' || a === '--help') return 'help';
      else if (a === '--socket') o.socket = val();
      else if (a === '-F' || a === '--pid-file') o.pidFile = val();
      else if (a === '-N' || a === '--no-fork' || a === '-D' || a === '--no-domain-init') { /* foreground is the default; no hypervisor */ }
      else if (a === '--daemon') { o.daemon = true; continue; }
      else if (a === '--supervise') o.supervise = true;
      else if (a === '--supervised') o.supervised = true;
      else if (a === '-T' || a === '--trace-file') o.traceFile = val();
      else if (a === '-V' || a === '--verbose') o.verbose = true;
      else if (a === '-K' || a === '--keep-orphans') o.keepOrphans = true;
      else if (a === '-U' || a === '--live-update') { o.lu = true; continue; }
      else if (a in letters) o.quotas.push(`${letters[a]}=${val()}`);
      else if (a === '-Q' || a === '--quota') o.quotas.push(val());
      else if (a === '-q' || a === '--quota-soft') o.softQuotas.push(val());
      else return `unknown option '${a}' (try --help)`;
    } catch (e) { return (e as Error).message; }
  }
  o.args = argv.filter((x) => !['-U', '--live-update', '--daemon', '--supervise', '--supervised'].includes(x));
  return o;
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  return new Promise((res) => { const t = setTimeout(res, ms); void p.then(() => { clearTimeout(t); res(); }); });
}

/** Atomically (write + rename): readers never see an empty pid file. */
function writePid(file: string | undefined): void {
  if (!file) return;
  writeFileSync(`${file}.tmp`, `${process.pid}\n`);
  renameSync(`${file}.tmp`, file);
}

async function main(argv: string[]): Promise<number> {
  const o = parse(argv);
  if (o === 'help') { process.stdout.write(USAGE); return 0; }
  if (typeof o === 'string') { process.stderr.write(`xenstored: ${o}\n`); return 1; }
  if (o.daemon) {
    const c = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...o.args], { detached: true, stdio: 'ignore' });
    c.unref();
    const path = socketPath(o.socket);
    for (let i = 0; i < 100; i++) {
      if (existsSync(path)) { process.stdout.write(`xenstored: started, pid ${c.pid}\n`); return 0; }
      await new Promise((r) => setTimeout(r, 100));
    }
    process.stderr.write('xenstored: the daemon did not come up\n');
    return 1;
  }
  const log = (line: string): void => {
    const l = `${new Date().toISOString()} xenstored[${process.pid}]: ${line}\n`;
    if (o.traceFile) appendFileSync(o.traceFile, l);
    if (o.verbose || !o.traceFile) process.stderr.write(l);
  };
  if (o.supervise) {
    await supervise({ path: socketPath(o.socket), script: process.argv[1]!, args: o.args, log });
    writePid(o.pidFile);
    return -1;
  }
  let server!: net.Server;
  let serverRo!: net.Server;
  let lu: LuContext | undefined;
  let predecessorGone: Promise<void> = Promise.resolve();
  const core = new Xenstored({
    log,
    ringRelay: (conn, domid, evtchn) => conn instanceof SocketConnection && !!conn.becomeRelay(domid, evtchn),
    liveUpdate: (c, conn, reqId, txId, opts) => {
      if (o.supervised) return supervisedLiveUpdate(c, conn, reqId, txId, opts);
      // Not before the previous daemon is gone: sockets it passed on may still be on the pipe.
      return withTimeout(predecessorGone, 10_000).then(() => {
        lu = { server, serverRo, script: process.argv[1]!, args: o.args, attach: (sock, ro) => core.attach(new SocketConnection(core.newConnId(), sock, ro)) };
        return liveUpdate(lu, c, conn, reqId, txId, opts).finally(() => { lu = undefined; });
      });
    },
  });
  for (const q of o.quotas) {
    const err = setQuota(core.quotas, q);
    if (err) { process.stderr.write(`xenstored: ${err}\n`); return 1; }
  }
  for (const q of o.softQuotas) {
    const m = /^memory=(\d+)$/.exec(q);
    if (!m) { process.stderr.write(`xenstored: bad soft quota '${q}' (only memory=N)\n`); return 1; }
    core.softQuotas.memory = Number(m[1]);
  }
  if (o.traceFile) core.trace = true;
  core.keepOrphans = o.keepOrphans;
  const accept = (sock: net.Socket, ro: boolean): void => {
    if (lu?.late) lu.late.forward(sock, ro); // accepted during a hand-over: the new daemon's
    else core.attach(new SocketConnection(core.newConnId(), sock, ro));
  };

  if (o.supervised) {
    await runSupervised(core, log);
    return -1;
  }
  if (o.lu) {
    const h = await receiveHandover();
    server = h.server;
    serverRo = h.serverRo;
    const pending = restoreState(core, h.state, {
      socket: (id) => { const s = h.sockets.get(id); return s ? new SocketConnection(id, s) : undefined; },
      // A ring relay (relay.ts) travels as a ring record whose socket came by conn-id.
      ring: (id, domid, evtchn) => { const s = h.sockets.get(id); return s ? new SocketConnection(id, s).becomeRelay(domid, evtchn) : undefined; },
    });
    writePid(o.pidFile);
    for (const [c, out] of pending) c.transmit(out);
    h.onConnection(accept);
    predecessorGone = h.predecessorGone;
    process.send?.({ t: 'ready' });
    // The channel closes when the old process exits; it must not keep this one alive.
    (process.channel as unknown as { unref?: () => void } | undefined)?.unref?.();
    core.frozen = false;
    core.resumeAll();
    log(`live update complete: ${core.store.nodes.size} nodes, ${core.conns.size} connections`);
  } else {
    const path = socketPath(o.socket);
    try {
      // The read-write socket last: clients (and scripts) wait for it, then find the rest ready.
      serverRo = await listen(socketRoPath(path), (s) => accept(s, true), 0o660);
      server = await listen(path, (s) => accept(s, false));
    } catch (e) { process.stderr.write(`xenstored: ${(e as Error).message}\n`); return 1; }
    if (o.verbose) log(`listening on ${path} and ${socketRoPath(path)} (read-only)`);
    writePid(o.pidFile);
  }
  const stop = (): void => {
    server.close();
    serverRo.close();
    // A server received in a hand-over does not unlink its path on close: do it here.
    try { unlinkSync(socketPath(o.socket)); } catch { /* gone */ }
    try { unlinkSync(socketRoPath(socketPath(o.socket))); } catch { /* gone */ }
    if (o.pidFile) try { unlinkSync(o.pidFile); } catch { /* gone */ }
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  return -1;
}

main(process.argv.slice(2)).then(
  (code) => { if (code >= 0) process.exitCode = code; },
  (err: unknown) => { process.stderr.write(`xenstored: ${err instanceof Error ? err.message : String(err)}\n`); process.exit(1); },
);
