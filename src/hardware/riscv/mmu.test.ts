// SPDX-License-Identifier: GPL-2.0-only
// The MMU with page tables built in memory: Sv39/Sv48/Sv57 walks, superpages, every page-
// fault rule of the translation algorithm, hardware A/D updates (and Svade faults with
// menvcfg.ADUE = 0), the TLB and SFENCE.VMA, MPRV, and faults delegated to S.
// Spec: riscv-priv-20240411 §12.3.2 "Virtual Address Translation Process".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as S from './hart-state.ts';
import { A, enterMode, makeHart, RAM_BASE, setx, TestPhys, xr } from './test-support.ts';
import type { Hart } from './hart.ts';

const V = 1n, R = 2n, W = 4n, X = 8n, U = 16n, AB = 64n, DB = 128n;
const ROOT = RAM_BASE + 0x10000; // page-table pages from here on
const DATA = RAM_BASE + 0x40000;

/** Page-table builder: maps one page at `va` (any level) in a table tree rooted at ROOT. */
class Pt {
  next = ROOT + 0x1000;
  constructor(readonly phys: TestPhys, readonly levels: number) {}
  map(va: bigint, pa: number, flags: bigint, leafLevel = 0): bigint {
    let table = ROOT;
    for (let lvl = this.levels - 1; ; lvl--) {
      const idx = Number((va >> BigInt(12 + 9 * lvl)) & 511n);
      const pteAddr = table + idx * 8;
      if (lvl === leafLevel) {
        const pte = (BigInt(pa / 4096) << 10n) | flags;
        this.phys.write64(pteAddr, pte);
        return BigInt(pteAddr);
      }
      let pte = this.phys.read64(pteAddr);
      if ((pte & V) === 0n) {
        pte = (BigInt(this.next / 4096) << 10n) | V;
        this.next += 0x1000;
        this.phys.write64(pteAddr, pte);
      }
      table = Number(pte >> 10n) * 4096;
    }
  }
  satp(): bigint {
    const mode = { 3: 8n, 4: 9n, 5: 10n }[this.levels]!;
    return (mode << 60n) | BigInt(ROOT / 4096);
  }
}

function setup(levels = 3, priv = S.PRV_S, ram = 1 << 20) {
  const { hart, phys, clock } = makeHart({ phys: new TestPhys(ram) });
  const pt = new Pt(phys, levels);
  hart.s[S.MTVEC] = RAM_BASE + 0x800;
  // code page identity-mapped for S (not U) so instructions run after translation is on
  pt.map(BigInt(RAM_BASE), RAM_BASE, V | R | X | AB | (priv === S.PRV_U ? U : 0n));
  setSatp(hart, pt.satp());
  enterMode(hart, priv, RAM_BASE);
  return { hart, phys, pt, clock };
}
function setSatp(h: Hart, v: bigint): void {
  h.s[S.SATP] = Number(v & 0xffffffffn) | 0; h.s[S.SATP + 1] = Number(v >> 32n) | 0; h.flushTlb();
}
function loadAt(h: Hart, phys: TestPhys, va: bigint): void {
  phys.put(RAM_BASE, A.ld(6, 5, 0));
  setx(h, 5, va);
  h.setPc(RAM_BASE);
  h.step(1);
}
const mcause = (h: Hart) => h.s[S.MCAUSE];
const mtval = (h: Hart) => (BigInt(h.s[S.MTVAL + 1] >>> 0) << 32n) | BigInt(h.s[S.MTVAL] >>> 0);

test('Sv39: a 4 KiB page maps a virtual address to its frame', () => {
  const { hart, phys, pt } = setup();
  pt.map(0x40001000n, DATA, V | R | W | AB | DB);
  phys.write64(DATA + 0x18, 0xabcdefn);
  loadAt(hart, phys, 0x40001018n);
  assert.equal(xr(hart, 6), 0xabcdefn);
});

