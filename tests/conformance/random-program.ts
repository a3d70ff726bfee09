// SPDX-License-Identifier: GPL-2.0-only
// Seeded random RV64 programs for differential testing against QEMU: random register values,
// then a straight line of random integer (I, M), compressible, load/store, AMO, short forward
// branch and double-precision FP instructions, then a dump of every register, fcsr and a
// checksum of the data buffer through the UART. Any difference between QEMU's and tsxen's
// dump is a bug in one of them. gcc's assembler compresses eligible instructions (rv64gc).
// Reserved registers: s0 (x8) = data buffer base, t6 (x31) = address temporary.
// With `paging`, the random code and the dump run in S-mode under Sv39: program and devices
// through identity gigapages, the data buffer through a three-level walk to a 4 KiB page at
// VA 0x4000_0000 (and read back through the identity alias by the dump).
// With `interrupts`, the ACLINT timer interrupts the code every 10 us of mtime; the M-mode
// handler re-arms it and must leave no trace, so the dump must still match QEMU's although
// the interrupts land on different instructions on each side. LR/SC pairs are left out then
// (xRET may or may not clear a reservation: both are allowed).

/** xorshift64* as two 32-bit halves would be overkill: BigInt is fine off the hot path. */
export class Rng {
  private x: bigint;
  constructor(seed: number) { this.x = BigInt(seed) * 0x9e3779b97f4a7c15n + 1n; }
  next64(): bigint {
    let x = this.x & 0xffffffffffffffffn;
    x ^= x >> 12n; x ^= (x << 25n) & 0xffffffffffffffffn; x ^= x >> 27n;
    this.x = x;
    return (x * 0x2545f4914f6cdd1dn) & 0xffffffffffffffffn;
  }
  int(n: number): number { return Number(this.next64() % BigInt(n)); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]; }
}

const GPR = Array.from({ length: 32 }, (_, i) => `x${i}`).filter((r) => r !== 'x8' && r !== 'x31' && r !== 'x0');
/** x8-x15 appear often so the assembler can use compressed encodings. */
const CREG = ['x9', 'x10', 'x11', 'x12', 'x13', 'x14', 'x15'];
const R_OPS = ['add', 'sub', 'sll', 'slt', 'sltu', 'xor', 'srl', 'sra', 'or', 'and', 'addw', 'subw', 'sllw', 'srlw', 'sraw',
  'mul', 'mulh', 'mulhsu', 'mulhu', 'div', 'divu', 'rem', 'remu', 'mulw', 'divw', 'divuw', 'remw', 'remuw'];
const I_OPS = ['addi', 'slti', 'sltiu', 'xori', 'ori', 'andi', 'addiw'];
const SH_OPS = ['slli', 'srli', 'srai'];
const SHW_OPS = ['slliw', 'srliw', 'sraiw'];
const LOADS: [string, number][] = [['lb', 1], ['lbu', 1], ['lh', 2], ['lhu', 2], ['lw', 4], ['lwu', 4], ['ld', 8]];
const STORES: [string, number][] = [['sb', 1], ['sh', 2], ['sw', 4], ['sd', 8]];
const AMOS = ['amoswap', 'amoadd', 'amoxor', 'amoand', 'amoor', 'amomin', 'amomax', 'amominu', 'amomaxu'];
const BRANCHES = ['beq', 'bne', 'blt', 'bge', 'bltu', 'bgeu'];
const FP2 = ['fadd.d', 'fsub.d', 'fmul.d', 'fdiv.d', 'fmin.d', 'fmax.d', 'fsgnj.d', 'fsgnjn.d', 'fsgnjx.d',
  'fadd.s', 'fsub.s', 'fmul.s', 'fdiv.s', 'fmin.s', 'fmax.s', 'fsgnj.s', 'fsgnjn.s', 'fsgnjx.s'];
