// SPDX-License-Identifier: GPL-2.0-only
// console_io commands and multicall's entry layout.
// Xen: xen/include/public/xen.h (CONSOLEIO_*, struct multicall_entry), Xen 4.7

export const CONSOLEIO_write = 0;
export const CONSOLEIO_read = 1;

// struct multicall_entry (64 bytes): xen_ulong_t op, result, args[6]
export const MC_OP = 0;
export const MC_RESULT = 8;
export const MC_ARGS = 16;
export const MULTICALL_ENTRY_SIZE = 64;

// struct sched_shutdown (4 bytes): unsigned int reason
// struct sched_remote_shutdown (8 bytes): domid_t domain_id; unsigned int reason (offset 4)
// struct sched_poll (24 bytes): XEN_GUEST_HANDLE(evtchn_port_t) ports; unsigned int nr_ports (8); u64 timeout (16)
export const SCHED_POLL_PORTS = 0;
export const SCHED_POLL_NR_PORTS = 8;
export const SCHED_POLL_TIMEOUT = 16;
export const SCHED_POLL_SIZE = 24;
export const SCHED_REMOTE_SHUTDOWN_SIZE = 8;
