// SPDX-License-Identifier: GPL-2.0-only
// A domain: its p2m over the shared frame pool, its vCPUs, memory accounting (tot_pages,
// max_pages), pause count, shutdown state, shared_info (time and wallclock), its Xen console
// log and its vSBI. Created and destroyed by the Hypervisor (xen.ts); built by build/.
// Xen: xen/include/xen/sched.h (struct domain), xen/common/domain.c (domain_shutdown,
// domain_crash, domain_pause), xen/common/page_alloc.c (assign_pages: max_pages check)
import type { Vsbi } from '../vsbi/core.ts';
import type { ValidConfig } from './config.ts';
import type { DomainEvent, EvtchnOps, GrantTableOps } from './hooks.ts';
import { Vcpu } from './vcpu.ts';
import { P2M_INVALID, P2m } from '../mm/p2m.ts';
import { PAGE_SIZE } from '../mm/frame-pool.ts';
import {
  SI_WC_NSEC, SI_WC_SEC, SI_WC_SEC_HI, SI_WC_VERSION, VI_TIME, VTI_FLAGS, VTI_SYSTEM_TIME,
  VTI_TSC_SHIFT, VTI_TSC_TIMESTAMP, VTI_TSC_TO_SYSTEM_MUL, VTI_VERSION, XEN_PVCLOCK_TSC_STABLE_BIT,
} from '../public/shared-info.ts';
import type { Hypervisor } from '../xen.ts';

const TWO32 = 4294967296;

/** Domain states (docs/design/hypervisor.md §1). */
export type DomainState = 'running' | 'shutdown' | 'dying' | 'destroyed';

/** Bytes of Xen console output kept per domain (like Xen's conring, 16 KiB by default). */
export const CONSOLE_LOG_BYTES = 16384;

export class Domain {
  readonly p2m: P2m;
  readonly vcpus: Vcpu[] = [];
  state: DomainState = 'running';
  /** SHUTDOWN_* once shut down (Xen's d->shutdown_code), else -1. */
  shutdownCode = -1;
  pauseCount = 0;
  /** Frames owned (Xen's tot_pages) and the limit (max_pages). */
  totPages = 0;
  maxPages: number;
  /** Only dom0 is privileged in Xen; guests never are (XSM dummy policy). */
  privileged = false;
  /** Machine frame of shared_info (-1 for dom0), and where it is mapped (gfn, or -1). */
  sharedInfoMfn = -1;
  sharedInfoGfn = -1;
  /** xen_domain_handle_t (the toolstack's UUID). */
  readonly handle = new Uint8Array(16);
  /** Host system time (ns) at which this domain's system time is 0. */
  readonly bootNs: number;
  /** The Xen console log of this domain (console_io write, crash reasons), a ring. */
  private readonly conring = new Uint8Array(CONSOLE_LOG_BYTES);
  private conPos = 0;
  /** Part B attaches these (domain/hooks.ts). */
  evtchn: EvtchnOps | null = null;
  gnttab: GrantTableOps | null = null;
  /** VIRQs raised while no event-channel layer was attached (counted, not delivered). */
  virqsDropped = 0;
  vsbi: Vsbi | null = null;
  /** Why the domain crashed (domain_crash), for the toolstack. */
  crashReason = '';
  /** Entry point and start_info GPA of vCPU 0 (PV), filled by the builder. */
  entry = 0;
  startInfoGpa = 0;

  constructor(readonly hv: Hypervisor, readonly domid: number, readonly config: ValidConfig | null) {
    this.p2m = new P2m(hv.pool);
    this.p2m.onChange = () => {
      // A dying domain's vCPUs never run again: no TLB to keep coherent while its p2m is emptied.
      if (this.state === 'dying' || this.state === 'destroyed') return;
      for (const v of this.vcpus) v.hart.flushTlb();
    };
    this.maxPages = config?.maxPages ?? 0;
    this.bootNs = hv.clock.nowNs();
  }

  get name(): string {
    return this.config?.name || `d${this.domid}`;
  }
  get isPv(): boolean {
    return this.config?.type === 'pv';
  }
  get maxVcpus(): number {
    return this.vcpus.length;
  }
  /** Domain system time (ns since its boot), what vcpu_time_info.system_time reports. */
  systemTimeNs(): number {
    return this.hv.clock.nowNs() - this.bootNs;
  }

  addVcpus(n: number): void {
    for (let i = 0; i < n; i++) this.vcpus.push(new Vcpu(this, this.vcpus.length));
  }

