/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Time (docs/abi.md §5-§6; public/xen.h vcpu_time_info, shared_info wc_*; xen-digest §9.5).
 * System time = system_time + ((((time - tsc_timestamp) << tsc_shift) * tsc_to_system_mul) >> 32),
 * "tsc" being the `time` CSR, a negative shift meaning a right shift; read under the seqlock
 * (retry while version is odd or changes). The wallclock (wc_sec_hi:wc_sec, wc_nsec at system
 * time 0) uses the same rule with wc_version. Timers: VCPUOP_set_singleshot_timer, expiring as
 * VIRQ_TIMER on this vCPU.
 */
#include "hypercall.h"
#include "kernel.h"

volatile u64 timer_fires;
static evtchn_port_t timer_port;

static void timer_event(evtchn_port_t port, void *data)
{
	(void)port, (void)data;
	timer_fires++;
}

void time_init(void)
{
	if (evtchn_bind_virq(VIRQ_TIMER, this_cpu()->id, &timer_port) == 0)
		evtchn_bind_handler(timer_port, timer_event, NULL);
	else
		printk("pv: bind_virq(VIRQ_TIMER) failed\n");
}

u64 system_time_ns(void)
{
	volatile struct vcpu_time_info *t = &this_cpu()->vi->time;
	u32 v;
	u64 ns;
	do {
		v = t->version;
		rmb();
		u64 delta = rdtime() - t->tsc_timestamp;
		s8 shift = t->tsc_shift;
		if (shift >= 0)
			delta <<= shift;
		else
			delta >>= -shift;
		ns = t->system_time + (u64)(((unsigned __int128)delta * t->tsc_to_system_mul) >> 32);
		rmb();
	} while ((v & 1) || v != t->version);
	return ns;
}

void wallclock(u64 *sec, u32 *nsec)
{
	volatile struct shared_info *s = shared_info;
	u32 v;
	do {
		v = s->wc_version;
		rmb();
		*sec = ((u64)s->wc_sec_hi << 32) | s->wc_sec;
		*nsec = s->wc_nsec;
		rmb();
	} while ((v & 1) || v != s->wc_version);
}

long timer_set(u64 abs_ns)
{
	struct vcpu_set_singleshot_timer t = { .timeout_abs_ns = abs_ns, .flags = 0 };
	return HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, this_cpu()->id, &t);
}

/* Sleep ms milliseconds of system time, blocking until the timer event. */
void msleep(u64 ms)
{
	u64 deadline = system_time_ns() + ms * 1000000UL;
	static volatile u64 never;
	wait_for_change(&never, 0, deadline);
}
