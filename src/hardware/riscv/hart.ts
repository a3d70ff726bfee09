// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V hart: RV64IMAC (+ F/D through the FpUnit) with Zicsr, Zifencei, Zicntr,
// Zihintpause and Zba/Zbb/Zbc/Zbs (bitmanip.ts), M/S/U privilege, Sv39/48/57, PMP and Sstc. step(budget) interprets up to
// `budget` instructions and returns an EXIT_* reason (hart-api.ts). The interpreter is one
// function with one switch per major opcode; the TLB hit path for fetch, load and store is
// inline; everything rare (CSRs, traps, misses, MMIO, AMOs) is in the other files here.
// Hot basic blocks are translated to JS functions (jit.ts) and entered at branch targets.
// Spec: riscv-unpriv-20240411, riscv-priv-20240411. Longer than 600 lines only because the
// dispatch switch is. Leaves out: H, V and the other optional extensions.
import { FP_ILLEGAL, FP_WROTE_F, FpUnit } from './fpu/fp-unit.ts';
import type { IrqLine } from '../bus/mmio.ts';
import { amo } from './amo.ts';
import { execBitmanip } from './bitmanip.ts';
import { csrOp, fixSd } from './csr.ts';
import {
  EXIT_BUDGET, EXIT_REQUESTED, EXIT_WFI, type HartClock, type PhysTranslation,
} from './hart-api.ts';
import * as S from './hart-state.ts';
import { divOp, divuOp, mul64, mulh64, mulhsu64, mulhu64, r64 } from './int64.ts';
import { fetchSlow, fpLoad, fpStore, loadSlow, storeValue } from './mem-access.ts';
import { F64_EXACT } from './mem64.ts';
import { CTX_M, CTX_S, CTX_SUM, CTX_U, TLB_ENTRIES, TLB_MASK, TLB_N } from './mmu.ts';
import { Pmp } from './pmp.ts';
import { BlockCache, blockValid, type JitRuntime } from './jit.ts';
import { RVC_TABLE } from './rvc.ts';
import { effectiveMip, pendingInterrupt, takeTrap, toPc, pcFits, trapReturn } from './trap.ts';

export interface HartOptions {
  hartId: number;
  phys: PhysTranslation;
  clock: HartClock;
  /** A hypervisor vCPU: no M-mode, starts in S, ecall from S exits (see docs/design/hart.md). */
  guestMode?: boolean;
  /** The pc after reset(). */
  resetPc: number;
  /** Number of PMP entries (0, 16 or 64; default 64 on a bare hart, 0 in guest mode). */
  pmpEntries?: number;
  /** Adopt an existing state block (e.g. restored); default: a new one. */
  state?: SharedArrayBuffer;
  /**
   * The largest virtual-address width satp accepts: 39, 48 or 57 (default 57). A smaller
   * value makes satp ignore the larger modes, as a hart without them does (e.g. to match a
   * device tree's mmu-type = "riscv,sv39").
   */
  maxVaBits?: 39 | 48 | 57;
  /** Translate hot basic blocks to JavaScript functions (default true; see docs/design/hart.md). */
  jit?: boolean;
  /** Executions of a branch target before its block is translated (default 16384). */
  jitThreshold?: number;
  /**
   * Translations to share with other harts running code from the same memory (a board's
   * harts, a domain's vCPUs; see hartBlockCache()); default: the hart's own.
   */
  blockCache?: BlockCache;
}

const TWO32 = 4294967296;
// Module-local copies of everything the interpreter loop touches: a loader may turn imported
// bindings into getter calls (tsx does), which costs several percent in the hot loop.
const TLBM = TLB_MASK;
const MSTATUS_ = S.MSTATUS, MSTATUS_FS_ = S.MSTATUS_FS, FCSR_ = S.FCSR;
const R64 = r64, RVC = RVC_TABLE;
const mul64_ = mul64, mulh64_ = mulh64, mulhsu64_ = mulhsu64, mulhu64_ = mulhu64, divOp_ = divOp, divuOp_ = divuOp;
const loadSlow_ = loadSlow, storeValue_ = storeValue, fetchSlow_ = fetchSlow, amo_ = amo, bitmanip_ = execBitmanip;
/** Aligned LD/SD as one 8-byte copy (single-copy atomic; see mem64.ts). */
const LDSD64 = F64_EXACT;
const EXIT_REQ_ = S.EXIT_REQ, EXIT_REQ_FLUSH_ = S.EXIT_REQ_FLUSH, RUNNER_ = S.RUNNER;
/** Executions of a branch target before its block is translated; and "not translatable". */
const JIT_THRESHOLD = 16384;
const JIT_NEVER = -0x40000000;
/** M-extension operation k (funct3) into r64: a switch of direct calls, no function table. */
function mulOp(k: number, al: number, ah: number, bl: number, bh: number): void {
  switch (k) {
    case 0: mul64_(al, ah, bl, bh); break;
    case 1: mulh64_(al, ah, bl, bh); break;
    case 2: mulhsu64_(al, ah, bl, bh); break;
    case 3: mulhu64_(al, ah, bl, bh); break;
    case 4: divOp_(al, ah, bl, bh, false); break;
    case 5: divuOp_(al, ah, bl, bh, false); break;
    case 6: divOp_(al, ah, bl, bh, true); break;
    default: divuOp_(al, ah, bl, bh, true); break;
  }
}
/** What translated blocks call out to. */
const JIT_RT: JitRuntime = {
  loadSlow: loadSlow as JitRuntime['loadSlow'],
  storeValue: storeValue as JitRuntime['storeValue'],
  mul: mulOp,
  r64,
};

/** A block cache for harts that run code from `memory` (pass it as HartOptions.blockCache). */
export function hartBlockCache(memory: ArrayBufferLike): BlockCache {
  return new BlockCache(memory, JIT_RT);
}
/** Instructions between checks of interrupts, the exit request and the Sstc timer. */
const CHUNK = 1024;