test('Sv39: 2 MiB and 1 GiB superpages translate the low VPN bits through', () => {
  const { hart, phys, pt } = setup();
  pt.map(0x40200000n, RAM_BASE, V | R | AB, 1); // 2 MiB superpage at level 1
  pt.map(0x1_0000_0000n, RAM_BASE, V | R | AB, 2); // 1 GiB at level 2 (RAM_BASE is 1 GiB aligned)
  phys.write64(DATA + 8, 77n);
  loadAt(hart, phys, 0x40200000n + BigInt(DATA - RAM_BASE + 8));
  assert.equal(xr(hart, 6), 77n);
  loadAt(hart, phys, 0x1_0000_0000n + BigInt(DATA - RAM_BASE + 8));
  assert.equal(xr(hart, 6), 77n);
});

test('a misaligned superpage is a page fault', () => {
  const { hart, phys, pt } = setup();
  pt.map(0x40200000n, RAM_BASE + 0x1000, V | R | AB, 1);
  loadAt(hart, phys, 0x40200010n);
  assert.equal(mcause(hart), S.CAUSE_LOAD_PAGE_FAULT);
  assert.equal(mtval(hart), 0x40200010n);
});

test('Sv48 and Sv57 walks, including upper-half addresses', () => {
  for (const [levels, va] of [[4, 0xffff_8000_1234_5000n], [5, 0xff00_0000_1234_5000n], [5, 0x00ff_ffff_ffff_f000n]] as const) {
    const { hart, phys, pt } = setup(levels);
    pt.map(va, DATA, V | R | AB);
    phys.write64(DATA + 0x10, BigInt(levels));
    loadAt(hart, phys, va + 0x10n);
    assert.equal(xr(hart, 6), BigInt(levels), `Sv${12 + 9 * levels} ${va.toString(16)}`);
  }
});

test('a non-canonical virtual address is a page fault (Sv39 and Sv48)', () => {
  for (const [levels, va] of [[3, 0x0000_0040_0000_0000n], [4, 0x0001_0000_0000_0000n], [3, 0x8000_0000_0000_0000n]] as const) {
    const { hart, phys } = setup(levels);
    loadAt(hart, phys, va);
    assert.equal(mcause(hart), S.CAUSE_LOAD_PAGE_FAULT, va.toString(16));
    assert.equal(mtval(hart), va);
  }
});

test('invalid, reserved (W without R) and high-bit PTEs fault; pointer at the last level faults', () => {
  const flagsList: bigint[] = [R | AB, V | W | AB, V | R | AB | (1n << 63n), V | R | AB | (1n << 61n), V | R | AB | (1n << 54n)];
  for (const f of flagsList) {
    const { hart, phys, pt } = setup();
    pt.map(0x40001000n, DATA, f);
    loadAt(hart, phys, 0x40001000n);
    assert.equal(mcause(hart), S.CAUSE_LOAD_PAGE_FAULT, `flags ${f.toString(16)}`);
  }
  const { hart, phys, pt } = setup();
  pt.map(0x40001000n, DATA, V); // a non-leaf at level 0
  loadAt(hart, phys, 0x40001000n);
  assert.equal(mcause(hart), S.CAUSE_LOAD_PAGE_FAULT);
});

