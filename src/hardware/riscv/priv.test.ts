// SPDX-License-Identifier: GPL-2.0-only
// The privileged architecture on a bare hart: CSR legality and WARL fields, trap entry and
// return, delegation, vectored mtvec, interrupt priority and enables, WFI, Sstc, counters.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_BUDGET, EXIT_REQUESTED, EXIT_WFI } from './hart-api.ts';
import * as S from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const MSTATUS = 0x300, MISA = 0x301, MEDELEG = 0x302, MIDELEG = 0x303, MIE = 0x304, MTVEC = 0x305;
const MCOUNTEREN = 0x306, MENVCFG = 0x30a, MEPC = 0x341, MIP = 0x344, MHARTID = 0xf14;
const SSTATUS = 0x100, SIE = 0x104, STVEC = 0x105, SCOUNTEREN = 0x106, SIP = 0x144, STIMECMP = 0x14d, SATP = 0x180;
const CYCLE = 0xc00, TIME = 0xc01, INSTRET = 0xc02, MINSTRET = 0xb02;
const lo = (h: { s: Int32Array }, i: number) => h.s[i] >>> 0;

/**
 * Put the hart in `priv` at `pc` via an mret at RAM_BASE + 0xff0 (the caller puts it there).
 * PMP entry 0 opens all memory to S and U (with PMP present, S/U accesses that match no
 * entry fail).
 */
function enter(hart: ReturnType<typeof makeHart>['hart'], priv: number, pc: number): void {
  hart.s[S.PMPADDR] = -1; hart.s[S.PMPADDR + 1] = 0x3fffff;
  hart.pmp!.cfg[0] = 0x1f; // NAPOT, R W X
  hart.pmp!.rebuild();
  hart.s[S.MSTATUS] = (hart.s[S.MSTATUS] & ~S.MSTATUS_MPP) | (priv << 11);
  hart.s[S.MEPC] = pc; hart.s[S.MEPC + 1] = 0;
  hart.setPc(RAM_BASE + 0xff0);
}

test('misa reports RV64 with I M A F D C S U; mhartid is read-only', () => {
  const { hart, phys } = makeHart({ hartId: 3 });
  phys.put(RAM_BASE, A.csrrs(5, MISA, 0), A.csrrs(6, MHARTID, 0), A.csrrw(0, MHARTID, 6));
  hart.s[S.MTVEC] = RAM_BASE + 0x100;
  hart.step(3);
  assert.equal(xr(hart, 5), (2n << 62n) | 0x14112dn);
  assert.equal(xr(hart, 6), 3n);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN, 'writing a read-only CSR is illegal');
  assert.equal(hart.getPc(), RAM_BASE + 0x100);
});

test('mret drops to S with MIE = MPIE, MPIE = 1, MPP = U and clears MPRV', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE + 0xff0, A.mret());
  enter(hart, S.PRV_S, RAM_BASE + 0x200);
  hart.s[S.MSTATUS] |= S.MSTATUS_MPIE | S.MSTATUS_MPRV;
  hart.step(1);
  assert.equal(hart.getPriv(), S.PRV_S);
  assert.equal(hart.getPc(), RAM_BASE + 0x200);
  const ms = hart.s[S.MSTATUS];
  assert.ok(ms & S.MSTATUS_MIE);
  assert.ok(ms & S.MSTATUS_MPIE);
  assert.equal((ms >> 11) & 3, 0);
  assert.equal(ms & S.MSTATUS_MPRV, 0);
});

test('ecall from U, S and M gives causes 8, 9, 11 with mepc = the ecall', () => {
  for (const [priv, cause] of [[S.PRV_U, 8], [S.PRV_S, 9], [S.PRV_M, 11]]) {
    const { hart, phys } = makeHart();
    hart.s[S.MTVEC] = RAM_BASE + 0x400;
    phys.put(RAM_BASE + 0xff0, A.mret());
    phys.put(RAM_BASE + 0x200, A.ecall());
    if (priv === S.PRV_M) hart.setPc(RAM_BASE + 0x200); else enter(hart, priv, RAM_BASE + 0x200);
    hart.step(priv === S.PRV_M ? 1 : 2);
    assert.equal(hart.s[S.MCAUSE], cause);
    assert.equal(lo(hart, S.MEPC), RAM_BASE + 0x200);
    assert.equal((hart.s[S.MSTATUS] >> 11) & 3, priv, 'MPP = the trapping privilege');
    assert.equal(hart.getPriv(), S.PRV_M);
    assert.equal(hart.getPc(), RAM_BASE + 0x400);
  }
});

