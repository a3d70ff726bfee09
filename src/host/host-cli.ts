// SPDX-License-Identifier: GPL-2.0-only
// `tsxen host`: start the host daemon in the background (returns once it answers on its control
// socket), `--foreground`, `--stop`, `--status`. Run dir: --rundir, $TSXEN_RUNDIR, /run/tsxen as
// root, else $XDG_RUNTIME_DIR/tsxen, else /tmp/tsxen-<uid>; one host per run dir.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { CtrlClient, ctrlCall, NoHostError } from './ctrl-client.ts';
import { ctrlSocketPath, HostDaemon, pidFilePath } from './host-daemon.ts';
import { detectTopology, flatTopology, MAX_HOST_CPUS, parseTopology } from './host-topology.ts';
import { defaultRunDir } from './run-dir.ts';
import { topologyCpus, type Topology } from '../hypervisor/sched/sched-if.ts';

const USAGE = `usage: tsxen host [--foreground] [--rundir DIR] [--cpus N | --topology SPEC] [--no-threads] [--memory MiB] [--no-xenstored] [sched=credit2|rtds|null] [credit2_runqueue=...]
       tsxen host --stop [--rundir DIR]
       tsxen host --status [--rundir DIR]

Starts the host daemon (hypervisor, xenstored, xenconsoled, control socket DIR/ctrl.sock) in the
background and returns when it is ready. Run dir: --rundir, $TSXEN_RUNDIR, /run/tsxen (root),
$XDG_RUNTIME_DIR/tsxen, /tmp/tsxen-<uid>. Logs: DIR/host.log, DIR/xenstored.log, DIR/console/.
key=value words are Xen boot parameters (xl info's xen_commandline): sched= picks Pool-0's scheduler.
--cpus N: N pCPUs in one socket (default 2). --topology sockets=S,cores=C,threads=T[,nodes=N]:
S*C*T pCPUs, C cores per socket, T threads per core, the sockets split evenly into N NUMA nodes
(default 1); --topology host: this machine's shape (Linux /sys). At most 256 pCPUs.
Each pCPU runs on its own worker thread (guests execute in parallel); --no-threads makes every
pCPU take turns on the daemon's thread instead (--threads: the default).
`;


interface Args {
  mode: 'start' | 'stop' | 'status';
  foreground: boolean;
  runDir: string;
  cpus: number;
  /** Each pCPU on its own worker thread (host-pcpus.ts). */
  threads: boolean;
  /** The pCPUs' shape (--topology, or --cpus flat). */
  topology: Topology;
  /** What --topology host could not detect and fell back from, for the host log. */
  topologyNote: string | null;
  memoryMiB: number;
  xenstored: boolean;
  /** Xen boot parameters (key=value words). */
  commandLine: string[];
}

function parse(argv: string[]): Args | string {
  const a: Args = {
    mode: 'start', foreground: false, runDir: defaultRunDir(), cpus: 2, topology: flatTopology(2), topologyNote: null, threads: true,
    memoryMiB: 1024, xenstored: true, commandLine: [],
  };
  let cpusGiven = false, topoSpec: string | null = null;
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    const val = (): string | undefined => argv[++i];
    const num = (name: string, max: number): number | string => {
      const v = val();
      const n = Number(v);
      return Number.isInteger(n) && n >= 1 && n <= max ? n : `${name}: need a whole number from 1 to ${max}, got ${JSON.stringify(v ?? '')}`;
    };
    if (f === '--foreground' || f === '-F') a.foreground = true;
    else if (f === '--stop') a.mode = 'stop';
    else if (f === '--status') a.mode = 'status';
    else if (f === '--no-xenstored') a.xenstored = false;
    else if (f === '--threads') a.threads = true;
    else if (f === '--no-threads') a.threads = false;
    else if (f === '--rundir') {
      const v = val();
      if (v === undefined || v === '') return '--rundir: need a directory';
      a.runDir = resolve(v);
    } else if (f === '--cpus') {
      const n = num('--cpus', MAX_HOST_CPUS);
      if (typeof n === 'string') return n;
      a.cpus = n;
      cpusGiven = true;
    } else if (f === '--topology') {
      const v = val();
      if (v === undefined || v === '') return '--topology: need sockets=S,cores=C,threads=T[,nodes=N] or host';
      topoSpec = v;
    } else if (f === '--memory') {
      const n = num('--memory', 65536);
      if (typeof n === 'string') return n;
      a.memoryMiB = n;
    } else if (/^[a-z0-9_]+=/.test(f)) a.commandLine.push(f);
    else return `unknown option '${f}'`;
  }
  if (topoSpec === null) {
    a.topology = flatTopology(a.cpus);
    return a;
  }
  if (topoSpec === 'host') {
    const d = detectTopology();
    if (typeof d === 'string') return d;
    a.topology = d.topology;
    a.topologyNote = d.note;
  } else {
    const t = parseTopology(topoSpec);
    if (typeof t === 'string') return t;
    a.topology = t;
  }
  const n = topologyCpus(a.topology);
  if (cpusGiven && a.cpus !== n) return `--cpus ${a.cpus} conflicts with --topology ${topoSpec} (${n} CPUs)`;
  a.cpus = n;
  return a;
}

