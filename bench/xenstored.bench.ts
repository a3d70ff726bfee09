// SPDX-License-Identifier: GPL-2.0-only
// xenstored write+read pairs per second, ours against Debian's real cxenstored 4.17 (run
// socket-only through ../shared/peers/xenstored/fakexen.c, built into build/ here), with the
// same client (a small Python loop over a raw Unix socket, one request in flight, like the
// peers' bench_raw.py but with a key prefix per client), daemon and clients pinned to one core
// with `taskset -c $BENCH_CPU` (default 1), as ../shared/peers/README.md §3 prescribes.
// Figures: 1 client; 8 concurrent clients (total pairs / span from the first start to the last
// end). Each configuration alternates ours and C BENCH_RUNS times (default 3): medians.
// The daemon's CPU per pair (/proc) is printed too: on a shared machine it is the steady figure.
// Also printed: the core's CPU per pair (daemon + clients' own rusage), i.e. the ratio on an
// otherwise idle core, and context switches per pair (daemon, clients).
// Run alone: node --import tsx bench/xenstored.bench.ts   (env BENCH_PAIRS, BENCH_RUNS, BENCH_CPU;
// BENCH_OURS=path/to/xenstored.cjs benches another bundle, e.g. one built from an older commit;
// BENCH_OURS=null benches the null daemon, bench/xenstored-null.ts: the floor of a Node daemon)
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(fileURLToPath(import.meta.url), '..', '..');
const PEERS = join(ROOT, '..', 'shared', 'peers', 'xenstored');
const CXS = '/usr/lib/xen-4.17/bin/xenstored';
const PAIRS = Number(process.env.BENCH_PAIRS ?? 20000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CPU = process.env.BENCH_CPU ?? '1';
const PY = '/usr/bin/python3';
const OURS = process.env.BENCH_OURS ?? join(ROOT, 'dist', 'xenstored.cjs');

const CLIENT = `
import resource, socket, struct, sys, time
path, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3].encode()
H = struct.Struct("<IIII")
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(path)
def rx(k):
    b = b""
    while len(b) < k:
        c = s.recv(k - len(b))
        if not c: raise SystemExit("connection closed")
        b += c
    return b
def req(t, rq, p):
    s.sendall(H.pack(t, rq, 0, len(p)) + p)
    rt, rrq, _, ln = H.unpack(rx(16)); body = rx(ln) if ln else b""
    if rt != t or rrq != rq: raise SystemExit("bad reply %r %r %r" % (rt, rrq, body))
    return body
def loop(m, base):
    for i in range(base, base + m):
        k = prefix + b"/k%d" % (i % 100)
        req(11, 2*i, k + b"\\0" + b"v%d" % i)
        if req(2, 2*i+1, k + b"\\0") != b"v%d" % i: raise SystemExit("read back mismatch")
loop(500, 0)
r0 = resource.getrusage(resource.RUSAGE_SELF)
t0 = time.time(); loop(n, 1000); t1 = time.time()
r1 = resource.getrusage(resource.RUSAGE_SELF)
print("%.6f %.6f %d %.6f %d" % (t0, t1, n, r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime,
      r1.ru_nvcsw + r1.ru_nivcsw - r0.ru_nvcsw - r0.ru_nivcsw))
`;

function sh(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed`);
}

function ensurePeer(buildDir: string): string {
  if (!existsSync(CXS) || !existsSync('/usr/include/xenctrl.h')) {
    if (process.getuid?.() !== 0) throw new Error(`${CXS} missing: apt-get install -y --no-install-recommends xen-utils-4.17 libxen-dev`);
    sh('apt-get', ['install', '-y', '--no-install-recommends', 'xen-utils-4.17', 'libxen-dev']);
  }
  const so = join(buildDir, 'fakexen.so');
  if (!existsSync(so)) sh('gcc', ['-shared', '-fPIC', '-O2', '-o', so, join(PEERS, 'fakexen.c'), '-ldl']);
  return so;
}

async function waitSocket(path: string, proc: ChildProcess): Promise<void> {
  for (let i = 0; i < 400; i++) {
    const ok = await new Promise<boolean>((r) => { const c = net.connect(path, () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (ok) return;
    if (proc.exitCode !== null) throw new Error(`daemon exited (${proc.exitCode})`);
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no daemon on ${path}`);
}

