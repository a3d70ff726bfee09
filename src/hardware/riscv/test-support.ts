// SPDX-License-Identifier: GPL-2.0-only
// For the hart's unit tests: a tiny RV64 assembler (instruction encoders written from the
// unprivileged spec's base formats, independent of rvc.ts), a RAM-plus-MMIO PhysTranslation
// and a manual clock. Spec: riscv-unpriv-20240411 §2.2 "Base Instruction Formats".
// Leaves out: labels and relocation (tests compute offsets by hand).
import { PHYS_FAULT, PHYS_MMIO, type HartClock, type PhysTranslation } from './hart-api.ts';
import { PMPADDR as PMPADDR_ } from './hart-state.ts';
import { Hart, type HartOptions } from './hart.ts';

export const RAM_BASE = 0x80000000;

const r = (f7: number, rs2: number, rs1: number, f3: number, rd: number, op: number) =>
  ((f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const i = (imm: number, rs1: number, f3: number, rd: number, op: number) =>
  (((imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | op) >>> 0;
const st = (imm: number, rs2: number, rs1: number, f3: number, op: number) =>
  ((((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | ((imm & 31) << 7) | op) >>> 0;
const b = (imm: number, rs2: number, rs1: number, f3: number) =>
  ((((imm >> 12) & 1) << 31) | (((imm >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
    (((imm >> 1) & 15) << 8) | (((imm >> 11) & 1) << 7) | 0x63) >>> 0;

/** Instruction encoders: register numbers and immediates as the assembler takes them. */
export const A = {
  lui: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x37) >>> 0,
  auipc: (rd: number, imm20: number) => (((imm20 & 0xfffff) << 12) | (rd << 7) | 0x17) >>> 0,
  jal: (rd: number, off: number) => ((((off >> 20) & 1) << 31) | (((off >> 1) & 0x3ff) << 21) | (((off >> 11) & 1) << 20) |
    (((off >> 12) & 0xff) << 12) | (rd << 7) | 0x6f) >>> 0,
  jalr: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x67),
  beq: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 0),
  bne: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 1),
  blt: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 4),
  bge: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 5),
  bltu: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 6),
  bgeu: (rs1: number, rs2: number, off: number) => b(off, rs2, rs1, 7),
  lb: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x03),
  lh: (rd: number, rs1: number, imm: number) => i(imm, rs1, 1, rd, 0x03),
  lw: (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x03),
  ld: (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x03),
  lbu: (rd: number, rs1: number, imm: number) => i(imm, rs1, 4, rd, 0x03),
  lhu: (rd: number, rs1: number, imm: number) => i(imm, rs1, 5, rd, 0x03),
  lwu: (rd: number, rs1: number, imm: number) => i(imm, rs1, 6, rd, 0x03),
  sb: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 0, 0x23),
  sh: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 1, 0x23),
  sw: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 2, 0x23),
  sd: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 3, 0x23),
  flw: (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x07),
  fld: (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x07),
  fsw: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 2, 0x27),
  fsd: (rs2: number, rs1: number, imm: number) => st(imm, rs2, rs1, 3, 0x27),
  addi: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x13),
  slti: (rd: number, rs1: number, imm: number) => i(imm, rs1, 2, rd, 0x13),
  sltiu: (rd: number, rs1: number, imm: number) => i(imm, rs1, 3, rd, 0x13),
  xori: (rd: number, rs1: number, imm: number) => i(imm, rs1, 4, rd, 0x13),
  ori: (rd: number, rs1: number, imm: number) => i(imm, rs1, 6, rd, 0x13),
  andi: (rd: number, rs1: number, imm: number) => i(imm, rs1, 7, rd, 0x13),
  slli: (rd: number, rs1: number, sh: number) => i(sh, rs1, 1, rd, 0x13),
  srli: (rd: number, rs1: number, sh: number) => i(sh, rs1, 5, rd, 0x13),
  srai: (rd: number, rs1: number, sh: number) => i(0x400 | sh, rs1, 5, rd, 0x13),
  addiw: (rd: number, rs1: number, imm: number) => i(imm, rs1, 0, rd, 0x1b),
  slliw: (rd: number, rs1: number, sh: number) => i(sh, rs1, 1, rd, 0x1b),
  srliw: (rd: number, rs1: number, sh: number) => i(sh, rs1, 5, rd, 0x1b),
  sraiw: (rd: number, rs1: number, sh: number) => i(0x400 | sh, rs1, 5, rd, 0x1b),
  add: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 0, rd, 0x33),
  sub: (rd: number, rs1: number, rs2: number) => r(0x20, rs2, rs1, 0, rd, 0x33),
  sll: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 1, rd, 0x33),
  slt: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 2, rd, 0x33),
  sltu: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 3, rd, 0x33),
  xor: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 4, rd, 0x33),
  srl: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 5, rd, 0x33),
  sra: (rd: number, rs1: number, rs2: number) => r(0x20, rs2, rs1, 5, rd, 0x33),
  or: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 6, rd, 0x33),
  and: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 7, rd, 0x33),
  addw: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 0, rd, 0x3b),
  subw: (rd: number, rs1: number, rs2: number) => r(0x20, rs2, rs1, 0, rd, 0x3b),
  sllw: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 1, rd, 0x3b),
  srlw: (rd: number, rs1: number, rs2: number) => r(0, rs2, rs1, 5, rd, 0x3b),
  sraw: (rd: number, rs1: number, rs2: number) => r(0x20, rs2, rs1, 5, rd, 0x3b),
  mul: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 0, rd, 0x33),
  mulh: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 1, rd, 0x33),
  mulhsu: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 2, rd, 0x33),
  mulhu: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 3, rd, 0x33),
  div: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 4, rd, 0x33),
  divu: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 5, rd, 0x33),
  rem: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 6, rd, 0x33),
  remu: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 7, rd, 0x33),
  mulw: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 0, rd, 0x3b),
  divw: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 4, rd, 0x3b),
  divuw: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 5, rd, 0x3b),
  remw: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 6, rd, 0x3b),
  remuw: (rd: number, rs1: number, rs2: number) => r(1, rs2, rs1, 7, rd, 0x3b),
  /** AMO with funct5 (0x02 LR, 0x03 SC, 0x01 SWAP, 0x00 ADD, ...), width 2 (.W) or 3 (.D). */
  amo: (f5: number, w: number, rd: number, rs1: number, rs2: number) => r(f5 << 2, rs2, rs1, w, rd, 0x2f),
  csrrw: (rd: number, csr: number, rs1: number) => i(csr, rs1, 1, rd, 0x73),
  csrrs: (rd: number, csr: number, rs1: number) => i(csr, rs1, 2, rd, 0x73),
  csrrc: (rd: number, csr: number, rs1: number) => i(csr, rs1, 3, rd, 0x73),
  csrrwi: (rd: number, csr: number, uimm: number) => i(csr, uimm, 5, rd, 0x73),
  csrrsi: (rd: number, csr: number, uimm: number) => i(csr, uimm, 6, rd, 0x73),
  csrrci: (rd: number, csr: number, uimm: number) => i(csr, uimm, 7, rd, 0x73),
  ecall: () => 0x00000073,
  ebreak: () => 0x00100073,
  mret: () => 0x30200073,
  sret: () => 0x10200073,
  wfi: () => 0x10500073,
  sfenceVma: (rs1: number, rs2: number) => r(0x09, rs2, rs1, 0, 0, 0x73),
  fence: () => 0x0ff0000f,
  fenceI: () => 0x0000100f,
  pause: () => 0x0100000f,
} as const;

