// SPDX-License-Identifier: GPL-2.0-only
// Hand-off of one hart state block between Hart objects (a vCPU migrating between pCPU
// workers, each with its own Hart over the shared block): park() on the object that ran,
// and the next object's step() re-reads what it caches (resume()). A program that changes
// privilege (ecall to M and mret back), satp (two Sv39 page tables mapping one virtual page
// to different frames, each switch followed by sfence.vma), patches its own code (FENCE.I)
// and logs rdcycle/rdinstret is run in random slices alternating between two Hart objects,
// and must give exactly what one Hart gives: registers, pc, privilege, counters, memory.
// Spec: riscv-priv-20240411 §3.1.11 (mcycle/minstret), §10.3 (Sv39); riscv-unpriv-20240411
// "Zicntr", "Zifencei".
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { test } from 'node:test';
import { EXIT_WFI } from './hart-api.ts';
import { MCYCLE, MINSTRET, PRIV, PRV_S, RUNNER } from './hart-state.ts';
import { Hart } from './hart.ts';
import { A, ManualClock, RAM_BASE, TestPhys, openPmp, setx, xr } from './test-support.ts';

const ITERS = 300;
const P1 = 0x10000, P2 = 0x11000, T1 = 0x20000, T2 = 0x23000, LOG = 0x30000;
const VA = 0xc000_0000;
const CSR = { mstatus: 0x300, mtvec: 0x305, mcounteren: 0x306, mepc: 0x341, satp: 0x180, cycle: 0xc00, instret: 0xc02 };

/** Assemble with labels: items are instructions, label names, or (pc, labels) => instruction. */
function asm(items: (number | string | ((pc: number, l: Map<string, number>) => number))[]): { words: number[]; labels: Map<string, number> } {
  const labels = new Map<string, number>();
  let pc = 0;
  for (const it of items) if (typeof it === 'string') labels.set(it, pc); else pc += 4;
  const words: number[] = [];
  pc = 0;
  for (const it of items) {
    if (typeof it === 'string') continue;
    words.push(typeof it === 'number' ? it : it(pc, labels));
    pc += 4;
  }
  return { words, labels };
}
const rel = (name: string, f: (off: number) => number) => (pc: number, l: Map<string, number>) => f(l.get(name)! - pc);

const PROGRAM = asm([
  // M-mode: trap vector, counters for S, mret to S at `s`.
  A.auipc(5, 0), rel('handler', (o) => A.addi(5, 5, o + 4)), A.csrrw(0, CSR.mtvec, 5),
  A.csrrwi(0, CSR.mcounteren, 7),
  A.lui(5, 1), A.addi(5, 5, -0x800), A.csrrs(0, CSR.mstatus, 5), // MPP = S
  A.auipc(5, 0), rel('s', (o) => A.addi(5, 5, o + 4)), A.csrrw(0, CSR.mepc, 5),
  A.mret(),
  'handler', A.csrrs(6, CSR.mepc, 0), A.addi(6, 6, 4), A.csrrw(0, CSR.mepc, 6), A.addi(20, 20, 1), A.mret(),
  's',
  A.csrrs(10, CSR.cycle, 0), A.csrrs(11, CSR.instret, 0),
  A.sd(10, 22, 0), A.sd(11, 22, 8), A.addi(22, 22, 16),
  A.ecall(),
  A.csrrw(0, CSR.satp, 23), A.sfenceVma(0, 0), A.ld(12, 26, 0),
  A.csrrw(0, CSR.satp, 24), A.sfenceVma(0, 0), A.ld(13, 26, 0),
  A.add(14, 14, 12), A.add(14, 14, 13), A.sd(14, 26, 8),
  // Patch the addi at `patch` with immediate = iteration & 0x7ff, then FENCE.I and run it.
  A.andi(16, 21, 0x7ff), A.slli(16, 16, 20), A.or(16, 16, 27), A.sw(16, 28, 0), A.fenceI(),
  'patch', A.addi(15, 15, 0),
  A.add(19, 19, 15),
  A.addi(18, 0, 40), 'inner', A.addi(18, 18, -1), A.xor(9, 9, 18), A.mul(17, 9, 18), A.add(8, 8, 17),
  rel('inner', (o) => A.bne(18, 0, o)),
  A.addi(21, 21, -1), rel('s', (o) => A.bne(21, 0, o)),
  A.wfi(), // no interrupt can be pending: step() returns EXIT_WFI here
  'done', A.jal(0, 0),
]);
const DONE = RAM_BASE + PROGRAM.labels.get('done')!;

/** Sv39 tables: T1 and T2 both map RAM 1:1 with a 1 GiB page and VA to P1 / P2 (4 KiB). */
function setUpMemory(phys: TestPhys): void {
  phys.put(RAM_BASE, ...PROGRAM.words);
  const pte = (pa: number, flags: number) => (BigInt(pa / 4096) << 10n) | BigInt(flags);
  const LEAF = 0x1 | 0x2 | 0x4 | 0x8 | 0x40 | 0x80; // V R W X A D
  for (const [root, page] of [[T1, P1], [T2, P2]] as const) {
    const l1 = root + 0x1000, l0 = root + 0x2000;
    phys.write64(RAM_BASE + root + 2 * 8, pte(RAM_BASE, LEAF));
    phys.write64(RAM_BASE + root + 3 * 8, pte(RAM_BASE + l1, 1));
    phys.write64(RAM_BASE + l1, pte(RAM_BASE + l0, 1));
    phys.write64(RAM_BASE + l0, pte(RAM_BASE + page, LEAF));
  }
  phys.write64(RAM_BASE + P1, 0x1111n);
  phys.write64(RAM_BASE + P2, 0x2222_0000_0000n);
}

