// SPDX-License-Identifier: GPL-2.0-only
// The core hypercalls from real vCPUs (ecall through the vSBI's Xen EID and the run loop):
// success and error paths of xen_version, memory_op, console_io, multicall, sched_op and
// domctl/sysctl, with guest handles in Bare mode and through Sv39.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA, hypercall, makeHv, peek, peek32, peek64, poke, poke64, pvDomain } from './test-support.ts';
import * as E from '../public/errno.ts';
import * as X from '../public/xen.ts';
import * as V from '../public/version.ts';
import * as M from '../public/memory.ts';
import { SATP } from '../../hardware/riscv/hart-state.ts';
import { P2M_RAM_RW } from '../mm/p2m.ts';
import { HcArgs } from './table.ts';

const HC = { ver: X.HYPERVISOR_xen_version, mem: X.HYPERVISOR_memory_op, con: X.HYPERVISOR_console_io, mc: X.HYPERVISOR_multicall, sched: X.HYPERVISOR_sched_op };
const str = (b: Uint8Array): string => new TextDecoder().decode(b.subarray(0, b.indexOf(0) < 0 ? b.length : b.indexOf(0)));

test('unknown hypercalls are -ENOSYS; domctl/sysctl are -EPERM for guests; a6 with high bits is no number', () => {
  const { hv } = makeHv();
  const v = pvDomain(hv).vcpus[0]!;
  assert.equal(hypercall(v, 63), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, 64), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, X.HYPERVISOR_mmu_update), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, (1n << 32n) | 17n), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, X.HYPERVISOR_domctl, DATA), BigInt(-E.EPERM));
  assert.equal(hypercall(v, X.HYPERVISOR_sysctl, DATA, 1234), BigInt(-E.EPERM));
  // Registers other than a0 are preserved (a1 included: the result is a0 only).
  assert.equal(v.hart.getXLo(11), 1234);
});

test('xen_version: every sub-op, with XSM-dummy permissions', () => {
  const { hv } = makeHv(4096, { buildId: new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]) });
  const d = pvDomain(hv);
  const v = d.vcpus[0]!;
  assert.equal(hypercall(v, HC.ver, V.XENVER_version), BigInt((4 << 16) | 7));
  assert.equal(hypercall(v, HC.ver, V.XENVER_extraversion, DATA), 0n);
  assert.equal(str(peek(d, DATA, 16)), '-tsxen');
  assert.equal(hypercall(v, HC.ver, V.XENVER_capabilities, DATA), 0n);
  assert.match(str(peek(d, DATA, 1024)), /^xen-3\.0-riscv64/);
  assert.equal(hypercall(v, HC.ver, V.XENVER_compile_info, DATA), 0n);
  assert.equal(hypercall(v, HC.ver, V.XENVER_changeset, DATA), 0n);
  assert.equal(hypercall(v, HC.ver, V.XENVER_platform_parameters, DATA), 0n);
  assert.equal(peek64(d, DATA), 0n);
  poke(d, DATA, [0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_get_features, DATA), 0n);
  assert.equal(peek32(d, DATA + 4) & (1 << V.XENFEAT_auto_translated_physmap), 1 << V.XENFEAT_auto_translated_physmap);
  poke(d, DATA, [1, 0, 0, 0]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_get_features, DATA), BigInt(-E.EINVAL));
  assert.equal(hypercall(v, HC.ver, V.XENVER_pagesize, 0), 4096n);
  assert.equal(hypercall(v, HC.ver, V.XENVER_pagesize, DATA), BigInt(-E.EINVAL));
  d.handle.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_guest_handle, DATA), 0n);
  assert.deepEqual([...peek(d, DATA, 16)], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_commandline, DATA), 0n);
  assert.equal(str(peek(d, DATA, 16)), '<denied>');
  assert.equal(hypercall(v, HC.ver, V.XENVER_build_id, DATA), BigInt(-E.EPERM));
  assert.equal(hypercall(v, HC.ver, 11), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, HC.ver, V.XENVER_extraversion, 0x1000), BigInt(-E.EFAULT));
  // A privileged caller (what dom0 is on Xen) reads the build id: size query, too small, exact.
  d.privileged = true;
  assert.equal(hypercall(v, HC.ver, V.XENVER_build_id, 0), 20n);
  poke(d, DATA, [4, 0, 0, 0]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_build_id, DATA), BigInt(-E.ENOBUFS));
  poke(d, DATA, [0, 0, 0, 0]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_build_id, DATA), BigInt(-E.EINVAL));
  poke(d, DATA, [64, 0, 0, 0]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_build_id, DATA), 20n);
  assert.equal(peek32(d, DATA), 20);
  assert.deepEqual([...peek(d, DATA + 4, 4)], [0xde, 0xad, 0xbe, 0xef]);
});