/** A clock the test advances by hand. */
export class ManualClock implements HartClock {
  t = 0;
  readonly frequency = 10_000_000;
  now(): number { return this.t; }
}

/** RAM at RAM_BASE plus MMIO pages recorded in a log; everything else faults. */
export class TestPhys implements PhysTranslation {
  readonly memory: SharedArrayBuffer;
  readonly bytes: Uint8Array;
  readonly view: DataView;
  readonly mmioPages = new Set<number>();
  readonly log: string[] = [];
  mmioValue = 0;
  /** Pages (page numbers) that deny a given access: map page -> denied access bits. */
  readonly deny = new Map<number, number>();

  constructor(readonly size = 1 << 20) {
    this.memory = new SharedArrayBuffer(size);
    this.bytes = new Uint8Array(this.memory);
    this.view = new DataView(this.memory);
  }
  lookup(gppn: number, access: number): number {
    if (((this.deny.get(gppn) ?? 0) & access) !== 0) return PHYS_FAULT;
    if (this.mmioPages.has(gppn)) return PHYS_MMIO;
    const off = gppn * 4096 - RAM_BASE;
    if (off < 0 || off >= this.size) return PHYS_FAULT;
    return off;
  }
  mmioRead(pa: number, size: number): number {
    this.log.push(`r${size}@${pa.toString(16)}`);
    return this.mmioValue;
  }
  mmioWrite(pa: number, size: number, value: number): void {
    this.log.push(`w${size}@${pa.toString(16)}=${value.toString(16)}`);
  }
  /** Write instruction words (32-bit or 16-bit) at pa. */
  put(pa: number, ...words: number[]): number {
    let o = pa - RAM_BASE;
    for (const w of words) {
      if (w <= 0xffff && (w & 3) !== 3) { this.view.setUint16(o, w, true); o += 2; }
      else { this.view.setUint32(o, w >>> 0, true); o += 4; }
    }
    return o + RAM_BASE;
  }
  write64(pa: number, v: bigint): void { this.view.setBigUint64(pa - RAM_BASE, BigInt.asUintN(64, v), true); }
  read64(pa: number): bigint { return this.view.getBigUint64(pa - RAM_BASE, true); }
  read32(pa: number): number { return this.view.getUint32(pa - RAM_BASE, true); }
}

