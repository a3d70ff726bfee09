// SPDX-License-Identifier: GPL-2.0-only
// The bit-manipulation extensions Zba, Zbb, Zbc and Zbs (RV64): decoding and semantics.
// Spec: riscv-unpriv-20240411 §28 "B" Extension for Bit Manipulation (its Zba, Zbb, Zbc and
// Zbs sections and instruction pages: encodings and the pseudo-code each body below follows).
//
// Each instruction's semantics is written once, as a JavaScript statement body over the
// operand words (a, ah = rs1 low/high; b, bh = rs2, or the shift amount and 0) that sets the
// result words l, hh. The JIT (jit.ts) pastes the body into a translated block with the
// register numbers as constants; the interpreter (hart.ts) calls a function compiled from the
// same body once at module load. So the two cannot disagree, and neither allocates.

/** Population count of a 32-bit word (statement-free expression over `v`). */
const POP = (v: string) => `(c=${v}-((${v}>>>1)&0x55555555),c=(c&0x33333333)+((c>>>2)&0x33333333),` +
  'Math.imul((c+(c>>>4))&0x0f0f0f0f,0x01010101)>>>24)';
/** Byte-reverse of a 32-bit word. */
const BSWAP = (v: string) => `((${v}<<24)|((${v}&0xff00)<<8)|((${v}>>>8)&0xff00)|(${v}>>>24))`;
/** Bytes of a 32-bit word to 0xff when non-zero, else 0 (orc.b on one word). */
const ORC = (v: string) => `Math.imul((((${v}&0x7f7f7f7f)+0x7f7f7f7f)|${v})>>>7&0x01010101,255)`;
/** Signed / unsigned 64-bit a < b. */
const LT = '(ah<bh||(ah===bh&&(a>>>0)<(b>>>0)))';
const LTU = '((ah>>>0)<(bh>>>0)||(ah===bh&&(a>>>0)<(b>>>0)))';
/** The 128-bit carry-less product of (a, ah) and (b, bh) into r0..r3 (clmul: XOR of shifted copies). */
const CLMUL128 = 'let r0=0,r1=0,r2=0,r3=0;for(let i=0;i<64;i++){if((((i<32?b:bh)>>>(i&31))&1)===0)continue;' +
  'const s=i&31;const w0=a<<s,w1=s===0?ah:(ah<<s)|(a>>>(32-s)),w2=s===0?0:ah>>>(32-s);' +
  'if(i<32){r0^=w0;r1^=w1;r2^=w2;}else{r1^=w0;r2^=w1;r3^=w2;}}';
/** rs1 + (rs2 << n) with rs1 taken whole or zero-extended from 32 bits (shNadd, shNadd.uw). */
const SHADD = (n: number, uw: boolean) => `const sl=a<<${n},sh=${uw ? `a>>>${32 - n}` : `(ah<<${n})|(a>>>${32 - n})`};` +
  'l=(sl+b)|0;hh=(sh+bh+((l>>>0)<(b>>>0)?1:0))|0;';
/** 64-bit rotate right by `s` (0..63) of (a, ah). */
const ROR64 = (s: string) => `let s=${s},x0=a,x1=ah;if(s>=32){x0=ah;x1=a;s-=32;}` +
  'if(s===0){l=x0;hh=x1;}else{l=(x0>>>s)|(x1<<(32-s));hh=(x1>>>s)|(x0<<(32-s));}';
/** One bit of rs1 (Zbs): index i = b & 63 and its mask m within the low or high word. */
const BIT = 'const i=b&63,m=1<<(i&31);';

