// SPDX-License-Identifier: GPL-2.0-only
// The RISC-V Platform-Level Interrupt Controller as on QEMU's virt machine: up to 1023
// sources (virt: 96, ids 1..95), 7 priority levels, a context per (hart, privilege mode),
// level-triggered gateways. Follows riscv-plic-1.0.0; the hart/context layout is QEMU's
// ("MS" per hart on TCG: context 2h = hart h M-mode, 2h+1 = S-mode; "S" under a hypervisor).
// Leaves out: edge-triggered gateways (nothing on virt uses them), big-endian access.
//
//   base + 0x000000  reserved (source 0 does not exist)         reads 0
//   base + 0x000004  priority of source 1            RW  WARL, 3 bits (0 = never interrupt)
//   ...              priority of source N (0x4 * N)
//   base + 0x001000  pending bits, sources 0..31     RO  bit N%32 of word N/32
//   ...
//   base + 0x002000  enable bits of context 0, sources 0..31     RW  (bit 0 hardwired 0)
//   base + 0x002080  enable bits of context 1 (0x2000 + 0x80 * ctx)
//   ...
//   base + 0x200000  priority threshold of context 0             RW  WARL, 3 bits
//   base + 0x200004  claim (read) / complete (write) of context 0
//   base + 0x201000  threshold of context 1 (0x200000 + 0x1000 * ctx), claim at +4
//   ...              everything else reads 0 and ignores writes
// Registers are 32 bits wide: accesses of another size or alignment read 0 and are ignored.
import { NO_IRQ, type IrqLine, type MmioDevice } from '../bus/mmio.ts';

export const PLIC_PRIORITY_BASE = 0x0;
export const PLIC_PENDING_BASE = 0x1000;
export const PLIC_ENABLE_BASE = 0x2000;
export const PLIC_ENABLE_STRIDE = 0x80;
export const PLIC_CONTEXT_BASE = 0x20_0000;
export const PLIC_CONTEXT_STRIDE = 0x1000;
export const PLIC_CONTEXT_THRESHOLD = 0x0;
export const PLIC_CONTEXT_CLAIM = 0x4;
/** Spec: riscv-plic-1.0.0 "Memory Map": at most 1024 source ids (0 reserved), 15872 contexts. */
export const PLIC_MAX_SOURCES = 1024;
export const PLIC_MAX_CONTEXTS = 15872;

/** Which hart and privilege mode a context interrupts. */
export interface PlicContext {
  readonly hartId: number;
  readonly mode: 'M' | 'S';
}

/**
 * The context list QEMU builds from its hart config string: per hart, "MS" (an M context
 * then an S context; firmware boot on TCG) or "S" only (a guest whose SBI is a hypervisor,
 * as QEMU does under KVM).
 */
export function plicHartContexts(hartCount: number, modes: 'MS' | 'S'): PlicContext[] {
  const out: PlicContext[] = [];
  for (let h = 0; h < hartCount; h++) {
    if (modes === 'MS') out.push({ hartId: h, mode: 'M' });
    out.push({ hartId: h, mode: 'S' });
  }
  return out;
}

export interface PlicConfig {
  /** Number of source ids including the non-existent 0 (QEMU virt: 96, so ids 1..95). */
  readonly numSources: number;
  /** Highest priority level (QEMU virt: 7). Priorities and thresholds are WARL up to it. */
  readonly maxPriority: number;
  readonly contexts: readonly PlicContext[];
  /** One output per context, wired by the board to that hart's MEIP or SEIP. */
  readonly outputs?: readonly IrqLine[];
}

/** Plain snapshot of the PLIC's state (save/restore, migration). */
export interface PlicState {
  readonly version: 1;
  readonly priority: number[];
  readonly pending: number[];
  readonly claimed: number[];
  readonly level: number[];
  readonly enable: number[];
  readonly threshold: number[];
}

