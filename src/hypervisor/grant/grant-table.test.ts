// SPDX-License-Identifier: GPL-2.0-only
// Grant tables v1 through the real core: PV domains, grant_table_op made by their harts, the
// granter writing its entries in guest memory, mappings checked by real hart loads/stores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { A } from '../../hardware/riscv/test-support.ts';
import type { Domain } from '../domain/domain.ts';
import { attachEvtchnGnttab } from '../event/attach.ts';
import { DATA, hypercall, li, makeHv, peek, poke, poke64, pvDomain } from '../hypercall/test-support.ts';
import { FRAME_FREE } from '../mm/frame-pool.ts';
import { P2M_GRANT_RO, P2M_GRANT_RW, P2M_INVALID } from '../mm/p2m.ts';
import { EACCES, EFAULT, EINVAL, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import * as G from '../public/grant-table.ts';
import * as M from '../public/memory.ts';
import { DOMID_SELF, HYPERVISOR_grant_table_op, HYPERVISOR_memory_op, SHUTDOWN_crash } from '../public/xen.ts';
import { GNTTAB_MAGIC_GFN, ZOMBIE_OWNER } from './grant-table.ts';

const PAGE = 4096;
const GRANTED = 0x80180000; // a page of the granter's RAM it grants
const MAPAT = 0x90000000; // a hole in the mapper's physical space
const CODE = 0x80140000;

function setup(n = 2) {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const doms: Domain[] = [];
  for (let i = 0; i < n; i++) doms.push(pvDomain(hv));
  return { hv, x, doms };
}
const gnt = (d: Domain, cmd: number, count: number, at = DATA) => Number(hypercall(d.vcpus[0]!, HYPERVISOR_grant_table_op, cmd, at, count));

/** setup_table(1) from the domain itself: returns the table's GFN. */
function setupTable(d: Domain, nr = 1): { status: number; gfns: bigint[] } {
  const b = new DataView(new ArrayBuffer(G.SETUP_TABLE.size));
  b.setUint16(0, DOMID_SELF, true);
  b.setUint32(4, nr, true);
  b.setBigUint64(16, BigInt(DATA + 0x800), true);
  poke(d, DATA, new Uint8Array(b.buffer));
  assert.equal(gnt(d, G.GNTTABOP_setup_table, 1), 0);
  const st = new DataView(peek(d, DATA, 24).buffer).getInt16(8, true);
  const l = new DataView(peek(d, DATA + 0x800, 8 * nr).buffer);
  return { status: st, gfns: Array.from({ length: nr }, (_, i) => l.getBigUint64(8 * i, true)) };
}
/** The granter writes entry `ref` through its own mapping of the table (frame, domid, then flags). */
function grant(d: Domain, ref: number, to: number, gpa: number, flags: number = G.GTF_permit_access): void {
  const at = GNTTAB_MAGIC_GFN * PAGE + ref * 8;
  const e = new DataView(new ArrayBuffer(8));
  e.setUint32(4, gpa / PAGE, true);
  e.setUint16(2, to, true);
  e.setUint16(0, flags, true);
  poke(d, at, new Uint8Array(e.buffer));
}
const entryFlags = (d: Domain, ref: number) => new DataView(peek(d, GNTTAB_MAGIC_GFN * PAGE + ref * 8, 2).buffer).getUint16(0, true);

interface MapOp { host: number; flags: number; ref: number; dom: number }
function mapOps(d: Domain, ops: MapOp[]): Array<{ status: number; handle: number; bus: bigint }> {
  const b = new DataView(new ArrayBuffer(32 * ops.length));
  ops.forEach((o, i) => {
    b.setBigUint64(32 * i, BigInt(o.host), true);
    b.setUint32(32 * i + 8, o.flags, true);
    b.setUint32(32 * i + 12, o.ref, true);
    b.setUint16(32 * i + 16, o.dom, true);
  });
  poke(d, DATA, new Uint8Array(b.buffer));
  assert.equal(gnt(d, G.GNTTABOP_map_grant_ref, ops.length), 0);
  const r = new DataView(peek(d, DATA, 32 * ops.length).buffer);
  return ops.map((_, i) => ({ status: r.getInt16(32 * i + 18, true), handle: r.getUint32(32 * i + 20, true), bus: r.getBigUint64(32 * i + 24, true) }));
}
const map1 = (d: Domain, o: MapOp) => mapOps(d, [o])[0]!;
function unmap(d: Domain, host: number, handle: number, bus = 0): number {
  const b = new DataView(new ArrayBuffer(24));
  b.setBigUint64(0, BigInt(host), true);
  b.setBigUint64(8, BigInt(bus), true);
  b.setUint32(16, handle, true);
  poke(d, DATA, new Uint8Array(b.buffer));
  assert.equal(gnt(d, G.GNTTABOP_unmap_grant_ref, 1), 0);
  return new DataView(peek(d, DATA, 24).buffer).getInt16(20, true);
}
interface Side { ref?: number; gfn?: number; dom: number; off: number }
function copy(d: Domain, src: Side, dst: Side, len: number, flags: number): number {
  const b = new DataView(new ArrayBuffer(40));
  const side = (o: number, s: Side) => {
    if (s.ref !== undefined) b.setUint32(o, s.ref, true);
    else b.setBigUint64(o, BigInt(s.gfn!), true);
    b.setUint16(o + 8, s.dom, true);
    b.setUint16(o + 10, s.off, true);
  };
  side(0, src);
  side(16, dst);
  b.setUint16(32, len, true);
  b.setUint16(34, flags, true);
  poke(d, DATA, new Uint8Array(b.buffer));
  assert.equal(gnt(d, G.GNTTABOP_copy, 1), 0);
  return new DataView(peek(d, DATA, 40).buffer).getInt16(36, true);
}

/** Run `code` on d's vCPU 0 (a real hart, through the core's run loop). */
function run(d: Domain, code: number[]): void {
  poke(d, CODE, code.flatMap((w) => [w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24]));
  const h = d.vcpus[0]!.hart;
  (h as { flushICache?: () => void }).flushICache?.();
  h.setPc(CODE);
  d.hv.runVcpu(d.vcpus[0]!, 64);
}
const storeAt = (gpa: number, v: number) => [...li(5, gpa), ...li(6, v), A.sw(6, 5, 0), A.jal(0, 0)];
const loadAt = (gpa: number) => [...li(5, gpa), A.lw(7, 5, 0), A.jal(0, 0)];

test('setup_table, query_size, versions', () => {
  const { doms: [a, b] } = setup();
  poke(a!, DATA, [G.GNTTABOP_get_version]);
  const getVersion = (d: Domain, dom: number) => {
    const v = new DataView(new ArrayBuffer(8));
    v.setUint16(0, dom, true);
    poke(d, DATA, new Uint8Array(v.buffer));
    const rc = gnt(d, G.GNTTABOP_get_version, 1);
    return rc < 0 ? rc : new DataView(peek(d, DATA, 8).buffer).getUint32(4, true);
  };
  assert.equal(getVersion(a!, DOMID_SELF), 0, 'Xen 4.7 starts at version 0 until setup/set_version');
  const s = setupTable(a!);
  assert.equal(s.status, G.GNTST_okay);
  assert.deepEqual(s.gfns, [BigInt(GNTTAB_MAGIC_GFN)], 'mapped in the magic region (docs/abi.md §4)');
  assert.equal(getVersion(a!, DOMID_SELF), 1);
  assert.equal(getVersion(a!, b!.domid), -EPERM);
  assert.equal(getVersion(a!, 999), -ESRCH);
  // set_version: 1 fine, 2 not provided (-EACCES as Xen with gnttab_max_version=1), others -EINVAL; the version is reported.
  const setVersion = (v: number) => {
    poke(a!, DATA, new Uint8Array(new Uint32Array([v]).buffer));
    const rc = gnt(a!, G.GNTTABOP_set_version, 1);
    return [rc, new DataView(peek(a!, DATA, 4).buffer).getUint32(0, true)];
  };
  assert.deepEqual(setVersion(1), [0, 1]);
  assert.deepEqual(setVersion(2), [-EACCES, 1]);
  assert.deepEqual(setVersion(7), [-EINVAL, 1]);
  // query_size.
  const q = (d: Domain, dom: number) => {
    const v = new DataView(new ArrayBuffer(16));
    v.setUint16(0, dom, true);
    poke(d, DATA, new Uint8Array(v.buffer));
    assert.equal(gnt(d, G.GNTTABOP_query_size, 1), 0);
    const r = new DataView(peek(d, DATA, 16).buffer);
    return [r.getInt16(12, true), r.getUint32(4, true), r.getUint32(8, true)];
  };
  assert.deepEqual(q(a!, DOMID_SELF), [G.GNTST_okay, 1, G.DEFAULT_MAX_GRANT_FRAMES]);
  assert.equal(q(a!, b!.domid)[0], G.GNTST_permission_denied);
  assert.equal(q(a!, 999)[0], G.GNTST_bad_domain);
  assert.equal(gnt(a!, G.GNTTABOP_query_size, 2), -EINVAL, 'count must be 1');
  // Growth: setup_table(3), then add_to_physmap(grant_table, idx 5) through memory_op.
  assert.deepEqual(setupTable(a!, 3).gfns, [0, 1, 2].map((i) => BigInt(GNTTAB_MAGIC_GFN + i)));
  const atp = new DataView(new ArrayBuffer(M.ADD_TO_PHYSMAP_SIZE));
  atp.setUint16(M.ATP_DOMID, DOMID_SELF, true);
  atp.setUint32(M.ATP_SPACE, M.XENMAPSPACE_grant_table, true);
  atp.setBigUint64(M.ATP_IDX, 5n, true);
  atp.setBigUint64(M.ATP_GPFN, 0xa0000n, true);
  poke(a!, DATA, new Uint8Array(atp.buffer));
  assert.equal(Number(hypercall(a!.vcpus[0]!, HYPERVISOR_memory_op, M.XENMEM_add_to_physmap, DATA)), 0);
  assert.deepEqual(q(a!, DOMID_SELF).slice(0, 2), [G.GNTST_okay, 6]);
  atp.setBigUint64(M.ATP_IDX, BigInt(G.DEFAULT_MAX_GRANT_FRAMES), true);
  poke(a!, DATA, new Uint8Array(atp.buffer));
  assert.equal(Number(hypercall(a!.vcpus[0]!, HYPERVISOR_memory_op, M.XENMEM_add_to_physmap, DATA)), -EINVAL, 'past the limit');
  // setup_table beyond the limit, for another domain, bad handle.
  assert.equal(setupTable(a!, G.DEFAULT_MAX_GRANT_FRAMES + 1).status, G.GNTST_general_error);
  assert.equal(gnt(a!, G.GNTTABOP_setup_table, 1, 0x1000), -EFAULT);
  assert.equal(gnt(a!, G.GNTTABOP_setup_table, 0), -EINVAL);
  assert.equal(gnt(a!, G.GNTTABOP_transfer, 1), -ENOSYS);
  assert.equal(gnt(a!, G.GNTTABOP_map_grant_ref | 0x1000, 1), -ENOSYS, 'continuation bits');
  assert.equal(gnt(a!, G.GNTTABOP_map_grant_ref, 0x80000000), -EINVAL, '(int)count < 0');
});

test('map: write through the mapping reaches the granter; flags set and cleared; unmap removes access', () => {
  const { hv, doms: [a, b] } = setup();
  setupTable(a!);
  poke(a!, GRANTED, [1, 2, 3, 4]);
  grant(a!, 8, b!.domid, GRANTED);
  const r = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid });
  assert.equal(r.status, G.GNTST_okay);
  assert.equal(r.bus, BigInt(a!.p2m.mfnOf(GRANTED / PAGE) * PAGE), 'dev_bus_addr is the granted frame');
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_reading | G.GTF_writing);
  assert.equal(b!.p2m.typeOf(MAPAT / PAGE), P2M_GRANT_RW);
  // A real hart in b reads and writes the granted page.
  run(b!, [...loadAt(MAPAT), ...storeAt(MAPAT + 8, 0x5a5a)].filter((w, i, all) => !(w === A.jal(0, 0) && i < all.length - 1)));
  assert.equal(b!.state, 'running');
  assert.equal(Number(b!.vcpus[0]!.hart.getX(7)), 0x04030201);
  assert.deepEqual([...peek(a!, GRANTED + 8, 2)], [0x5a, 0x5a]);
  // Unmap with the wrong address is refused; the right one removes the mapping and the flags.
  assert.equal(unmap(b!, MAPAT + PAGE, r.handle), G.GNTST_general_error);
  assert.equal(unmap(b!, MAPAT, r.handle, 12345 * PAGE), G.GNTST_general_error, 'dev_bus_addr must match');
  assert.equal(unmap(b!, MAPAT, r.handle), G.GNTST_okay);
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access);
  assert.equal(b!.p2m.typeOf(MAPAT / PAGE), P2M_INVALID);
  assert.equal(unmap(b!, MAPAT, r.handle), G.GNTST_bad_handle, 'the handle is gone');
  assert.equal(unmap(b!, MAPAT, 99999), G.GNTST_bad_handle);
  // The hart's next access to the unmapped page is a second-stage fault: the domain crashes.
  run(b!, loadAt(MAPAT));
  assert.equal(b!.shutdownCode, SHUTDOWN_crash);
  assert.equal(a!.state, 'running', 'the granter is untouched');
  void hv;
});

