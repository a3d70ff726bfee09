// SPDX-License-Identifier: GPL-2.0-only
// Basic-block translation: a hot run of straight-line integer instructions (ending at a
// branch or jump, at the end of its page, or before anything the translator leaves to the
// interpreter) becomes one JavaScript function with register numbers and immediates as
// constants. A branch or jump back to the block's own start loops inside the function while
// the caller's instruction budget covers one more pass, so tight loops never return to the
// dispatcher. (Following fall-through paths across branches, "superblocks", halved the
// dispatches of a Linux boot but cost more in V8's compilation of the larger functions than
// it saved: docs/design/hart.md.) Blocks are keyed by machine-memory offset, so one
// translation serves every virtual mapping of the code and, through a shared BlockCache,
// every hart of a machine: the hart is an argument, memory views are captured at compile time.
// Spec: riscv-unpriv-20240411 §6 "Zifencei": instruction fetches may see stale code until
// FENCE.I. FENCE.I (and the owner's flushICache()) starts a new epoch: a block from an older
// epoch is compared with memory on its next entry and dropped if the code changed, which is
// far cheaper than retranslating everything (Linux boots with tens of thousands of FENCE.Is).
// Translated: LUI AUIPC JAL JALR BRANCH LOAD STORE OP-IMM OP OP-IMM-32 OP-32 (with M), and
// their compressed forms; Zba/Zbb/Zbc/Zbs from bitmanip.ts. Left to the interpreter: SYSTEM,
// AMO, FP, FENCE, anything illegal.
import { bitmanipSource } from './bitmanip.ts';
import { F64_EXACT } from './mem64.ts';
import { RVC_TABLE } from './rvc.ts';

/**
 * A translated block: run(h, pc, budget) executes at most `budget` instructions (the caller
 * guarantees budget >= n), sets h.jitN to the number executed (including a trapping one) and
 * returns the next pc, or NaN after a trap or a jump beyond 2^53 (then h.pcCur is the pc).
 */
export interface Block {
  /** The instructions one pass through the block executes (the budget it needs). */
  readonly n: number;
  readonly run: BlockFn;
  /** Machine offset of the first instruction and a copy of the code it was made from. */
  readonly off: number;
  readonly src: Uint16Array;
  /** The FENCE.I epoch in which the copy was last found equal to memory. */
  epoch: number;
}

/** What a block reads and writes of the hart that runs it. */
export interface JitHart {
  readonly x: Int32Array;
  /** The same registers as doubles (8-byte copies for LD/SD, mem64.ts). */
  readonly xd: Float64Array;
  readonly tlbTag: Float64Array;
  readonly tlbOff: Int32Array;
  lBase: number;
  sBase: number;
  jitN: number;
  pcCur: number;
  curInsn: number;
  curLen: number;
  jumpTo(lo: number, hi: number): void;
}

/** Is the code a block was translated from still in memory unchanged? */
export function blockValid(b: Block, mu16: Uint16Array): boolean {
  const src = b.src, base = b.off >> 1;
  for (let i = 0; i < src.length; i++) if (mu16[base + i] !== src[i]) return false;
  return true;
}
export type BlockFn = (h: JitHart, pc: number, budget: number) => number;

/** Out-of-line helpers the generated code calls. */
export interface JitRuntime {
  loadSlow(h: JitHart, vlo: number, vhi: number, f3: number, rd: number): boolean;
  storeValue(h: JitHart, vlo: number, vhi: number, size: number, lo: number, hi: number): boolean;
  mul(kind: number, al: number, ah: number, bl: number, bh: number): void;
  r64: Int32Array;
}

const DUMMY_BLOCK: Block = { n: 0, run: () => NaN, off: 0, src: new Uint16Array(0), epoch: -1 };

/**
 * The translations of one machine memory, shared by the harts that run code from it (a
 * board's harts, a domain's vCPUs). Block ids index `blocks` (0 unused); `table(off)` is the
 * per-frame id table: > 0 a block id, <= 0 minus the executions counted so far, JIT_NEVER
 * for an instruction that starts no block.
 */
