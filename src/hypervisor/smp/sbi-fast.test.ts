// SPDX-License-Identifier: GPL-2.0-only
// The worker's SBI IPI / RFENCE fast path (sbi-fast.ts) against the main thread's vSBI, on two
// identical machines of real guest-mode harts: 20 000 random calls (EIDs, FIDs, masks, bases,
// ranges from random and boundary values), each answered on machine A by vsbi.handleEcall and on
// machine B by SbiFast.handle (or, when it says NOT_FAST, by B's vsbi as the main thread would).
// Registers, pc, SSIP of every hart and the harts told to flush must be the same.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_ECALL } from '../../hardware/riscv/hart-api.ts';
import { FLUSH_ICACHE, FLUSH_REQ, FLUSH_TLB, MIP_SSIP, MIP_SW } from '../../hardware/riscv/hart-state.ts';
import type { Hart } from '../../hardware/riscv/hart.ts';
import { A, setx } from '../../hardware/riscv/test-support.ts';
import * as D from '../vsbi/sbi-defs.ts';
import { codeBase, TestMachine } from '../vsbi/test-support.ts';
import { KickQueue } from './kick-queue.ts';
import { type SbiCaller, SbiFast, SbiFastDomain } from './sbi-fast.ts';

const N = 5;

/** Two machines with harts 0, 1 and 3 STARTED, 2 and 4 STOPPED. */
function machine(): TestMachine {
  const m = new TestMachine({ harts: N });
  for (const i of [1, 3]) {
    const r = m.call(0, D.SBI_EXT_HSM, 0, i, codeBase(i), 0);
    assert.equal(r.a0, 0n);
    assert.ok(m.vsbi.prepareToRun(i));
  }
  for (let i = 0; i < N; i++) m.putCode(codeBase(i), [A.ecall()]);
  return m;
}

test('fuzz: 20k random IPI/RFENCE calls get the same answer and effects on the worker fast path as from the main thread\'s vSBI', (t) => {
  let seed = 0x2545f491;
  const rnd = (): number => {
    seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5;
    return seed >>> 0;
  };
  const pick = <T>(a: readonly T[]): T => a[rnd() % a.length]!;
  const interesting = [0n, 1n, 2n, 3n, 4n, 5n, 7n, 0x1fn, 0x10n, 0x80000000n, -1n, -2n, -4096n, 4096n, 8192n, 1n << 32n, (1n << 32n) + 1n, 1n << 63n, 0xffffffffn];
  const value = (): bigint => {
    const k = rnd() % 4;
    if (k === 0) return BigInt.asIntN(64, (BigInt(rnd()) << 32n) | BigInt(rnd()));
    if (k === 1) return BigInt(rnd() % 32);
    return pick(interesting);
  };
  const eids = [D.SBI_EXT_IPI, D.SBI_EXT_IPI, D.SBI_EXT_RFENCE, D.SBI_EXT_RFENCE, D.SBI_EXT_RFENCE, D.SBI_EXT_IPI | (1 << 31) | 0, D.SBI_EXT_TIME];
  const fids = [0n, 0n, 1n, 2n, 3n, 6n, -1n, 1n << 32n, 0xffffffffn];

  const a = machine(), b = machine();
  const wakes = new KickQueue(64);
  let rings = 0;
  const fast = new SbiFast({ executing: () => false, ring: () => void rings++ }, wakes);
  const dom = new SbiFastDomain({ domid: 7, hsm: b.vsbi.harts.state, states: b.harts.map((h) => h.state) });
  // The caller's own flushes (applied at once on the worker): counted like A's platform does.
  const ownFlush = [0, 0];
  const caller = (h: Hart): SbiCaller => ({
    x: h.x, s: h.s, getPcLo: () => h.getPcLo(), getPcHi: () => h.getPcHi(), setPcWords: (lo, hi) => h.setPcWords(lo, hi),
    flushTlb: () => { ownFlush[0]!++; h.flushTlb(); },
    flushICache: () => { ownFlush[1]!++; h.flushICache(); },
  });
  let answered = 0, woken = 0;
  for (let n = 0; n < 20_000; n++) {
    const i = pick([0, 1, 3]);
    const eid = BigInt(pick(eids)), fid = pick(fids);
    const args = [value(), value(), value(), value(), value(), value()];
    // A: the main thread's vSBI.
    const tA0 = [...a.tlbFlushes], iA0 = [...a.icacheFlushes];
    a.call(i, eid, fid, ...args);
    // B: the worker's fast path first.
    const h = b.harts[i]!;
    for (let k = 0; k < 6; k++) setx(h, 10 + k, args[k]!);
    setx(h, 16, fid);
    setx(h, 17, eid);
    b.putCode(h.getPc(), [A.ecall()]);
    assert.equal(h.step(8), EXIT_ECALL);
    const tB0 = [...b.tlbFlushes], iB0 = [...b.icacheFlushes];
    ownFlush[0] = ownFlush[1] = 0;
    const done = fast.handle(dom, i, caller(h));
    if (done) answered++;
    else b.vsbi.handleEcall(i);
    const what = `call ${n}: hart ${i} eid 0x${eid.toString(16)} fid ${fid} args ${args.join(',')}`;
    const ha = a.harts[i]!;
    assert.deepEqual(Array.from(h.x), Array.from(ha.x), `${what}: registers`);
    assert.equal(h.getPc(), ha.getPc(), `${what}: pc`);
    for (let j = 0; j < N; j++) {
      assert.equal(Atomics.load(b.harts[j]!.s, MIP_SW) & MIP_SSIP, Atomics.load(a.harts[j]!.s, MIP_SW) & MIP_SSIP, `${what}: SSIP of hart ${j}`);
      // A flushed hart j itself; B requested it of hart j's runner (or applied its own at once).
      const req = Atomics.and(b.harts[j]!.s, FLUSH_REQ, 0);
      const tlbB = done ? (j === i ? ownFlush[0]! : (req & FLUSH_TLB) !== 0 ? 1 : 0) : b.tlbFlushes[j]! - tB0[j]!;
      const icB = done ? (j === i ? ownFlush[1]! : (req & FLUSH_ICACHE) !== 0 ? 1 : 0) : b.icacheFlushes[j]! - iB0[j]!;
      assert.equal(tlbB, a.tlbFlushes[j]! - tA0[j]!, `${what}: TLB flush of hart ${j}`);
      assert.equal(icB, a.icacheFlushes[j]! - iA0[j]!, `${what}: FENCE.I of hart ${j}`);
    }
    // Targets of an IPI that are not executing (none is, here) and not the caller get a wake-up.
    woken += wakes.drain((domid, v) => {
      assert.equal(domid, 7);
      assert.ok(v !== i && (v === 1 || v === 3 || v === 0), `${what}: wake of hart ${v}`);
    });
    // Clear SSIP so the next call shows its own.
    for (const m of [a, b]) for (const x of m.harts) Atomics.and(x.s, MIP_SW, ~MIP_SSIP);
  }
  t.diagnostic(`${answered} answered on the fast path, ${woken} wake-ups queued`);
  assert.ok(answered > 4000, `many calls answered on the fast path: ${answered}`);
  assert.ok(woken > 20 && rings > 0, `IPIs queued wake-ups: ${woken}`);
  assert.equal(fast.timeouts, 0);
});
