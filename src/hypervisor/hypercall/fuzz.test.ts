// SPDX-License-Identifier: GPL-2.0-only
// The hostile guest: 1,000,000 random hypercalls (random numbers, sub-ops, arguments, handles
// and guest memory) from a real vCPU of an attacking domain, through the same dispatch the
// vSBI's Xen EID uses (every 1000th through a real `ecall` on the hart). Proves: no host
// exception, every result is >= 0 or a negated Xen errno, and no byte outside the attacker's
// own frames changes (the other domains' frames and the untouched free frames are hashed
// before and after; their owners too).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DATA, makeHv, poke, pvDomain } from './test-support.ts';
import { P2M_RAM_RW } from '../mm/p2m.ts';
import { ERRNO_NAMES } from '../public/errno.ts';
import { DOMID_SELF, XEN_SBI_EID } from '../public/xen.ts';
import { HcArgs } from './table.ts';
import type { Domain } from '../domain/domain.ts';
import type { FramePool } from '../mm/frame-pool.ts';

const CALLS = Number(process.env.TSXEN_FUZZ_CALLS ?? 1_000_000);
const SEED = Number(process.env.TSXEN_FUZZ_SEED ?? 0x5eed1234);

/** FNV-1a over a frame, 32 bits at a time. */
function hashFrame(pool: FramePool, f: number): number {
  const w = new Int32Array(pool.memory, f * 4096, 1024);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < 1024; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  return h;
}

function snapshot(pool: FramePool, attacker: number): Map<number, [number, number]> {
  const m = new Map<number, [number, number]>();
  for (let f = 1; f < pool.nrFrames; f++) if (pool.owner[f] !== attacker) m.set(f, [pool.owner[f]!, hashFrame(pool, f)]);
  return m;
}