test('readonly: GTF_readonly refuses a writable map; a read-only mapping faults a real store', () => {
  const { doms: [a, b] } = setup();
  setupTable(a!);
  poke(a!, GRANTED, [9, 9, 9, 9]);
  grant(a!, 10, b!.domid, GRANTED, G.GTF_permit_access | G.GTF_readonly);
  assert.equal(map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 10, dom: a!.domid }).status, G.GNTST_general_error);
  assert.equal(entryFlags(a!, 10), G.GTF_permit_access | G.GTF_readonly, 'nothing left set');
  assert.equal(b!.p2m.typeOf(MAPAT / PAGE), P2M_INVALID);
  const r = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map | G.GNTMAP_readonly, ref: 10, dom: a!.domid });
  assert.equal(r.status, G.GNTST_okay);
  assert.equal(b!.p2m.typeOf(MAPAT / PAGE), P2M_GRANT_RO);
  assert.equal(entryFlags(a!, 10), G.GTF_permit_access | G.GTF_readonly | G.GTF_reading);
  run(b!, storeAt(MAPAT, 0x11223344));
  assert.equal(b!.shutdownCode, SHUTDOWN_crash, 'the store faulted at the second stage');
  assert.match(b!.crashReason, /second-stage fault at gpa 0x90000000/);
  assert.deepEqual([...peek(a!, GRANTED, 4)], [9, 9, 9, 9]);
});