interface Daemon { path: string; pid: number; stop(): Promise<void> }

/**
 * The daemon's CPU seconds so far, all threads (taskset execs it, so the pid is its): the
 * scheduler's own run time in ns (/proc/<pid>/schedstat), not /proc/<pid>/stat's 100 Hz ticks,
 * which are ~40 samples per run here.
 */
function cpuSeconds(pid: number): number {
  let ns = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
  return ns / 1e9;
}

/** The daemon's context switches so far (voluntary + involuntary, /proc/<pid>/status). */
function switches(pid: number): number {
  const st = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/\nvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]) + Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(st)![1]);
}

async function startOurs(dir: string, bundle: string): Promise<Daemon> {
  const path = join(dir, 'ours.sock');
  const p = spawn('taskset', ['-c', CPU, process.execPath, bundle, '--socket', path], { stdio: 'ignore' });
  await waitSocket(path, p);
  return { path, pid: p.pid!, stop: () => kill(p) };
}

async function startC(dir: string, so: string): Promise<Daemon> {
  const run = join(dir, 'crun');
  mkdirSync(run, { recursive: true });
  const path = join(run, 'socket');
  const p = spawn('taskset', ['-c', CPU, CXS, '-N'], { stdio: 'ignore', env: { ...process.env, XENSTORED_RUNDIR: run, LD_PRELOAD: so } });
  await waitSocket(path, p);
  execFileSync('xenstore-write', ['/local/domain/0/name', 'Domain-0'], { env: { ...process.env, XENSTORED_PATH: path } });
  return { path, pid: p.pid!, stop: () => kill(p) };
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

function kill(p: ChildProcess): Promise<void> {
  return new Promise((res) => { if (p.exitCode !== null) { res(); return; } p.on('exit', () => res()); p.kill('SIGKILL'); });
}

interface Figures {
  /** Write+read pairs per second. */
  rate: number;
  /** The daemon's CPU us per pair. */
  daemon: number;
  /** The clients' CPU us per pair (user + system, their own rusage over the timed loop). */
  client: number;
  /** Context switches per pair: the daemon's and the clients'. */
  dsw: number;
  csw: number;
}

/** Throughput with `clients` concurrent clients, and where the core's time went. */
async function measure(d: Daemon, clients: number, script: string): Promise<Figures> {
  const cpu0 = cpuSeconds(d.pid);
  const sw0 = switches(d.pid);
  const per = Math.max(1000, Math.floor(PAIRS / clients));
  const outs = await Promise.all(Array.from({ length: clients }, (_, k) => new Promise<string>((res, rej) => {
    const c = spawn('taskset', ['-c', CPU, PY, script, d.path, String(per), `/bench/c${k}`], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    c.stdout.on('data', (b) => { out += b; });
    c.on('exit', (code) => (code === 0 ? res(out) : rej(new Error(`client exited ${code}`))));
  })));
  const t = outs.map((o) => o.trim().split(' ').map(Number) as [number, number, number, number, number]);
  const span = Math.max(...t.map((x) => x[1])) - Math.min(...t.map((x) => x[0]));
  const pairs = t.reduce((n, x) => n + x[2], 0);
  // The daemon's figures include each client's 500-pair warm-up.
  const all = pairs + 500 * clients;
  return {
    rate: pairs / span,
    daemon: (cpuSeconds(d.pid) - cpu0) * 1e6 / all,
    client: t.reduce((n, x) => n + x[3], 0) * 1e6 / pairs,
    dsw: (switches(d.pid) - sw0) / all,
    csw: t.reduce((n, x) => n + x[4], 0) / pairs,
  };
}

/** BENCH_OURS=null: the null daemon (bench/xenstored-null.ts), bundled into build/. */
async function nullDaemon(buildDir: string): Promise<string> {
  const out = join(buildDir, 'xenstored-null.cjs');
  const { build } = await import('esbuild');
  await build({ entryPoints: [join(ROOT, 'bench', 'xenstored-null.ts')], bundle: true, platform: 'node', format: 'cjs', outfile: out, logLevel: 'warning' });
  return out;
}

async function main(): Promise<void> {
  const buildDir = join(ROOT, 'build');
  mkdirSync(buildDir, { recursive: true });
  const so = ensurePeer(buildDir);
  sh(process.execPath, [join(ROOT, 'scripts', 'build.mjs')]);
  const bundle = OURS === 'null' ? await nullDaemon(buildDir) : OURS;
  const dir = mkdtempSync(join(tmpdir(), 'xsbench-'));
  const script = join(dir, 'client.py');
  writeFileSync(script, CLIENT);
  const rows: string[] = [];
  for (const clients of [1, 8]) {
    const o: Figures[] = [], x: Figures[] = [];
    for (let r = 0; r < RUNS; r++) {
      const od = await startOurs(dir, bundle);
      try { o.push(await measure(od, clients, script)); } finally { await od.stop(); }
      const xd = await startC(dir, so);
      try { x.push(await measure(xd, clients, script)); } finally { await xd.stop(); }
    }
    const m = (v: Figures[], k: keyof Figures): number => median(v.map((f) => f[k]));
    const ours = m(o, 'rate'), c = m(x, 'rate'), oursCpu = m(o, 'daemon'), cCpu = m(x, 'daemon');
    // Each run's ratio pairs the two daemons measured back to back (the same machine load).
    const runRatios = o.map((f, i) => f.rate / x[i]!.rate).sort((a, b) => a - b);
    // The core's CPU per pair (daemon + clients): what throughput would be on an idle core.
    const oCore = median(o.map((f) => f.daemon + f.client)), cCore = median(x.map((f) => f.daemon + f.client));
    const n = `${clients} client${clients > 1 ? 's' : ' '}`;
    rows.push(`xenstored write+read, ${n}: tsxen ${ours.toFixed(0).padStart(6)} pairs/s, ` +
      `cxenstored 4.17 ${c.toFixed(0).padStart(6)} pairs/s, ratio ${(ours / c).toFixed(2)}x ` +
      `(per run ${runRatios[0]!.toFixed(2)}-${runRatios[runRatios.length - 1]!.toFixed(2)}x, median ${median(runRatios).toFixed(2)}x)`);
    rows.push(`  daemon CPU per pair,   ${n}: tsxen ${oursCpu.toFixed(1).padStart(6)} us, cxenstored 4.17 ${cCpu.toFixed(1).padStart(6)} us, ` +
      `C/tsxen ${(cCpu / oursCpu).toFixed(2)}x`);
    rows.push(`  core CPU per pair,     ${n}: tsxen ${oCore.toFixed(1).padStart(6)} us, cxenstored 4.17 ${cCore.toFixed(1).padStart(6)} us, ` +
      `C/tsxen ${(cCore / oCore).toFixed(2)}x (daemon + clients; clients ${m(o, 'client').toFixed(1)} / ${m(x, 'client').toFixed(1)} us)`);
    rows.push(`  context switches/pair, ${n}: tsxen ${m(o, 'dsw').toFixed(2)} daemon + ${m(o, 'csw').toFixed(2)} clients, ` +
      `cxenstored 4.17 ${m(x, 'dsw').toFixed(2)} + ${m(x, 'csw').toFixed(2)}`);
    process.stdout.write(rows.slice(-4).join('\n') + '\n');
  }
  process.stdout.write(`(taskset -c ${CPU}, ${PAIRS} pairs per configuration, median of ${RUNS} alternating runs; goal >= 1.5x, first bar 0.5x)\n`);
}

main().catch((e: unknown) => { process.stderr.write(`xenstored bench: ${e instanceof Error ? e.message : String(e)}\n`); process.exit(1); });