export class BlockCache {
  readonly blocks: Block[] = [DUMMY_BLOCK];
  private readonly pages: (Int32Array | undefined)[] = [];
  /** FENCE.I epoch (see Block.epoch). */
  epoch = 0;
  readonly mu16: Uint16Array;
  /** The factory arguments every block function closes over. */
  private readonly env: unknown[];

  constructor(memory: ArrayBufferLike, rt: JitRuntime) {
    this.mu16 = new Uint16Array(memory, 0, memory.byteLength >> 1);
    this.env = [new Int8Array(memory), new Uint8Array(memory), new Int16Array(memory, 0, memory.byteLength >> 1),
      this.mu16, new Int32Array(memory, 0, memory.byteLength >> 2), new Float64Array(memory, 0, memory.byteLength >> 3), rt];
  }

  /** The block-id table of the code frame at machine offset `off` (created on first use). */
  table(off: number): Int32Array {
    const f = off >>> 12;
    let t = this.pages[f];
    if (t === undefined) { t = new Int32Array(2048); this.pages[f] = t; }
    return t;
  }

  /** Translate the block at machine offset o (its page ends at pageEnd); its id, or 0. */
  add(o: number, pageEnd: number): number {
    const b = compileBlock(this.mu16, o, pageEnd, this.epoch, this.env);
    if (b === null) return 0;
    this.blocks.push(b);
    return this.blocks.length - 1;
  }

  /** Block `id` was found stale: forget it (its table entry is cleared by the caller). */
  drop(id: number): void { this.blocks[id] = DUMMY_BLOCK; }
}

const MAX_BLOCK = 64;

/** The instruction at machine offset o, expanded; len in `lenOut[0]`, or 0 if it does not fit. */
function fetchAt(mu16: Uint16Array, o: number, pageEnd: number, lenOut: Int32Array): number {
  if (o + 2 > pageEnd) return 0;
  const lo = mu16[o >> 1];
  if ((lo & 3) !== 3) { lenOut[0] = 2; return RVC_TABLE[lo]; }
  if (o + 4 > pageEnd) return 0;
  lenOut[0] = 4;
  return (lo | (mu16[(o >> 1) + 1] << 16)) | 0;
}

/** Sign-extension word (0 or -1) of a 32-bit immediate, as source text. */
const hiOf = (imm: number) => (imm < 0 ? '-1' : '0');

/** What gen() learns about the block and how it leaves it. */
interface GenState {
  /** Set by an instruction that always transfers control (the block ends after it). */
  ends: boolean;
  /** Set when some exit loops back to the block's start. */
  loops: boolean;
}

/**
 * Source of a direct transfer to block offset `t` (bytes from the block's pc) after `k`
 * instructions of the current pass. A transfer to the start runs another pass inside the
 * function when the budget covers a whole one (`c` counts the finished passes' instructions,
 * `lim` is the budget minus one pass); anything else returns to the dispatcher.
 */
function goTo(t: number, k: number, st: GenState): string {
  // (lim = budget minus the block's first stretch, whose end is known only at the end.)
  if (t === 0) { st.loops = true; return `{if(c+${k}<=lim){c+=${k};continue;}h.jitN=c+${k};return pc;}`; }
  return `{h.jitN=c+${k};return pc+${t};}`;
}

/**
 * Source for one instruction at block offset `off` (bytes from the block's pc), or null if
 * it is not translated. `idx` is its position in the block (for the executed count on exit).
 * Sets `st.ends` when the instruction transfers control (the block ends after it).
 */