test('map errors: every GNTST code per element of one batch', () => {
  const { doms: [a, b, c] } = setup(3);
  setupTable(a!);
  grant(a!, 8, b!.domid, GRANTED);
  grant(a!, 9, c!.domid, GRANTED); // for someone else
  grant(a!, 11, b!.domid, 0x7000_0000); // not a's RAM
  grant(a!, 12, b!.domid, GRANTED, G.GTF_accept_transfer);
  const res = mapOps(b!, [
    { host: MAPAT, flags: 0, ref: 8, dom: a!.domid },
    { host: MAPAT, flags: G.GNTMAP_host_map | G.GNTMAP_device_map, ref: 8, dom: a!.domid },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: 999 },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: DOMID_SELF },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 512, dom: a!.domid },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 9, dom: a!.domid },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 11, dom: a!.domid },
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 12, dom: a!.domid },
    { host: 0x80000000, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }, // over b's RAM
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }, // fine
    { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }, // slot now taken
  ]);
  assert.deepEqual(res.map((r) => r.status), [
    G.GNTST_bad_gntref, G.GNTST_general_error, G.GNTST_bad_domain, G.GNTST_bad_domain, G.GNTST_bad_gntref,
    G.GNTST_general_error, G.GNTST_bad_page, G.GNTST_general_error, G.GNTST_general_error, G.GNTST_okay, G.GNTST_general_error,
  ]);
  assert.equal(entryFlags(a!, 11), G.GTF_permit_access, 'a failed pin clears what it set');
  assert.equal(entryFlags(a!, 9), G.GTF_permit_access);
  // c cannot map b's active grant of ref 8 (pinned by b).
  assert.equal(map1(c!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }).status, G.GNTST_general_error);
  // Bad handle for the array: -EFAULT.
  assert.equal(gnt(b!, G.GNTTABOP_map_grant_ref, 1, 0x1000), -EFAULT);
  assert.equal(gnt(b!, G.GNTTABOP_unmap_grant_ref, 1, 0x7fff_0000), -EFAULT);
});