export class Hart {
  readonly hartId: number;
  readonly phys: PhysTranslation;
  readonly clock: HartClock;
  readonly guestMode: boolean;
  readonly resetPc: number;
  /** The largest satp MODE accepted (8 = Sv39, 9 = Sv48, 10 = Sv57). */
  readonly maxSatpMode: number;
  /** The shared state block (layout in hart-state.ts). */
  readonly state: SharedArrayBuffer;
  /** The whole state block as words; x and f are views into it. */
  readonly s: Int32Array;
  readonly x: Int32Array;
  readonly f: Int32Array;
  readonly fpu: FpUnit;
  readonly pmp: Pmp | null;
  // Machine memory views (created once).
  readonly m8: Int8Array;
  readonly mu8: Uint8Array;
  readonly m16: Int16Array;
  readonly mu16: Uint16Array;
  readonly m32: Int32Array;
  /** Machine memory as doubles: aligned 8-byte accesses in one load or store (raw bits only). */
  readonly m64: Float64Array;
  /** x0..x31 as doubles over the same words as `x`: 8-byte register <-> memory copies. */
  readonly xd: Float64Array;
  /** This object's number among the Hart objects over `state` (state[RUNNER] names the last user). */
  private readonly objId: number;
  /** TLB: tag = virtual page number (NaN = empty); off = machine offset of the frame. */
  readonly tlbTag = new Float64Array(TLB_ENTRIES);
  readonly tlbOff = new Int32Array(TLB_ENTRIES);
  private readonly superLo = new Float64Array(16);
  private readonly superHi = new Float64Array(16);
  private superCount = 0;

  // ── Internal state shared with the helper modules (not for the owner) ──
  /** Current privilege (mirrored in state[PRIV]). */
  priv = S.PRV_M;
  /** pc of the instruction being executed; helpers set it to the next pc on a trap. */
  pcCur = 0;
  /** A pc that does not fit a double (|pc| >= 2^53): its words; the next fetch faults. */
  farPc = false;
  farLo = 0;
  farHi = 0;
  /** Set by a helper to end step() with this EXIT_* code; -1 = keep running. */
  exitCode = -1;
  /** TLB contexts for fetch and data (CTX_*), and the TLB index bases derived from them. */
  fCtx = CTX_M;
  dCtx = CTX_M;
  fBase = 0;
  lBase = 0;
  sBase = 0;
  /** Physical address of the last XL_MMIO translation. */
  mmioPa = 0;
  /** Loaded value of loadValue(). */
  ldLo = 0;
  ldHi = 0;
  /** Fetch page cache set by fetchSlow (NaN = none). */
  fPage = NaN;
  fOff = 0;
  fetchFault = false;
  /** The instruction being executed (for EXIT_PHYS_FAULT details). */
  curInsn = 0;
  curLen = 0;
  /** Instructions executed since construction, and exceptions among them (not retired). */
  icountNow = 0;
  notRetired = 0;
  private cycleBase = 0;
  private instretBase = 0;
  ctrLo = 0;
  ctrHi = 0;
  /** Block translation on? Translated blocks (null when off; maybe shared with other harts). */
  readonly jit: boolean;
  private readonly jitThreshold: number;
  readonly blocks: BlockCache | null;
  /** Instructions the last translated block executed (set by the block). */
  jitN = 0;

  constructor(o: HartOptions) {
    this.hartId = o.hartId;
    this.phys = o.phys;
    this.clock = o.clock;
    this.guestMode = o.guestMode === true;
    this.resetPc = o.resetPc;
    this.jit = o.jit ?? true;
    this.jitThreshold = Math.max(1, o.jitThreshold ?? JIT_THRESHOLD);
    this.maxSatpMode = o.maxVaBits === 39 ? 8 : o.maxVaBits === 48 ? 9 : 10;
    this.state = o.state ?? S.newHartState();
    this.s = new Int32Array(this.state, 0, S.HART_STATE_WORDS);
    this.x = new Int32Array(this.state, S.X * 4, 64);
    this.xd = new Float64Array(this.state, S.X * 4, 32);
    this.objId = Atomics.add(this.s, S.OBJ_SEQ, 1) + 1;
    this.f = new Int32Array(this.state, S.F * 4, 64);
    this.fpu = new FpUnit(this.x, this.f);
    const n = o.pmpEntries ?? (this.guestMode ? 0 : 64);
    this.pmp = n > 0 ? new Pmp(this.s, Math.min(n, 64)) : null;
    const mem = o.phys.memory;
    this.m8 = new Int8Array(mem);
    this.mu8 = new Uint8Array(mem);
    this.m16 = new Int16Array(mem, 0, mem.byteLength >> 1);
    this.mu16 = new Uint16Array(mem, 0, mem.byteLength >> 1);
    this.m32 = new Int32Array(mem, 0, mem.byteLength >> 2);
    this.m64 = new Float64Array(mem, 0, mem.byteLength >> 3);
    this.blocks = !this.jit ? null : o.blockCache ?? hartBlockCache(mem);
    if (o.state === undefined) this.reset();
    else this.resume();
  }

  // ─── Owner API ──────────────────────────────────────────────────────────────────────

  /** Architectural reset: registers zero, pc = resetPc, M-mode (S-mode in guest mode). */
  reset(): void {
    const s = this.s;
    // The instruction count survives a reset (it counts the hart's life, whoever runs it).
    const seq = Atomics.load(s, S.OBJ_SEQ), icLo = s[S.ICOUNT], icHi = s[S.ICOUNT + 1];
    s.fill(0);
    s[S.OBJ_SEQ] = seq;
    this.icountNow = (icHi >>> 0) * TWO32 + (icLo >>> 0);
    s[S.MHARTID] = this.hartId;
    s[S.RESV_OFF] = -1;
    // menvcfg.ADUE = 1: hardware A/D updates (QEMU's default); guest mode also has STCE.
    s[S.MENVCFG + 1] = (1 << 29) | (this.guestMode ? 1 << 31 : 0);
    if (this.guestMode) {
      s[S.MEDELEG] = S.MEDELEG_MASK & ~(1 << S.CAUSE_ECALL_S);
      s[S.MIDELEG] = S.S_INTS;
      s[S.MCOUNTEREN] = -1;
    }
    fixSd(s);
    this.pmp?.rebuild();
    this.flushICache(); // (translations may be shared: revalidate rather than drop them)
    this.setPc(this.resetPc);
    this.setPriv(this.guestMode ? S.PRV_S : S.PRV_M);
    this.cycleBase = this.icountNow;
    this.instretBase = this.icountNow - this.notRetired;
    this.writeIcount();
    this.flushTlb();
  }

  // ─── Hand-off between Hart objects over one state block (docs/design/hart.md) ──────

