// SPDX-License-Identifier: GPL-2.0-only
// The C extension: each RV64C instruction is assembled by Debian's RISC-V assembler twice,
// as the compressed instruction and as the 32-bit instruction the spec says it expands to;
// the hart's expansion table must map one to the other. Reserved encodings must be illegal,
// and a compressed program must run (links of c.jalr are pc + 2).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MCAUSE, MTVAL } from './hart-state.ts';
import { RVC_TABLE } from './rvc.ts';
import { makeHart, RAM_BASE, setx, xr } from './test-support.ts';

/** [compressed form, its 32-bit expansion] (Spec: riscv-unpriv-20240411 "RVC Instruction Set Listings"). */
const PAIRS: [string, string][] = [
  ['c.addi4spn a0, sp, 1020', 'addi a0, sp, 1020'],
  ['c.addi4spn s1, sp, 4', 'addi s1, sp, 4'],
  ['c.fld fa0, 248(a1)', 'fld fa0, 248(a1)'],
  ['c.lw a2, 124(a3)', 'lw a2, 124(a3)'],
  ['c.ld a4, 248(a5)', 'ld a4, 248(a5)'],
  ['c.fsd fs0, 8(s1)', 'fsd fs0, 8(s1)'],
  ['c.sw a0, 64(s0)', 'sw a0, 64(s0)'],
  ['c.sd s1, 136(a0)', 'sd s1, 136(a0)'],
  ['c.nop', 'addi zero, zero, 0'],
  ['c.addi t0, -32', 'addi t0, t0, -32'],
  ['c.addi a0, 31', 'addi a0, a0, 31'],
  ['c.addiw a0, -1', 'addiw a0, a0, -1'],
  ['c.addiw t6, 0', 'addiw t6, t6, 0'],
  ['c.li a5, -3', 'addi a5, zero, -3'],
  ['c.addi16sp sp, -512', 'addi sp, sp, -512'],
  ['c.addi16sp sp, 496', 'addi sp, sp, 496'],
  ['c.lui a0, 0xfffe0', 'lui a0, 0xfffe0'],
  ['c.lui t1, 31', 'lui t1, 31'],
  ['c.srli a0, 63', 'srli a0, a0, 63'],
  ['c.srli s1, 1', 'srli s1, s1, 1'],
  ['c.srai a1, 32', 'srai a1, a1, 32'],
  ['c.andi a2, -1', 'andi a2, a2, -1'],
  ['c.sub a0, a1', 'sub a0, a0, a1'],
  ['c.xor s0, a5', 'xor s0, s0, a5'],
  ['c.or a3, a4', 'or a3, a3, a4'],
  ['c.and a1, a2', 'and a1, a1, a2'],
  ['c.subw a0, s1', 'subw a0, a0, s1'],
  ['c.addw a5, a4', 'addw a5, a5, a4'],
  ['c.j -2048', 'jal zero, -2048'],
  ['c.j 2046', 'jal zero, 2046'],
  ['c.j 0x2aa', 'jal zero, 0x2aa'],
  ['c.beqz a0, -256', 'beq a0, zero, -256'],
  ['c.bnez s1, 254', 'bne s1, zero, 254'],
  ['c.bnez a5, 0x56', 'bne a5, zero, 0x56'],
  ['c.slli t0, 63', 'slli t0, t0, 63'],
  ['c.fldsp ft1, 504(sp)', 'fld ft1, 504(sp)'],
  ['c.lwsp ra, 252(sp)', 'lw ra, 252(sp)'],
  ['c.ldsp s11, 504(sp)', 'ld s11, 504(sp)'],
  ['c.jr ra', 'jalr zero, 0(ra)'],
  ['c.mv a0, t6', 'add a0, zero, t6'],
  ['c.ebreak', 'ebreak'],
  ['c.jalr t0', 'jalr ra, 0(t0)'],
  ['c.add s0, gp', 'add s0, s0, gp'],
  ['c.fsdsp fs11, 504(sp)', 'fsd fs11, 504(sp)'],
  ['c.swsp t2, 252(sp)', 'sw t2, 252(sp)'],
  ['c.sdsp a7, 504(sp)', 'sd a7, 504(sp)'],
];