function newHart(phys: TestPhys, jit: boolean, state?: SharedArrayBuffer): Hart {
  return new Hart({ hartId: 0, phys, clock: new ManualClock(), resetPc: RAM_BASE, jit, jitThreshold: 3, state });
}

function initRegs(h: Hart): void {
  openPmp(h);
  const satp = (root: number) => (8n << 60n) | BigInt((RAM_BASE + root) / 4096);
  setx(h, 21, BigInt(ITERS)); setx(h, 22, BigInt(RAM_BASE + LOG));
  setx(h, 23, satp(T1)); setx(h, 24, satp(T2)); setx(h, 26, BigInt(VA));
  setx(h, 27, BigInt(A.addi(15, 15, 0))); setx(h, 28, BigInt(RAM_BASE + PROGRAM.labels.get('patch')!));
}

/** Everything the two runs must agree on. */
function snapshot(h: Hart, phys: TestPhys) {
  h.readCounter(MCYCLE); const cycle = [h.ctrLo, h.ctrHi];
  h.readCounter(MINSTRET); const instret = [h.ctrLo, h.ctrHi];
  return {
    x: Array.from({ length: 32 }, (_, i) => xr(h, i)), pc: h.getPc(), priv: h.s[PRIV], cycle, instret,
    instructions: h.instructions, memory: createHash('sha256').update(phys.bytes).digest('hex'),
  };
}

function reference(jit: boolean) {
  const phys = new TestPhys();
  setUpMemory(phys);
  const h = newHart(phys, jit);
  initRegs(h);
  while (h.step(100_000) !== EXIT_WFI);
  return { ...snapshot(h, phys), log: new BigUint64Array(phys.memory.slice(LOG, LOG + 16 * ITERS)) };
}

/** xorshift32, seeded: reproducible slice lengths. */
function rng(seed: number): () => number {
  let s = seed;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return (s >>> 0) / 4294967296; };
}

/** Random slices on two Hart objects over one state block; `handOff` false models the old behaviour. */
function pingPong(jit: boolean, seed: number, handOff: boolean) {
  const phys = new TestPhys();
  setUpMemory(phys);
  const a = newHart(phys, jit);
  initRegs(a);
  const b = newHart(phys, jit, a.state);
  const harts = [a, b], ids = [0, 0];
  const rand = rng(seed);
  let last = -1, switches = 0;
  for (let n = 0, r = -1; r !== EXIT_WFI && n < 1_000_000; n++) {
    const k = rand() < 0.5 ? 0 : 1, h = harts[k]!;
    // Without hand-off, an object does not notice that the other one ran in between.
    if (!handOff && ids[k] !== 0) a.s[RUNNER] = ids[k]!;
    r = h.step(1 + Math.floor(rand() * 400));
    h.park();
    ids[k] = a.s[RUNNER]!;
    if (k !== last) switches++;
    last = k;
  }
  return { snap: snapshot(harts[last]!, phys), switches };
}

for (const jit of [true, false]) {
  test(`a state block handed between two Hart objects runs exactly as on one (${jit ? 'jit' : 'interpreter'})`, () => {
    const { log, ...ref } = reference(jit);
    assert.equal(ref.pc, DONE);
    assert.equal(ref.priv, PRV_S);
    assert.equal(ref.x[20], BigInt(ITERS), 'one ecall per iteration');
    assert.equal(ref.x[14], BigInt(ITERS) * 0x2222_0000_1111n, 'both page tables were used');
    for (const seed of [1, 2, 3]) {
      const { snap, switches } = pingPong(jit, seed, true);
      assert.ok(switches > 100, `switches ${switches}`);
      assert.deepEqual(snap, ref, `seed ${seed}`);
    }
    // rdcycle / rdinstret logged each iteration: strictly increasing, across every hand-off.
    for (let i = 1; i < ITERS; i++) {
      assert.ok(log[2 * i]! > log[2 * i - 2]! && log[2 * i + 1]! > log[2 * i - 1]!, `iteration ${i}`);
    }
  });
}

test('without the hand-off, a stale Hart object diverges (what the test above would catch)', () => {
  for (const jit of [true, false]) {
    const { log: _, ...ref } = reference(jit);
    const { snap } = pingPong(jit, 1, false);
    const differ = (Object.keys(ref) as (keyof typeof ref)[]).filter((k) => JSON.stringify(snap[k], (_k, v) => typeof v === 'bigint' ? `${v}` : v) !== JSON.stringify(ref[k], (_k, v) => typeof v === 'bigint' ? `${v}` : v));
    console.log(`# ${jit ? 'jit' : 'interpreter'}: stale objects differ in ${differ.join(', ')}`);
    assert.ok(differ.length > 0);
  }
});

test('park() leaves counters and instruction count in the block; resume() takes them over', () => {
  const phys = new TestPhys();
  setUpMemory(phys);
  const a = newHart(phys, false);
  initRegs(a);
  a.step(1000);
  a.park();
  const b = newHart(phys, false, a.state);
  assert.equal(b.instructions, 1000);
  b.readCounter(MINSTRET);
  const ir = b.ctrLo;
  b.readCounter(MCYCLE);
  assert.equal(b.ctrLo, 1000);
  assert.ok(ir > 900 && ir < 1000, `instret ${ir} (ecalls do not retire)`);
  assert.equal(b.getPriv(), a.getPriv());
});