  /**
   * Make this object current for its state block, which another Hart object (on this or
   * another thread) may have run or changed since this one last did: re-read the privilege
   * and the PMP, take over the instruction count and the counters' bases, drop the TLB and
   * fetch page, and start a new FENCE.I epoch of the translated code (the other object's
   * FENCE.Is went to its own block cache). Also acknowledges pending flush requests (it has
   * just flushed everything). step() calls it itself when state[RUNNER] names another
   * object; an owner calls it after changing the block behind this object's back (CSRs or
   * priv written as raw words).
   */
  resume(): void {
    const s = this.s;
    const bits = Atomics.load(s, S.FLUSH_REQ);
    this.pmp?.rebuild();
    this.icountNow = (s[S.ICOUNT + 1] >>> 0) * TWO32 + (s[S.ICOUNT] >>> 0);
    this.cycleBase = this.icountNow;
    this.instretBase = this.icountNow - this.notRetired;
    this.farPc = false;
    this.setPriv(s[S.PRIV]);
    this.flushTlb();
    this.flushICache();
    if (bits !== 0) Atomics.and(s, S.FLUSH_REQ, ~bits);
  }

  /**
   * Leave everything architectural in the state block, for another Hart object to continue:
   * the cycle and instret counters and the instruction count (pc, priv, registers and CSRs are
   * there already). step() ends with the same write, so this is cheap and idempotent; call it
   * after step() returns, on the thread that ran it, before handing the vCPU over.
   */
  park(): void {
    this.syncCounters();
  }

  private writeIcount(): void {
    const n = this.icountNow;
    this.s[S.ICOUNT] = n % TWO32 | 0;
    this.s[S.ICOUNT + 1] = Math.floor(n / TWO32) | 0;
    Atomics.store(this.s, S.RUNNER, this.objId);
  }

  /**
   * Ask the thread running this hart to flush (FLUSH_TLB | FLUSH_ICACHE from hart-state.ts);
   * safe from any thread. The hart applies the bits at its next check of the exit request
   * (within 1024 instructions while it runs, at once at its next step() otherwise) without
   * exiting; call requestExit() too to have step() return. flushPending() shows which bits
   * are not applied yet.
   */
  requestFlush(bits: number): void {
    Atomics.or(this.s, S.FLUSH_REQ, bits);
    Atomics.or(this.s, S.EXIT_REQ, S.EXIT_REQ_FLUSH);
  }

  /** Flush-request bits not yet applied by the hart (0: every request acknowledged). */
  flushPending(): number {
    return Atomics.load(this.s, S.FLUSH_REQ);
  }

  /** Apply and acknowledge the pending flush requests (on the hart's own thread). */
  private applyFlushRequests(): void {
    const bits = Atomics.load(this.s, S.FLUSH_REQ);
    if (bits === 0) return;
    if ((bits & S.FLUSH_TLB) !== 0) this.flushTlb();
    if ((bits & S.FLUSH_ICACHE) !== 0) this.flushICache();
    Atomics.and(this.s, S.FLUSH_REQ, ~bits);
  }

  /** Invalidate every cached translation (call after changing what lookup() returns). */
  flushTlb(): void {
    this.tlbTag.fill(NaN);
    this.superCount = 0;
    this.fPage = NaN;
  }

  /**
   * Start a new FENCE.I epoch: translated blocks (of every hart sharing them) are checked
   * against memory before their next use and dropped if the code changed. FENCE.I does this;
   * an owner must call it after writing code into memory the hart may already have run (e.g.
   * loading a new image, or remote FENCE.I requests from SBI).
   */
  flushICache(): void {
    if (this.blocks !== null) this.blocks.epoch++;
  }

  /** Ask a running step() to return EXIT_REQUESTED soon (safe from any thread). */
  requestExit(): void {
    Atomics.or(this.s, S.EXIT_REQ, S.EXIT_REQ_EXIT);
  }

  /**
   * An interrupt input: bit is the mip bit number (IRQ_MEI, IRQ_SEI, IRQ_MTI, IRQ_MSI for
   * device wires; IRQ_SSI, IRQ_STI for a hypervisor's injection in guest mode). Level
   * triggered; backed by an Atomics word in the state block so any thread may drive it.
   * SSIP is a software-clearable bit (the guest clears it through sip).
   */
  irqLine(bit: number): IrqLine {
    const s = this.s, m = 1 << bit;
    const word = bit === S.IRQ_SSI ? S.MIP_SW : S.IRQ_LINES;
    return {
      set(level: boolean): void {
        if (level) Atomics.or(s, word, m); else Atomics.and(s, word, ~m);
      },
    };
  }

  getXLo(i: number): number { return this.x[2 * i]; }
  getXHi(i: number): number { return this.x[2 * i + 1]; }
  /** x[i] as a JS number (exact while |value| < 2^53; unsigned=true reads it unsigned). */
  getX(i: number, unsigned = false): number {
    const hi = this.x[2 * i + 1];
    return (unsigned ? hi >>> 0 : hi) * TWO32 + (this.x[2 * i] >>> 0);
  }
  setX(i: number, lo: number, hi: number): void {
    if (i === 0) return;
    this.x[2 * i] = lo; this.x[2 * i + 1] = hi;
  }
  /** Set x[i] from a JS number (an integer in -2^63..2^64). */
  setXNum(i: number, v: number): void {
    this.setX(i, v % TWO32 | 0, Math.floor(v / TWO32) | 0);
  }
  getPcLo(): number { return this.s[S.PC]; }
  getPcHi(): number { return this.s[S.PC + 1]; }
  /** pc as a JS number (signed 64-bit value). */
  getPc(): number { return toPc(this.s[S.PC], this.s[S.PC + 1]); }
  setPc(pc: number): void {
    this.s[S.PC] = pc % TWO32 | 0;
    this.s[S.PC + 1] = Math.floor(pc / TWO32) | 0;
  }
  setPcWords(lo: number, hi: number): void { this.s[S.PC] = lo; this.s[S.PC + 1] = hi; }
  getPriv(): number { return this.priv; }

  /** Set the privilege level (also used by trap entry and return). */
  setPriv(p: number): void {
    if (this.guestMode && p === S.PRV_M) p = S.PRV_S;
    this.priv = p;
    this.s[S.PRIV] = p;
    this.s[RUNNER_] = this.objId; // another Hart object over this block must re-read it
    this.updateContexts();
  }