/** Assemble lines with GNU as and return each line's encoding (from the listing). */
function assemble(lines: string[], rvc: boolean): number[] {
  const dir = mkdtempSync(join(tmpdir(), 'rvc-'));
  try {
    const src = join(dir, 'a.s');
    writeFileSync(src, `.option ${rvc ? 'rvc' : 'norvc'}\n` + lines.map((l) => l + '\n').join(''));
    const out = execFileSync('riscv64-linux-gnu-as', ['-march=rv64gc', '-al', '-o', join(dir, 'a.o'), src], { encoding: 'utf8' });
    const words: number[] = [];
    for (const line of out.split('\n')) {
      const m = /^\s*\d+\s+[0-9a-f]{4}\s+([0-9A-F]+)\s/.exec(line);
      if (!m) continue;
      const hex = m[1];
      let v = 0;
      for (let i = hex.length - 2; i >= 0; i -= 2) v = v * 256 + parseInt(hex.slice(i, i + 2), 16);
      words.push(v);
    }
    assert.equal(words.length, lines.length, 'assembler listing has one encoding per line');
    return words;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('every RV64C instruction expands to the 32-bit instruction the assembler encodes', () => {
  // Branches and jumps: the assembler takes the offset relative to the instruction itself,
  // so write them as ". + off".
  const fix = (l: string) => /^(c\.j |c\.beqz|c\.bnez|jal |beq |bne )/.test(l) ? l.replace(/(-?(0x)?[0-9a-f]+)$/i, '. + ($1)') : l;
  const c = assemble(PAIRS.map(([a]) => fix(a)), true);
  const w = assemble(PAIRS.map(([, b]) => fix(b)), false);
  PAIRS.forEach(([name], i) => {
    assert.ok(c[i] < 0x10000 && (c[i] & 3) !== 3, `${name} assembled compressed`);
    assert.equal(RVC_TABLE[c[i]] >>> 0, w[i] >>> 0, `${name}: 0x${c[i].toString(16)}`);
  });
});

test('reserved compressed encodings expand to 0 (illegal)', () => {
  // Spec: the all-zero halfword is illegal; c.addi4spn nzuimm=0, c.addi16sp 0, c.lui 0,
  // c.lwsp/c.ldsp rd=0, c.jr rs1=0 and c.addiw rd=0 are reserved.
  for (const c of [0x0000, 0x0004, 0x6101, 0x6501, 0x4002, 0x6002, 0x8002, 0x2001, 0x9c41, 0x9c61]) {
    assert.equal(RVC_TABLE[c], 0, `0x${c.toString(16)}`);
  }
});

test('a compressed program runs: c.li, c.addi, c.bnez loop, c.jalr links pc + 2', () => {
  const { hart, phys } = makeHart();
  // c.li a0,5 ; c.li a1,0 ; loop: c.add a1,a0 ; c.addi a0,-1 ; c.bnez a0,loop ; c.jalr t0
  phys.put(RAM_BASE, 0x4515, 0x4581, 0x95aa, 0x157d, 0xfd75, 0x9282);
  setx(hart, 5, BigInt(RAM_BASE + 0x100));
  hart.step(2 + 3 * 5 + 1);
  assert.equal(xr(hart, 11), 15n);
  assert.equal(xr(hart, 1), BigInt(RAM_BASE + 12));
  assert.equal(hart.getPc(), RAM_BASE + 0x100);
});

test('an illegal compressed instruction traps with its 16 bits in mtval', () => {
  const { hart, phys } = makeHart();
  phys.put(RAM_BASE, 0x0000);
  hart.step(1);
  assert.equal(hart.s[MCAUSE], 2); // mcause = illegal instruction
  assert.equal(hart.s[MTVAL], 0);
  const h2 = makeHart();
  h2.phys.put(RAM_BASE, 0x6101);
  h2.hart.step(1);
  assert.equal(h2.hart.s[MCAUSE], 2);
  assert.equal(h2.hart.s[MTVAL], 0x6101);
});