test(`hostile guest: ${CALLS} random hypercalls, only errnos, nothing outside its own frames touched`, () => {
  const { hv } = makeHv(8192);
  const victims: Domain[] = [pvDomain(hv, undefined, { memoryMiB: 2 }), pvDomain(hv, undefined, { memoryMiB: 2 })];
  const a = pvDomain(hv, undefined, { memoryMiB: 4, maxMemoryMiB: 6, vcpus: 2 });
  victims.push(pvDomain(hv, undefined, { memoryMiB: 1 }));
  // Victims get recognisable content so a stray write would change their hashes.
  for (const d of victims) d.p2m.forEach((_g, mfn) => hv.pool.bytes.fill(d.domid * 17 + 3, mfn * 4096 + 2048, mfn * 4096 + 4096));
  const v = a.vcpus[0]!;
  const before = snapshot(hv.pool, a.domid);

  let s = SEED >>> 0;
  const rnd = (): number => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
  const pick = <T,>(xs: readonly T[]): T => xs[rnd() % xs.length]!;
  const NRS = [12, 12, 12, 13, 13, 17, 17, 18, 24, 24, 29, 29, 20, 32, 35, 36];
  const domids = [DOMID_SELF, a.domid, 0, ...victims.map((d) => d.domid), 0x7ff1, 0x7ff2, 0xffff];
  const ADDRS = [DATA, DATA + 8, DATA + 0x100, DATA + 0xff8, DATA + 0xffc, DATA + 0x3000, 0x80000000, 0x803ffff8, 0x80400000,
    0x7ff00000, 0x7ff01000, 0x7ff03ff8, 0x7ff04000, 0x1000, 0, 0x10000000];
  /** One random 64-bit argument as int32 halves. */
  const arg = (): [number, number] => {
    switch (rnd() % 8) {
      case 0: return [rnd() % 16, 0];
      case 1: return [-1, -1];
      case 2: case 3: return [pick(ADDRS) + (rnd() % 3 === 0 ? rnd() % 64 : 0), 0];
      case 4: return [rnd() | 0, 0];
      case 5: return [rnd() | 0, rnd() | 0];
      case 6: return [rnd() % 4096, rnd() % 2 ? 0 : -1];
      default: return [rnd() % 12, 0];
    }
  };
  /** Fill the scratch area (DATA, 4 pages) with structure-like random content. */
  const scramble = (): void => {
    const base = a.ownRamOffset(DATA);
    const dv = hv.pool.view;
    for (let page = 0; page < 4; page++) {
      const off = a.ownRamOffset(DATA + page * 4096);
      if (off < 0) continue;
      for (let i = 0; i < 4096; i += 8) {
        const k = rnd() % 10;
        const lo = k < 2 ? pick(ADDRS) : k < 4 ? 0x80000 + (rnd() % 2048) : k < 5 ? pick(domids) : k < 6 ? rnd() % 16 : k < 7 ? rnd() % 4096 : rnd();
        const hi = k === 9 ? rnd() : k === 8 ? 0xffffffff : 0;
        dv.setUint32(off + i, lo >>> 0, true);
        dv.setUint32(off + i + 4, hi >>> 0, true);
      }
      if (rnd() % 2 === 0) dv.setUint16(off + 24, pick(domids), true); // reservation.domid
      if (rnd() % 2 === 0) dv.setUint16(off, pick(domids), true); // add_to_physmap.domid, remote_shutdown
    }
    void base;
  };

  const args = new HcArgs();
  const bad = new Map<string, number>();
  let negative = 0;
  let selfCrashes = 0;
  const spent = new Float64Array(64);
  const t0 = Date.now();
  for (let i = 0; i < CALLS; i++) {
    if (i % 64 === 0) scramble();
    // The attacker's own state may end up anywhere; put it back in a runnable shape now and then.
    if (a.state !== 'running') hv.resumeDomain(a);
    if (v.isBlocked) v.unblock();
    const nrPick = rnd() % 8;
    const nrLo = nrPick < 6 ? pick(NRS) : nrPick === 6 ? rnd() % 70 : rnd() | 0;
    const nrHi = nrPick === 7 && rnd() % 2 ? rnd() | 0 : 0;
    for (let k = 0; k < 6; k++) { const [lo, hi] = arg(); args.set(k, lo, hi); }
    // grant_table_op (part B) walks `count` elements in one call until it has continuations;
    // keep its counts below 4096 here so this test stays within its time budget (grant/fuzz.test.ts
    // covers hostile counts).
    if (nrLo === 20 && nrHi === 0) args.set(2, args.u32(2) % 4096, args.hi(2));
    let r: number;
    if (i % 1000 === 999 && a.ownRamOffset(v.hart.getPc()) >= 0 && a.ownRamOffset(v.hart.getPc() + 4) >= 0 &&
      a.p2m.typeOf(Math.floor(v.hart.getPc() / 4096)) === P2M_RAM_RW && Math.floor(v.hart.getPc() / 4096) !== a.sharedInfoGfn) {
      // Through the hart: registers, a real ecall, the vSBI, the run loop; a continuation is
      // re-issued by running the vCPU again, as the guest would.
      const h = v.hart;
      if (a.vsbi!.harts.status(0) === 1 /* STOPPED: VCPUOP_down */) {
        a.vsbi!.harts.requestStart(0, h.getPc(), 0, 0);
        hv.wakeVcpu(v);
      }
      for (let k = 0; k < 6; k++) h.setX(10 + k, args.lo(k), args.hi(k));
      h.setX(16, nrLo, nrHi);
      h.setX(17, XEN_SBI_EID, 0);
      const pc = h.getPc();
      const codeMfn = a.p2m.mfnOf(Math.floor(pc / 4096));
      poke(a, pc, [0x73, 0, 0, 0, 0x6f, 0, 0, 0]); // ecall; j .
      (h as { flushICache?: () => void }).flushICache?.();
      for (let k = 0; k < 10_000 && h.getPc() === pc && v.queued && a.state === 'running'; k++) hv.runVcpu(v, 1);
      if (h.getPc() === pc + 4) r = h.getX(10);
      else if (a.shutdownCode === 3 || a.p2m.mfnOf(Math.floor(pc / 4096)) !== codeMfn || a.ownRamOffset(pc) < 0 ||
        hv.pool.view.getUint32(a.ownRamOffset(pc), true) !== 0x73) {
        // The attacker wrecked itself (a continued call decreased or remapped its code page, or
        // wrote results over its own ecall, and the re-issued ecall met other bytes, or it crashed): allowed, as long as nothing else
        // is touched. Start it over on a page of its own.
        selfCrashes++;
        r = 0;
        h.setPc(DATA + 0x3f00);
      } else throw new Error(`call ${i}: nr ${nrLo} through the hart did not complete (pc 0x${h.getPc().toString(16)} from 0x${pc.toString(16)}, scause ${h.s[182]} sepc 0x${(h.s[180]! >>> 0).toString(16)} stval 0x${(h.s[184]! >>> 0).toString(16)}, state ${a.state}, queued ${v.queued})`);
      if (a.state !== 'running') {
        const crashed = a.shutdownCode === 3;
        hv.resumeDomain(a);
        if (crashed) h.setPc(DATA + 0x3f00);
      }
    } else {
      const c0 = performance.now();
      r = hv.hypercalls.dispatch(v, nrLo, nrHi, args);
      if (nrHi === 0 && nrLo >>> 0 < 64) spent[nrLo] += performance.now() - c0;
    }
    if (!Number.isInteger(r) || (r < 0 && !ERRNO_NAMES.has(-r))) bad.set(`${nrLo}:${args.lo(0)}`, r);
    if (r < 0) negative++;
  }
  const ms = Date.now() - t0;
  assert.deepEqual([...bad.entries()].slice(0, 5), [], 'results that are neither >= 0 nor a Xen errno');
  assert.ok(negative > CALLS / 4, `most random calls must fail (${negative})`);
  // Nothing outside the attacker's frames changed: victims' frames (owner and bytes), and the
  // free frames the attacker never held (freed frames are dirty: they were its own).
  const dirty = (hv.pool as unknown as { dirty: Uint8Array }).dirty;
  let checked = 0;
  for (const [f, [owner, h]] of before) {
    const nowOwner = hv.pool.owner[f]!;
    if (owner === -1 && (nowOwner === a.domid || dirty[f] === 1)) continue; // taken (and maybe given back) by the attacker
    assert.equal(nowOwner, owner, `frame ${f} changed owner`);
    assert.equal(hashFrame(hv.pool, f), h, `frame ${f} (owner ${owner}) changed`);
    checked++;
  }
  assert.ok(checked > 4000);
  for (const d of victims) assert.equal(d.state, 'running');
  console.log(`# ${CALLS} hypercalls in ${ms} ms (${((ms * 1000) / CALLS).toFixed(2)} µs each), ${negative} errors, ${checked} frames verified, attacker tot_pages ${a.totPages}, attacker self-wrecks ${selfCrashes}`);
  const top = [...spent].map((ms, nr) => [nr, ms] as const).filter(([, ms]) => ms > 0).sort((x, y) => y[1] - x[1]).slice(0, 5);
  console.log(`# time in handlers by hypercall: ${top.map(([nr, ms]) => `${nr}: ${ms.toFixed(0)} ms`).join(', ')}`);
});