function gen(insn: number, len: number, off: number, idx: number, st: GenState): string | null {
  const bm = bitmanipSource(insn); // Zba/Zbb/Zbc/Zbs: encodings disjoint from the ones below
  if (bm !== null) return bm;
  const rd = (insn >> 6) & 62, rs1 = (insn >> 14) & 62, rs2 = (insn >> 19) & 62;
  const f3 = (insn >> 12) & 7, f7 = insn >>> 25;
  // Both words are computed before either is written (rd may equal rs1).
  const W = (lo: string, hi: string) => rd === 0 ? '' : `{const l=${lo},hh=${hi};x[${rd}]=l;x[${rd + 1}]=hh;}`;
  const W32 = (v: string) => rd === 0 ? '' : `{const v=${v};x[${rd}]=v;x[${rd + 1}]=v>>31;}`;
  const D32 = (A: string, B: string, e: string) => rd === 0 ? '' : `{const a=${A},b=${B};const v=${e};x[${rd}]=v;x[${rd + 1}]=v>>31;}`;
  const exitTrap = `{h.jitN=c+${idx + 1};return NaN;}`;
  switch ((insn >>> 2) & 31) {
    case 0x0d: return W(`${insn & 0xfffff000}`, `${insn >> 31}`);
    case 0x05: { const k = off + (insn & 0xfffff000); return rd === 0 ? '' : `{const v=pc+${k};x[${rd}]=v|0;x[${rd + 1}]=Math.floor(v/4294967296)|0;}`; }
    case 0x1b: { // JAL
      const imm = ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >> 20) & 1) << 11) | (((insn >> 21) & 0x3ff) << 1);
      st.ends = true;
      const link = rd === 0 ? '' : `{const l=pc+${off + len};x[${rd}]=l|0;x[${rd + 1}]=Math.floor(l/4294967296)|0;}`;
      return `${link}${goTo(off + imm, idx + 1, st)}`;
    }
    case 0x19: { // JALR
      if (f3 !== 0) return null;
      const imm = insn >> 20;
      st.ends = true;
      const link = rd === 0 ? '' : `{const l=pc+${off + len};x[${rd}]=l|0;x[${rd + 1}]=Math.floor(l/4294967296)|0;}`;
      return `{const a=x[${rs1}];const s=(a+${imm})|0;const lo=s&-2;const hi=(x[${rs1 + 1}]+${hiOf(imm)}+((s>>>0)<(a>>>0)?1:0))|0;` +
        `${link}h.jitN=c+${idx + 1};if(hi>=-2097152&&hi<2097152)return hi*4294967296+(lo>>>0);h.jumpTo(lo,hi);return NaN;}`;
    }
    case 0x18: { // BRANCH
      const imm = ((insn >> 31) << 12) | (((insn >> 7) & 1) << 11) | (((insn >> 25) & 63) << 5) | (((insn >> 8) & 15) << 1);
      const al = `x[${rs1}]`, ah = `x[${rs1 + 1}]`, bl = `x[${rs2}]`, bh = `x[${rs2 + 1}]`;
      let c: string;
      switch (f3) {
        case 0: c = `${al}===${bl}&&${ah}===${bh}`; break;
        case 1: c = `${al}!==${bl}||${ah}!==${bh}`; break;
        case 4: c = `${ah}<${bh}||(${ah}===${bh}&&(${al}>>>0)<(${bl}>>>0))`; break;
        case 5: c = `${ah}>${bh}||(${ah}===${bh}&&(${al}>>>0)>=(${bl}>>>0))`; break;
        case 6: c = `(${ah}>>>0)<(${bh}>>>0)||(${ah}===${bh}&&(${al}>>>0)<(${bl}>>>0))`; break;
        case 7: c = `(${ah}>>>0)>(${bh}>>>0)||(${ah}===${bh}&&(${al}>>>0)>=(${bl}>>>0))`; break;
        default: return null;
      }
      st.ends = true;
      return `if(${c})${goTo(off + imm, idx + 1, st)}${goTo(off + len, idx + 1, st)}`;
    }
    case 0x00: { // LOAD
      if (f3 === 7) return null;
      const imm = insn >> 20;
      const mask = (1 << (f3 & 3)) - 1;
      let rdv: string;
      switch (f3) {
        case 0: rdv = 'const v=m8[o];x[RD]=v;x[RD1]=v>>31;'; break;
        case 1: rdv = 'const v=m16[o>>1];x[RD]=v;x[RD1]=v>>31;'; break;
        case 2: rdv = 'const v=m32[o>>2];x[RD]=v;x[RD1]=v>>31;'; break;
        // An aligned LD is single-copy atomic: one 8-byte copy (mem64.ts), or two halves without it.
        case 3: rdv = F64_EXACT ? `xd[${rd >> 1}]=m64[o>>3];` : 'x[RD]=m32[o>>2];x[RD1]=m32[(o>>2)+1];'; break;
        case 4: rdv = 'x[RD]=mu8[o];x[RD1]=0;'; break;
        case 5: rdv = 'x[RD]=mu16[o>>1];x[RD1]=0;'; break;
        default: rdv = 'x[RD]=m32[o>>2];x[RD1]=0;'; break;
      }
      rdv = rdv.replace(/RD1/g, `${rd + 1}`).replace(/RD/g, `${rd}`);
      return `{const a=x[${rs1}];const vlo=(a+${imm})|0;const vhi=(x[${rs1 + 1}]+${hiOf(imm)}+((vlo>>>0)<(a>>>0)?1:0))|0;` +
        `const ti=lB+((vlo>>>12)&511);if(tag[ti]===vhi*1048576+(vlo>>>12)&&(vlo&${mask})===0){const o=toff[ti]+(vlo&4095);${rdv}}` +
        `else{h.pcCur=pc+${off};h.curInsn=${insn};h.curLen=${len};if(!rt.loadSlow(h,vlo,vhi,${f3},${rd}))${exitTrap}}` +
        `${rd === 0 ? 'x[0]=0;x[1]=0;' : ''}}`;
    }
    case 0x08: { // STORE
      if (f3 > 3) return null;
      const imm = ((insn >> 25) << 5) | ((insn >> 7) & 31);
      let wr: string;
      switch (f3) {
        case 0: wr = `m8[o]=x[${rs2}];`; break;
        case 1: wr = `m16[o>>1]=x[${rs2}];`; break;
        case 2: wr = `m32[o>>2]=x[${rs2}];`; break;
        default: wr = F64_EXACT ? `m64[o>>3]=xd[${rs2 >> 1}];` : `m32[o>>2]=x[${rs2}];m32[(o>>2)+1]=x[${rs2 + 1}];`; break;
      }
      return `{const a=x[${rs1}];const vlo=(a+${imm})|0;const vhi=(x[${rs1 + 1}]+${hiOf(imm)}+((vlo>>>0)<(a>>>0)?1:0))|0;` +
        `const ti=sB+((vlo>>>12)&511);if(tag[ti]===vhi*1048576+(vlo>>>12)&&(vlo&${(1 << f3) - 1})===0){const o=toff[ti]+(vlo&4095);${wr}}` +
        `else{h.pcCur=pc+${off};h.curInsn=${insn};h.curLen=${len};if(!rt.storeValue(h,vlo,vhi,${1 << f3},x[${rs2}],x[${rs2 + 1}]))${exitTrap}}}`;
    }
    case 0x04: { // OP-IMM
      const imm = insn >> 20, ih = hiOf(imm);
      const a = `x[${rs1}]`, ah = `x[${rs1 + 1}]`;
      switch (f3) {
        case 0: return rd === 0 ? '' : `{const a=${a};const lo=(a+${imm})|0;x[${rd + 1}]=(${ah}+${ih}+((lo>>>0)<(a>>>0)?1:0))|0;x[${rd}]=lo;}`;
        case 1: { if ((imm >> 6) !== 0) return null; return W(...shl(a, ah, imm & 63)); }
        case 2: return W(`(${ah}<${ih}||(${ah}===${ih}&&(${a}>>>0)<${imm >>> 0}))?1:0`, '0');
        case 3: return W(`((${ah}>>>0)<${(imm >> 31) >>> 0}||(${ah}===${ih}&&(${a}>>>0)<${imm >>> 0}))?1:0`, '0');
        case 4: return W(`${a}^${imm}`, `${ah}^${ih}`);
        case 6: return W(`${a}|${imm}`, `${ah}|${ih}`);
        case 7: return W(`${a}&${imm}`, `${ah}&${ih}`);
        default: {
          const f6 = insn >>> 26, sh = imm & 63;
          if (f6 === 0) return W(...shr(a, ah, sh, false));
          if (f6 === 0x10) return W(...shr(a, ah, sh, true));
          return null;
        }
      }
    }
    case 0x0c: { // OP
      const al = `x[${rs1}]`, ah = `x[${rs1 + 1}]`, bl = `x[${rs2}]`, bh = `x[${rs2 + 1}]`;
      if (rd === 0 && f7 !== 1) return (f7 === 0 || (f7 === 0x20 && (f3 === 0 || f3 === 5))) ? '' : null;
      if (f7 === 0) {
        switch (f3) {
          case 0: return `{const a=${al},b=${bl};const lo=(a+b)|0;x[${rd + 1}]=(${ah}+${bh}+((lo>>>0)<(a>>>0)?1:0))|0;x[${rd}]=lo;}`;
          case 1: return `{const sh=${bl}&63,a=${al},ah=${ah};if(sh===0){x[${rd}]=a;x[${rd + 1}]=ah;}else if(sh<32){x[${rd + 1}]=(ah<<sh)|(a>>>(32-sh));x[${rd}]=a<<sh;}else{x[${rd + 1}]=a<<(sh-32);x[${rd}]=0;}}`;
          case 2: return `{const r=(${ah}<${bh}||(${ah}===${bh}&&(${al}>>>0)<(${bl}>>>0)))?1:0;x[${rd}]=r;x[${rd + 1}]=0;}`;
          case 3: return `{const r=((${ah}>>>0)<(${bh}>>>0)||(${ah}===${bh}&&(${al}>>>0)<(${bl}>>>0)))?1:0;x[${rd}]=r;x[${rd + 1}]=0;}`;
          case 4: return `{const l=${al}^${bl},hh=${ah}^${bh};x[${rd}]=l;x[${rd + 1}]=hh;}`;
          case 5: return `{const sh=${bl}&63,a=${al},ah=${ah};if(sh===0){x[${rd}]=a;x[${rd + 1}]=ah;}else if(sh<32){x[${rd}]=(a>>>sh)|(ah<<(32-sh));x[${rd + 1}]=ah>>>sh;}else{x[${rd}]=ah>>>(sh-32);x[${rd + 1}]=0;}}`;
          case 6: return `{const l=${al}|${bl},hh=${ah}|${bh};x[${rd}]=l;x[${rd + 1}]=hh;}`;
          default: return `{const l=${al}&${bl},hh=${ah}&${bh};x[${rd}]=l;x[${rd + 1}]=hh;}`;
        }
      }
      if (f7 === 0x20 && f3 === 0) return `{const a=${al},b=${bl};const hh=(${ah}-${bh}-((a>>>0)<(b>>>0)?1:0))|0;x[${rd}]=(a-b)|0;x[${rd + 1}]=hh;}`;
      if (f7 === 0x20 && f3 === 5) return `{const sh=${bl}&63,a=${al},ah=${ah};if(sh===0){x[${rd}]=a;x[${rd + 1}]=ah;}else if(sh<32){x[${rd}]=(a>>>sh)|(ah<<(32-sh));x[${rd + 1}]=ah>>sh;}else{x[${rd}]=ah>>(sh-32);x[${rd + 1}]=ah>>31;}}`;
      // MUL inline (see int64.ts mul64: exact low word from Math.imul, high word of the 32x32
      // product from the rounded double product); the high forms and divisions call the runtime.
      if (f7 === 1 && f3 === 0) return rd === 0 ? '' : `{const a=${al},b=${bl},ah=${ah},bh=${bh};const lo=Math.imul(a,b);x[${rd + 1}]=(Math.round(((a>>>0)*(b>>>0)-(lo>>>0))*2.3283064365386963e-10)+Math.imul(a,bh)+Math.imul(ah,b))|0;x[${rd}]=lo;}`;
      if (f7 === 1) return `rt.mul(${f3},${al},${ah},${bl},${bh});${rd === 0 ? '' : `x[${rd}]=rt.r64[0];x[${rd + 1}]=rt.r64[1];`}`;
      return null;
    }
    case 0x06: { // OP-IMM-32
      const a = `x[${rs1}]`, imm = insn >> 20;
      if (f3 === 0) return W32(`(${a}+${imm})|0`);
      if (f3 === 1 && f7 === 0) return W32(`${a}<<${imm & 31}`);
      if (f3 === 5 && f7 === 0) return W32(`(${a}>>>${imm & 31})|0`);
      if (f3 === 5 && f7 === 0x20) return W32(`${a}>>${imm & 31}`);
      return null;
    }
    case 0x0e: { // OP-32
      const a = `x[${rs1}]`, b = `x[${rs2}]`;
      if (f7 === 0) {
        if (f3 === 0) return W32(`(${a}+${b})|0`);
        if (f3 === 1) return W32(`${a}<<(${b}&31)`);
        if (f3 === 5) return W32(`(${a}>>>(${b}&31))|0`);
        return null;
      }
      if (f7 === 0x20) {
        if (f3 === 0) return W32(`(${a}-${b})|0`);
        if (f3 === 5) return W32(`${a}>>(${b}&31)`);
        return null;
      }
      if (f7 === 1) {
        const A = `x[${rs1}]`, B = `x[${rs2}]`;
        switch (f3) {
          case 0: return W32(`Math.imul(${A},${B})`);
          case 4: return D32(A, B, 'b===0?-1:(a===-2147483648&&b===-1)?a:(a/b)|0');
          case 5: return D32(A, B, 'b===0?-1:((a>>>0)/(b>>>0))|0');
          case 6: return D32(A, B, 'b===0?a:(a===-2147483648&&b===-1)?0:(a%b)|0');
          case 7: return D32(A, B, 'b===0?a:((a>>>0)%(b>>>0))|0');
          default: return null;
        }
      }
      return null;
    }
  }
  return null;
}