export class Plic implements MmioDevice {
  readonly name = 'plic';
  readonly numSources: number;
  readonly maxPriority: number;
  readonly contexts: readonly PlicContext[];
  /** Size of the register window the board must map: the contexts' last claim register. */
  readonly regionSize: number;
  private readonly words: number;
  private readonly priorityMask: number;
  private readonly priority: Uint32Array;
  /** IP bits in the PLIC core. */
  private readonly pending: Uint32Array;
  /** Gateway state: a request was claimed and its completion has not arrived yet. */
  private readonly claimed: Uint32Array;
  /** The current level of each input wire. */
  private readonly level: Uint32Array;
  /** Enable bits, `words` per context. */
  private readonly enable: Uint32Array;
  private readonly threshold: Uint32Array;
  private readonly outputs: IrqLine[];
  private readonly outLevel: Uint8Array;
  /** Enable bits that exist: source ids 1..numSources-1. */
  private readonly validMask: Uint32Array;
  private readonly inputs: IrqLine[];

  constructor(cfg: PlicConfig) {
    if (!Number.isInteger(cfg.numSources) || cfg.numSources < 2 || cfg.numSources > PLIC_MAX_SOURCES)
      throw new RangeError(`plic: numSources ${cfg.numSources} out of range`);
    if (cfg.contexts.length < 1 || cfg.contexts.length > PLIC_MAX_CONTEXTS)
      throw new RangeError(`plic: ${cfg.contexts.length} contexts`);
    if (!Number.isInteger(cfg.maxPriority) || cfg.maxPriority < 1 || cfg.maxPriority > 0xffff)
      throw new RangeError(`plic: maxPriority ${cfg.maxPriority}`);
    this.numSources = cfg.numSources;
    this.maxPriority = cfg.maxPriority;
    this.contexts = cfg.contexts.slice();
    this.words = Math.ceil(cfg.numSources / 32);
    // Spec: riscv-plic-1.0.0 "Interrupt Priorities": WARL, and "each priority register must
    // support any combination of values in the bits that are variable": keep whole low bits.
    this.priorityMask = (1 << (32 - Math.clz32(cfg.maxPriority))) - 1;
    this.priority = new Uint32Array(cfg.numSources);
    this.pending = new Uint32Array(this.words);
    this.claimed = new Uint32Array(this.words);
    this.level = new Uint32Array(this.words);
    this.enable = new Uint32Array(this.words * this.contexts.length);
    this.threshold = new Uint32Array(this.contexts.length);
    this.outputs = this.contexts.map((_, i) => cfg.outputs?.[i] ?? NO_IRQ);
    this.outLevel = new Uint8Array(this.contexts.length);
    this.validMask = new Uint32Array(this.words);
    for (let id = 1; id < cfg.numSources; id++) this.validMask[id >>> 5] |= 1 << (id & 31);
    this.inputs = [];
    for (let id = 0; id < cfg.numSources; id++) {
      this.inputs.push(id === 0 ? NO_IRQ : { set: (lvl: boolean) => this.setInput(id, lvl) });
    }
    this.regionSize = PLIC_CONTEXT_BASE + this.contexts.length * PLIC_CONTEXT_STRIDE;
  }

  /** The input wire of source `id` (1..numSources-1), for a device's interrupt. */
  source(id: number): IrqLine {
    if (!Number.isInteger(id) || id < 1 || id >= this.numSources) throw new RangeError(`plic: no source ${id}`);
    return this.inputs[id];
  }

  /** Connect (or reconnect) the output of context `ctx` and drive it to the current level. */
  connect(ctx: number, line: IrqLine): void {
    if (!Number.isInteger(ctx) || ctx < 0 || ctx >= this.contexts.length) throw new RangeError(`plic: no context ${ctx}`);
    this.outputs[ctx] = line;
    line.set(this.outLevel[ctx] !== 0);
  }

  /** Index of the context for (hartId, mode), or -1. */
  contextOf(hartId: number, mode: 'M' | 'S'): number {
    return this.contexts.findIndex((c) => c.hartId === hartId && c.mode === mode);
  }

