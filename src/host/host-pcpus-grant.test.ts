// SPDX-License-Identifier: GPL-2.0-only
// GNTTABOP_copy answered on the pCPU worker threads (smp/fast-path.ts over grant/smp-view.ts)
// with real workers through HostPcpus: every domain created after the workers started reaches
// their grant views ('grant' messages), a PV guest's copy loop on a pCPU thread copies the
// granted bytes without exits to the main thread, and a domain created while it runs is
// picked up too (the worker drains its port on the first copy that names it).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { attachEvtchnGnttab } from '../hypervisor/event/attach.ts';
import { A, DATA, li, peek, poke } from '../hypervisor/hypercall/test-support.ts';
import type { Domain } from '../hypervisor/domain/domain.ts';
import { COPY, GNTCOPY_source_gref, GNTST_bad_domain, GNTST_okay, GNTTABOP_copy, GTF_permit_access, GTF_readonly } from '../hypervisor/public/grant-table.ts';
import { DOMID_SELF, HYPERVISOR_grant_table_op, XEN_SBI_EID } from '../hypervisor/public/xen.ts';
import { pcpuHost, reg } from './host-pcpus-test-support.ts';

const T0 = 5, T1 = 6, T2 = 7, A0 = 10, A1 = 11, A2 = 12, A6 = 16, A7 = 17;
const PAGE = 4096;

function host(cpus: number, fast = true) {
  const h = pcpuHost(cpus, { fast });
  return { ...h, grants: attachEvtchnGnttab(h.hv).grants };
}

const SPIN = [A.addi(T0, T0, 1), A.jal(0, -4)];
const ARG = DATA, DST = DATA + PAGE, SRC = DATA + 2 * PAGE, REF = 8;
/** Where the test tells b's guest which domain to copy from (the guest writes it into its element). */
const FROM = DATA + 3 * PAGE;
/**
 * loop: the element's source domid = *(u16 *)FROM; a0 = GNTTABOP_copy, a1 = &gnttab_copy at
 * ARG, a2 = 1; ecall; t0++; t1 = a0. (The test does not write the element while the guest
 * runs: the hypercall writes the whole element back, so a concurrent change could be undone.)
 */
function copyLoop(): number[] {
  const loop = [
    ...li(A1, FROM), A.lhu(T2, A1, 0), ...li(A1, ARG), A.sh(T2, A1, COPY.source + COPY.ptr_domid),
    ...li(A7, XEN_SBI_EID), ...li(A6, HYPERVISOR_grant_table_op), A.addi(A0, 0, GNTTABOP_copy), A.addi(A2, 0, 1), A.ecall(), A.addi(T0, T0, 1), A.addi(T1, A0, 0),
  ];
  return [...loop, A.jal(0, -4 * loop.length)];
}
/** One gnttab_copy element in b: `REF` of `granter` into b's own DST frame (a GFN), a whole page. */
function element(b: Domain, granter: number): void {
  const buf = new Uint8Array(COPY.size), dv = new DataView(buf.buffer);
  dv.setUint32(COPY.source + COPY.ptr_u, REF, true);
  dv.setUint16(COPY.source + COPY.ptr_domid, granter, true);
  dv.setBigUint64(COPY.dest + COPY.ptr_u, BigInt(DST / PAGE), true);
  dv.setUint16(COPY.dest + COPY.ptr_domid, DOMID_SELF, true);
  dv.setUint16(COPY.len, PAGE, true);
  dv.setUint16(COPY.flags, GNTCOPY_source_gref, true);
  dv.setInt16(COPY.status, 99, true);
  poke(b, ARG, buf);
  from(b, granter);
}
const from = (b: Domain, domid: number): void => poke(b, FROM, [domid & 0xff, domid >> 8]);
/** a grants its SRC frame (filled with a pattern from `seed`) to b, read-only, at ref REF. */
function grant(h: ReturnType<typeof host>, a: Domain, b: Domain, seed: number): Uint8Array {
  h.grants.get(a.domid)!.seedEntry(REF, b.domid, SRC / PAGE, GTF_permit_access | GTF_readonly);
  const bytes = Uint8Array.from({ length: PAGE }, (_, i) => (i * seed + 3) & 0xff);
  poke(a, SRC, bytes);
  return bytes;
}
const status = (b: Domain): number => new DataView(peek(b, ARG + COPY.status, 2).buffer).getInt16(0, true);

