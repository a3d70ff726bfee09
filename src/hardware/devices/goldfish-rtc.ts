// SPDX-License-Identifier: GPL-2.0-only
// The Goldfish RTC (Android emulator's "goldfish" virtual platform; QEMU virt maps it at
// 0x0010_1000, PLIC source 11): nanoseconds since the Unix epoch from the host's wall clock,
// settable by the guest (as an offset), and one alarm with an interrupt. Register semantics
// follow the Goldfish virtual hardware document as QEMU implements it (hw/rtc/goldfish_rtc.c).
// Leaves out: the big-endian variant.
//
//   base + 0x00  TIME_LOW          R: low 32 bits of now (ns), latches TIME_HIGH   W: set low half
//   base + 0x04  TIME_HIGH         R: high half latched by the last TIME_LOW read  W: set high half
//   base + 0x08  ALARM_LOW         RW  low half of the alarm time; a write arms the alarm
//   base + 0x0c  ALARM_HIGH        RW  high half (write it before ALARM_LOW)
//   base + 0x10  IRQ_ENABLED       RW  bit 0: the alarm interrupt reaches the line
//   base + 0x14  CLEAR_ALARM       W   disarm the alarm
//   base + 0x18  ALARM_STATUS      R   1 while an alarm is armed and not yet fired
//   base + 0x1c  CLEAR_INTERRUPT   W   acknowledge: the line drops
//   everything else (and accesses that are not 4 bytes, 4-aligned) reads 0, ignores writes
// Times are 64-bit nanosecond counts, beyond a JS number's exact range: kept as BigInt
// (a handful of accesses per boot, never on a hot path).
import { NO_IRQ, type IrqLine, type MmioDevice } from '../bus/mmio.ts';

export const RTC_TIME_LOW = 0x00;
export const RTC_TIME_HIGH = 0x04;
export const RTC_ALARM_LOW = 0x08;
export const RTC_ALARM_HIGH = 0x0c;
export const RTC_IRQ_ENABLED = 0x10;
export const RTC_CLEAR_ALARM = 0x14;
export const RTC_ALARM_STATUS = 0x18;
export const RTC_CLEAR_INTERRUPT = 0x1c;
export const GOLDFISH_RTC_SIZE = 0x1000;

const MASK32 = 0xffff_ffffn;
const MASK64 = 0xffff_ffff_ffff_ffffn;

export interface GoldfishRtcConfig {
  /** The host's wall clock: nanoseconds since 1970-01-01T00:00:00Z. */
  readonly wallclockNs: () => bigint;
  readonly irq?: IrqLine;
}

export interface GoldfishRtcState {
  readonly version: 1;
  /** Guest time minus host wall-clock time, ns (what the guest set with TIME_*). */
  readonly offsetNs: string;
  readonly alarmNext: string;
  readonly alarmRunning: boolean;
  readonly irqPending: boolean;
  readonly irqEnabled: boolean;
  readonly timeHigh: number;
}

export class GoldfishRtc implements MmioDevice {
  readonly name = 'rtc';
  private readonly wallclockNs: () => bigint;
  private irq: IrqLine;
  private offsetNs = 0n;
  private alarmNext = 0n;
  private alarmRunning = false;
  private irqPending = false;
  private irqEnabled = false;
  private timeHigh = 0;
  private irqLevel = false;

  constructor(cfg: GoldfishRtcConfig) {
    this.wallclockNs = cfg.wallclockNs;
    this.irq = cfg.irq ?? NO_IRQ;
  }

  connect(irq: IrqLine): void {
    this.irq = irq;
    irq.set(this.irqLevel);
  }

  /** The RTC's current count: ns since the epoch, modulo 2^64. */
  nowNs(): bigint {
    return (this.wallclockNs() + this.offsetNs) & MASK64;
  }

  private update(): void {
    const lvl = this.irqPending && this.irqEnabled;
    if (lvl !== this.irqLevel) {
      this.irqLevel = lvl;
      this.irq.set(lvl);
    }
  }

