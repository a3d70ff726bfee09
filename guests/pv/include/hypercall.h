/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hypercall wrappers: docs/abi.md §3. a7 = XEN_SBI_EID, a6 = the hypercall number, a0-a5 the
 * arguments, `ecall` from S-mode, result in a0 (>= 0 success, < 0 a negated Xen errno). Every
 * other register is preserved, so only a0 is an output; "memory" because handles point at
 * guest memory the hypervisor reads and writes.
 */
#ifndef PV_HYPERCALL_H
#define PV_HYPERCALL_H

#include "xen.h"

static inline long hypercall6(unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2,
			      unsigned long a3, unsigned long a4, unsigned long a5)
{
	register unsigned long r0 asm("a0") = a0;
	register unsigned long r1 asm("a1") = a1;
	register unsigned long r2 asm("a2") = a2;
	register unsigned long r3 asm("a3") = a3;
	register unsigned long r4 asm("a4") = a4;
	register unsigned long r5 asm("a5") = a5;
	register unsigned long r6 asm("a6") = nr;
	register unsigned long r7 asm("a7") = XEN_SBI_EID;
	asm volatile("ecall"
		     : "+r"(r0)
		     : "r"(r1), "r"(r2), "r"(r3), "r"(r4), "r"(r5), "r"(r6), "r"(r7)
		     : "memory");
	return (long)r0;
}
#define hypercall2(nr, a, b) hypercall6((nr), (unsigned long)(a), (unsigned long)(b), 0, 0, 0, 0)
#define hypercall3(nr, a, b, c) hypercall6((nr), (unsigned long)(a), (unsigned long)(b), (unsigned long)(c), 0, 0, 0)

static inline long HYPERVISOR_console_io(int cmd, int count, const char *buf)
{ return hypercall3(__HYPERVISOR_console_io, cmd, count, buf); }
static inline long HYPERVISOR_xen_version(int cmd, void *arg)
{ return hypercall2(__HYPERVISOR_xen_version, cmd, arg); }
static inline long HYPERVISOR_sched_op(int cmd, void *arg)
{ return hypercall2(__HYPERVISOR_sched_op, cmd, arg); }
static inline long HYPERVISOR_event_channel_op(int cmd, void *arg)
{ return hypercall2(__HYPERVISOR_event_channel_op, cmd, arg); }
static inline long HYPERVISOR_grant_table_op(int cmd, void *uop, unsigned int count)
{ return hypercall3(__HYPERVISOR_grant_table_op, cmd, uop, count); }
static inline long HYPERVISOR_vcpu_op(int cmd, unsigned int vcpu, void *arg)
{ return hypercall3(__HYPERVISOR_vcpu_op, cmd, vcpu, arg); }
static inline long HYPERVISOR_memory_op(int cmd, void *arg)
{ return hypercall2(__HYPERVISOR_memory_op, cmd, arg); }

#endif
