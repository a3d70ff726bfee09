/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Supervisor trap handler: the event upcall (interrupt 9, docs/abi.md §6), the supervisor timer
 * interrupt (5; unused: our timers are VIRQ_TIMER, so a stray one just disables STIE), and
 * every exception, which is fatal: the kernel prints the cause and registers and crashes the
 * domain with SCHEDOP_shutdown(SHUTDOWN_crash).
 */
#include "hypercall.h"
#include "kernel.h"

#define SCAUSE_INTR (1UL << 63)

static const char *const exc_names[] = {
	"instruction misaligned", "instruction access fault", "illegal instruction", "breakpoint",
	"load misaligned", "load access fault", "store misaligned", "store access fault",
	"ecall from U", "ecall from S", "reserved", "reserved",
	"instruction page fault", "load page fault", "reserved", "store page fault",
};

void trap_handler(struct trap_frame *f)
{
	u64 cause = f->scause;
	if (cause & SCAUSE_INTR) {
		switch (cause & ~SCAUSE_INTR) {
		case 9:
			evtchn_handle_upcall();
			return;
		case 5:
			asm volatile("csrc sie, %0" ::"r"(1UL << 5));
			return;
		default:
			printk("pv: unexpected interrupt %lu\n", cause & ~SCAUSE_INTR);
			return;
		}
	}
	char why[160];
	snprintf(why, sizeof(why), "fatal trap: %s (scause %lu) at sepc 0x%lx stval 0x%lx ra 0x%lx sp 0x%lx",
		 cause < ARRAY_SIZE(exc_names) ? exc_names[cause] : "unknown", cause, f->sepc, f->stval, f->x[1], f->x[2]);
	crash(why);
}