const FP3 = ['fmadd.d', 'fmsub.d', 'fnmadd.d', 'fnmsub.d', 'fmadd.s', 'fmsub.s', 'fnmadd.s', 'fnmsub.s'];
/** Conversions that take a rounding mode: [mnemonic, destination is an x register, source is an x register]. */
const FCVT: [string, boolean, boolean][] = [['fcvt.l.d', true, false], ['fcvt.lu.d', true, false], ['fcvt.w.d', true, false],
  ['fcvt.wu.d', true, false], ['fcvt.l.s', true, false], ['fcvt.w.s', true, false], ['fcvt.wu.s', true, false],
  ['fcvt.s.d', false, false], ['fcvt.d.l', false, true], ['fcvt.s.l', false, true], ['fcvt.s.wu', false, true],
  ['fsqrt.s', false, false], ['fsqrt.d', false, false]];
const RM = ['rne', 'rtz', 'rdn', 'rup', 'rmm'];
const BUF = 2048;

/** Interesting 64-bit values: edges of signed/unsigned ranges, 32-bit edges, FP specials. */
const EDGES = [0n, 1n, 0xffffffffffffffffn, 0x8000000000000000n, 0x7fffffffffffffffn, 0xffffffffn, 0x80000000n, 0x7fffffffn,
  0xffffffff80000000n, 0x3ff0000000000000n, 0x7ff0000000000000n, 0x7ff8000000000000n, 0x7ff4000000000000n, 0x8000000000000000n,
  0x0000000000000001n, 0x4000000000000000n, 0xc000000000000000n];

function value(r: Rng): bigint {
  return r.int(3) === 0 ? r.pick(EDGES) : r.next64();
}

function reg(r: Rng): string {
  return r.int(2) === 0 ? r.pick(CREG) : r.pick(GPR);
}

function instruction(r: Rng, lines: string[], label: { n: number }, noLrSc: boolean): void {
  const k = r.int(100);
  const rd = reg(r), a = reg(r), b = reg(r);
  if (k < 30) lines.push(`${r.pick(R_OPS)} ${rd}, ${a}, ${b}`);
  else if (k < 42) lines.push(`${r.pick(I_OPS)} ${rd}, ${a}, ${r.int(4096) - 2048}`);
  else if (k < 48) lines.push(`${r.pick(SH_OPS)} ${rd}, ${a}, ${r.int(64)}`);
  else if (k < 52) lines.push(`${r.pick(SHW_OPS)} ${rd}, ${a}, ${r.int(32)}`);
  else if (k < 55) lines.push(`lui ${rd}, ${r.int(1 << 20)}`);
  else if (k < 57) lines.push(`addi ${rd}, ${rd}, ${r.int(64) - 32}`); // c.addi candidate
  else if (k < 60) lines.push(`mv ${rd}, ${a}`);
  else if (k < 68) {
    const [op, size] = r.pick(LOADS);
    lines.push(`${op} ${rd}, ${r.int(BUF / size) * size}(x8)`);
  } else if (k < 76) {
    const [op, size] = r.pick(STORES);
    lines.push(`${op} ${a}, ${r.int(BUF / size) * size}(x8)`);
  } else if (k < 82) {
    const w = r.int(2) === 0, size = w ? 4 : 8;
    lines.push(`addi x31, x8, ${r.int(BUF / size) * size}`);
    lines.push(`${r.pick(AMOS)}.${w ? 'w' : 'd'} ${rd}, ${a}, (x31)`);
  } else if (k < 86) {
    const l = `b${label.n++}`;
    lines.push(`${r.pick(BRANCHES)} ${a}, ${b}, ${l}`);
    for (let i = 0, n = 1 + r.int(3); i < n; i++) lines.push(`${r.pick(R_OPS)} ${reg(r)}, ${reg(r)}, ${reg(r)}`);
    lines.push(`${l}:`);
  } else if (k < 89 && !noLrSc) {
    // LR/SC pair on the same address: must succeed (rd = 0) with nothing in between
    const off = r.int(BUF / 8) * 8;
    lines.push(`addi x31, x8, ${off}`, `lr.d ${rd}, (x31)`, `sc.d ${b}, ${a}, (x31)`);
  } else {
    const fd = `f${r.int(32)}`, f1 = `f${r.int(32)}`, f2 = `f${r.int(32)}`, f3 = `f${r.int(32)}`;
    const m = r.int(9);
    if (m === 0) lines.push(`${r.pick(['fmv.d.x', 'fmv.w.x'])} ${fd}, ${a}`);
    else if (m <= 2) lines.push(`${r.pick(FP2)} ${fd}, ${f1}, ${f2}`);
    else if (m === 3) lines.push(`${r.pick(FP3)} ${fd}, ${f1}, ${f2}, ${f3}, ${r.pick(RM)}`);
    else if (m === 4) {
      const [op, toX, fromX] = r.pick(FCVT);
      lines.push(`${op} ${toX ? rd : fd}, ${fromX ? a : f1}, ${r.pick(RM)}`);
    } else if (m === 5) lines.push(r.int(2) === 0 ? `fcvt.d.s ${fd}, ${f1}` : `fcvt.d.wu ${fd}, ${a}`); // exact: no rounding mode
    else if (m === 6) {
      const d = r.int(2) === 0, size = d ? 8 : 4;
      lines.push(`${r.pick(d ? ['fld', 'fsd'] : ['flw', 'fsw'])} ${fd}, ${r.int(BUF / size) * size}(x8)`);
    } else if (m === 7) lines.push(`${r.pick(['feq.d', 'flt.d', 'fle.d', 'feq.s', 'flt.s', 'fle.s'])} ${rd}, ${f1}, ${f2}`);
    else lines.push(`${r.pick(['fclass.d', 'fclass.s'])} ${b}, ${f1}`, `${r.pick(['fmv.x.d', 'fmv.x.w'])} ${a}, ${f2}`);
  }
}

