// SPDX-License-Identifier: GPL-2.0-only
// Hypercall cost: a PV guest loop doing xen_version(XENVER_version) N times (ecall → hart exit →
// run loop → vSBI → hypercall table → handler → back) against the same loop doing a plain `addi`
// N times, and against calling the handler directly from JS (HypercallTable.dispatch with a
// real vCPU). Prints ns per iteration and the ratios. Best of BENCH_RUNS (default 3).
// Run alone: node --import tsx bench/hypercall.bench.ts   (env BENCH_N, BENCH_RUNS)
import { A, DATA, hcCode, li, makeHv, peek64, pvDomain } from '../src/hypervisor/hypercall/test-support.ts';
import { HYPERVISOR_sched_op, HYPERVISOR_xen_version, SCHEDOP_shutdown } from '../src/hypervisor/public/xen.ts';
import { HcArgs } from '../src/hypervisor/hypercall/table.ts';

const N = Number(process.env.BENCH_N ?? 500_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const S2 = 18, S3 = 19, S4 = 20;

/** counter s2 = N; loop: body; s2 -= 1; bnez s2 loop; then store a marker and shut down (poweroff). */
function loop(body: number[]): number[] {
  const done = [...li(S3, DATA), A.addi(S4, 0, 1), A.sd(S4, S3, 8), ...hcCode(HYPERVISOR_sched_op, SCHEDOP_shutdown, DATA), A.jal(0, 0)];
  const head = li(S2, N);
  const inner = [...body, A.addi(S2, S2, -1)];
  return [...head, ...inner, A.bne(S2, 0, -4 * inner.length), ...done];
}

function timeGuest(code: number[]): number {
  const { hv } = makeHv(4096);
  const d = pvDomain(hv, code);
  const t0 = process.hrtime.bigint();
  while (hv.run(1000) !== 'idle');
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (peek64(d, DATA + 8) !== 1n || d.shutdownCode !== 0) throw new Error('the guest loop did not finish');
  return ns;
}

function timeDirect(): number {
  const { hv } = makeHv(4096);
  const v = pvDomain(hv).vcpus[0]!;
  const a = new HcArgs();
  let sink = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) sink += hv.hypercalls.dispatch(v, HYPERVISOR_xen_version, 0, a);
  const ns = Number(process.hrtime.bigint() - t0) / N;
  if (sink !== N * ((4 << 16) | 7)) throw new Error('bad result');
  return ns;
}

const best = (f: () => number): number => Math.min(...Array.from({ length: RUNS }, f));
// The hypercall loop keeps a0..a7 live each iteration (li a6/a7 + ecall), as a C caller would.
const hc = best(() => timeGuest(loop(hcCode(HYPERVISOR_xen_version, 0))));
const addi = best(() => timeGuest(loop([A.addi(5, 5, 1)])));
const direct = best(timeDirect);
console.log(`N = ${N}, best of ${RUNS}`);
console.log(`guest xen_version(0) loop : ${hc.toFixed(1)} ns/iteration`);
console.log(`guest addi loop           : ${addi.toFixed(1)} ns/iteration   (hypercall/addi ${(hc / addi).toFixed(1)}x)`);
console.log(`host dispatch() call      : ${direct.toFixed(1)} ns/call        (guest hypercall/host call ${(hc / direct).toFixed(1)}x)`);
