// SPDX-License-Identifier: GPL-2.0-only
// Event-channel round trips between two PV domains, and grant-copy throughput against a host
// memcpy (Uint8Array.set) of the same size in the same run. Both domains are real (built by
// the Hypervisor, event channels and grant tables attached); operations go through the
// registered hypercall handlers with argument structures in guest memory, as a guest's
// `ecall` would reach them (the ecall's own cost is bench/hypercall.bench.ts's figure).
// Run alone: node --import tsx --import ./scripts/kconfig-defaults.mjs bench/evtchn-gnttab.bench.ts  (env BENCH_N, BENCH_RUNS)
import type { Domain } from '../src/hypervisor/domain/domain.ts';
import { attachEvtchnGnttab } from '../src/hypervisor/event/attach.ts';
import { GNTTAB_MAGIC_GFN } from '../src/hypervisor/grant/grant-table.ts';
import { HcArgs } from '../src/hypervisor/hypercall/table.ts';
import { DATA, makeHv, pvDomain } from '../src/hypervisor/hypercall/test-support.ts';
import { EVTCHNOP_alloc_unbound, EVTCHNOP_bind_interdomain, EVTCHNOP_send, SHINFO_EVTCHN_PENDING } from '../src/hypervisor/public/event-channel.ts';
import { GNTCOPY_source_gref, GNTTABOP_copy, GTF_permit_access, GTF_readonly } from '../src/hypervisor/public/grant-table.ts';
import { DOMID_SELF, HYPERVISOR_event_channel_op, HYPERVISOR_grant_table_op } from '../src/hypervisor/public/xen.ts';

const N = Number(process.env.BENCH_N ?? 200_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PAGE = 4096;

const { hv } = makeHv(8192);
const x = attachEvtchnGnttab(hv);
const a = pvDomain(hv), b = pvDomain(hv);
const mem = hv.pool.bytes, i32 = new Int32Array(hv.pool.memory);
const off = (d: Domain, gpa: number) => d.p2m.mfnOf(Math.floor(gpa / PAGE)) * PAGE + (gpa % PAGE);
const args = new HcArgs();
function call(d: Domain, nr: number, cmd: number, count = 0): number {
  args.setNum(0, cmd).setNum(1, DATA).setNum(2, count);
  return hv.hypercalls.dispatch(d.vcpus[0]!, nr, 0, args);
}
function put32(d: Domain, gpa: number, v: number): void {
  new DataView(mem.buffer, off(d, gpa), 4).setUint32(0, v >>> 0, true);
}
const best = (f: () => number): number => Math.min(...Array.from({ length: RUNS }, f));

// ─── event channels ───────────────────────────────────────────────────────────────────
new DataView(mem.buffer, off(a, DATA), 8).setUint16(0, DOMID_SELF, true);
new DataView(mem.buffer, off(a, DATA), 8).setUint16(2, b.domid, true);
if (call(a, HYPERVISOR_event_channel_op, EVTCHNOP_alloc_unbound) !== 0) throw new Error('alloc_unbound');
const pa = new DataView(mem.buffer, off(a, DATA), 8).getUint32(4, true);
new DataView(mem.buffer, off(b, DATA), 12).setUint16(0, a.domid, true);
put32(b, DATA + 4, pa);
if (call(b, HYPERVISOR_event_channel_op, EVTCHNOP_bind_interdomain) !== 0) throw new Error('bind_interdomain');
const pb = new DataView(mem.buffer, off(b, DATA), 12).getUint32(8, true);
const pendIdx = (d: Domain, p: number) => (d.sharedInfoMfn * PAGE + SHINFO_EVTCHN_PENDING) / 4 + (p >> 5);
const ia = pendIdx(a, pa), ib = pendIdx(b, pb), ma = 1 << (pa & 31), mb = 1 << (pb & 31);
const siA = a.sharedInfoMfn * PAGE, siB = b.sharedInfoMfn * PAGE;

/** The guest side of a receive: see the bit, clear it, the selector and the upcall byte (as the upcall handler does). */
function receive(idx: number, m: number, si: number): void {
  if ((Atomics.load(i32, idx) & m) === 0) throw new Error('event lost');
  Atomics.and(i32, idx, ~m);
  Atomics.store(i32, (si + 8) / 4, 0);
  mem[si] = 0;
}
function roundTripsHypercall(): number {
  put32(a, DATA, pa);
  put32(b, DATA, pb);
  receive(ib, mb, siB); // the bind's own notification
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    call(a, HYPERVISOR_event_channel_op, EVTCHNOP_send);
    receive(ib, mb, siB);
    call(b, HYPERVISOR_event_channel_op, EVTCHNOP_send);
    receive(ia, ma, siA);
  }
  return Number(process.hrtime.bigint() - t0) / N;
}
function roundTripsFastPath(): number {
  const ea = x.channels(a), eb = x.channels(b);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < N; i++) {
    ea.send(pa);
    receive(ib, mb, siB);
    eb.send(pb);
    receive(ia, ma, siA);
  }
  return Number(process.hrtime.bigint() - t0) / N;
}
Atomics.or(i32, ib, mb); // so the first receive() in roundTripsHypercall finds the bind's bit on every run
const rtHc = best(() => (Atomics.or(i32, ib, mb), roundTripsHypercall()));
const rtFast = best(roundTripsFastPath);