/**
 * Copies done and main-thread exits over `ms` of a copy loop (b running copyLoop, primed). The
 * guest's counter (its register, written back by the worker's hart in chunks) and the workers'
 * counter are read at different moments: they may differ by a few calls, hence a 1% tolerance.
 */
function measure(h: ReturnType<typeof host>, b: Domain, ms: number): { copies: number; exits: number; fast: number } {
  const c0 = reg(b, T0), e0 = h.pcpus.exits, f0 = h.pcpus.fastCalls();
  h.drive(ms);
  return { copies: reg(b, T0) - c0, exits: h.pcpus.exits - e0, fast: h.pcpus.fastCalls() - f0 };
}

test('GNTTABOP_copy from a PV guest on a pCPU thread is answered there, also from a domain created while it runs', (t) => {
  const h = host(2);
  try {
    const a = h.create(SPIN), b = h.create(copyLoop());
    const want = grant(h, a, b, 7);
    element(b, a.domid);
    h.driveUntil(() => reg(b, T0) > 2000);
    assert.ok(reg(b, T0) > 2000, `copies completed: ${reg(b, T0)}`);
    assert.equal(reg(b, T1), 0, 'GNTTABOP_copy returned 0');
    assert.equal(status(b), GNTST_okay);
    assert.deepEqual(peek(b, DST, PAGE), want, 'the granted bytes arrived');
    const m = measure(h, b, 300);
    t.diagnostic(`fast: ${m.copies} copies, ${m.fast} on the worker, ${m.exits} exits in 300 ms`);
    assert.ok(m.fast >= m.copies * 0.99, `answered on the worker: ${m.fast} of ${m.copies}`);
    assert.ok(m.exits < m.copies / 20, `few exits to the main thread: ${m.exits} for ${m.copies} copies`);

    // A domain created now (the workers are running b): it grants to b, and b's element names it.
    const c = h.create(SPIN);
    const want2 = grant(h, c, b, 13);
    const f0 = h.pcpus.fastCalls(), e0 = h.pcpus.exits;
    from(b, c.domid);
    h.driveUntil(() => status(b) === GNTST_okay && peek(b, DST, PAGE)[1] === want2[1]);
    const n0 = reg(b, T0);
    h.driveUntil(() => reg(b, T0) - n0 > 2000);
    // b no longer copies from a: a's entry must be unpinned (while b copied, a pin was held during each copy).
    assert.equal(h.grants.get(a.domid)!.actPin[REF], 0, 'no pin left');
    assert.deepEqual(peek(b, DST, PAGE), want2, `the new domain's granted bytes arrived (status ${status(b)}, rc ${reg(b, T1) | 0}, ${reg(b, T0)} copies)`);
    assert.equal(reg(b, T1), 0);
    const m2 = measure(h, b, 300);
    t.diagnostic(`new domain: ${m2.copies} copies, ${m2.fast} on the worker, ${m2.exits} exits in 300 ms (${h.pcpus.fastCalls() - f0} fast, ${h.pcpus.exits - e0} exits since it was created)`);
    assert.ok(m2.fast >= m2.copies * 0.99 && m2.exits < m2.copies / 20, `the new domain's grant is copied on the worker: ${m2.fast} of ${m2.copies}, ${m2.exits} exits`);

    // A destroyed granter: b's copies get GNTST_bad_domain (from the worker or the main thread), never its old frame.
    h.hv.destroyDomain(c);
    const s0 = reg(b, T0);
    h.driveUntil(() => reg(b, T0) - s0 > 100 && status(b) !== GNTST_okay);
    assert.equal(status(b), GNTST_bad_domain);
  } finally {
    h.pcpus.stop();
  }
});

test('GNTTABOP_copy with the fast paths off: every copy is an exit to the main thread (the before figure)', (t) => {
  const h = host(2, false);
  try {
    const a = h.create(SPIN), b = h.create(copyLoop());
    const want = grant(h, a, b, 5);
    element(b, a.domid);
    h.driveUntil(() => reg(b, T0) > 200);
    assert.deepEqual(peek(b, DST, PAGE), want);
    const m = measure(h, b, 300);
    t.diagnostic(`main thread: ${m.copies} copies, ${m.fast} on the worker, ${m.exits} exits in 300 ms`);
    assert.equal(m.fast, 0);
    assert.ok(m.exits + 3 >= m.copies, `one exit per copy: ${m.exits} for ${m.copies}`);
  } finally {
    h.pcpus.stop();
  }
});
