/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Console: the PV console ring (struct xencons_interface, public/io/console.h; xen-digest §9.7)
 * at start_info.console.domU.mfn with its event channel, and CONSOLEIO_write (hypercall 18) as
 * the early and fallback path.
 *
 * Producer rule for out[]: copy bytes at out_prod & (2048-1), wmb, advance out_prod, then notify
 * the console event channel. When the ring is full we notify and yield; if the backend
 * (xenconsoled) consumes nothing for CONSOLE_STALL_YIELDS yields, the kernel says so through
 * console_io and uses console_io from then on, so a missing backend never hangs a test.
 * `console=xen` on the command line selects console_io from the start.
 */
#include "hypercall.h"
#include "kernel.h"

#define OUT_SIZE 2048
#define CONSOLE_STALL_YIELDS 20000

static struct xencons_interface *ring;
static evtchn_port_t ring_port;
static bool use_hypercall = true;

void console_init(void)
{
	const char *c = cmdline_get("console");
	if (c && strncmp(c, "xen", 3) == 0)
		return;
	if (start_info->console_mfn == 0)
		return;
	ring = (struct xencons_interface *)(start_info->console_mfn << PAGE_SHIFT);
	ring_port = start_info->console_evtchn;
	use_hypercall = false;
}

static void ring_write(const char *s, size_t n)
{
	unsigned int stalls = 0;
	while (n) {
		u32 cons = READ_ONCE(ring->out_cons);
		u32 prod = ring->out_prod;
		mb();
		if (prod - cons > OUT_SIZE) { /* corrupt indexes: give up on the ring */
			use_hypercall = true;
			HYPERVISOR_console_io(CONSOLEIO_write, (int)n, s);
			return;
		}
		size_t room = OUT_SIZE - (prod - cons);
		if (room == 0) {
			evtchn_send(ring_port);
			if (++stalls > CONSOLE_STALL_YIELDS) {
				static const char msg[] = "pv: console ring not consumed; using console_io\n";
				use_hypercall = true;
				HYPERVISOR_console_io(CONSOLEIO_write, sizeof(msg) - 1, msg);
				HYPERVISOR_console_io(CONSOLEIO_write, (int)n, s);
				return;
			}
			sched_yield();
			continue;
		}
		stalls = 0;
		size_t k = n < room ? n : room;
		for (size_t i = 0; i < k; i++)
			ring->out[(prod + i) & (OUT_SIZE - 1)] = s[i];
		wmb();
		WRITE_ONCE(ring->out_prod, prod + (u32)k);
		s += k;
		n -= k;
	}
	evtchn_send(ring_port);
}

void console_write(const char *s, size_t n)
{
	if (use_hypercall) {
		HYPERVISOR_console_io(CONSOLEIO_write, (int)n, s);
		return;
	}
	unsigned long f = irq_save();
	ring_write(s, n);
	irq_restore(f);
}

/* Wait (bounded) until the backend has consumed everything we wrote. */
void console_flush(void)
{
	if (use_hypercall)
		return;
	for (unsigned int i = 0; i < CONSOLE_STALL_YIELDS; i++) {
		if (READ_ONCE(ring->out_cons) == READ_ONCE(ring->out_prod))
			return;
		evtchn_send(ring_port);
		sched_yield();
	}
}