test('permissions: store to read-only, fetch from non-X, MXR, U pages from S (SUM), S pages from U', () => {
  // store to a read-only page
  let t = setup();
  t.pt.map(0x40001000n, DATA, V | R | AB | DB);
  t.phys.put(RAM_BASE, A.sd(6, 5, 0)); setx(t.hart, 5, 0x40001000n); t.hart.step(1);
  assert.equal(mcause(t.hart), S.CAUSE_STORE_PAGE_FAULT);
  // fetch from a non-executable page
  t = setup();
  t.pt.map(0x40001000n, DATA, V | R | AB);
  t.phys.put(RAM_BASE, A.jalr(0, 5, 0)); setx(t.hart, 5, 0x40001000n); t.hart.step(2);
  assert.equal(mcause(t.hart), S.CAUSE_FETCH_PAGE_FAULT);
  assert.equal(mtval(t.hart), 0x40001000n);
  // load from an execute-only page: fault without MXR, allowed with it
  t = setup();
  t.pt.map(0x40001000n, DATA, V | X | AB);
  loadAt(t.hart, t.phys, 0x40001000n);
  assert.equal(mcause(t.hart), S.CAUSE_LOAD_PAGE_FAULT);
  t.hart.s[S.MCAUSE] = 0;
  t.hart.s[S.MSTATUS] |= S.MSTATUS_MXR;
  t.hart.setPriv(S.PRV_S); t.hart.flushTlb();
  loadAt(t.hart, t.phys, 0x40001000n);
  assert.equal(mcause(t.hart), 0);
  // a U page from S: fault without SUM, allowed with SUM; never executable from S
  t = setup();
  t.pt.map(0x40001000n, DATA, V | R | X | U | AB);
  loadAt(t.hart, t.phys, 0x40001000n);
  assert.equal(mcause(t.hart), S.CAUSE_LOAD_PAGE_FAULT);
  t.hart.s[S.MCAUSE] = 0;
  t.hart.s[S.MSTATUS] |= S.MSTATUS_SUM;
  t.hart.setPriv(S.PRV_S);
  loadAt(t.hart, t.phys, 0x40001000n);
  assert.equal(mcause(t.hart), 0);
  t.phys.put(RAM_BASE, A.jalr(0, 5, 0)); t.hart.setPc(RAM_BASE); t.hart.step(2);
  assert.equal(mcause(t.hart), S.CAUSE_FETCH_PAGE_FAULT);
  // an S page from U
  t = setup(3, S.PRV_U);
  t.pt.map(0x40001000n, DATA, V | R | AB);
  loadAt(t.hart, t.phys, 0x40001000n);
  assert.equal(mcause(t.hart), S.CAUSE_LOAD_PAGE_FAULT);
});

test('A/D: hardware sets A on a load and A and D on a store (menvcfg.ADUE = 1 at reset)', () => {
  const { hart, phys, pt } = setup();
  const pteA = pt.map(0x40001000n, DATA, V | R | W);
  const pteB = pt.map(0x40002000n, DATA + 0x1000, V | R | W);
  loadAt(hart, phys, 0x40001000n);
  assert.equal(phys.read64(Number(pteA)) & (AB | DB), AB);
  phys.put(RAM_BASE, A.sd(6, 5, 0)); setx(hart, 5, 0x40002000n); hart.setPc(RAM_BASE); hart.step(1);
  assert.equal(phys.read64(Number(pteB)) & (AB | DB), AB | DB);
});

test('Svade: with menvcfg.ADUE = 0, A = 0 or a store with D = 0 is a page fault', () => {
  const { hart, phys, pt } = setup();
  hart.s[S.MENVCFG + 1] &= ~(1 << 29);
  pt.map(0x40001000n, DATA, V | R | W);
  pt.map(0x40002000n, DATA, V | R | W | AB);
  loadAt(hart, phys, 0x40001000n);
  assert.equal(mcause(hart), S.CAUSE_LOAD_PAGE_FAULT);
  hart.setPriv(S.PRV_S);
  phys.put(RAM_BASE, A.sd(6, 5, 0)); setx(hart, 5, 0x40002000n); hart.setPc(RAM_BASE); hart.step(1);
  assert.equal(mcause(hart), S.CAUSE_STORE_PAGE_FAULT);
});

test('the TLB keeps a stale translation until SFENCE.VMA (by address and global)', () => {
  const { hart, phys, pt } = setup();
  phys.write64(DATA, 1n); phys.write64(DATA + 0x1000, 2n);
  pt.map(0x40001000n, DATA, V | R | AB);
  loadAt(hart, phys, 0x40001000n);
  assert.equal(xr(hart, 6), 1n);
  pt.map(0x40001000n, DATA + 0x1000, V | R | AB);
  loadAt(hart, phys, 0x40001000n);
  assert.equal(xr(hart, 6), 1n, 'stale until the fence');
  phys.put(RAM_BASE, A.sfenceVma(5, 0), A.ld(6, 5, 0));
  setx(hart, 5, 0x40001000n); hart.setPc(RAM_BASE); hart.step(2);
  assert.equal(xr(hart, 6), 2n);
  pt.map(0x40001000n, DATA, V | R | AB);
  phys.put(RAM_BASE, A.sfenceVma(0, 0), A.ld(6, 5, 0));
  hart.setPc(RAM_BASE); hart.step(2);
  assert.equal(xr(hart, 6), 1n);
});