  private fire(): void {
    this.alarmRunning = false;
    this.irqPending = true;
    this.update();
  }

  /** Fire the alarm if it is due (the runner calls this as time passes). */
  tick(): void {
    if (this.alarmRunning && this.nowNs() >= this.alarmNext) this.fire();
  }

  /** Nanoseconds of wall-clock time until the armed alarm fires (Infinity if none; >= 0). */
  nsUntilAlarm(): number {
    if (!this.alarmRunning) return Infinity;
    const d = this.alarmNext - this.nowNs();
    return d <= 0n ? 0 : Number(d);
  }

  private setAlarm(): void {
    if (this.alarmNext <= this.nowNs()) this.fire();
    else this.alarmRunning = true;
  }

  /** Set one 32-bit half of the count by moving the offset, as QEMU does. */
  private setTimeHalf(high: boolean, value: number): void {
    const cur = this.nowNs();
    const v = BigInt(value);
    const next = high ? (v << 32n) | (cur & MASK32) : (cur & ~MASK32 & MASK64) | v;
    this.offsetNs = this.offsetNs + (next - cur);
  }

  read(offset: number, size: number): number {
    if (size !== 4 || (offset & 3) !== 0) return 0;
    switch (offset) {
      case RTC_TIME_LOW: {
        this.tick(); // a guest polling the time sees a due alarm as fired
        const now = this.nowNs();
        this.timeHigh = Number(now >> 32n);
        return Number(now & MASK32);
      }
      case RTC_TIME_HIGH: return this.timeHigh;
      case RTC_ALARM_LOW: return Number(this.alarmNext & MASK32);
      case RTC_ALARM_HIGH: return Number(this.alarmNext >> 32n);
      case RTC_IRQ_ENABLED: return this.irqEnabled ? 1 : 0;
      case RTC_ALARM_STATUS: return this.alarmRunning ? 1 : 0;
      default: return 0;
    }
  }

  write(offset: number, size: number, value: number): void {
    if (size !== 4 || (offset & 3) !== 0) return;
    value >>>= 0;
    switch (offset) {
      case RTC_TIME_LOW: this.setTimeHalf(false, value); break;
      case RTC_TIME_HIGH: this.setTimeHalf(true, value); break;
      case RTC_ALARM_LOW:
        this.alarmNext = (this.alarmNext & ~MASK32 & MASK64) | BigInt(value);
        this.setAlarm();
        break;
      case RTC_ALARM_HIGH:
        this.alarmNext = (BigInt(value) << 32n) | (this.alarmNext & MASK32);
        break;
      case RTC_IRQ_ENABLED:
        this.irqEnabled = (value & 1) !== 0;
        this.update();
        break;
      case RTC_CLEAR_ALARM: this.alarmRunning = false; break;
      case RTC_CLEAR_INTERRUPT:
        this.irqPending = false;
        this.update();
        break;
      default: break;
    }
  }

  saveState(): GoldfishRtcState {
    return { version: 1, offsetNs: this.offsetNs.toString(), alarmNext: this.alarmNext.toString(),
      alarmRunning: this.alarmRunning, irqPending: this.irqPending, irqEnabled: this.irqEnabled, timeHigh: this.timeHigh };
  }

  restoreState(s: GoldfishRtcState): boolean {
    if (s.version !== 1) return false;
    let off: bigint, alarm: bigint;
    try {
      off = BigInt(s.offsetNs);
      alarm = BigInt(s.alarmNext) & MASK64;
    } catch {
      return false;
    }
    this.offsetNs = off;
    this.alarmNext = alarm;
    this.alarmRunning = s.alarmRunning;
    this.irqPending = s.irqPending;
    this.irqEnabled = s.irqEnabled;
    this.timeHigh = s.timeHigh >>> 0;
    this.update();
    this.tick();
    return true;
  }
}