async function alive(sock: string): Promise<boolean> {
  try {
    (await CtrlClient.connect(sock)).close();
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function hostCommand(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  const a = parse(argv);
  if (typeof a === 'string') {
    process.stderr.write(`tsxen host: ${a}\n${USAGE}`);
    return 1;
  }
  const sock = ctrlSocketPath(a.runDir);
  if (a.mode === 'status' || a.mode === 'stop') {
    try {
      const st = await ctrlCall(sock, 'host.status', {});
      if (a.mode === 'status') {
        process.stdout.write(`tsxen host running: pid ${st.pid}, run dir ${st.runDir}, ${st.domains - 1} guest domain(s)\n` +
          `control socket ${st.ctrlSocket}\nxenstored socket ${st.xenstoredSocket ?? '(none)'}\nconsole logs ${st.consoleDir}\n`);
        return 0;
      }
      await ctrlCall(sock, 'host.stop', {});
      for (let i = 0; i < 300; i++) {
        if (!existsSync(sock) && !pidAlive(st.pid)) break;
        await sleep(100);
      }
      if (pidAlive(st.pid)) {
        process.stderr.write(`tsxen host: pid ${st.pid} did not stop within 30 s\n`);
        return 1;
      }
      process.stdout.write(`tsxen host stopped (pid ${st.pid})\n`);
      return 0;
    } catch (e) {
      process.stderr.write(`tsxen host: ${e instanceof Error ? e.message : String(e)}\n`);
      return e instanceof NoHostError ? 3 : 1;
    }
  }
  mkdirSync(a.runDir, { recursive: true, mode: 0o700 });
  if (await alive(sock)) {
    process.stderr.write(`tsxen host: a host is already running at ${sock}\n`);
    return 1;
  }
  if (a.foreground) return runForeground(a);
  // Background: the same command in --foreground, detached, logging to <rundir>/host.log.
  const logFile = join(a.runDir, 'host.log');
  const log = openSync(logFile, 'a');
  const child = spawn(process.execPath, [process.argv[1]!, 'host', '--foreground', ...argv.filter((x) => x !== '--foreground' && x !== '-F'), '--rundir', a.runDir], {
    detached: true, stdio: ['ignore', log, log], env: { ...process.env, TSXEN_NO_REBUILD: '1' },
  });
  let exited: number | null = null;
  child.once('exit', (c) => (exited = c ?? 1));
  child.unref();
  for (let i = 0; i < 600; i++) {
    if (exited !== null) break;
    if (await alive(sock)) {
      process.stdout.write(`tsxen host started: pid ${child.pid}, control socket ${sock}, log ${logFile}\n`);
      return 0;
    }
    await sleep(100);
  }
  if (exited === null) child.kill('SIGTERM');
  const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
  process.stderr.write(`tsxen host: the daemon did not become ready (see ${logFile})\n${tail}\n`);
  return 1;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function runForeground(a: Args): Promise<number> {
  const log = (s: string): void => void process.stdout.write(`${new Date().toISOString()} ${s}\n`);
  const xsBin = process.env.TSXEN_XENSTORED ?? join(dirname(resolve(process.argv[1]!)), 'xenstored');
  if (a.topologyNote !== null) log(`--topology host: ${a.topologyNote}`);
  const host = new HostDaemon({ runDir: a.runDir, nrCpus: a.cpus, topology: a.topology, threads: a.threads, memoryMiB: a.memoryMiB, xenstoredBin: a.xenstored ? xsBin : null, log, commandLine: a.commandLine.join(' ') });
  const onSignal = (): void => void host.stop();
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    await host.start();
  } catch (e) {
    log(`start failed: ${e instanceof Error ? e.message : String(e)}`);
    await host.stop();
    process.exit(1); // the daemon is done: nothing it started may keep it alive
  }
  const t = a.topology;
  log(`pCPU topology: sockets=${t.sockets},cores=${t.coresPerSocket},threads=${t.threadsPerCore},nodes=${t.nodes}`);
  log(`host ready: pid ${process.pid}, ${a.cpus} pCPU(s), ${a.memoryMiB} MiB, run dir ${a.runDir}`);
  await host.stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  return 0;
}