  // ─── Gateways ────────────────────────────────────────────────────────────────────────
  // Spec: riscv-plic-1.0.0 "Interrupt Gateways": "If the global interrupt source uses
  // level-sensitive interrupts, the gateway will convert the first assertion of the
  // interrupt level into an interrupt request, but thereafter the gateway will not forward
  // an additional interrupt request until it receives an interrupt completion message."
  // And: a request already forwarded stays pending even if the level drops ("The gateway
  // does not have the facility to retract an interrupt request once forwarded").
  private setInput(id: number, lvl: boolean): void {
    const w = id >>> 5, b = 1 << (id & 31);
    if (lvl) {
      this.level[w] |= b;
      if (!(this.pending[w] & b) && !(this.claimed[w] & b)) {
        this.pending[w] |= b;
        this.update();
      }
    } else {
      this.level[w] &= ~b;
    }
  }

  /** Re-evaluate every context's EIP output. */
  private update(): void {
    for (let ctx = 0; ctx < this.contexts.length; ctx++) {
      const on = this.best(ctx, this.threshold[ctx]) !== 0 ? 1 : 0;
      if (on !== this.outLevel[ctx]) {
        this.outLevel[ctx] = on;
        this.outputs[ctx].set(on !== 0);
      }
    }
  }

  /**
   * The highest-priority pending, enabled source for `ctx` whose priority exceeds `floor`;
   * ties go to the lowest id (Spec: riscv-plic-1.0.0 "Interrupt Priorities": "Ties between
   * global interrupts of the same priority are broken by the Interrupt ID; interrupts with
   * the lowest ID have the highest effective priority"). 0 if none.
   */
  private best(ctx: number, floor: number): number {
    let bestId = 0, bestPrio = floor;
    const en = ctx * this.words;
    for (let w = 0; w < this.words; w++) {
      let bits = this.pending[w] & this.enable[en + w];
      while (bits !== 0) {
        const bit = 31 - Math.clz32(bits & -bits);
        bits &= bits - 1;
        const id = w * 32 + bit;
        if (this.priority[id] > bestPrio) {
          bestPrio = this.priority[id];
          bestId = id;
        }
      }
    }
    return bestId;
  }

  // Spec: riscv-plic-1.0.0 "Interrupt Claim Process": returns "the ID of the highest
  // priority pending interrupt or zero if there is no pending interrupt", clears its IP bit,
  // and "the claim operation is not affected by the setting of the priority threshold
  // register". Priority 0 means "never interrupt", so such a source is never claimed.
  private claim(ctx: number): number {
    const id = this.best(ctx, 0);
    if (id !== 0) {
      const w = id >>> 5, b = 1 << (id & 31);
      this.pending[w] &= ~b;
      this.claimed[w] |= b;
      this.update();
    }
    return id;
  }

  // Spec: riscv-plic-1.0.0 "Interrupt Completion": "If the completion ID does not match an
  // interrupt source that is currently enabled for the target, the completion is silently
  // ignored." On completion a still-asserted level source raises a new request.
  private complete(ctx: number, id: number): void {
    if (id <= 0 || id >= this.numSources) return;
    const w = id >>> 5, b = 1 << (id & 31);
    if (!(this.enable[ctx * this.words + w] & b) || !(this.claimed[w] & b)) return;
    this.claimed[w] &= ~b;
    if (this.level[w] & b) this.pending[w] |= b;
    this.update();
  }