  /** HSM: is the hart stopped? */
  isStopped(): boolean { return Atomics.load(this.s, S.RUN_STATE) !== 0; }
  /** HSM: mark the hart stopped (step() then returns EXIT_REQUESTED at once). */
  stop(): void { Atomics.store(this.s, S.RUN_STATE, 1); }
  /**
   * HSM hart_start: S-mode at `pc` with a0 = hartid, a1 = opaque, satp = 0, SIE = 0.
   * Spec: riscv-sbi-2.0 §9.1 "Function: Hart start (FID #0)".
   */
  start(pc: number, opaque: number): void {
    const s = this.s;
    s[S.SATP] = 0; s[S.SATP + 1] = 0;
    s[S.MSTATUS] &= ~S.MSTATUS_SIE;
    this.setXNum(10, this.hartId);
    this.setXNum(11, opaque);
    this.setPc(pc);
    this.setPriv(S.PRV_S);
    this.flushTlb();
    Atomics.store(s, S.RUN_STATE, 0);
  }

  /** The Sstc deadline in timebase ticks (Infinity when none is armed). For an owner's WFI sleep. */
  timerDeadline(): number {
    const s = this.s;
    if (s[S.MENVCFG + 1] >= 0) return Infinity;
    return (s[S.STIMECMP + 1] >>> 0) * TWO32 + (s[S.STIMECMP] >>> 0);
  }

  /** Effective mip (software bits, device lines, Sstc). */
  mipValue(): number { return effectiveMip(this); }

  /** Instructions executed so far (for MIPS figures). */
  get instructions(): number { return this.icountNow; }

  // ─── Internal helpers used by csr.ts, trap.ts, mmu.ts ──────────────────────────────

  /** Recompute the TLB contexts after a privilege or mstatus change. */
  updateContexts(): void {
    const ms = this.s[S.MSTATUS], p = this.priv;
    const fc = p === S.PRV_M ? CTX_M : p === S.PRV_S ? CTX_S : CTX_U;
    let dp = p;
    if (p === S.PRV_M && (ms & S.MSTATUS_MPRV)) dp = (ms >> 11) & 3;
    const dc = dp === S.PRV_M ? CTX_M : dp === S.PRV_U ? CTX_U : (ms & S.MSTATUS_SUM) ? CTX_SUM : CTX_S;
    this.fCtx = fc; this.dCtx = dc;
    this.fBase = fc * 3 * TLB_N;
    this.lBase = (dc * 3 + 1) * TLB_N;
    this.sBase = (dc * 3 + 2) * TLB_N;
    this.fPage = NaN;
  }

  /** Jump to the 64-bit address (lo, hi); a pc beyond 2^53 faults on the next fetch. */
  jumpTo(lo: number, hi: number): void {
    if (pcFits(hi)) { this.farPc = false; this.pcCur = toPc(lo, hi); }
    else { this.farPc = true; this.farLo = lo; this.farHi = hi; this.pcCur = NaN; }
  }

  /**
   * Record that a TLB entry came from a superpage of 2^(9*level) pages around tag. The TLB
   * holds 4 KiB pieces of superpages, so an address-specific SFENCE.VMA that hits a
   * superpage must drop them all (a full flush). Ranges are kept at the next level's
   * alignment (a 2 MiB page records its 1 GiB region) so that a kernel's linear map of many
   * superpages stays a few ranges, while fences of user addresses elsewhere stay cheap.
   */
  noteSuperpage(tag: number, level: number): void {
    const span = Math.pow(2, 9 * (level + 1)), lo = Math.floor(tag / span) * span;
    for (let i = 0; i < this.superCount; i++) if (lo >= this.superLo[i] && lo < this.superHi[i]) return;
    if (this.superCount === 16) { this.superLo[0] = -Infinity; this.superHi[0] = Infinity; return; }
    this.superLo[this.superCount] = lo;
    this.superHi[this.superCount++] = lo + span;
  }

  /** SFENCE.VMA for one virtual address (or all when all = true). ASIDs are not kept. */
  sfence(vlo: number, vhi: number, all: boolean): void {
    if (all) { this.flushTlb(); return; }
    const tag = vhi * 1048576 + (vlo >>> 12);
    for (let i = 0; i < this.superCount; i++) {
      if (tag >= this.superLo[i] && tag < this.superHi[i]) { this.flushTlb(); return; }
    }
    const k = (vlo >>> 12) & TLB_MASK;
    for (let set = 0; set < 12; set++) {
      const idx = set * TLB_N + k;
      if (this.tlbTag[idx] === tag) this.tlbTag[idx] = NaN;
    }
    this.fPage = NaN;
  }

  /** Mark FP state dirty (mstatus.FS = Dirty, SD = 1). */
  fsDirty(): void {
    this.s[S.MSTATUS] |= S.FS_DIRTY;
    this.s[S.MSTATUS + 1] |= S.MSTATUS_HI_SD;
  }

  /** Current value of mcycle (which = MCYCLE) or minstret into ctrLo/ctrHi. */
  readCounter(which: number): void {
    const s = this.s;
    const inhibit = (s[S.MCOUNTINHIBIT] >> (which === S.MCYCLE ? 0 : 2)) & 1;
    const delta = inhibit ? 0 : which === S.MCYCLE ? this.icountNow - this.cycleBase
      : this.icountNow - this.notRetired - this.instretBase;
    const sum = (s[which] >>> 0) + delta;
    this.ctrLo = sum % TWO32 | 0;
    this.ctrHi = (s[which + 1] + Math.floor(sum / TWO32)) | 0;
  }

  writeCounter(which: number, lo: number, hi: number): void {
    this.s[which] = lo; this.s[which + 1] = hi;
    if (which === S.MCYCLE) this.cycleBase = this.icountNow;
    else this.instretBase = this.icountNow - this.notRetired;
  }

  /** Fold the running counts into the mcycle/minstret words of the state block. */
  syncCounters(): void {
    this.readCounter(S.MCYCLE); this.writeCounter(S.MCYCLE, this.ctrLo, this.ctrHi);
    this.readCounter(S.MINSTRET); this.writeCounter(S.MINSTRET, this.ctrLo, this.ctrHi);
    this.writeIcount();
  }

  /** The one out-of-line landing for rare outcomes of an instruction; returns the next pc. */
  private slowExit(kind: number, pc: number, bits: number): number {
    if (kind === 1) this.illegal(pc, bits);
    this.x[0] = 0; this.x[1] = 0;
    return this.pcCur;
  }