test('guest handles are virtual addresses: translated through satp (Sv39), -EFAULT when unmapped', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv, undefined, { memoryMiB: 4 });
  const v = d.vcpus[0]!;
  // Sv39 tables in guest RAM: VA 0x4000_0000 -> DATA (4 KiB page), code identity-mapped by a gigapage.
  const root = 0x80200000, l1 = 0x80201000, l0 = 0x80202000;
  const pte = (pa: number, f: number) => (BigInt(pa / 4096) << 10n) | BigInt(f);
  poke64(d, root + 8 * 1, pte(l1, 1));
  poke64(d, l1, pte(l0, 1));
  poke64(d, l0, pte(DATA, 1 | 2 | 4 | 64 | 128));
  poke64(d, root + 8 * 2, pte(0x80000000, 1 | 2 | 4 | 8 | 64 | 128));
  v.hart.s[SATP] = root / 4096;
  v.hart.s[SATP + 1] = 8 << 28;
  v.hart.flushTlb();
  assert.equal(hypercall(v, HC.ver, V.XENVER_extraversion, 0x40000000), 0n);
  assert.equal(str(peek(d, DATA, 16)), '-tsxen');
  assert.equal(hypercall(v, HC.ver, V.XENVER_extraversion, 0x40001000), BigInt(-E.EFAULT));
  // A buffer that crosses from a mapped page into an unmapped one: -EFAULT, nothing written.
  poke(d, DATA + 4090, [7, 7, 7, 7, 7, 7]);
  assert.equal(hypercall(v, HC.ver, V.XENVER_extraversion, 0x40000ffa), BigInt(-E.EFAULT));
  assert.deepEqual([...peek(d, DATA + 4090, 6)], [7, 7, 7, 7, 7, 7]);
});

function reservationAt(d: ReturnType<typeof pvDomain>, at: number, list: number, nr: number, order: number, domid = X.DOMID_SELF): void {
  const b = new Uint8Array(32);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt(list), true);
  dv.setBigUint64(8, BigInt(nr), true);
  dv.setUint32(16, order, true);
  dv.setUint16(24, domid, true);
  poke(d, at, b);
}

test('memory_op: populate/decrease with tot_pages and max_pages, reservations, maximum_gpfn', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv, undefined, { memoryMiB: 2, maxMemoryMiB: 2 });
  const v = d.vcpus[0]!;
  const self = DATA + 0x800;
  poke(d, self, [X.DOMID_SELF & 0xff, X.DOMID_SELF >> 8]);
  const tot0 = d.totPages;
  assert.equal(hypercall(v, HC.mem, M.XENMEM_current_reservation, self), BigInt(tot0));
  assert.equal(hypercall(v, HC.mem, M.XENMEM_maximum_reservation, self), BigInt(d.maxPages));
  assert.equal(hypercall(v, HC.mem, M.XENMEM_maximum_gpfn, self), BigInt(0x80000 + 511));
  // Populate two 4 KiB extents and one 2 MiB (order 9) extent above RAM.
  const list = DATA + 0x100;
  poke64(d, list, 0x90000);
  poke64(d, list + 8, 0x90001);
  reservationAt(d, DATA, list, 2, 0);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), 2n);
  assert.equal(d.totPages, tot0 + 2);
  assert.equal(d.p2m.typeOf(0x90001), P2M_RAM_RW);
  // Again at the same gfns: nothing done (already populated).
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), 0n);
  // Over max_pages: stops at the extent that does not fit.
  const room = d.maxPages - d.totPages;
  poke64(d, list, 0xa0000);
  poke64(d, list + 8, 0xa0000 + 512);
  reservationAt(d, DATA, list, 2, 9);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), room >= 512 ? 1n : 0n);
  assert.ok(d.totPages <= d.maxPages);
  // A misaligned order-9 extent, or an order above the domU limit: refused.
  poke64(d, list, 0xb0001);
  reservationAt(d, DATA, list, 1, 9);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), 0n);
  reservationAt(d, DATA, list, 1, 10);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), 0n);
  // Decrease: frees the frames (tot_pages drops); a hole or an MMIO page stops it.
  const before = d.totPages;
  poke64(d, list, 0x90000);
  poke64(d, list + 8, 0x12345);
  reservationAt(d, DATA, list, 2, 0);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_decrease_reservation, DATA), 1n);
  assert.equal(d.totPages, before - 1);
  assert.equal(d.p2m.typeOf(0x90000), 0);
  // Bad handles and domains.
  reservationAt(d, DATA, 0x1000, 1, 0);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), BigInt(-E.EFAULT));
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, 0x1000), BigInt(-E.EFAULT));
  reservationAt(d, DATA, list, 1, 0, 77);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), BigInt(-E.ESRCH));
  const other = pvDomain(hv);
  reservationAt(d, DATA, list, 1, 0, other.domid);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_populate_physmap, DATA), BigInt(-E.EPERM));
  poke(d, self, [0, 0]);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_current_reservation, self), BigInt(-E.EPERM)); // dom0's
  assert.equal(hypercall(v, HC.mem, 2), BigInt(-E.ENOSYS));
});