test('medeleg sends a U-mode ecall to S: sepc, scause, SPP = 0, SPIE = old SIE, SIE = 0', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MEDELEG] = 1 << 8;
  hart.s[S.STVEC] = RAM_BASE + 0x500;
  hart.s[S.MSTATUS] |= S.MSTATUS_SIE;
  phys.put(RAM_BASE + 0xff0, A.mret());
  phys.put(RAM_BASE + 0x200, A.ecall());
  enter(hart, S.PRV_U, RAM_BASE + 0x200);
  hart.step(2);
  assert.equal(hart.getPriv(), S.PRV_S);
  assert.equal(hart.s[S.SCAUSE], 8);
  assert.equal(lo(hart, S.SEPC), RAM_BASE + 0x200);
  const ms = hart.s[S.MSTATUS];
  assert.equal(ms & S.MSTATUS_SPP, 0);
  assert.ok(ms & S.MSTATUS_SPIE);
  assert.equal(ms & S.MSTATUS_SIE, 0);
  assert.equal(hart.getPc(), RAM_BASE + 0x500);
});

test('sret returns to SPP with SIE = SPIE; TSR makes it illegal in S', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE + 0xff0, A.mret());
  phys.put(RAM_BASE + 0x200, A.sret());
  hart.s[S.SEPC] = RAM_BASE + 0x300;
  hart.s[S.MSTATUS] |= S.MSTATUS_SPIE;
  enter(hart, S.PRV_S, RAM_BASE + 0x200);
  hart.step(2);
  assert.equal(hart.getPriv(), S.PRV_U);
  assert.equal(hart.getPc(), RAM_BASE + 0x300);
  assert.ok(hart.s[S.MSTATUS] & S.MSTATUS_SIE);
  const h2 = makeHart();
  h2.hart.s[S.MTVEC] = RAM_BASE + 0x400;
  h2.phys.put(RAM_BASE + 0xff0, A.mret());
  h2.phys.put(RAM_BASE + 0x200, A.sret());
  h2.hart.s[S.MSTATUS] |= S.MSTATUS_TSR;
  enter(h2.hart, S.PRV_S, RAM_BASE + 0x200);
  h2.hart.step(2);
  assert.equal(h2.hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
});

test('CSR privilege: S cannot touch M CSRs, U cannot touch S CSRs', () => {
  for (const [priv, csr] of [[S.PRV_S, MSTATUS], [S.PRV_U, SSTATUS], [S.PRV_U, SATP], [S.PRV_S, MEPC]]) {
    const { hart, phys } = makeHart();
    hart.s[S.MTVEC] = RAM_BASE + 0x400;
    phys.put(RAM_BASE + 0xff0, A.mret());
    phys.put(RAM_BASE + 0x200, A.csrrs(5, csr, 0));
    enter(hart, priv, RAM_BASE + 0x200);
    hart.step(2);
    assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN, `csr ${csr.toString(16)} from ${priv}`);
    assert.equal(lo(hart, S.MTVAL), A.csrrs(5, csr, 0), 'mtval holds the instruction');
  }
});

test('sstatus is a restricted view of mstatus; MPP ignores the reserved value 2', () => {
  const { hart, phys } = makeHart();
  setx(hart, 5, -1n);
  setx(hart, 6, 2n << 11n);
  phys.put(RAM_BASE, A.csrrw(0, SSTATUS, 5), A.csrrs(7, MSTATUS, 0), A.csrrs(8, SSTATUS, 0), A.csrrw(0, MSTATUS, 6), A.csrrs(9, MSTATUS, 0));
  hart.step(5);
  const ms = xr(hart, 7);
  // writable through sstatus: SIE, SPIE, SPP, FS, SUM, MXR; UXL=2, SXL=2; SD follows FS=dirty
  const want = (1n << 1n) | (1n << 5n) | (1n << 8n) | (3n << 13n) | (1n << 18n) | (1n << 19n) | (2n << 32n) | (2n << 34n) | (1n << 63n);
  assert.equal(ms, want);
  assert.equal(xr(hart, 8), want & ((1n << 1n) | (1n << 5n) | (1n << 8n) | (3n << 13n) | (1n << 18n) | (1n << 19n) | (3n << 32n) | (1n << 63n)));
  assert.equal((xr(hart, 9) >> 11n) & 3n, 0n, 'MPP keeps its old legal value');
});