  private illegal(pc: number, bits: number): void {
    this.pcCur = pc;
    takeTrap(this, false, S.CAUSE_ILLEGAL_INSN, bits, 0);
  }

  // ─── The interpreter ───────────────────────────────────────────────────────────────

  /** Run up to `budget` instructions; returns EXIT_*. */
  step(budget: number): number {
    const s = this.s;
    if (Atomics.load(s, S.RUN_STATE) !== 0) return EXIT_REQUESTED;
    if (s[RUNNER_] !== this.objId) this.resume();
    const x = this.x, xd = this.xd, m64 = this.m64;
    const m8 = this.m8, mu8 = this.mu8, m16 = this.m16, mu16 = this.mu16, m32 = this.m32;
    const tag = this.tlbTag, toff = this.tlbOff;
    const rvc = RVC;
    const bc = this.blocks, jitThreshold = this.jitThreshold;
    const blocks = bc === null ? [] : bc.blocks;
    this.exitCode = -1;
    this.jumpTo(s[S.PC], s[S.PC + 1]);
    let pc = this.pcCur;
    let remaining = budget;
    outer: while (remaining > 0) {
      if (Atomics.load(s, EXIT_REQ_) !== 0) {
        const r = Atomics.exchange(s, EXIT_REQ_, 0);
        if ((r & EXIT_REQ_FLUSH_) !== 0) this.applyFlushRequests();
        if ((r & ~EXIT_REQ_FLUSH_) !== 0) { this.exitCode = EXIT_REQUESTED; break; }
      }
      const irq = pendingInterrupt(this);
      if (irq >= 0) {
        this.pcCur = pc;
        takeTrap(this, true, irq, 0, 0);
        pc = this.pcCur;
        if (this.exitCode >= 0) break;
      }
      const chunk = remaining < CHUNK ? remaining : CHUNK;
      let left = chunk;
      const lB = this.lBase, sB = this.sBase, fB = this.fBase;
      let fPage = this.fPage, fOff = this.fOff; // fetch page cache (VA of the page, its frame offset)
      // Translated blocks of the current code page (null: translation off or no page).
      let jt = bc !== null && fPage === fPage ? bc.table(fOff) : null;
      let jumped = true; // at a branch target: look for a translated block
      const icBase = this.icountNow;
      inner: while (left > 0) {
        left--;
        // ── fetch: one halfword, a second only for a 32-bit instruction (no alignment branch) ──
        let insn: number, raw: number, len = 4;
        const po = pc - fPage;
        if (po >= 0 && po < 4094) {
          const hw = (fOff + po) >> 1;
          if (jumped && jt !== null) {
            jumped = false;
            const e = jt[hw & 2047];
            if (e > 0) {
              const b = blocks[e], epoch = bc!.epoch;
              if (b.epoch !== epoch) {
                if (blockValid(b, mu16)) b.epoch = epoch;
                else { jt[hw & 2047] = 0; bc!.drop(e); }
              }
              if (b.n <= left + 1 && b.epoch === epoch) {
                // The block runs at most left + 1 instructions (this one is counted already).
                const npc = b.run(this, pc, left + 1);
                left -= this.jitN - 1;
                if (npc === npc) { pc = npc; jumped = true; continue; }
                // a trap (or a jump beyond 2^53) inside the block
                pc = this.pcCur;
                break inner;
              }
            } else if (e > JIT_NEVER) {
              if (e > -jitThreshold) jt[hw & 2047] = e - 1;
              else jt[hw & 2047] = bc!.add(hw << 1, fOff + 4096) || JIT_NEVER;
            }
          }
          raw = mu16[hw];
          if ((raw & 3) === 3) raw |= mu16[hw + 1] << 16;
        } else {
          // New code page: refill the fetch page cache straight from the fetch TLB if it
          // can; otherwise the slow path (miss, straddling instruction, MMIO, far pc).
          const vlo = pc | 0, vhi = Math.floor(pc / TWO32) | 0, pgo = vlo & 4095;
          const ti = fB + ((vlo >>> 12) & TLBM);
          if (pgo < 4094 && pc === pc && tag[ti] === vhi * 1048576 + (vlo >>> 12)) { // (NaN: a far pc)
            fPage = pc - pgo; fOff = toff[ti];
            this.fPage = fPage; this.fOff = fOff;
            jt = bc !== null ? bc.table(fOff) : null;
            jumped = true;
            left++;
            continue;
          }
          this.pcCur = pc;
          this.icountNow = icBase + (chunk - left);
          raw = fetchSlow_(this, pc);
          if (this.fetchFault) { pc = this.pcCur; break inner; }
          fPage = this.fPage; fOff = this.fOff;
          jt = bc !== null && fPage === fPage ? bc.table(fOff) : null;
        }
        // raw keeps the fetched bits for mtval; 16-bit instructions run as their expansion.
        if ((raw & 3) !== 3) { insn = rvc[raw]; len = 2; } else insn = raw;
        const rd = (insn >> 6) & 62, rs1 = (insn >> 14) & 62, rs2 = (insn >> 19) & 62;
        // Rare outcomes leave the switch with `bad` set and are handled at one place below,
        // which keeps the number of never-executed sites (each a deoptimization) small.
        let bad = 0;
        dispatch: switch (insn === 0 ? -1 : (insn >>> 2) & 31) {
          case 0x0d: // LUI
            x[rd] = insn & 0xfffff000; x[rd + 1] = insn >> 31;
            break;
          case 0x05: { // AUIPC
            const v = pc + (insn & 0xfffff000);
            x[rd] = v | 0; x[rd + 1] = Math.floor(v / TWO32) | 0;
            break;
          }
          case 0x1b: { // JAL
            const imm = ((insn >> 31) << 20) | (insn & 0xff000) | (((insn >> 20) & 1) << 11) | (((insn >> 21) & 0x3ff) << 1);
            if (rd !== 0) { const l = pc + len; x[rd] = l | 0; x[rd + 1] = Math.floor(l / TWO32) | 0; }
            pc += imm;
            jumped = true;
            continue;
          }
          case 0x19: { // JALR
            if (((insn >> 12) & 7) !== 0) { bad = 1; break dispatch; }
            const imm = insn >> 20, a = x[rs1];
            const lo = (a + imm) & ~1;
            const hi = (x[rs1 + 1] + (imm >> 31) + (((a + imm) >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
            if (rd !== 0) { const l = pc + len; x[rd] = l | 0; x[rd + 1] = Math.floor(l / TWO32) | 0; }
            if (hi >= -0x200000 && hi < 0x200000) { pc = hi * TWO32 + (lo >>> 0); jumped = true; continue; }
            this.jumpTo(lo, hi);
            pc = NaN;
            continue;
          }
          case 0x18: { // BRANCH
            const al = x[rs1], ah = x[rs1 + 1], bl = x[rs2], bh = x[rs2 + 1];
            let t: boolean;
            switch ((insn >> 12) & 7) {
              case 0: t = al === bl && ah === bh; break;
              case 1: t = al !== bl || ah !== bh; break;
              case 4: t = ah < bh || (ah === bh && (al >>> 0) < (bl >>> 0)); break;
              case 5: t = ah > bh || (ah === bh && (al >>> 0) >= (bl >>> 0)); break;
              case 6: t = (ah >>> 0) < (bh >>> 0) || (ah === bh && (al >>> 0) < (bl >>> 0)); break;
              case 7: t = (ah >>> 0) > (bh >>> 0) || (ah === bh && (al >>> 0) >= (bl >>> 0)); break;
              default: { bad = 1; break dispatch; }
            }
            if (t) {
              pc += ((insn >> 31) << 12) | (((insn >> 7) & 1) << 11) | (((insn >> 25) & 63) << 5) | (((insn >> 8) & 15) << 1);
              jumped = true;
              continue;
            }
            break;
          }
          case 0x00: { // LOAD
            const imm = insn >> 20, a = x[rs1];
            const vlo = (a + imm) | 0;
            const vhi = (x[rs1 + 1] + (imm >> 31) + ((vlo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
            const f3 = (insn >> 12) & 7;
            const ti = lB + ((vlo >>> 12) & TLBM);
            if (tag[ti] === vhi * 1048576 + (vlo >>> 12) && (vlo & ((1 << (f3 & 3)) - 1)) === 0) {
              const o = toff[ti] + (vlo & 4095);
              switch (f3) {
                case 0: { const v = m8[o]; x[rd] = v; x[rd + 1] = v >> 31; break; }
                case 1: { const v = m16[o >> 1]; x[rd] = v; x[rd + 1] = v >> 31; break; }
                case 2: { const v = m32[o >> 2]; x[rd] = v; x[rd + 1] = v >> 31; break; }
                case 3: // Spec: riscv-unpriv-20240411 §2.6: an aligned LD is single-copy atomic.
                  if (LDSD64) xd[rd >> 1] = m64[o >> 3];
                  else { x[rd] = m32[o >> 2]; x[rd + 1] = m32[(o >> 2) + 1]; }
                  break;
                case 4: x[rd] = mu8[o]; x[rd + 1] = 0; break;
                case 5: x[rd] = mu16[o >> 1]; x[rd + 1] = 0; break;
                case 6: x[rd] = m32[o >> 2]; x[rd + 1] = 0; break;
                default: { bad = 1; break dispatch; }
              }
            } else {
              if (f3 === 7) { bad = 1; break dispatch; }
              this.pcCur = pc; this.curInsn = insn; this.curLen = len;
              if (!loadSlow_(this, vlo, vhi, f3, rd)) { bad = 2; break dispatch; }
            }
            break;
          }
          case 0x08: { // STORE
            const imm = ((insn >> 25) << 5) | ((insn >> 7) & 31), a = x[rs1];
            const vlo = (a + imm) | 0;
            const vhi = (x[rs1 + 1] + (imm >> 31) + ((vlo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
            const f3 = (insn >> 12) & 7;
            if (f3 > 3) { bad = 1; break dispatch; }
            const ti = sB + ((vlo >>> 12) & TLBM);
            if (tag[ti] === vhi * 1048576 + (vlo >>> 12) && (vlo & ((1 << f3) - 1)) === 0) {
              const o = toff[ti] + (vlo & 4095);
              switch (f3) {
                case 0: m8[o] = x[rs2]; break;
                case 1: m16[o >> 1] = x[rs2]; break;
                case 2: m32[o >> 2] = x[rs2]; break;
                default: // aligned SD: single-copy atomic, as LD above
                  if (LDSD64) m64[o >> 3] = xd[rs2 >> 1];
                  else { m32[o >> 2] = x[rs2]; m32[(o >> 2) + 1] = x[rs2 + 1]; }
                  break;
              }
            } else {
              this.pcCur = pc; this.curInsn = insn; this.curLen = len;
              if (!storeValue_(this, vlo, vhi, 1 << f3, x[rs2], x[rs2 + 1])) { bad = 2; break dispatch; }
            }
            break;
          }
          case 0x04: { // OP-IMM
            const imm = insn >> 20, a = x[rs1], ah = x[rs1 + 1];
            switch ((insn >> 12) & 7) {
              case 0: { const lo = (a + imm) | 0; x[rd + 1] = (ah + (imm >> 31) + ((lo >>> 0) < (a >>> 0) ? 1 : 0)) | 0; x[rd] = lo; break; }
              case 1: {
                if ((imm >> 6) !== 0) { if (!bitmanip_(x, insn)) { bad = 1; break dispatch; } break; }
                const sh = imm & 63;
                if (sh === 0) { x[rd] = a; x[rd + 1] = ah; }
                else if (sh < 32) { x[rd + 1] = (ah << sh) | (a >>> (32 - sh)); x[rd] = a << sh; }
                else { x[rd + 1] = a << (sh - 32); x[rd] = 0; }
                break;
              }
              case 2: { const ih = imm >> 31; x[rd] = (ah < ih || (ah === ih && (a >>> 0) < (imm >>> 0))) ? 1 : 0; x[rd + 1] = 0; break; }
              case 3: { const ih = imm >> 31; x[rd] = ((ah >>> 0) < (ih >>> 0) || (ah === ih && (a >>> 0) < (imm >>> 0))) ? 1 : 0; x[rd + 1] = 0; break; }
              case 4: x[rd] = a ^ imm; x[rd + 1] = ah ^ (imm >> 31); break;
              case 6: x[rd] = a | imm; x[rd + 1] = ah | (imm >> 31); break;
              case 7: x[rd] = a & imm; x[rd + 1] = ah & (imm >> 31); break;
              default: { // 5: SRLI / SRAI
                const f6 = (insn >>> 26);
                const sh = imm & 63;
                if (f6 === 0) {
                  if (sh === 0) { x[rd] = a; x[rd + 1] = ah; }
                  else if (sh < 32) { x[rd] = (a >>> sh) | (ah << (32 - sh)); x[rd + 1] = ah >>> sh; }
                  else { x[rd] = ah >>> (sh - 32); x[rd + 1] = 0; }
                } else if (f6 === 0x10) {
                  if (sh === 0) { x[rd] = a; x[rd + 1] = ah; }
                  else if (sh < 32) { x[rd] = (a >>> sh) | (ah << (32 - sh)); x[rd + 1] = ah >> sh; }
                  else { x[rd] = ah >> (sh - 32); x[rd + 1] = ah >> 31; }
                } else if (!bitmanip_(x, insn)) { bad = 1; break dispatch; }
              }
            }
            break;
          }
          case 0x0c: { // OP
            const al = x[rs1], ah = x[rs1 + 1], bl = x[rs2], bh = x[rs2 + 1];
            const f7 = insn >>> 25, f3 = (insn >> 12) & 7;
            if (f7 === 0) {
              switch (f3) {
                case 0: { const lo = (al + bl) | 0; x[rd + 1] = (ah + bh + ((lo >>> 0) < (al >>> 0) ? 1 : 0)) | 0; x[rd] = lo; break; }
                case 1: {
                  const sh = bl & 63;
                  if (sh === 0) { x[rd] = al; x[rd + 1] = ah; }
                  else if (sh < 32) { x[rd + 1] = (ah << sh) | (al >>> (32 - sh)); x[rd] = al << sh; }
                  else { x[rd + 1] = al << (sh - 32); x[rd] = 0; }
                  break;
                }
                case 2: x[rd] = (ah < bh || (ah === bh && (al >>> 0) < (bl >>> 0))) ? 1 : 0; x[rd + 1] = 0; break;
                case 3: x[rd] = ((ah >>> 0) < (bh >>> 0) || (ah === bh && (al >>> 0) < (bl >>> 0))) ? 1 : 0; x[rd + 1] = 0; break;
                case 4: x[rd] = al ^ bl; x[rd + 1] = ah ^ bh; break;
                case 5: {
                  const sh = bl & 63;
                  if (sh === 0) { x[rd] = al; x[rd + 1] = ah; }
                  else if (sh < 32) { x[rd] = (al >>> sh) | (ah << (32 - sh)); x[rd + 1] = ah >>> sh; }
                  else { x[rd] = ah >>> (sh - 32); x[rd + 1] = 0; }
                  break;
                }
                case 6: x[rd] = al | bl; x[rd + 1] = ah | bh; break;
                default: x[rd] = al & bl; x[rd + 1] = ah & bh; break;
              }
            } else if (f7 === 0x20 && f3 === 0) {
              const lo = (al - bl) | 0;
              x[rd + 1] = (ah - bh - ((al >>> 0) < (bl >>> 0) ? 1 : 0)) | 0; x[rd] = lo;
            } else if (f7 === 0x20 && f3 === 5) {
              const sh = bl & 63;
              if (sh === 0) { x[rd] = al; x[rd + 1] = ah; }
              else if (sh < 32) { x[rd] = (al >>> sh) | (ah << (32 - sh)); x[rd + 1] = ah >> sh; }
              else { x[rd] = ah >> (sh - 32); x[rd + 1] = ah >> 31; }
            } else if (f7 === 1) {
              // The same switch as mulOp(), inline on purpose: calling mulOp from here made a
              // multiply-heavy loop ~30% slower in the interpreter (docs/design/hart.md).
              switch (f3) {
                case 0: mul64_(al, ah, bl, bh); break;
                case 1: mulh64_(al, ah, bl, bh); break;
                case 2: mulhsu64_(al, ah, bl, bh); break;
                case 3: mulhu64_(al, ah, bl, bh); break;
                case 4: divOp_(al, ah, bl, bh, false); break;
                case 5: divuOp_(al, ah, bl, bh, false); break;
                case 6: divOp_(al, ah, bl, bh, true); break;
                default: divuOp_(al, ah, bl, bh, true); break;
              }
              x[rd] = R64[0]; x[rd + 1] = R64[1];
            } else if (!bitmanip_(x, insn)) { bad = 1; break dispatch; }
            break;
          }
          case 0x06: { // OP-IMM-32
            const a = x[rs1], imm = insn >> 20, f3 = (insn >> 12) & 7;
            let v: number;
            if (f3 === 0) v = (a + imm) | 0;
            else if (f3 === 1 && (insn >>> 25) === 0) v = a << (imm & 31);
            else if (f3 === 5 && (insn >>> 25) === 0) v = a >>> (imm & 31) | 0;
            else if (f3 === 5 && (insn >>> 25) === 0x20) v = a >> (imm & 31);
            else if (bitmanip_(x, insn)) break;
            else { bad = 1; break dispatch; }
            x[rd] = v; x[rd + 1] = v >> 31;
            break;
          }
          case 0x0e: { // OP-32
            const a = x[rs1], b = x[rs2], f7 = insn >>> 25, f3 = (insn >> 12) & 7;
            let v: number;
            if (f7 === 0) {
              if (f3 === 0) v = (a + b) | 0;
              else if (f3 === 1) v = a << (b & 31);
              else if (f3 === 5) v = (a >>> (b & 31)) | 0;
              else { bad = 1; break dispatch; }
            } else if (f7 === 0x20) {
              if (f3 === 0) v = (a - b) | 0;
              else if (f3 === 5) v = a >> (b & 31);
              else { bad = 1; break dispatch; }
            } else if (f7 === 1) {
              switch (f3) {
                case 0: v = Math.imul(a, b); break;
                case 4: v = b === 0 ? -1 : (a === -0x80000000 && b === -1) ? a : (a / b) | 0; break;
                case 5: v = b === 0 ? -1 : ((a >>> 0) / (b >>> 0)) | 0; break;
                case 6: v = b === 0 ? a : (a === -0x80000000 && b === -1) ? 0 : (a % b) | 0; break;
                case 7: v = b === 0 ? a : ((a >>> 0) % (b >>> 0)) | 0; break;
                default: { bad = 1; break dispatch; }
              }
            } else if (bitmanip_(x, insn)) break;
            else { bad = 1; break dispatch; }
            x[rd] = v; x[rd + 1] = v >> 31;
            break;
          }
          case 0x03: { // MISC-MEM: FENCE (and PAUSE) are no-ops; FENCE.I drops translated blocks.
            const f3 = (insn >> 12) & 7;
            if (f3 !== 0 && f3 !== 1) { bad = 1; break dispatch; }
            if (f3 === 1) this.flushICache();
            break;
          }
          case 0x1c: { // SYSTEM
            this.pcCur = pc;
            this.icountNow = icBase + (chunk - left) - 1; // counters read before this one retires
            const r = this.system(insn, len);
            pc = this.pcCur;
            if (r !== 0) break inner; // trap, exit, or state change: re-check interrupts
            continue;
          }
          case 0x0b: { // AMO
            this.pcCur = pc; this.curInsn = insn; this.curLen = len;
            if (!amo_(this, insn)) { bad = 2; break dispatch; }
            break;
          }
          case 0x01: case 0x09: { // LOAD-FP / STORE-FP
            const f3 = (insn >> 12) & 7;
            if ((s[MSTATUS_] & MSTATUS_FS_) === 0 || (f3 !== 2 && f3 !== 3)) { bad = 1; break dispatch; }
            const isStore = (insn & 0x20) !== 0;
            const imm = isStore ? ((insn >> 25) << 5) | ((insn >> 7) & 31) : insn >> 20, a = x[rs1];
            const vlo = (a + imm) | 0;
            const vhi = (x[rs1 + 1] + (imm >> 31) + ((vlo >>> 0) < (a >>> 0) ? 1 : 0)) | 0;
            this.pcCur = pc; this.curInsn = insn; this.curLen = len;
            if (!(isStore ? fpStore(this, vlo, vhi, f3, rs2) : fpLoad(this, vlo, vhi, f3, rd))) { bad = 2; break dispatch; }
            break;
          }
          case 0x10: case 0x11: case 0x12: case 0x13: case 0x14: { // FMADD..FNMADD, OP-FP
            if ((s[MSTATUS_] & MSTATUS_FS_) === 0) { bad = 1; break dispatch; }
            const fcsr = s[FCSR_];
            const r = this.fpu.execute(insn, (fcsr >> 5) & 7);
            if (r === FP_ILLEGAL) { bad = 1; break dispatch; }
            const fl = r & 0x1f;
            if (fl !== 0) s[FCSR_] = fcsr | fl;
            if (fl !== 0 || (r & FP_WROTE_F) !== 0) this.fsDirty();
            break;
          }
          default:
            bad = 1;
        }
        if (bad !== 0) {
          // 1: illegal instruction at pc; 2: a helper took a trap or asked to exit.
          pc = this.slowExit(bad, pc, raw);
          break inner;
        }
        x[0] = 0; x[1] = 0;
        pc += len;
      }
      x[0] = 0; x[1] = 0;
      const done = chunk - left;
      remaining -= done;
      this.icountNow = icBase + done;
      // (this.fPage is kept current by fetchSlow and invalidated by context changes.)
      if (this.exitCode >= 0) break outer;
    }
    if (this.farPc) { s[S.PC] = this.farLo; s[S.PC + 1] = this.farHi; }
    else { s[S.PC] = pc | 0; s[S.PC + 1] = Math.floor(pc / TWO32) | 0; }
    this.syncCounters();
    const code = this.exitCode;
    return code >= 0 ? code : EXIT_BUDGET;
  }

  /**
   * SYSTEM opcode: ECALL, EBREAK, xRET, WFI, SFENCE.VMA and the CSR instructions.
   * h.pcCur is the instruction's pc on entry and the next pc on return. Returns 0 to
   * continue the chunk, 1 after a trap, exit or a change that needs an interrupt check.
   */
  private system(insn: number, len: number): number {
    const s = this.s;
    const pc = this.pcCur;
    const f3 = (insn >> 12) & 7;
    if (f3 !== 0 && f3 !== 4) {
      if (!csrOp(this, insn)) { this.illegal(pc, insn); return 1; }
      this.x[0] = 0; this.x[1] = 0;
      this.pcCur = pc + len;
      return 1;
    }
    if (f3 === 4 || ((insn >> 7) & 31) !== 0) { this.illegal(pc, insn); return 1; }
    const priv = this.priv, ms = s[S.MSTATUS];
    const f12 = insn >>> 20;
    if ((insn >>> 25) === 0x09) { // SFENCE.VMA
      if (priv === S.PRV_U || (priv === S.PRV_S && (ms & S.MSTATUS_TVM))) { this.illegal(pc, insn); return 1; }
      const r1 = (insn >> 14) & 62;
      this.sfence(this.x[r1], this.x[r1 + 1], r1 === 0);
      this.pcCur = pc + len;
      return 1;
    }
    if (((insn >> 15) & 31) !== 0) { this.illegal(pc, insn); return 1; }
    switch (f12) {
      case 0x000: // ECALL
        takeTrap(this, false, priv === S.PRV_U ? S.CAUSE_ECALL_U : priv === S.PRV_S ? S.CAUSE_ECALL_S : S.CAUSE_ECALL_M, 0, 0);
        return 1;
      case 0x001: // EBREAK
        takeTrap(this, false, S.CAUSE_BREAKPOINT, pc | 0, Math.floor(pc / TWO32) | 0);
        return 1;
      case 0x302: // MRET
        if (priv !== S.PRV_M) { this.illegal(pc, insn); return 1; }
        trapReturn(this, true);
        return 1;
      case 0x102: // SRET
        if (priv === S.PRV_U || (priv === S.PRV_S && (ms & S.MSTATUS_TSR))) { this.illegal(pc, insn); return 1; }
        trapReturn(this, false);
        return 1;
      case 0x105: // WFI
        // Spec: riscv-priv-20240411 §3.3.3 "Wait for Interrupt": illegal in U-mode, and in
        // S-mode when mstatus.TW = 1 (we time out at once, as QEMU does).
        if (priv === S.PRV_U || (priv === S.PRV_S && (ms & S.MSTATUS_TW))) { this.illegal(pc, insn); return 1; }
        this.pcCur = pc + len;
        if ((effectiveMip(this) & s[S.MIE]) === 0) this.exitCode = EXIT_WFI;
        return 1;
    }
    this.illegal(pc, insn);
    return 1;
  }
}

export { CTX_M, CTX_S, CTX_SUM, CTX_U };