test('memory_op add_to_physmap: shared_info moves to the chosen gfn, replacing (and freeing) a RAM page', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv);
  const v = d.vcpus[0]!;
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint16(0, X.DOMID_SELF, true);
  dv.setUint32(4, M.XENMAPSPACE_shared_info, true);
  dv.setBigUint64(8, 0n, true);
  dv.setBigUint64(16, BigInt(0x80000 + 300), true);
  poke(d, DATA, b);
  const tot = d.totPages;
  assert.equal(hypercall(v, HC.mem, M.XENMEM_add_to_physmap, DATA), 0n);
  assert.equal(d.p2m.mfnOf(0x80000 + 300), d.sharedInfoMfn);
  assert.equal(d.p2m.typeOf(0x7ff01), 0); // the old location is gone
  assert.equal(d.totPages, tot - 1); // the RAM page it replaced went back to the pool
  dv.setBigUint64(8, 1n, true);
  poke(d, DATA, b);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_add_to_physmap, DATA), BigInt(-E.EINVAL)); // idx != 0
  dv.setUint32(4, M.XENMAPSPACE_grant_table, true);
  dv.setBigUint64(8, 0n, true);
  poke(d, DATA, b);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_add_to_physmap, DATA), BigInt(-E.EINVAL)); // no grant table attached
  dv.setUint32(4, M.XENMAPSPACE_gmfn_foreign, true);
  poke(d, DATA, b);
  assert.equal(hypercall(v, HC.mem, M.XENMEM_add_to_physmap, DATA), BigInt(-E.ENOSYS));
});

test('console_io: write goes to the domain console log; read is -EPERM for a guest', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv);
  const v = d.vcpus[0]!;
  poke(d, DATA, [...new TextEncoder().encode('hello xen\n')]);
  assert.equal(hypercall(v, HC.con, 0, 10, DATA), 0n);
  assert.equal(new TextDecoder().decode(d.consoleLog()), 'hello xen\n');
  assert.equal(hypercall(v, HC.con, 0, 10, 0x1000), BigInt(-E.EFAULT));
  assert.equal(hypercall(v, HC.con, 1, 10, DATA), BigInt(-E.EPERM));
  assert.equal(hypercall(v, HC.con, 2, 10, DATA), BigInt(-E.ENOSYS));
});

test('multicall: results land in the entries; nested multicall is -EINVAL; a bad list is -EFAULT', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv);
  const v = d.vcpus[0]!;
  const e = (op: number, ...args: number[]) => {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(op), true);
    args.forEach((a, i) => dv.setBigUint64(16 + 8 * i, BigInt(a), true));
    return [...b];
  };
  poke(d, DATA, [...e(HC.ver, 0), ...e(HC.ver, V.XENVER_pagesize, 0), ...e(HC.mc, DATA, 1), ...e(55)]);
  assert.equal(hypercall(v, HC.mc, DATA, 4), 0n);
  assert.equal(peek64(d, DATA + 8), BigInt((4 << 16) | 7));
  assert.equal(peek64(d, DATA + 64 + 8), 4096n);
  assert.equal(BigInt.asIntN(64, peek64(d, DATA + 128 + 8)), BigInt(-E.EINVAL));
  assert.equal(BigInt.asIntN(64, peek64(d, DATA + 192 + 8)), BigInt(-E.ENOSYS));
  assert.equal(hypercall(v, HC.mc, 0x1000, 1), BigInt(-E.EFAULT));
  // More entries than one batch: the rest is a continuation (pc stays on the ecall, args rewritten).
  assert.equal(hv.hypercalls.dispatch(v, HC.mc, 0, new HcArgs().setNum(0, DATA).setNum(1, 100000)), 0);
  assert.equal(v.continuation, true);
  v.continuation = false;
});

