/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The guest ABI of tsxen as the PV kernel sees it: hypercall numbers, sub-ops and argument
 * structures (LP64 layouts of Xen 4.7's public headers), start_info, shared_info/vcpu_info,
 * the magic-page layout and the rings. Written from docs/abi.md and the Xen 4.7 public headers
 * (xen.h, event_channel.h, grant_table.h, memory.h, vcpu.h, sched.h, version.h, io/console.h,
 * io/xs_wire.h, io/xenstore-ring); facts only, no code carried over.
 */
#ifndef PV_XEN_H
#define PV_XEN_H

#include "types.h"

/* docs/abi.md §3: the hypercall trap. */
#define XEN_SBI_EID 0x0A000007UL

/* public/xen.h hypercall numbers (docs/abi.md §3 table). */
#define __HYPERVISOR_memory_op        12
#define __HYPERVISOR_multicall        13
#define __HYPERVISOR_xen_version      17
#define __HYPERVISOR_console_io       18
#define __HYPERVISOR_grant_table_op   20
#define __HYPERVISOR_vcpu_op          24
#define __HYPERVISOR_sched_op         29
#define __HYPERVISOR_event_channel_op 32
#define __HYPERVISOR_sysctl           35
#define __HYPERVISOR_domctl           36

/* public/xen.h: errno values are Linux's (public/errno.h). */
#define XEN_EPERM   1
#define XEN_ENOENT  2
#define XEN_ESRCH   3
#define XEN_EAGAIN  11
#define XEN_ENOMEM  12
#define XEN_EFAULT  14
#define XEN_EBUSY   16
#define XEN_EEXIST  17
#define XEN_EINVAL  22
#define XEN_ENOSPC  28
#define XEN_ENOSYS  38
#define XEN_ETIME   62
#define XEN_EOPNOTSUPP 95

/* public/xen.h DOMIDs. */
#define DOMID_SELF 0x7FF0U
#define DOMID_INVALID 0x7FF4U

/* public/xen.h console_io. */
#define CONSOLEIO_write 0
#define CONSOLEIO_read  1

/* public/version.h */
#define XENVER_version 0
#define XENVER_extraversion 1
#define XENVER_commandline 9

/* public/sched.h */
#define SCHEDOP_yield 0
#define SCHEDOP_block 1
#define SCHEDOP_shutdown 2
#define SCHEDOP_poll 3
#define SCHEDOP_remote_shutdown 4
#define SCHEDOP_shutdown_code 5
#define SCHEDOP_watchdog 6
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot 1
#define SHUTDOWN_suspend 2
#define SHUTDOWN_crash 3
struct sched_shutdown { u32 reason; };
struct sched_poll { u64 ports; u32 nr_ports; u32 pad; u64 timeout; };          /* 24 bytes */
struct sched_remote_shutdown { u16 domain_id; u16 pad; u32 reason; };

/* public/vcpu.h */
#define VCPUOP_initialise 0
#define VCPUOP_up 1
#define VCPUOP_down 2
#define VCPUOP_is_up 3
#define VCPUOP_get_runstate_info 4
#define VCPUOP_set_singleshot_timer 8
#define VCPUOP_stop_singleshot_timer 9
#define VCPUOP_register_vcpu_info 10
#define VCPU_SSHOTTMR_future 1
struct vcpu_set_singleshot_timer { u64 timeout_abs_ns; u32 flags; u32 pad; };  /* 16 bytes */
struct vcpu_register_vcpu_info { u64 mfn; u32 offset; u32 rsvd; };              /* 16 bytes: mfn is a GFN */
/* docs/abi.md §4 / src/hypervisor/public/vcpu.ts: tsxen's RISC-V vcpu_guest_context. */
struct vcpu_guest_context { u64 pc; u64 a1; u64 sp; u64 satp; };               /* 32 bytes */

/* public/event_channel.h */
#define EVTCHNOP_bind_interdomain 0
#define EVTCHNOP_bind_virq 1
#define EVTCHNOP_close 3
#define EVTCHNOP_send 4
#define EVTCHNOP_status 5
#define EVTCHNOP_alloc_unbound 6
#define EVTCHNOP_bind_ipi 7
#define EVTCHNOP_bind_vcpu 8
#define EVTCHNOP_unmask 9
#define EVTCHNOP_reset 10
#define EVTCHNSTAT_closed 0
#define EVTCHNSTAT_unbound 1
#define EVTCHNSTAT_interdomain 2
#define EVTCHNSTAT_pirq 3
#define EVTCHNSTAT_virq 4
#define EVTCHNSTAT_ipi 5
#define VIRQ_TIMER 0
typedef u32 evtchn_port_t;
struct evtchn_alloc_unbound { u16 dom; u16 remote_dom; evtchn_port_t port; };                 /* 8 */
struct evtchn_bind_interdomain { u16 remote_dom; u16 pad; evtchn_port_t remote_port; evtchn_port_t local_port; }; /* 12 */
struct evtchn_bind_virq { u32 virq; u32 vcpu; evtchn_port_t port; };                          /* 12 */
struct evtchn_bind_ipi { u32 vcpu; evtchn_port_t port; };                                     /* 8 */
struct evtchn_port_op { evtchn_port_t port; };                                                /* close, send, unmask */
struct evtchn_status {
	u16 dom; u16 pad; evtchn_port_t port; u32 status; u32 vcpu;
	union { struct { u16 dom; } unbound; struct { u16 dom; u16 pad; evtchn_port_t port; } interdomain; u32 pirq; u32 virq; } u;
};                                                                                            /* 24 */
#define NR_EVENT_CHANNELS (64 * 64)

/* public/grant_table.h (version 1; docs/abi.md §7) */
#define GNTTABOP_map_grant_ref 0
#define GNTTABOP_unmap_grant_ref 1
#define GNTTABOP_setup_table 2
#define GNTTABOP_copy 5
#define GNTTABOP_query_size 6
#define GNTTABOP_set_version 8
#define GNTTABOP_get_version 10
typedef u32 grant_ref_t;
struct grant_entry_v1 { u16 flags; u16 domid; u32 frame; };
#define GTF_permit_access 1
#define GTF_readonly (1 << 2)
#define GTF_reading (1 << 3)
#define GTF_writing (1 << 4)
#define GNTMAP_host_map (1 << 1)
#define GNTMAP_readonly (1 << 2)
#define GNTCOPY_source_gref 1
#define GNTCOPY_dest_gref 2
#define GNTTAB_NR_RESERVED_ENTRIES 8
#define GNTST_okay 0
#define GNTST_general_error (-1)
#define GNTST_permission_denied (-8)
#define GNTST_bad_copy_arg (-10)
struct gnttab_setup_table { u16 dom; u16 pad; u32 nr_frames; s16 status; u16 pad2[3]; u64 frame_list; };  /* 24 */
struct gnttab_query_size { u16 dom; u16 pad; u32 nr_frames; u32 max_nr_frames; s16 status; u16 pad2; };   /* 16 */
struct gnttab_map_grant_ref { u64 host_addr; u32 flags; grant_ref_t ref; u16 dom; s16 status; u32 handle; u64 dev_bus_addr; }; /* 32 */
struct gnttab_unmap_grant_ref { u64 host_addr; u64 dev_bus_addr; u32 handle; s16 status; u16 pad; };     /* 24 */
struct gnttab_copy_ptr { union { grant_ref_t ref; u64 gmfn; } u; u16 domid; u16 offset; u32 pad; };       /* 16 */
struct gnttab_copy { struct gnttab_copy_ptr source, dest; u16 len; u16 flags; s16 status; u16 pad; };     /* 40 */

/* public/memory.h */
#define XENMEM_decrease_reservation 1
#define XENMEM_current_reservation 3
#define XENMEM_maximum_reservation 4
#define XENMEM_populate_physmap 6
#define XENMEM_add_to_physmap 7
#define XENMEM_maximum_gpfn 14
#define XENMAPSPACE_shared_info 0
#define XENMAPSPACE_grant_table 1
struct xen_add_to_physmap { u16 domid; u16 size; u32 space; u64 idx; u64 gpfn; };                    /* 24 */

/* docs/abi.md §4: start_info (x86_64 layout). */
#define XEN_START_MAGIC "xen-3.0-riscv64"
struct start_info {
	char magic[32];
	u64 nr_pages;
	u64 shared_info;      /* guest-physical address */
	u32 flags; u32 pad0;
	u64 store_mfn;        /* GFN */
	u32 store_evtchn; u32 pad1;
	u64 console_mfn;      /* console.domU.mfn: GFN */
	u32 console_evtchn; u32 pad2;
	u64 pt_base, nr_pt_frames, mfn_list, mod_start, mod_len;
	char cmd_line[1024];
	u64 first_p2m_pfn, nr_p2m_frames;
};

/* docs/abi.md §5 */
struct vcpu_time_info {
	u32 version; u32 pad0; u64 tsc_timestamp; u64 system_time;
	u32 tsc_to_system_mul; s8 tsc_shift; u8 flags; u8 pad1[2];
};
struct vcpu_info {
	u8 evtchn_upcall_pending; u8 pad0[7];
	u64 evtchn_pending_sel;
	struct vcpu_time_info time;
};
struct shared_info {
	struct vcpu_info vcpu_info[1];
	u64 evtchn_pending[64];
	u64 evtchn_mask[64];
	u32 wc_version, wc_sec, wc_nsec, wc_sec_hi;
};

/* docs/abi.md §4 memory layout. */
#define GUEST_MAGIC_BASE 0x7FF00000UL
#define MAGIC_GRANT_GPA (GUEST_MAGIC_BASE + 0x4000UL)
#define GUEST_RAM_BASE 0x80000000UL
#define PAGE_SIZE 4096UL
#define PAGE_SHIFT 12

/* public/io/console.h (xen-digest §9.7) */
struct xencons_interface {
	char in[1024];
	char out[2048];
	u32 in_cons, in_prod, out_cons, out_prod;
};

/* public/io/xs_wire.h (xen-digest §1.1, §1.10) */
#define XENSTORE_RING_SIZE 1024
struct xenstore_domain_interface {
	char req[XENSTORE_RING_SIZE];
	char rsp[XENSTORE_RING_SIZE];
	u32 req_cons, req_prod, rsp_cons, rsp_prod;
	u32 server_features, connection;
};
struct xsd_sockmsg { u32 type, req_id, tx_id, len; };
#define XS_DIRECTORY 1
#define XS_READ 2
#define XS_WATCH 4
#define XS_UNWATCH 5
#define XS_GET_DOMAIN_PATH 10
#define XS_WRITE 11
#define XS_RM 13
#define XS_WATCH_EVENT 15
#define XS_ERROR 16
#define XENSTORE_PAYLOAD_MAX 4096

#endif