test('pins: two mappings of one grant, the last unmap clears the flags; revoked entries cannot be newly pinned', () => {
  const { doms: [a, b] } = setup();
  setupTable(a!);
  grant(a!, 8, b!.domid, GRANTED);
  const r1 = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map | G.GNTMAP_readonly, ref: 8, dom: a!.domid });
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_reading);
  const r2 = map1(b!, { host: MAPAT + PAGE, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid });
  assert.equal(r2.status, G.GNTST_okay);
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_reading | G.GTF_writing);
  assert.equal(unmap(b!, MAPAT + PAGE, r2.handle), G.GNTST_okay);
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_reading, 'the last writer went');
  // The granter revokes (clears type) while mapped: the existing pin stays valid, Xen's rule.
  poke(a!, GNTTAB_MAGIC_GFN * PAGE + 8 * 8, [G.GTF_reading, 0]);
  assert.equal(unmap(b!, MAPAT, r1.handle), G.GNTST_okay);
  assert.equal(entryFlags(a!, 8), 0);
  assert.equal(map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }).status, G.GNTST_general_error);
});

test('copy: gref and gfn sides, readonly source, no page crossing, gfn only for oneself', () => {
  const { doms: [a, b, c] } = setup(3);
  setupTable(a!);
  poke(a!, GRANTED, Array.from({ length: 64 }, (_, i) => i + 1));
  grant(a!, 8, b!.domid, GRANTED, G.GTF_permit_access | G.GTF_readonly);
  grant(a!, 9, b!.domid, GRANTED + PAGE);
  const mine = 0x80120000;
  // a's read-only grant → b's own frame.
  assert.equal(copy(b!, { ref: 8, dom: a!.domid, off: 16 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 100 }, 32, G.GNTCOPY_source_gref), G.GNTST_okay);
  assert.deepEqual([...peek(b!, mine + 100, 32)], Array.from({ length: 32 }, (_, i) => i + 17));
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_readonly, 'no flags left after the copy');
  // b's frame → a's writable grant.
  poke(b!, mine, [0xde, 0xad]);
  assert.equal(copy(b!, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, { ref: 9, dom: a!.domid, off: 4094 }, 2, G.GNTCOPY_dest_gref), G.GNTST_okay);
  assert.deepEqual([...peek(a!, GRANTED + PAGE + 4094, 2)], [0xde, 0xad]);
  assert.equal(entryFlags(a!, 9), G.GTF_permit_access);
  // Errors.
  assert.equal(copy(b!, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, { ref: 8, dom: a!.domid, off: 0 }, 8, G.GNTCOPY_dest_gref), G.GNTST_general_error, 'readonly grant as destination');
  assert.equal(entryFlags(a!, 8), G.GTF_permit_access | G.GTF_readonly);
  assert.equal(copy(b!, { ref: 9, dom: a!.domid, off: 4000 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 200, G.GNTCOPY_source_gref), G.GNTST_bad_copy_arg);
  assert.equal(entryFlags(a!, 9), G.GTF_permit_access, 'released after a failed copy');
  assert.equal(copy(b!, { gfn: GRANTED / PAGE, dom: a!.domid, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, 0), G.GNTST_permission_denied);
  assert.equal(copy(b!, { ref: 9, dom: 999, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, G.GNTCOPY_source_gref), G.GNTST_bad_domain);
  assert.equal(copy(b!, { ref: 4096, dom: a!.domid, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, G.GNTCOPY_source_gref), G.GNTST_bad_gntref);
  assert.equal(copy(b!, { gfn: 0x7000_0, dom: DOMID_SELF, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, 0), G.GNTST_bad_page);
  assert.equal(copy(b!, { gfn: 2 ** 60, dom: DOMID_SELF, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, 0), G.GNTST_bad_page);
  assert.equal(copy(c!, { ref: 9, dom: a!.domid, off: 0 }, { gfn: mine / PAGE, dom: DOMID_SELF, off: 0 }, 8, G.GNTCOPY_source_gref), G.GNTST_general_error, 'granted to b, not c');
});

test("zombie: a destroyed granter's frame lives while mapped, and is freed at the last unmap", () => {
  const { hv, x, doms: [a, b] } = setup();
  setupTable(a!);
  poke(a!, GRANTED, [7, 7, 7, 7]);
  grant(a!, 8, b!.domid, GRANTED);
  const mfn = a!.p2m.mfnOf(GRANTED / PAGE);
  const tableMfn = a!.p2m.mfnOf(GNTTAB_MAGIC_GFN);
  const r = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid });
  const free0 = hv.pool.freeFrames;
  hv.destroyDomain(a!);
  assert.equal(hv.pool.owner[mfn], ZOMBIE_OWNER, 'kept for b, no longer a domain frame');
  assert.notEqual(hv.pool.owner[tableMfn], FRAME_FREE, 'the table frame too (the unmap clears its flags)');
  assert.ok(hv.pool.freeFrames > free0, 'everything else was freed');
  assert.equal(x.grants.zombieCount, 1);
  run(b!, loadAt(MAPAT));
  assert.equal(b!.state, 'running');
  assert.equal(Number(b!.vcpus[0]!.hart.getX(7)), 0x07070707);
  assert.equal(map1(b!, { host: MAPAT + PAGE, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid }).status, G.GNTST_bad_domain);
  assert.equal(unmap(b!, MAPAT, r.handle), G.GNTST_okay);
  assert.equal(hv.pool.owner[mfn], FRAME_FREE);
  assert.equal(hv.pool.owner[tableMfn], FRAME_FREE);
  assert.equal(x.grants.zombieCount, 0);
  assert.equal(x.grants.get(a!.domid), undefined);
});

test('decrease_reservation of a granted page does not hand the frame out while it is mapped', () => {
  const { hv, x, doms: [a, b] } = setup();
  setupTable(a!);
  grant(a!, 8, b!.domid, GRANTED);
  const mfn = a!.p2m.mfnOf(GRANTED / PAGE);
  const r = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid });
  const mr = new DataView(new ArrayBuffer(M.MEMORY_RESERVATION_SIZE));
  mr.setBigUint64(M.MR_EXTENT_START, BigInt(DATA + 0x400), true);
  mr.setBigUint64(M.MR_NR_EXTENTS, 1n, true);
  mr.setUint16(M.MR_DOMID, DOMID_SELF, true);
  poke(a!, DATA, new Uint8Array(mr.buffer));
  poke64(a!, DATA + 0x400, GRANTED / PAGE);
  assert.equal(Number(hypercall(a!.vcpus[0]!, HYPERVISOR_memory_op, M.XENMEM_decrease_reservation, DATA)), 1);
  assert.equal(hv.pool.owner[mfn], ZOMBIE_OWNER);
  assert.equal(unmap(b!, MAPAT, r.handle), G.GNTST_okay);
  assert.equal(hv.pool.owner[mfn], FRAME_FREE);
  void x;
});

test("soft reset: the domain's mappings and ports go, its table stays; others' mappings of it stay", () => {
  const { hv, x, doms: [a, b] } = setup();
  setupTable(a!);
  setupTable(b!);
  grant(a!, 8, b!.domid, GRANTED);
  grant(b!, 8, a!.domid, GRANTED);
  const rb = map1(b!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: a!.domid });
  const ra = map1(a!, { host: MAPAT, flags: G.GNTMAP_host_map, ref: 8, dom: b!.domid });
  assert.equal(rb.status, G.GNTST_okay);
  assert.equal(ra.status, G.GNTST_okay);
  const p = x.channels(a!).allocUnbound(b!.domid);
  hv.shutdownDomain(a!, 5 /* SHUTDOWN_soft_reset */);
  hv.softResetDomain(a!);
  assert.equal(a!.p2m.typeOf(MAPAT / PAGE), P2M_INVALID, "a's own mapping is gone");
  assert.equal(entryFlags(b!, 8), G.GTF_permit_access, "b's entry is released");
  assert.equal(b!.p2m.typeOf(MAPAT / PAGE), P2M_GRANT_RW, "b still maps a's grant");
  assert.equal(x.channels(a!).state(p), 0, 'ports closed');
  assert.equal(x.grants.get(a!.domid)!.nrFrames, 1, 'the table stays');
  assert.equal(unmap(b!, MAPAT, rb.handle), G.GNTST_okay);
});