  // ─── memory ────────────────────────────────────────────────────────────────────────────
  /** Allocate `count` frames owned by this domain, all or nothing; null over max_pages or when the pool is short. */
  allocFrames(count: number): Int32Array | null {
    if (!(count >= 0) || this.totPages + count > this.maxPages) return null;
    const f = this.hv.pool.alloc(this.domid, count);
    if (f === null) return null;
    this.totPages += count;
    return f;
  }
  /** Return one of this domain's frames to the pool (scrubbed before reuse). */
  freeFrame(mfn: number): void {
    if (this.hv.pool.owner[mfn] !== this.domid) throw new Error(`d${this.domid}: freeFrame(${mfn}) of a frame it does not own`);
    this.totPages--;
    if (this.gnttab?.deferFree?.(mfn)) return; // still granted to another domain: freed at its last unmap
    this.hv.pool.free(mfn);
  }
  /** Populate [gfn, gfn + count) with fresh RAM; false (nothing changed) if any is mapped or memory is short. */
  populate(gfn: number, count: number, type: number): boolean {
    for (let i = 0; i < count; i++) if (this.p2m.typeOf(gfn + i) !== P2M_INVALID) return false;
    const f = this.allocFrames(count);
    if (f === null) return false;
    this.p2m.batch(() => {
      for (let i = 0; i < count; i++) this.p2m.set(gfn + i, f[i]!, type);
    });
    return true;
  }
  /** Machine byte offset of guest-physical address `gpa` in RAM this domain owns, or -1. */
  ownRamOffset(gpa: number): number {
    const mfn = this.p2m.mfnOf(Math.floor(gpa / PAGE_SIZE));
    if (mfn < 0 || this.hv.pool.owner[mfn] !== this.domid) return -1;
    return mfn * PAGE_SIZE + (gpa % PAGE_SIZE);
  }

  /** True when mfn is a grant-table frame of this domain (part B decides). */
  gnttabOwnsFrame(mfn: number): boolean {
    return this.gnttab?.ownsFrame?.(mfn) ?? false;
  }

  // ─── console ───────────────────────────────────────────────────────────────────────────
  consoleWrite(bytes: Uint8Array): void {
    // Only the last CONSOLE_LOG_BYTES can survive in the ring.
    const skip = Math.max(0, bytes.length - CONSOLE_LOG_BYTES);
    this.conPos += skip;
    for (let i = skip; i < bytes.length; i++) {
      this.conring[this.conPos % CONSOLE_LOG_BYTES] = bytes[i]!;
      this.conPos++;
    }
    this.hv.onConsole?.(this, bytes);
  }
  /** The retained console log (at most CONSOLE_LOG_BYTES, oldest first). */
  consoleLog(): Uint8Array {
    const n = Math.min(this.conPos, CONSOLE_LOG_BYTES);
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.conring[(this.conPos - n + i) % CONSOLE_LOG_BYTES]!;
    return out;
  }

  // ─── shared_info: time ─────────────────────────────────────────────────────────────────
  /** Write v's vcpu_time_info under its seqlock (Xen's update_vcpu_system_time). */
  updateVcpuTime(v: Vcpu): void {
    const o = v.vcpuInfoOff;
    if (o < 0) return;
    const dv = this.hv.pool.view;
    const t = o + VI_TIME;
    const ver = dv.getUint32(t + VTI_VERSION, true);
    dv.setUint32(t + VTI_VERSION, (ver + 1) | 1, true); // odd: update in progress
    const clock = this.hv.clock;
    const ticks = clock.ticks();
    const sys = Math.floor((ticks * 1e9) / clock.timebase.frequency) - this.bootNs;
    dv.setUint32(t + VTI_TSC_TIMESTAMP, ticks % TWO32, true);
    dv.setUint32(t + VTI_TSC_TIMESTAMP + 4, Math.floor(ticks / TWO32), true);
    dv.setBigInt64(t + VTI_SYSTEM_TIME, BigInt(sys), true);
    dv.setUint32(t + VTI_TSC_TO_SYSTEM_MUL, clock.scale.mul, true);
    dv.setInt8(t + VTI_TSC_SHIFT, clock.scale.shift);
    dv.setUint8(t + VTI_FLAGS, XEN_PVCLOCK_TSC_STABLE_BIT);
    dv.setUint32(t + VTI_VERSION, ((ver + 1) | 1) + 1, true); // even again
  }

  /** Write the wallclock (wall time at this domain's system time 0) under wc_version (Xen's update_domain_wallclock_time). */
  updateWallclock(): void {
    if (this.sharedInfoMfn < 0) return;
    const dv = this.hv.pool.view;
    const b = this.sharedInfoMfn * PAGE_SIZE;
    const ver = dv.getUint32(b + SI_WC_VERSION, true);
    dv.setUint32(b + SI_WC_VERSION, (ver + 1) | 1, true);
    const wallAtBoot = this.hv.clock.wallNs() - this.systemTimeNs();
    const sec = Math.floor(wallAtBoot / 1e9);
    const nsec = Math.floor(wallAtBoot - sec * 1e9);
    dv.setUint32(b + SI_WC_SEC, sec % TWO32, true);
    dv.setUint32(b + SI_WC_NSEC, Math.min(999999999, Math.max(0, nsec)), true);
    dv.setUint32(b + SI_WC_SEC_HI, Math.floor(sec / TWO32), true);
    dv.setUint32(b + SI_WC_VERSION, ((ver + 1) | 1) + 1, true);
  }

  /** Raise a per-vCPU VIRQ through part B, or count it when event channels are absent. */
  sendVirq(v: Vcpu, virq: number): void {
    if (this.evtchn !== null) {
      this.evtchn.sendVirq(v, virq);
      v.syncUpcall();
    } else this.virqsDropped++;
  }

  emit(e: DomainEvent): void {
    this.hv.notify(e);
  }
}