test('satp is WARL: Sv39/48/57 and Bare are accepted, other modes leave it unchanged', () => {
  const { hart, phys } = makeHart();
  const sv = (mode: bigint) => (mode << 60n) | 0x80123n;
  setx(hart, 5, sv(10n)); setx(hart, 6, sv(1n)); setx(hart, 7, sv(8n)); setx(hart, 8, sv(9n));
  phys.put(RAM_BASE, A.csrrw(0, SATP, 5), A.csrrs(10, SATP, 0), A.csrrw(0, SATP, 6), A.csrrs(11, SATP, 0),
    A.csrrw(0, SATP, 7), A.csrrs(12, SATP, 0), A.csrrw(0, SATP, 8), A.csrrs(13, SATP, 0));
  hart.step(8);
  assert.equal(xr(hart, 10), sv(10n));
  assert.equal(xr(hart, 11), sv(10n), 'mode 1 ignored');
  assert.equal(xr(hart, 12), sv(8n));
  assert.equal(xr(hart, 13), sv(9n));
});

test('a hart limited to Sv39 ignores Sv57 and Sv48 writes, as Linux probes them', () => {
  const { hart, phys } = makeHart({ maxVaBits: 39 });
  setx(hart, 5, (10n << 60n) | 5n); setx(hart, 6, (9n << 60n) | 5n); setx(hart, 7, (8n << 60n) | 5n);
  phys.put(RAM_BASE, A.csrrw(0, SATP, 5), A.csrrs(10, SATP, 0), A.csrrw(0, SATP, 6), A.csrrs(11, SATP, 0),
    A.csrrw(0, SATP, 7), A.csrrs(12, SATP, 0));
  hart.step(6);
  assert.equal(xr(hart, 10), 0n);
  assert.equal(xr(hart, 11), 0n);
  assert.equal(xr(hart, 12), (8n << 60n) | 5n);
});

test('satp and sfence.vma are illegal in S when mstatus.TVM = 1', () => {
  for (const insn of [A.csrrs(5, SATP, 0), A.sfenceVma(0, 0)]) {
    const { hart, phys } = makeHart();
    hart.s[S.MTVEC] = RAM_BASE + 0x400;
    hart.s[S.MSTATUS] |= S.MSTATUS_TVM;
    phys.put(RAM_BASE + 0xff0, A.mret());
    phys.put(RAM_BASE + 0x200, insn);
    enter(hart, S.PRV_S, RAM_BASE + 0x200);
    hart.step(2);
    assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
  }
});

test('medeleg, mideleg and mie keep only their writable bits', () => {
  const { hart, phys } = makeHart();
  setx(hart, 5, -1n);
  phys.put(RAM_BASE, A.csrrw(6, MEDELEG, 5), A.csrrs(6, MEDELEG, 0), A.csrrw(7, MIDELEG, 5), A.csrrs(7, MIDELEG, 0),
    A.csrrw(8, MIE, 5), A.csrrs(8, MIE, 0));
  hart.step(6);
  assert.equal(xr(hart, 6), 0xb3ffn, 'all exceptions but ecall-from-M (and reserved causes)');
  assert.equal(xr(hart, 7), 0x222n);
  assert.equal(xr(hart, 8), 0xaaan);
});

test('mip: SSIP/STIP/SEIP writable by M, MTIP read-only; sip writes only SSIP', () => {
  const { hart, phys } = makeHart();
  setx(hart, 5, 0xaaan);
  hart.s[S.MIDELEG] = 0x222;
  phys.put(RAM_BASE, A.csrrw(0, MIP, 5), A.csrrs(6, MIP, 0), A.csrrc(0, SIP, 5), A.csrrs(7, MIP, 0));
  hart.step(4);
  assert.equal(xr(hart, 6), 0x222n);
  assert.equal(xr(hart, 7), 0x220n);
});