  read(offset: number, size: number): number {
    if (size !== 4 || (offset & 3) !== 0 || offset < 0) return 0;
    if (offset < PLIC_PENDING_BASE) {
      const id = offset >>> 2;
      return id < this.numSources ? this.priority[id] : 0;
    }
    if (offset < PLIC_ENABLE_BASE) {
      const w = (offset - PLIC_PENDING_BASE) >>> 2;
      return w < this.words ? this.pending[w] >>> 0 : 0;
    }
    if (offset < PLIC_CONTEXT_BASE) {
      const rel = offset - PLIC_ENABLE_BASE;
      const ctx = Math.floor(rel / PLIC_ENABLE_STRIDE), w = (rel % PLIC_ENABLE_STRIDE) >>> 2;
      return ctx < this.contexts.length && w < this.words ? this.enable[ctx * this.words + w] >>> 0 : 0;
    }
    const rel = offset - PLIC_CONTEXT_BASE;
    const ctx = Math.floor(rel / PLIC_CONTEXT_STRIDE), reg = rel % PLIC_CONTEXT_STRIDE;
    if (ctx >= this.contexts.length) return 0;
    if (reg === PLIC_CONTEXT_THRESHOLD) return this.threshold[ctx];
    if (reg === PLIC_CONTEXT_CLAIM) return this.claim(ctx);
    return 0;
  }

  write(offset: number, size: number, value: number): void {
    if (size !== 4 || (offset & 3) !== 0 || offset < 0) return;
    value >>>= 0;
    if (offset < PLIC_PENDING_BASE) {
      const id = offset >>> 2;
      if (id === 0 || id >= this.numSources) return;
      this.priority[id] = value & this.priorityMask;
      this.update();
      return;
    }
    // Spec: riscv-plic-1.0.0 "Interrupt Pending Bits": cleared only by a claim; read-only here.
    if (offset < PLIC_ENABLE_BASE) return;
    if (offset < PLIC_CONTEXT_BASE) {
      const rel = offset - PLIC_ENABLE_BASE;
      const ctx = Math.floor(rel / PLIC_ENABLE_STRIDE), w = (rel % PLIC_ENABLE_STRIDE) >>> 2;
      if (ctx >= this.contexts.length || w >= this.words) return;
      this.enable[ctx * this.words + w] = value & this.validMask[w];
      this.update();
      return;
    }
    const rel = offset - PLIC_CONTEXT_BASE;
    const ctx = Math.floor(rel / PLIC_CONTEXT_STRIDE), reg = rel % PLIC_CONTEXT_STRIDE;
    if (ctx >= this.contexts.length) return;
    if (reg === PLIC_CONTEXT_THRESHOLD) {
      // Spec: riscv-plic-1.0.0 "Priority Thresholds": WARL; "The PLIC will mask all PLIC
      // interrupts of a priority less than or equal to threshold."
      this.threshold[ctx] = value & this.priorityMask;
      this.update();
    } else if (reg === PLIC_CONTEXT_CLAIM) {
      this.complete(ctx, value);
    }
  }

  /** True while context `ctx` asserts its external-interrupt output. */
  outputLevel(ctx: number): boolean {
    return this.outLevel[ctx] === 1;
  }

  saveState(): PlicState {
    return {
      version: 1,
      priority: Array.from(this.priority), pending: Array.from(this.pending), claimed: Array.from(this.claimed),
      level: Array.from(this.level), enable: Array.from(this.enable), threshold: Array.from(this.threshold),
    };
  }

  /** Restore a snapshot taken from a PLIC of the same configuration; false if it does not fit. */
  restoreState(s: PlicState): boolean {
    if (s.version !== 1 || s.priority.length !== this.priority.length || s.pending.length !== this.words ||
      s.claimed.length !== this.words || s.level.length !== this.words || s.enable.length !== this.enable.length ||
      s.threshold.length !== this.threshold.length) return false;
    this.priority.set(s.priority.map((v) => v & this.priorityMask));
    this.pending.set(s.pending.map((v, i) => v & this.validMask[i]));
    this.claimed.set(s.claimed.map((v, i) => v & this.validMask[i]));
    this.level.set(s.level.map((v, i) => v & this.validMask[i]));
    this.enable.set(s.enable.map((v, i) => v & this.validMask[i % this.words]));
    this.threshold.set(s.threshold.map((v) => v & this.priorityMask));
    this.update();
    return true;
  }
}