/** The assembly source of random program `seed` with `n` random instruction groups. */
export interface RandomOptions { paging?: boolean; interrupts?: boolean }

export function randomProgram(seed: number, n: number, opts: RandomOptions = {}): string {
  const paging = opts.paging === true, interrupts = opts.interrupts === true;
  const r = new Rng(seed);
  const lines: string[] = [];
  const label = { n: 0 };
  for (let i = 1; i < 32; i++) if (i !== 8) lines.push(`li x${i}, 0x${value(r).toString(16)}`);
  for (let i = 0; i < 32; i++) lines.push(`li x31, 0x${value(r).toString(16)}`, `fmv.d.x f${i}, x31`);
  for (let i = 0; i < n; i++) instruction(r, lines, label, interrupts);
  const init = Array.from({ length: BUF / 8 }, () => `  .dword 0x${value(r).toString(16)}`).join('\n');
  return `# generated by tests/conformance/random-program.ts, seed ${seed}
  .section .text.init, "ax"
  .globl _start
_start:
  csrr t0, mhartid
1:bnez t0, 1b
  li t0, 0x6000              # mstatus.FS = Dirty
  csrs mstatus, t0
${interrupts ? TIMER : ''}
${paging ? PAGING : '  la x8, buf'}
${lines.map((l) => (l.endsWith(':') ? l : `  ${l}`)).join('\n')}
  # dump: registers to regs[], fcsr and f registers after them, then print everything
  la x31, regs
${Array.from({ length: 31 }, (_, i) => `  sd x${i + 1}, ${(i + 1) * 8}(x31)`).join('\n')}
  frcsr t0
  sd t0, 256(x31)
${Array.from({ length: 32 }, (_, i) => `  fsd f${i}, ${264 + i * 8}(x31)`).join('\n')}
  la s1, regs
  li s2, ${1 + 32 + 1 + 32}
  call dump
  la s1, buf
  li s2, ${BUF / 8}
  call dump
  li t0, 0x100000
  li t1, 0x5555
  sw t1, 0(t0)
2:j 2b

# print s2 dwords from s1 as hex, one per line
dump:
  li s3, 0x10000000
3:ld t1, 0(s1)
  li t2, 60
4:srl t3, t1, t2
  andi t3, t3, 15
  addi t3, t3, 48
  li t4, 58
  blt t3, t4, 5f
  addi t3, t3, 39
5:lbu t4, 5(s3)
  andi t4, t4, 0x20
  beqz t4, 5b
  sb t3, 0(s3)
  addi t2, t2, -4
  bgez t2, 4b
6:lbu t4, 5(s3)              # THR empty again before the newline (QEMU drops overwritten bytes)
  andi t4, t4, 0x20
  beqz t4, 6b
  li t3, 10
  sb t3, 0(s3)
  addi s1, s1, 8
  addi s2, s2, -1
  bnez s2, 3b
  ret

  .data
  .balign 4096
buf:
${init}
  .balign 8
regs: .space ${8 * (1 + 32 + 1 + 32)}
  .balign 4096
root: .space 4096
l1: .space 4096
l0: .space 4096
`;
}

