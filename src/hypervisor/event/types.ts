// SPDX-License-Identifier: GPL-2.0-only
// The structural view of a domain that event channels and grant tables need. The core's
// Domain/Vcpu (src/hypervisor/domain/) satisfy it; tests build it from real parts (FramePool,
// P2m, Harts), a pCPU worker from shared ones (P2mView, grant/smp-view.ts). Kept small so
// event/ and grant/ do not depend on the core's classes.
import type { FramePool } from '../mm/frame-pool.ts';
import type { P2mAccess } from '../mm/p2m.ts';

export interface EvtchnVcpu {
  readonly id: number;
  /**
   * Machine byte offset of this vCPU's vcpu_info in the frame pool, or -1 while it has none
   * (docs/abi.md §5: vCPU 0's is in shared_info; others after VCPUOP_register_vcpu_info). [HV]
   */
  readonly vcpuInfoOffset: number;
  /** evtchn_upcall_pending was newly set: make the vCPU notice (SEIP follows the byte, docs/abi.md §6). */
  kick(): void;
}

export interface EvtchnDomain {
  readonly domid: number;
  /** vCPUs by id; a hole (undefined) is a vCPU that does not exist. Length = max_vcpus. */
  readonly vcpus: ReadonlyArray<EvtchnVcpu | undefined>;
  /** Machine byte offset of shared_info in the frame pool, or -1 (dom0: the host process). */
  readonly sharedInfoOffset: number;
  /**
   * Second-stage map, or null for dom0 (the host process has no guest-physical space): the
   * domain's P2m, or on a pCPU worker its P2mView (reads only).
   */
  readonly p2m: P2mAccess | null;
  /** dom0 / the toolstack: may name other domains in alloc_unbound, status, setup_table, ... (XSM_TARGET). */
  readonly isPrivileged: boolean;
  /** Being destroyed: no new ports or grant mappings. */
  readonly isDying: boolean;
  /**
   * True while the core soft-resets the domain (its destroy hooks then close ports and drop
   * mappings but keep the tables); otherwise a destroy hook means teardown.
   */
  readonly softResetting?: boolean;
  /** Paused by the toolstack (evtchn_reset of another domain requires it, event_channel.c). */
  readonly controllerPaused?: boolean;
}

/** Finds live domains by id (real ids only; DOMID_SELF is resolved by the caller). */
export interface DomainLookup {
  readonly pool: FramePool;
  domain(domid: number): EvtchnDomain | undefined;
}

/**
 * Hypercall-side access to guest memory through a vCPU's handles (the core's GuestAccess,
 * docs/design/hypervisor.md §3). Addresses are guest-virtual as int32 halves (lo, hi), so
 * sign-extended kernel addresses above 2^53 stay exact. null / false is -EFAULT, and nothing
 * was written on failure.
 */
export interface GuestCopy<V> {
  copyFromGuest(vcpu: V, lo: number, hi: number, len: number): Uint8Array | null;
  copyToGuest(vcpu: V, lo: number, hi: number, bytes: Uint8Array): boolean;
}

const TWO32 = 4294967296;
/** (lo, hi) + byte offset, as int32 halves (element i of a guest array). */
export function gvaAdd(lo: number, hi: number, add: number): [number, number] {
  const s = (lo >>> 0) + add;
  return [(s % TWO32) | 0, (hi + Math.floor(s / TWO32)) | 0];
}