/** Every instruction: mnemonic and the body setting l, hh (c is a scratch variable). */
export const BITMANIP_OPS: readonly { readonly name: string; readonly body: string }[] = [
  // Zba: address generation
  { name: 'add.uw', body: 'l=(a+b)|0;hh=(bh+((l>>>0)<(b>>>0)?1:0))|0;' },
  { name: 'sh1add', body: SHADD(1, false) },
  { name: 'sh2add', body: SHADD(2, false) },
  { name: 'sh3add', body: SHADD(3, false) },
  { name: 'sh1add.uw', body: SHADD(1, true) },
  { name: 'sh2add.uw', body: SHADD(2, true) },
  { name: 'sh3add.uw', body: SHADD(3, true) },
  { name: 'slli.uw', body: 'if(b===0){l=a;hh=0;}else if(b<32){l=a<<b;hh=a>>>(32-b);}else{l=0;hh=a<<(b-32);}' },
  // Zbb: basic bit manipulation
  { name: 'andn', body: 'l=a&~b;hh=ah&~bh;' },
  { name: 'orn', body: 'l=a|~b;hh=ah|~bh;' },
  { name: 'xnor', body: 'l=~(a^b);hh=~(ah^bh);' },
  { name: 'clz', body: 'l=ah!==0?Math.clz32(ah):32+Math.clz32(a);' },
  { name: 'ctz', body: 'l=a!==0?31-Math.clz32(a&-a):ah!==0?63-Math.clz32(ah&-ah):64;' },
  { name: 'cpop', body: `l=${POP('a')}+${POP('ah')};` },
  { name: 'clzw', body: 'l=Math.clz32(a);' },
  { name: 'ctzw', body: 'l=a!==0?31-Math.clz32(a&-a):32;' },
  { name: 'cpopw', body: `l=${POP('a')};` },
  { name: 'max', body: `if(${LT}){l=b;hh=bh;}else{l=a;hh=ah;}` },
  { name: 'maxu', body: `if(${LTU}){l=b;hh=bh;}else{l=a;hh=ah;}` },
  { name: 'min', body: `if(${LT}){l=a;hh=ah;}else{l=b;hh=bh;}` },
  { name: 'minu', body: `if(${LTU}){l=a;hh=ah;}else{l=b;hh=bh;}` },
  { name: 'sext.b', body: 'l=(a<<24)>>24;hh=l>>31;' },
  { name: 'sext.h', body: 'l=(a<<16)>>16;hh=l>>31;' },
  { name: 'zext.h', body: 'l=a&0xffff;' },
  { name: 'rol', body: ROR64('(64-(b&63))&63') },
  { name: 'ror', body: ROR64('b&63') },
  { name: 'rolw', body: 'l=(a<<(b&31))|(a>>>(-b&31));hh=l>>31;' },
  { name: 'rorw', body: 'l=(a>>>(b&31))|(a<<(-b&31));hh=l>>31;' },
  { name: 'rori', body: ROR64('b') },
  { name: 'roriw', body: 'l=(a>>>b)|(a<<(-b&31));hh=l>>31;' },
  { name: 'orc.b', body: `l=${ORC('a')};hh=${ORC('ah')};` },
  { name: 'rev8', body: `l=${BSWAP('ah')};hh=${BSWAP('a')};` },
  // Zbc: carry-less multiplication
  { name: 'clmul', body: `${CLMUL128}l=r0;hh=r1;` },
  { name: 'clmulh', body: `${CLMUL128}l=r2;hh=r3;` },
  { name: 'clmulr', body: `${CLMUL128}l=(r1>>>31)|(r2<<1);hh=(r2>>>31)|(r3<<1);` },
  // Zbs: single-bit instructions (the immediate forms share the bodies: b is the shamt)
  { name: 'bclr', body: `${BIT}if(i<32){l=a&~m;hh=ah;}else{l=a;hh=ah&~m;}` },
  { name: 'bext', body: `${BIT}l=((i<32?a:ah)&m)!==0?1:0;` },
  { name: 'binv', body: `${BIT}if(i<32){l=a^m;hh=ah;}else{l=a;hh=ah^m;}` },
  { name: 'bset', body: `${BIT}if(i<32){l=a|m;hh=ah;}else{l=a;hh=ah|m;}` },
];

const OP_INDEX = new Map(BITMANIP_OPS.map((o, i) => [o.name, i]));
const op = (name: string): number => OP_INDEX.get(name)!;
const ADD_UW = op('add.uw'), SH1ADD = op('sh1add'), SH1ADD_UW = op('sh1add.uw'), SLLI_UW = op('slli.uw');
const ANDN = op('andn'), ORN = op('orn'), XNOR = op('xnor'), CLZ = op('clz'), CLZW = op('clzw');
const MAX = op('max'), MAXU = op('maxu'), MIN = op('min'), MINU = op('minu'), SEXT_B = op('sext.b'), SEXT_H = op('sext.h');
const ZEXT_H = op('zext.h'), ROL = op('rol'), ROR = op('ror'), ROLW = op('rolw'), RORW = op('rorw'), RORI = op('rori');
const RORIW = op('roriw'), ORC_B = op('orc.b'), REV8 = op('rev8'), CLMUL = op('clmul'), CLMULH = op('clmulh');
const CLMULR = op('clmulr'), BCLR = op('bclr'), BEXT = op('bext'), BINV = op('binv'), BSET = op('bset');

/** decodeBitmanip() flag: the second operand is rs2 (else the immediate, see bitmanipShamt). */
export const USES_RS2 = 0x100;

/**
 * Decode a 32-bit instruction word: the op index into BITMANIP_OPS, plus USES_RS2 when the
 * second operand is rs2 (else it is the shamt, with the unary forms' shamt 0); -1 if the word
 * is not a B instruction. Only reached for encodings the base ISA leaves illegal.
 */