test('counters: cycle/instret count, time reads the clock, counteren gates S and U', () => {
  const { hart, phys, clock } = makeHart();
  clock.t = 123456789;
  phys.put(RAM_BASE, A.addi(0, 0, 0), A.addi(0, 0, 0), A.csrrs(5, INSTRET, 0), A.csrrs(6, TIME, 0), A.csrrs(7, MINSTRET, 0));
  hart.step(5);
  assert.equal(xr(hart, 5), 2n, 'two instructions retired before');
  assert.equal(xr(hart, 6), 123456789n);
  assert.equal(xr(hart, 7), 4n);
  // S-mode: time allowed by mcounteren.TM only; U additionally needs scounteren
  for (const [priv, mce, sce, ok] of [[S.PRV_S, 2, 0, true], [S.PRV_S, 0, 2, false], [S.PRV_U, 2, 0, false], [S.PRV_U, 2, 2, true]] as const) {
    const h = makeHart();
    h.hart.s[S.MTVEC] = RAM_BASE + 0x400;
    h.hart.s[S.MCOUNTEREN] = mce; h.hart.s[S.SCOUNTEREN] = sce;
    h.phys.put(RAM_BASE + 0xff0, A.mret());
    h.phys.put(RAM_BASE + 0x200, A.csrrs(5, TIME, 0));
    enter(h.hart, priv, RAM_BASE + 0x200);
    h.hart.step(2);
    assert.equal(h.hart.getPc() === RAM_BASE + 0x204, ok, `priv ${priv} mcounteren ${mce} scounteren ${sce}`);
  }
  void CYCLE; void MCOUNTEREN; void SCOUNTEREN;
});

test('interrupts: MEI is taken before MTI; mtvec vectored sends it to BASE + 4 * 11', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = (RAM_BASE + 0x400) | 1;
  hart.s[S.MIE] = S.MIP_MEIP | S.MIP_MTIP;
  hart.s[S.MSTATUS] |= S.MSTATUS_MIE;
  phys.put(RAM_BASE, A.addi(5, 0, 1));
  phys.put(RAM_BASE + 0x400 + 4 * 11, A.addi(0, 0, 0));
  hart.irqLine(S.IRQ_MTI).set(true);
  hart.irqLine(S.IRQ_MEI).set(true);
  hart.step(1);
  assert.equal(hart.s[S.MCAUSE], S.IRQ_MEI);
  assert.equal(hart.s[S.MCAUSE + 1], 0x80000000 | 0, 'interrupt bit');
  assert.equal(lo(hart, S.MEPC), RAM_BASE);
  assert.equal(hart.getPc(), RAM_BASE + 0x400 + 4 * 11 + 4, 'ran the first handler instruction');
});

test('interrupts: disabled by MIE=0 in M; a delegated SSI is not taken in M but is in U', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x400;
  hart.s[S.STVEC] = RAM_BASE + 0x500;
  hart.s[S.MIE] = S.MIP_MTIP | S.MIP_SSIP;
  hart.s[S.MIDELEG] = S.MIP_SSIP;
  phys.put(RAM_BASE, A.addi(5, 0, 1), A.addi(5, 5, 1));
  hart.irqLine(S.IRQ_MTI).set(true);
  hart.irqLine(S.IRQ_SSI).set(true);
  hart.step(2);
  assert.equal(xr(hart, 5), 2n, 'nothing taken in M with MIE = 0');
  hart.irqLine(S.IRQ_MTI).set(false);
  phys.put(RAM_BASE + 0xff0, A.mret());
  phys.put(RAM_BASE + 0x500, A.addi(0, 0, 0));
  enter(hart, S.PRV_U, RAM_BASE);
  hart.s[S.MSTATUS] |= S.MSTATUS_MIE;
  hart.step(2);
  assert.equal(hart.getPriv(), S.PRV_S);
  assert.equal(hart.s[S.SCAUSE], S.IRQ_SSI);
  assert.equal(hart.s[S.SCAUSE + 1], 0x80000000 | 0);
});

test('WFI returns EXIT_WFI when nothing is pending, and is a no-op when an interrupt is pending but disabled', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, A.wfi(), A.wfi(), A.addi(5, 0, 3));
  assert.equal(hart.step(10), EXIT_WFI);
  assert.equal(hart.getPc(), RAM_BASE + 4);
  hart.s[S.MIE] = S.MIP_MEIP;
  hart.irqLine(S.IRQ_MEI).set(true); // pending + enabled in mie, but mstatus.MIE = 0
  assert.equal(hart.step(2), EXIT_BUDGET);
  assert.equal(xr(hart, 5), 3n);
});

