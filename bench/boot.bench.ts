// SPDX-License-Identifier: GPL-2.0-only
// Linux boot time to the initramfs's TSXEN-BOOT-OK marker, tsxen against QEMU TCG, same kernel,
// same initramfs, same command line, in the same run, with 1 and 2 harts:
//   tsxen: bin/tsxen machine -kernel K -initrd I -append A -smp N -m 512M --stats   (the vSBI)
//   QEMU:  qemu-system-riscv64 -machine virt -nographic -smp N -m 512M -kernel K -initrd I -append A
// (K, I = the asset builder's Debian kernel and busybox initramfs; A = "console=ttyS0
// tsxen.init=poweroff" by default: /init prints the marker and powers off.) Wall time is from
// spawn to the marker on the console; CPU time is user + system of the whole process (to its
// exit, a few ms after the marker). tsxen also reports guest instructions retired and MIPS.
// The machine is shared: the CPU-second ratio is the stable figure; both are printed.
// One more QEMU boot per -smp runs with the instruction-counting plugin (qemu-insn-count.c, built
// with the host's cc; single-threaded TCG so its counter is exact), so the two instruction
// counts are compared in the same run (QEMU's includes its OpenSBI firmware; with 2 harts both
// include spin-waits, e.g. stop_machine while the kernel patches code, that depend on how each
// emulator interleaves its harts).
// With more than one hart tsxen also runs threaded (issue #7): `--pcpus N` (one worker thread
// per hart) and `--pcpus 1` (every hart on one worker thread), against the same QEMU run
// (which uses MTTCG, a thread per vCPU, by default).
// Environment: BENCH_SMPS ("1 2"), BENCH_RUNS (1; best of), BENCH_APPEND, BENCH_TIMEOUT_S (1800),
// BENCH_THREADED (1; 0 skips the threaded runs).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureGuestAssets } from '../src/host/assets/index.ts';

const ROOT = join(import.meta.dirname, '..');
const SMPS = (process.env.BENCH_SMPS ?? '1 2').split(/\s+/).filter(Boolean).map(Number);
const RUNS = Number(process.env.BENCH_RUNS ?? 1);
const APPEND = process.env.BENCH_APPEND ?? 'console=ttyS0 tsxen.init=poweroff';
const TIMEOUT_S = Number(process.env.BENCH_TIMEOUT_S ?? 1800);
const MARKER = 'TSXEN-BOOT-OK';
const THREADED = process.env.BENCH_THREADED !== '0';

interface Boot { marker: number; cpu: number; exit: number | null; insns?: number; qemuInsns?: number; out: string }

/** Spawn through bash so `times` gives the child's CPU seconds. */
function boot(cmd: string[]): Promise<Boot> {
  return new Promise((res, rej) => {
    const t0 = performance.now();
    const p = spawn('bash', ['-c', '"$@" </dev/null; rc=$?; times >&2; exit $rc', 'bench', ...cmd], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '', err = '', marker = -1;
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (marker < 0 && out.includes(MARKER)) marker = (performance.now() - t0) / 1000;
    });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const kill = setTimeout(() => p.kill('SIGKILL'), TIMEOUT_S * 1000);
    p.on('close', (code) => {
      clearTimeout(kill);
      const t = [...err.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60 + Number(m[2]));
      const insns = /(\d+) instructions in/.exec(err);
      const qemuInsns = /^insns: (\d+)$/m.exec(err);
      if (marker < 0 || t.length < 4) {
        rej(new Error(`${cmd[0]} did not reach ${MARKER} (exit ${code})\n${err.slice(-2000)}\n${out.slice(-2000)}`));
        return;
      }
      res({ marker, cpu: t[2]! + t[3]!, exit: code, insns: insns ? Number(insns[1]) : undefined,
        qemuInsns: qemuInsns ? Number(qemuInsns[1]) : undefined, out });
    });
  });
}

const a = await ensureGuestAssets();
const bundle = join(ROOT, 'dist', 'tsxen.cjs');
if (!existsSync(bundle)) throw new Error('dist/tsxen.cjs missing: run node scripts/build.mjs (npm run bench does)');
const load = (): string => {
  try { return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' '); } catch { return '?'; }
};