test('sched_op: remote_shutdown is -ESRCH for no such domain, -EPERM for a guest; poll checks ports', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv);
  const other = pvDomain(hv);
  const v = d.vcpus[0]!;
  poke(d, DATA, [other.domid, 0, 0, 0, X.SHUTDOWN_poweroff, 0, 0, 0]);
  assert.equal(hypercall(v, HC.sched, X.SCHEDOP_remote_shutdown, DATA), BigInt(-E.EPERM));
  assert.equal(other.state, 'running');
  poke(d, DATA, [99, 0, 0, 0, 0, 0, 0, 0]);
  assert.equal(hypercall(v, HC.sched, X.SCHEDOP_remote_shutdown, DATA), BigInt(-E.ESRCH));
  assert.equal(hypercall(v, HC.sched, X.SCHEDOP_yield), 0n);
  assert.equal(hypercall(v, HC.sched, 99), BigInt(-E.ENOSYS));
  // poll: port 5 pending in shared_info returns at once; port 4096 is -EINVAL; > 128 ports -EINVAL.
  const sp = DATA + 0x100;
  poke(d, sp, [5, 0, 0, 0]);
  const poll = (ports: number, nr: number, timeout = 0) => {
    const b = new Uint8Array(24);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(ports), true);
    dv.setUint32(8, nr, true);
    dv.setBigUint64(16, BigInt(timeout), true);
    poke(d, DATA, b);
    return hypercall(v, HC.sched, X.SCHEDOP_poll, DATA);
  };
  hv.pool.bytes[d.sharedInfoMfn * 4096 + 48] = 1 << 5;
  assert.equal(poll(sp, 1), 0n);
  assert.equal(v.isBlocked, false);
  poke(d, sp, [0, 0x10, 0, 0]);
  assert.equal(poll(sp, 1), BigInt(-E.EINVAL));
  assert.equal(poll(sp, 129), BigInt(-E.EINVAL));
  assert.equal(poll(0x1000, 1), BigInt(-E.EFAULT));
});

test('memory_op populate of 600 extents is preempted every 256 and continued by re-executing the ecall', async () => {
  const { A, li, hcCode } = await import('./test-support.ts');
  const { hv } = makeHv();
  const list = DATA + 0x1000;
  const code = [...hcCode(HC.mem, M.XENMEM_populate_physmap, DATA), ...li(5, DATA + 0x800), A.sd(10, 5, 0), A.jal(0, 0)];
  const d = pvDomain(hv, code, { memoryMiB: 2, maxMemoryMiB: 5 });
  for (let i = 0; i < 600; i++) poke64(d, list + 8 * i, 0x90000 + i);
  reservationAt(d, DATA, list, 600, 0);
  const tot = d.totPages;
  const calls0 = hv.hypercalls.counts[HC.mem]!;
  hv.run(10);
  assert.equal(peek64(d, DATA + 0x800), 600n); // the guest sees one call returning all 600
  assert.equal(d.totPages, tot + 600);
  assert.equal(hv.hypercalls.counts[HC.mem]! - calls0, 3); // 256 + 256 + 88
  // The continuation is visible in the guest's a0 only while in flight: cmd carried the start extent.
  assert.equal(d.p2m.typeOf(0x90000 + 599), P2M_RAM_RW);
});

test('multicall: 100 entries and a preempted memory_op inside run to completion through continuations', async () => {
  const { A, li, hcCode } = await import('./test-support.ts');
  const { hv } = makeHv();
  const MC = DATA + 0x2000, list = DATA + 0x1000, res = DATA + 0x800;
  const code = [...hcCode(HC.mc, MC, 101), ...li(5, res), A.sd(10, 5, 0), A.jal(0, 0)];
  const d = pvDomain(hv, code, { memoryMiB: 2, maxMemoryMiB: 5 });
  const entry = (op: number, ...args: number[]) => {
    const b = new Uint8Array(64);
    const dv = new DataView(b.buffer);
    dv.setBigUint64(0, BigInt(op), true);
    dv.setBigUint64(8, 0xdeadn, true);
    args.forEach((x, i) => dv.setBigUint64(16 + 8 * i, BigInt(x), true));
    return b;
  };
  for (let i = 0; i < 100; i++) poke(d, MC + 64 * i, entry(HC.ver, V.XENVER_pagesize, 0));
  for (let i = 0; i < 300; i++) poke64(d, list + 8 * i, 0xa0000 + i);
  reservationAt(d, DATA, list, 300, 0);
  poke(d, MC + 64 * 100, entry(HC.mem, M.XENMEM_populate_physmap, DATA));
  hv.run(10);
  assert.equal(peek64(d, res), 0n);
  for (let i = 0; i < 100; i++) assert.equal(peek64(d, MC + 64 * i + 8), 4096n, `entry ${i}`);
  assert.equal(peek64(d, MC + 64 * 100 + 8), 300n);
  assert.equal(d.p2m.typeOf(0xa0000 + 299), P2M_RAM_RW);
});