test('a long batch is preempted after PREEMPT_BATCH elements and continues where it stopped', async () => {
  const { HcArgs, PREEMPT_BATCH } = await import('../hypercall/table.ts');
  const { doms: [a, b] } = setup();
  setupTable(a!);
  grant(a!, 8, b!.domid, GRANTED, G.GTF_permit_access | G.GTF_readonly);
  const n = PREEMPT_BATCH + 44, mine = 0x80120000;
  const ops = new DataView(new ArrayBuffer(40 * n));
  for (let k = 0; k < n; k++) {
    ops.setUint32(40 * k, 8, true);
    ops.setUint16(40 * k + 8, a!.domid, true);
    ops.setBigUint64(40 * k + 16, BigInt(mine / PAGE), true);
    ops.setUint16(40 * k + 24, DOMID_SELF, true);
    ops.setUint16(40 * k + 26, k % 4000, true);
    ops.setUint16(40 * k + 32, 1, true);
    ops.setUint16(40 * k + 34, G.GNTCOPY_source_gref, true);
    ops.setInt16(40 * k + 36, 99, true);
  }
  poke(b!, DATA, new Uint8Array(ops.buffer));
  const v = b!.vcpus[0]!, args = new HcArgs().setNum(0, G.GNTTABOP_copy).setNum(1, DATA).setNum(2, n);
  assert.equal(b!.hv.hypercalls.dispatch(v, HYPERVISOR_grant_table_op, 0, args), 0);
  assert.equal(v.continuation, true);
  assert.equal(args.u64(1), DATA + 40 * PREEMPT_BATCH);
  assert.equal(args.u32(2), 44);
  const status = (k: number) => new DataView(peek(b!, DATA + 40 * k + 36, 2).buffer).getInt16(0, true);
  assert.equal(status(PREEMPT_BATCH - 1), G.GNTST_okay);
  assert.equal(status(PREEMPT_BATCH), 99, 'not yet done');
  v.continuation = false;
  assert.equal(b!.hv.hypercalls.dispatch(v, HYPERVISOR_grant_table_op, 0, args), 0);
  assert.equal(v.continuation, false);
  for (let k = 0; k < n; k++) assert.equal(status(k), G.GNTST_okay);
});