export function decodeBitmanip(insn: number): number {
  const f3 = (insn >> 12) & 7, f7 = insn >>> 25;
  switch (insn & 0x7f) {
    case 0x33: // OP
      switch (f7) {
        case 0x05: {
          if (f3 === 0) return -1;
          return (f3 === 1 ? CLMUL : f3 === 2 ? CLMULR : f3 === 3 ? CLMULH : f3 === 4 ? MIN : f3 === 5 ? MINU
            : f3 === 6 ? MAX : MAXU) | USES_RS2;
        }
        case 0x10: return f3 === 2 || f3 === 4 || f3 === 6 ? (SH1ADD + (f3 >> 1) - 1) | USES_RS2 : -1;
        case 0x20: return f3 === 7 ? ANDN | USES_RS2 : f3 === 6 ? ORN | USES_RS2 : f3 === 4 ? XNOR | USES_RS2 : -1;
        case 0x30: return f3 === 1 ? ROL | USES_RS2 : f3 === 5 ? ROR | USES_RS2 : -1;
        case 0x24: return f3 === 1 ? BCLR | USES_RS2 : f3 === 5 ? BEXT | USES_RS2 : -1;
        case 0x34: return f3 === 1 ? BINV | USES_RS2 : -1;
        case 0x14: return f3 === 1 ? BSET | USES_RS2 : -1;
      }
      return -1;
    case 0x3b: // OP-32
      if (f7 === 0x04) return f3 === 0 ? ADD_UW | USES_RS2 : f3 === 4 && ((insn >> 20) & 31) === 0 ? ZEXT_H : -1;
      if (f7 === 0x10) return f3 === 2 || f3 === 4 || f3 === 6 ? (SH1ADD_UW + (f3 >> 1) - 1) | USES_RS2 : -1;
      if (f7 === 0x30) return f3 === 1 ? ROLW | USES_RS2 : f3 === 5 ? RORW | USES_RS2 : -1;
      return -1;
    case 0x13: { // OP-IMM: imm[11:6] selects, imm[5:0] is the shamt or a sub-opcode
      const f6 = insn >>> 26, lo6 = (insn >> 20) & 63;
      if (f3 === 1) {
        if (f6 === 0x18) {
          return lo6 === 0 ? CLZ : lo6 === 1 ? CLZ + 1 : lo6 === 2 ? CLZ + 2 : lo6 === 4 ? SEXT_B : lo6 === 5 ? SEXT_H : -1;
        }
        return f6 === 0x12 ? BCLR : f6 === 0x1a ? BINV : f6 === 0x0a ? BSET : -1;
      }
      if (f3 === 5) {
        if (f6 === 0x18) return RORI;
        if (f6 === 0x12) return BEXT;
        if ((insn >>> 20) === 0x287) return ORC_B;
        if ((insn >>> 20) === 0x6b8) return REV8;
      }
      return -1;
    }
    case 0x1b: // OP-IMM-32
      if (f3 === 1 && (insn >>> 26) === 0x02) return SLLI_UW;
      if (f3 === 1 && f7 === 0x30) {
        const k = (insn >> 20) & 31;
        return k === 0 ? CLZW : k === 1 ? CLZW + 1 : k === 2 ? CLZW + 2 : -1;
      }
      if (f3 === 5 && f7 === 0x30) return RORIW;
      return -1;
  }
  return -1;
}

/** The second operand of an immediate form: shamt (6 bits, 5 for roriw; 0 for unary ops). */
export function bitmanipShamt(insn: number, k: number): number {
  if (k === RORIW) return (insn >> 20) & 31;
  if (k === RORI || k === SLLI_UW || k === BCLR || k === BEXT || k === BINV || k === BSET) return (insn >> 20) & 63;
  return 0;
}

// The interpreter's functions, compiled once from the same bodies the JIT inlines.
type Impl = (a: number, ah: number, b: number, bh: number, o: Int32Array) => void;
const IMPL: Impl[] = BITMANIP_OPS.map((o) =>
  new Function('a', 'ah', 'b', 'bh', 'o', `"use strict";let l=0,hh=0,c=0;${o.body}o[0]=l;o[1]=hh;`) as Impl);
const OUT = new Int32Array(2);

/**
 * Interpreter: execute the B instruction `insn` on the register file x (int32 pairs).
 * Returns false (nothing written) when the word is not one; the caller raises illegal-instruction.
 */
export function execBitmanip(x: Int32Array, insn: number): boolean {
  const d = decodeBitmanip(insn);
  if (d < 0) return false;
  const k = d & 0xff, rs1 = (insn >> 14) & 62, rd = (insn >> 6) & 62;
  let b: number, bh: number;
  if ((d & USES_RS2) !== 0) { const rs2 = (insn >> 19) & 62; b = x[rs2]; bh = x[rs2 + 1]; }
  else { b = bitmanipShamt(insn, k); bh = 0; }
  IMPL[k](x[rs1], x[rs1 + 1], b, bh, OUT);
  if (rd !== 0) { x[rd] = OUT[0]; x[rd + 1] = OUT[1]; }
  return true;
}

/**
 * JIT: the source of one B instruction for a translated block (registers and the shamt as
 * constants), or null when the word is not one. Scoped in a block, so names cannot clash.
 */
export function bitmanipSource(insn: number): string | null {
  const d = decodeBitmanip(insn);
  if (d < 0) return null;
  const k = d & 0xff, rs1 = (insn >> 14) & 62, rd = (insn >> 6) & 62;
  if (rd === 0) return '';
  const rs2 = (insn >> 19) & 62;
  const ops = (d & USES_RS2) !== 0 ? `b=x[${rs2}],bh=x[${rs2 + 1}]` : `b=${bitmanipShamt(insn, k)},bh=0`;
  return `{const a=x[${rs1}],ah=x[${rs1 + 1}],${ops};let l=0,hh=0,c=0;${BITMANIP_OPS[k].body}` +
    `x[${rd}]=l;x[${rd + 1}]=hh;}`;
}