console.log(`boot: kernel ${a.version}, initramfs ${a.initrd}`);
console.log(`boot: append "${APPEND}", 512 MiB, best of ${RUNS}; load average ${load()}`);
/** The counting plugin, built into build/bench (null, with the reason printed, if cc fails). */
function insnPlugin(): string | null {
  const out = join(ROOT, 'build', 'bench', 'qemu-insn-count.so');
  mkdirSync(join(ROOT, 'build', 'bench'), { recursive: true });
  const r = spawnSync('cc', ['-shared', '-fPIC', '-O2', '-o', out, join(ROOT, 'bench', 'qemu-insn-count.c')], { encoding: 'utf8' });
  if (r.status === 0) return out;
  console.log(`boot: QEMU instructions not counted (cc: ${r.error?.message ?? r.stderr.trim().split('\n')[0]})`);
  return null;
}
const plugin = insnPlugin();
const fmt = (n: number, d = 2) => n.toFixed(d);
let worst = 0;
for (const smp of SMPS) {
  const common = ['-smp', String(smp), '-m', '512M', '-kernel', a.kernel, '-initrd', a.initrd, '-append', APPEND];
  let t: Boot | null = null, q: Boot | null = null, m: Boot | null = null, o: Boot | null = null;
  const threaded = THREADED && smp > 1;
  for (let r = 0; r < RUNS; r++) {
    // Alternate them so load changes hit all alike.
    const qb = await boot(['qemu-system-riscv64', '-machine', 'virt', '-nographic', ...common]);
    if (!q || qb.marker < q.marker) q = qb;
    const tb = await boot([process.execPath, bundle, 'machine', '-machine', 'virt', '-nographic', ...common, '--stats']);
    if (tb.exit !== 0) throw new Error(`tsxen exited ${tb.exit} after the marker`);
    if (!t || tb.marker < t.marker) t = tb;
    if (threaded) {
      const mb = await boot([process.execPath, bundle, 'machine', '-machine', 'virt', '-nographic', ...common, '--pcpus', String(smp), '--stats']);
      if (mb.exit !== 0) throw new Error(`tsxen --pcpus ${smp} exited ${mb.exit} after the marker`);
      if (!m || mb.marker < m.marker) m = mb;
      const ob = await boot([process.execPath, bundle, 'machine', '-machine', 'virt', '-nographic', ...common, '--pcpus', '1', '--stats']);
      if (ob.exit !== 0) throw new Error(`tsxen --pcpus 1 exited ${ob.exit} after the marker`);
      if (!o || ob.marker < o.marker) o = ob;
    }
  }
  const counted = plugin === null ? undefined
    : (await boot(['qemu-system-riscv64', '-machine', 'virt', '-nographic', '-accel', 'tcg,thread=single', ...common,
      '-plugin', plugin, '-d', 'plugin'])).qemuInsns;
  const mips = t!.insns! / t!.marker / 1e6, mipsCpu = t!.insns! / t!.cpu / 1e6;
  const wallRatio = t!.marker / q!.marker, cpuRatio = t!.cpu / q!.cpu;
  worst = Math.max(worst, wallRatio);
  console.log(`-smp ${smp}: tsxen ${fmt(t!.marker)} s to ${MARKER} (${fmt(t!.cpu)} s CPU), ${(t!.insns! / 1e9).toFixed(3)} G instructions, ` +
    `${fmt(mips, 1)} MIPS wall, ${fmt(mipsCpu, 1)} MIPS per CPU second`);
  const qInsns = counted === undefined ? '' : `, ${(counted / 1e9).toFixed(3)} G instructions (tsxen/QEMU ${fmt(t!.insns! / counted)}x)`;
  console.log(`-smp ${smp}: QEMU  ${fmt(q!.marker)} s to ${MARKER} (${fmt(q!.cpu)} s CPU)${qInsns}`);
  console.log(`-smp ${smp}: tsxen/QEMU = ${fmt(wallRatio, 1)}x wall, ${fmt(cpuRatio, 1)}x CPU (issue 3 bar: within 10x)`);
  if (o) {
    console.log(`-smp ${smp} --pcpus 1: tsxen ${fmt(o.marker)} s to ${MARKER} (${fmt(o.cpu)} s CPU), ${(o.insns! / 1e9).toFixed(3)} G instructions, ` +
      `${fmt(o.insns! / o.marker / 1e6, 1)} MIPS wall, ${fmt(o.insns! / o.cpu / 1e6, 1)} MIPS per CPU second (all harts on one worker thread)`);
  }
  if (m) {
    console.log(`-smp ${smp} --pcpus ${smp}: tsxen ${fmt(m.marker)} s to ${MARKER} (${fmt(m.cpu)} s CPU), ${(m.insns! / 1e9).toFixed(3)} G instructions, ` +
      `${fmt(m.insns! / m.marker / 1e6, 1)} MIPS wall, ${fmt(m.insns! / m.cpu / 1e6, 1)} MIPS per CPU second`);
    console.log(`-smp ${smp} --pcpus ${smp}: tsxen/QEMU = ${fmt(m.marker / q!.marker, 1)}x wall, ${fmt(m.cpu / q!.cpu, 1)}x CPU; ` +
      `threaded/one thread = ${fmt(m.marker / t!.marker)}x wall, ${fmt(m.cpu / t!.cpu)}x CPU`);
  }
}
console.log(`boot: load average at end ${load()}; worst wall ratio ${fmt(worst, 1)}x`);