test('WFI is illegal in U, and in S when TW = 1', () => {
  for (const [priv, tw] of [[S.PRV_U, 0], [S.PRV_S, S.MSTATUS_TW]]) {
    const { hart, phys } = makeHart();
    hart.s[S.MTVEC] = RAM_BASE + 0x400;
    hart.s[S.MSTATUS] |= tw;
    phys.put(RAM_BASE + 0xff0, A.mret());
    phys.put(RAM_BASE + 0x200, A.wfi());
    enter(hart, priv, RAM_BASE + 0x200);
    hart.step(2);
    assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
  }
});

test('Sstc: with menvcfg.STCE, STIP = (time >= stimecmp) and a delegated STI reaches S', () => {
  const { hart, phys, clock } = makeHart();
  setx(hart, 5, 1n << 63n);
  setx(hart, 6, 1000n);
  hart.s[S.MCOUNTEREN] = 2;
  phys.put(RAM_BASE, A.csrrs(0, MENVCFG, 5), A.csrrw(0, STIMECMP, 6), A.csrrs(7, MIP, 0));
  hart.step(3);
  assert.equal(xr(hart, 7) & 0x20n, 0n);
  clock.t = 1000;
  phys.put(RAM_BASE + 12, A.csrrs(8, MIP, 0));
  hart.step(1);
  assert.equal(xr(hart, 8) & 0x20n, 0x20n);
  // Now from S with STIE and SIE: the interrupt is taken
  hart.s[S.MIDELEG] = S.MIP_STIP;
  hart.s[S.MIE] = S.MIP_STIP;
  hart.s[S.STVEC] = RAM_BASE + 0x500;
  hart.s[S.MSTATUS] |= S.MSTATUS_SIE;
  phys.put(RAM_BASE + 0xff0, A.mret());
  phys.put(RAM_BASE + 0x200, A.addi(0, 0, 0));
  phys.put(RAM_BASE + 0x500, A.addi(0, 0, 0));
  enter(hart, S.PRV_S, RAM_BASE + 0x200);
  hart.step(2);
  assert.equal(hart.s[S.SCAUSE], S.IRQ_STI);
  assert.equal(hart.getPc(), RAM_BASE + 0x504);
  assert.equal(hart.timerDeadline(), 1000);
  void SIE;
});

test('stimecmp is illegal below M without menvcfg.STCE', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x400;
  hart.s[S.MCOUNTEREN] = -1;
  phys.put(RAM_BASE + 0xff0, A.mret());
  phys.put(RAM_BASE + 0x200, A.csrrs(5, STIMECMP, 0));
  enter(hart, S.PRV_S, RAM_BASE + 0x200);
  hart.step(2);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
});

test('requestExit stops a running step with EXIT_REQUESTED', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, A.jal(0, 0));
  hart.requestExit();
  assert.equal(hart.step(100000), EXIT_REQUESTED);
});

test('an instruction fetch outside RAM is an instruction access fault with mtval = pc', () => {
  const { hart } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x400;
  hart.setPc(0x1000);
  hart.step(1);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_FETCH_ACCESS);
  assert.equal(lo(hart, S.MTVAL), 0x1000);
  assert.equal(lo(hart, S.MEPC), 0x1000);
});

test('a jump far beyond 2^53 faults at the exact target address', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x400;
  setx(hart, 5, 0x8123456789abcdefn);
  phys.put(RAM_BASE, A.jalr(0, 5, 1));
  hart.step(2);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_FETCH_ACCESS);
  assert.equal(lo(hart, S.MEPC), 0x89abcdf0);
  assert.equal(hart.s[S.MEPC + 1] >>> 0, 0x81234567);
  assert.equal(hart.s[S.MTVAL + 1] >>> 0, 0x81234567);
});

test('ebreak is a breakpoint with mtval = pc; illegal opcodes trap with the bits', () => {
  const { hart, phys } = makeHart();
  hart.s[S.MTVEC] = RAM_BASE + 0x400;
  phys.put(RAM_BASE, A.ebreak());
  hart.step(1);
  assert.equal(hart.s[S.MCAUSE], S.CAUSE_BREAKPOINT);
  assert.equal(lo(hart, S.MTVAL), RAM_BASE);
  const h = makeHart();
  h.hart.s[S.MTVEC] = RAM_BASE + 0x400;
  h.phys.put(RAM_BASE, 0xffffffff);
  h.hart.step(1);
  assert.equal(h.hart.s[S.MCAUSE], S.CAUSE_ILLEGAL_INSN);
  assert.equal(lo(h.hart, S.MTVAL), 0xffffffff);
  void MTVEC; void STVEC;
});
