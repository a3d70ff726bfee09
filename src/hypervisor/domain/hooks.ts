// SPDX-License-Identifier: GPL-2.0-only
// What the core asks of the event-channel and grant-table modules (part B: event/, grant/),
// and what it offers them. A module attaches itself to each Domain (domain.evtchn,
// domain.gnttab) from a Hypervisor.onDomainCreated listener and registers its hypercall
// (event_channel_op 32, grant_table_op 20) in hv.hypercalls.
// Xen: xen/common/event_channel.c (send_guest_vcpu_virq, evtchn_destroy), xen/common/grant_table.c
import type { Vcpu } from './vcpu.ts';

export interface EvtchnOps {
  /** Raise a per-vCPU VIRQ (VIRQ_TIMER, ...) if the guest bound it; else nothing happens. */
  sendVirq(v: Vcpu, virq: number): void;
  /** Raise a global VIRQ (VIRQ_DOM_EXC on dom0, ...), delivered to the vCPU it is bound to. */
  sendGlobalVirq?(virq: number): void;
  /** Allocate an unbound port for `remoteDomid` (start_info's xenstore/console channels); -errno on failure. */
  allocUnbound?(remoteDomid: number): number;
  /** True when port `port` is pending in this domain (SCHEDOP_poll); the core reads shared_info otherwise. */
  isPending?(port: number): boolean;
  /** A vCPU's vcpu_info moved (VCPUOP_register_vcpu_info): republish it for pCPU workers' deliveries. */
  vcpuInfoMoved?(vcpuId: number): void;
  /** Soft reset / destroy: close every port. */
  destroy?(): void;
}

export interface GrantTableOps {
  /**
   * Machine frame of grant-table frame `idx` (status frames when `status`), growing the table
   * up to its maximum as Xen's gnttab_map_frame does, or a negated errno (-EINVAL past the limit).
   */
  frameMfn(idx: number, status: boolean): number;
  /** The frame is now mapped at `gfn` in the owner's p2m (the core did the mapping). */
  frameMapped?(idx: number, gfn: number): void;
  /** True when `mfn` is one of the table's own frames (decrease_reservation must not free it). */
  ownsFrame?(mfn: number): boolean;
  /**
   * One of the domain's frames is being freed: true when grants keep it (another domain still
   * maps it, or it is a table frame); the grant code frees it at its last unmap (Xen frees a
   * page at its last reference), so no domain ever reaches a reused frame through a grant.
   */
  deferFree?(mfn: number): boolean;
  /** Soft reset / destroy: unmap every grant the domain holds and release the table's frames. */
  destroy?(): void;
}

/** Domain life-cycle events for the toolstack (on real Xen: VIRQ_DOM_EXC to dom0 + getdomaininfo). */
export type DomainEvent =
  | { kind: 'created'; domid: number }
  | { kind: 'shutdown'; domid: number; reason: number }
  | { kind: 'crashed'; domid: number; why: string }
  | { kind: 'paused' | 'unpaused' | 'destroyed'; domid: number };