test('SFENCE.VMA of one address inside a superpage drops the whole superpage', () => {
  const { hart, phys, pt } = setup(3, S.PRV_S, 1 << 22);
  phys.write64(DATA, 1n); phys.write64(DATA + 0x200000, 2n);
  pt.map(0x40200000n, RAM_BASE, V | R | AB, 1);
  const off = BigInt(DATA - RAM_BASE);
  loadAt(hart, phys, 0x40200000n + off);
  assert.equal(xr(hart, 6), 1n);
  pt.map(0x40200000n, RAM_BASE + 0x200000, V | R | AB, 1);
  phys.put(RAM_BASE, A.sfenceVma(7, 0), A.ld(6, 5, 0));
  setx(hart, 7, 0x40200000n); setx(hart, 5, 0x40200000n + off); hart.setPc(RAM_BASE); hart.step(2);
  assert.equal(xr(hart, 6), 2n);
});

test('MPRV: an M-mode load translates with MPP = S; fetches stay physical', () => {
  const { hart, phys, pt } = setup();
  pt.map(0x40001000n, DATA, V | R | AB);
  phys.write64(DATA, 5n);
  hart.setPriv(S.PRV_M);
  hart.s[S.MSTATUS] |= S.MSTATUS_MPRV | (S.PRV_S << 11);
  hart.updateContexts();
  loadAt(hart, phys, 0x40001000n);
  assert.equal(xr(hart, 6), 5n);
});

test('a PTE outside memory is an access fault; page faults delegate to S with stval', () => {
  const { hart, phys } = setup();
  setSatp(hart, (8n << 60n) | 0x1n); // root table at physical page 1: not memory
  hart.setPriv(S.PRV_S);
  hart.s[S.MEDELEG] = 1 << S.CAUSE_LOAD_ACCESS;
  hart.s[S.STVEC] = RAM_BASE + 0x900;
  hart.setPc(RAM_BASE);
  // the code fetch itself faults (access) under the bad root
  hart.step(1);
  assert.equal(mcause(hart), S.CAUSE_FETCH_ACCESS);
  const t = setup();
  t.hart.s[S.MEDELEG] = 1 << S.CAUSE_LOAD_PAGE_FAULT;
  t.hart.s[S.STVEC] = RAM_BASE + 0x900;
  loadAt(t.hart, t.phys, 0x40005008n);
  assert.equal(t.hart.getPriv(), S.PRV_S);
  assert.equal(t.hart.s[S.SCAUSE], S.CAUSE_LOAD_PAGE_FAULT);
  assert.equal(t.hart.s[S.STVAL], 0x40005008);
  void phys;
});

test('an instruction that straddles two pages is fetched from both', () => {
  const { hart, phys, pt } = setup();
  pt.map(0x40001000n, DATA, V | R | X | AB);
  pt.map(0x40002000n, DATA + 0x3000, V | R | X | AB);
  const insn = A.addi(9, 0, 321);
  phys.view.setUint16(DATA + 0xffe - RAM_BASE, insn & 0xffff, true);
  phys.view.setUint16(DATA + 0x3000 - RAM_BASE, insn >>> 16, true);
  phys.put(RAM_BASE, A.jalr(0, 5, 0)); setx(hart, 5, 0x40001ffen); hart.setPc(RAM_BASE);
  hart.step(2);
  assert.equal(xr(hart, 9), 321n);
  assert.equal(hart.getPc(), 0x40002002);
});

test('a jump to a non-canonical address beyond 2^53 faults even when page 0 is mapped', () => {
  const { hart, phys, pt } = setup();
  pt.map(0n, RAM_BASE, V | R | X | AB);
  phys.put(RAM_BASE, A.jalr(0, 5, 0));
  setx(hart, 5, 0x8000_0000_0000_0000n);
  hart.setPc(RAM_BASE);
  hart.step(2);
  assert.equal(mcause(hart), S.CAUSE_FETCH_PAGE_FAULT);
  assert.equal(mtval(hart), 0x8000_0000_0000_0000n);
});
