// SPDX-License-Identifier: GPL-2.0-only
// Guest-visible constants and argument layouts of event_channel_op (hypercall 32), from
// xen/include/public/event_channel.h at Xen 4.7, with the LP64 offsets of docs/abi.md §3.
// 2-level ABI bitmap offsets inside shared_info/vcpu_info are in docs/abi.md §5.

export const EVTCHNOP_bind_interdomain = 0;
export const EVTCHNOP_bind_virq = 1;
export const EVTCHNOP_bind_pirq = 2;
export const EVTCHNOP_close = 3;
export const EVTCHNOP_send = 4;
export const EVTCHNOP_status = 5;
export const EVTCHNOP_alloc_unbound = 6;
export const EVTCHNOP_bind_ipi = 7;
export const EVTCHNOP_bind_vcpu = 8;
export const EVTCHNOP_unmask = 9;
export const EVTCHNOP_reset = 10;
export const EVTCHNOP_init_control = 11;
export const EVTCHNOP_expand_array = 12;
export const EVTCHNOP_set_priority = 13;

// evtchn_status.status (event_channel.h "EVTCHNSTAT_*").
export const EVTCHNSTAT_closed = 0;
export const EVTCHNSTAT_unbound = 1;
export const EVTCHNSTAT_interdomain = 2;
export const EVTCHNSTAT_pirq = 3;
export const EVTCHNSTAT_virq = 4;
export const EVTCHNSTAT_ipi = 5;

/** 2-level ABI: 64 words of 64 bits (xen.h, BITS_PER_EVTCHN_WORD squared on 64-bit). */
export const EVTCHN_2L_NR_CHANNELS = 4096;
/** libxl's default max_event_channels (xl.cfg "max_event_channels"). */
export const DEFAULT_MAX_EVENT_CHANNELS = 1023;

// shared_info / vcpu_info byte offsets used by the 2-level ABI (docs/abi.md §5).
export const SHINFO_EVTCHN_PENDING = 48;
export const SHINFO_EVTCHN_MASK = 560;
export const SHINFO_SIZE = 1088;
export const VCPUINFO_UPCALL_PENDING = 0;
export const VCPUINFO_PENDING_SEL = 8;
export const VCPUINFO_SIZE = 48;

// Argument structures: byte offsets and sizes (LP64).
/** struct evtchn_alloc_unbound { domid_t dom; domid_t remote_dom; evtchn_port_t port; } */
export const ALLOC_UNBOUND = { dom: 0, remote_dom: 2, port: 4, size: 8 } as const;
/** struct evtchn_bind_interdomain { domid_t remote_dom; evtchn_port_t remote_port; evtchn_port_t local_port; } */
export const BIND_INTERDOMAIN = { remote_dom: 0, remote_port: 4, local_port: 8, size: 12 } as const;
/** struct evtchn_bind_virq { uint32_t virq; uint32_t vcpu; evtchn_port_t port; } */
export const BIND_VIRQ = { virq: 0, vcpu: 4, port: 8, size: 12 } as const;
/** struct evtchn_bind_pirq { uint32_t pirq; uint32_t flags; evtchn_port_t port; } */
export const BIND_PIRQ = { pirq: 0, flags: 4, port: 8, size: 12 } as const;
/** struct evtchn_bind_ipi { uint32_t vcpu; evtchn_port_t port; } */
export const BIND_IPI = { vcpu: 0, port: 4, size: 8 } as const;
/** struct evtchn_close / evtchn_send / evtchn_unmask { evtchn_port_t port; } */
export const PORT_ONLY = { port: 0, size: 4 } as const;
/**
 * struct evtchn_status { domid_t dom; evtchn_port_t port; uint32_t status; uint32_t vcpu;
 *   union { struct { domid_t dom; } unbound; struct { domid_t dom; evtchn_port_t port; } interdomain;
 *           uint32_t pirq; uint32_t virq; } u; }
 */
export const STATUS = { dom: 0, port: 4, status: 8, vcpu: 12, u: 16, u_interdomain_port: 20, size: 24 } as const;
/** struct evtchn_bind_vcpu { evtchn_port_t port; uint32_t vcpu; } */
export const BIND_VCPU = { port: 0, vcpu: 4, size: 8 } as const;
/** struct evtchn_reset { domid_t dom; } */
export const RESET = { dom: 0, size: 2 } as const;