/**
 * RAM at RAM_BASE whose page map is shared words: map[gppn - RAM_BASE / 4096] is the frame
 * offset in `memory` (or PHYS_FAULT), read with Atomics so another thread may remap a page
 * (tests of cross-thread TLB flushes). Build it on each thread from the same two buffers.
 */
export class SharedMapPhys implements PhysTranslation {
  readonly map: Int32Array;
  constructor(readonly memory: SharedArrayBuffer, mapBuffer: SharedArrayBuffer) {
    this.map = new Int32Array(mapBuffer);
  }
  /** A map for `memory` with every page at its own frame (identity). */
  static identityMap(memory: SharedArrayBuffer): SharedArrayBuffer {
    const pages = memory.byteLength / 4096, b = new SharedArrayBuffer(pages * 4), m = new Int32Array(b);
    for (let i = 0; i < pages; i++) m[i] = i * 4096;
    return b;
  }
  lookup(gppn: number, _access: number): number {
    const i = gppn - RAM_BASE / 4096;
    return i >= 0 && i < this.map.length ? Atomics.load(this.map, i) : PHYS_FAULT;
  }
  mmioRead(): number { return 0; }
  mmioWrite(): void {}
}

/** A bare hart with RAM at RAM_BASE, starting there. */
export function makeHart(opts: Partial<HartOptions> = {}): { hart: Hart; phys: TestPhys; clock: ManualClock } {
  const phys = (opts.phys as TestPhys | undefined) ?? new TestPhys();
  const clock = new ManualClock();
  const hart = new Hart({ hartId: 0, phys, clock, resetPc: RAM_BASE, ...opts });
  return { hart, phys, clock };
}

/** x[i] as an unsigned BigInt (tests only). */
export function xr(h: Hart, i: number): bigint {
  return (BigInt(h.getXHi(i) >>> 0) << 32n) | BigInt(h.getXLo(i) >>> 0);
}
/** Set x[i] from a BigInt (tests only). */
export function setx(h: Hart, i: number, v: bigint): void {
  const u = BigInt.asUintN(64, v);
  h.setX(i, Number(u & 0xffffffffn) | 0, Number(u >> 32n) | 0);
}

/** Open all memory to S and U through PMP entry 0 (NAPOT over the whole address space, RWX). */
export function openPmp(h: Hart): void {
  h.s[PMPADDR_] = -1; h.s[PMPADDR_ + 1] = 0x3fffff;
  if (h.pmp) { h.pmp.cfg[0] = 0x1f; h.pmp.rebuild(); }
  h.flushTlb();
}

/** Switch to privilege `priv` at `pc` directly (tests that are not about trap return). */
export function enterMode(h: Hart, priv: number, pc: number): void {
  openPmp(h);
  h.setPriv(priv);
  h.setPc(pc);
}