// ─── grant copy ───────────────────────────────────────────────────────────────────────
x.grants.get(a.domid)!.setup(1);
const GRANTED = 0x80180000, DEST = 0x80120000, BATCH = 16;
for (let k = 0; k < BATCH; k++) {
  const e = off(a, GNTTAB_MAGIC_GFN * PAGE + (8 + k) * 8);
  const dv = new DataView(mem.buffer, e, 8);
  dv.setUint32(4, GRANTED / PAGE, true);
  dv.setUint16(2, b.domid, true);
  dv.setUint16(0, GTF_permit_access | GTF_readonly, true);
}
for (let i = 0; i < PAGE; i++) mem[off(a, GRANTED) + i] = i * 7;
function layout(count: number): void {
  for (let k = 0; k < count; k++) {
    const dv = new DataView(mem.buffer, off(b, DATA) + 40 * k, 40);
    dv.setUint32(0, 8 + k, true);
    dv.setUint16(8, a.domid, true);
    dv.setUint16(10, 0, true);
    dv.setBigUint64(16, BigInt(DEST / PAGE), true);
    dv.setUint16(24, DOMID_SELF, true);
    dv.setUint16(26, 0, true);
    dv.setUint16(32, PAGE, true);
    dv.setUint16(34, GNTCOPY_source_gref, true);
  }
}
const COPIES = Math.max(BATCH, Math.floor(N / 4 / BATCH) * BATCH);
function copyNs(count: number): number {
  layout(count);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COPIES; i += count) if (call(b, HYPERVISOR_grant_table_op, GNTTABOP_copy, count) !== 0) throw new Error('copy');
  const ns = Number(process.hrtime.bigint() - t0) / COPIES;
  if (new DataView(mem.buffer, off(b, DATA) + 36, 2).getInt16(0, true) !== 0 || mem[off(b, DEST) + 5] !== 35) throw new Error('copy failed');
  return ns;
}
const src = mem.subarray(off(a, GRANTED), off(a, GRANTED) + PAGE);
const dst = off(b, DEST);
function memcpyNs(): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COPIES; i++) mem.set(src, dst);
  return Number(process.hrtime.bigint() - t0) / COPIES;
}
const c1 = best(() => copyNs(1)), c16 = best(() => copyNs(BATCH)), mc = best(memcpyNs);
const mbs = (ns: number) => (PAGE / ns) * 1e3; // bytes/ns → MB/s

console.log(`event-channel round trip (send → peer's pending bit seen and cleared → send back), N=${N}, best of ${RUNS}:`);
console.log(`  through event_channel_op (struct in guest memory): ${rtHc.toFixed(0)} ns  = ${(1e9 / rtHc / 1e3).toFixed(0)}k round trips/s`);
console.log(`  EventChannels.send fast path (issue 7's pCPU path): ${rtFast.toFixed(0)} ns  = ${(1e9 / rtFast / 1e3).toFixed(0)}k round trips/s`);
console.log(`grant copy, 4 KiB per op, ${COPIES} ops, best of ${RUNS}:`);
console.log(`  GNTTABOP_copy count=1:  ${c1.toFixed(0)} ns/op  ${mbs(c1).toFixed(0)} MB/s`);
console.log(`  GNTTABOP_copy count=${BATCH}: ${c16.toFixed(0)} ns/op  ${mbs(c16).toFixed(0)} MB/s`);
console.log(`  host memcpy (Uint8Array.set): ${mc.toFixed(0)} ns/op  ${mbs(mc).toFixed(0)} MB/s`);
console.log(`  ratio: grant copy costs ${(c1 / mc).toFixed(1)}x (count=1) and ${(c16 / mc).toFixed(1)}x (count=${BATCH}) a host memcpy`);