/** Timer interrupts: an M-mode handler that re-arms mtimecmp 100 ticks ahead (long enough that a
 *  slow, loaded QEMU still makes progress between interrupts) and restores t0-t2. */
const TIMER = `  la t0, irq
  csrw mtvec, t0
  li t0, 0x80                # mie.MTIE
  csrs mie, t0
  li t1, 0x200bff8
  ld t1, 0(t1)
  addi t1, t1, 100
  li t0, 0x2004000
  sd t1, 0(t0)
  csrsi mstatus, 8           # mstatus.MIE (M-mode runs; lower modes always take M interrupts)
  j 8f
  .balign 4
irq:
  csrw mscratch, t0
  la t0, irqsave
  sd t1, 0(t0)
  sd t2, 8(t0)
  li t1, 0x200bff8
  ld t2, 0(t1)
  addi t2, t2, 100
  li t1, 0x2004000
  sd t2, 0(t1)
  la t0, irqcount
  ld t1, 0(t0)
  addi t1, t1, 1
  sd t1, 0(t0)
  la t0, irqsave
  ld t1, 0(t0)
  ld t2, 8(t0)
  csrr t0, mscratch
  mret
  .data
  .balign 8
irqsave: .dword 0, 0
  .globl irqcount
irqcount: .dword 0
  .text
8:`;

/** Sv39 set-up: PTEs built at run time from the tables' addresses, then mret into S-mode. */
const PAGING = `  la t0, root
  li t1, 0xcf                # root[0]: gigapage VA 0 -> PA 0 (devices), V R W X A D
  sd t1, 0(t0)
  li t1, 0x200000cf          # root[2]: gigapage VA 0x8000_0000 -> PA 0x8000_0000
  sd t1, 16(t0)
  la t2, l1                  # root[1] -> l1 -> l0 -> the buffer page at VA 0x4000_0000
  srli t2, t2, 12
  slli t2, t2, 10
  ori t2, t2, 1
  sd t2, 8(t0)
  la t1, l1
  la t2, l0
  srli t2, t2, 12
  slli t2, t2, 10
  ori t2, t2, 1
  sd t2, 0(t1)
  la t1, l0
  la t2, buf
  srli t2, t2, 12
  slli t2, t2, 10
  ori t2, t2, 0xc7           # V R W A D
  sd t2, 0(t1)
  li t1, -1                  # PMP: everything for S
  csrw pmpaddr0, t1
  li t1, 0x1f
  csrw pmpcfg0, t1
  srli t0, t0, 12
  li t1, 8
  slli t1, t1, 60
  or t0, t0, t1
  csrw satp, t0
  sfence.vma
  li t0, 0x1800              # MPP = S
  csrc mstatus, t0
  li t0, 0x800
  csrs mstatus, t0
  la t0, 7f
  csrw mepc, t0
  mret
7:li x8, 0x40000000`;