function shl(a: string, ah: string, sh: number): [string, string] {
  if (sh === 0) return [a, ah];
  if (sh < 32) return [`${a}<<${sh}`, `(${ah}<<${sh})|(${a}>>>${32 - sh})`];
  return ['0', `${a}<<${sh - 32}`];
}
function shr(a: string, ah: string, sh: number, arith: boolean): [string, string] {
  if (sh === 0) return [a, ah];
  if (sh < 32) return [`(${a}>>>${sh})|(${ah}<<${32 - sh})`, `${ah}${arith ? '>>' : '>>>'}${sh}`];
  return [`${ah}${arith ? '>>' : '>>>'}${sh - 32}`, arith ? `${ah}>>31` : '0'];
}

const lenBuf = new Int32Array(1);

/**
 * Translate the block at machine offset `o` (its page ends at pageEnd) into a function
 * closing over `env` (BlockCache's memory views and runtime). Returns null when the first
 * instruction is not translatable (the interpreter runs it).
 */
export function compileBlock(mu16: Uint16Array, o: number, pageEnd: number, epoch: number, env: unknown[]): Block | null {
  const parts: string[] = [];
  let off = 0, n = 0;
  const st: GenState = { ends: false, loops: false };
  while (n < MAX_BLOCK) {
    const insn = fetchAt(mu16, o + off, pageEnd, lenBuf);
    if (insn === 0) break;
    const len = lenBuf[0];
    const code = gen(insn, len, off, n, st);
    if (code === null) break;
    parts.push(code);
    n++;
    off += len;
    if (st.ends) break;
  }
  if (n === 0) return null;
  if (!st.ends) parts.push(`h.jitN=c+${n};return pc+${off};`);
  // Each ALU result is written before the next instruction reads registers, so the
  // statements run in program order exactly as the interpreter would.
  const body = parts.join('\n');
  const uses = (v: string) => body.includes(v);
  const head = 'const x=h.x' + (uses('xd[') ? ',xd=h.xd' : '') + (uses('tag[') ? ',tag=h.tlbTag,toff=h.tlbOff' : '') + (uses('lB+') ? ',lB=h.lBase' : '') +
    (uses('sB+') ? ',sB=h.sBase' : '') + ';let c=0;' + (st.loops ? `const lim=budget-${n};` : '');
  const src = `"use strict";return function(h,pc,budget){${head}${st.loops ? `for(;;){${body}}` : body}};`;
  const factory = new Function('m8', 'mu8', 'm16', 'mu16', 'm32', 'm64', 'rt', src) as (...a: unknown[]) => BlockFn;
  return { n, run: factory(...env), off: o, src: mu16.slice(o >> 1, (o + off) >> 1), epoch };
}
