/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test=smp: a second vCPU. vCPU 0 brings vCPU 1 up with VCPUOP_initialise (our
 * vcpu_guest_context: pc, a1, sp, satp; src/hypervisor/public/vcpu.ts) and VCPUOP_up; vCPU 1
 * places its vcpu_info with VCPUOP_register_vcpu_info (public/vcpu.h: only vCPU 0's is in
 * shared_info, docs/abi.md §5), binds an IPI port to itself and answers every IPI from vCPU 0
 * with one on vCPU 0's IPI port, `rounds` times; then it takes itself down (VCPUOP_down) and
 * vCPU 0 checks VCPUOP_is_up says so.
 *   smp: done rounds=N ns=T rtt_ns=R
 */
#include "hypercall.h"
#include "kernel.h"

static u8 stack1[16384] __attribute__((aligned(16)));
static struct vcpu_info vi1 __attribute__((aligned(64)));
static volatile u64 ready1, stop1, ipi0_count, ipi1_count;
static evtchn_port_t port0, port1;

extern char secondary_entry[];

static void on_ipi0(evtchn_port_t p, void *d) { (void)p, (void)d; ipi0_count++; }
static void on_ipi1(evtchn_port_t p, void *d)
{
	(void)p, (void)d;
	if (stop1)
		return; /* the "stop" IPI: not a round */
	ipi1_count++;
	evtchn_send(port0);
}

void secondary_main(unsigned long id)
{
	struct pcpu *me = this_cpu();
	me->id = (unsigned int)id;
	struct vcpu_register_vcpu_info r = { .mfn = (u64)&vi1 >> PAGE_SHIFT, .offset = (u32)((u64)&vi1 & (PAGE_SIZE - 1)) };
	long rc = HYPERVISOR_vcpu_op(VCPUOP_register_vcpu_info, me->id, &r);
	if (rc) {
		printk("smp: FAIL vcpu %u register_vcpu_info = %ld\n", me->id, rc);
		ready1 = 2;
		evtchn_send(port0);
		HYPERVISOR_vcpu_op(VCPUOP_down, me->id, NULL);
	}
	me->vi = &vi1;
	if (evtchn_bind_ipi(me->id, &port1) != 0) {
		ready1 = 2;
		evtchn_send(port0);
		HYPERVISOR_vcpu_op(VCPUOP_down, me->id, NULL);
	}
	evtchn_bind_handler(port1, on_ipi1, NULL);
	asm volatile("csrs sie, %0" ::"r"(1UL << 9));
	ready1 = 1;
	evtchn_send(port0);
	for (;;) {
		irq_disable();
		if (stop1)
			break;
		sched_block();
		irq_enable();
	}
	HYPERVISOR_vcpu_op(VCPUOP_down, me->id, NULL);
	for (;;)
		asm volatile("wfi");
}

int test_smp(void)
{
	long rounds = cmdline_int("rounds", 1000);
	if (evtchn_bind_ipi(0, &port0) || evtchn_bind_handler(port0, on_ipi0, NULL)) {
		printk("smp: FAIL bind_ipi on vcpu 0\n");
		return 1;
	}
	pcpus[1].id = 1;
	struct vcpu_guest_context ctx = {
		.pc = (u64)secondary_entry, .a1 = (u64)&pcpus[1], .sp = (u64)(stack1 + sizeof(stack1)), .satp = 0,
	};
	long r = HYPERVISOR_vcpu_op(VCPUOP_initialise, 1, &ctx);
	long r2 = r ? r : HYPERVISOR_vcpu_op(VCPUOP_up, 1, NULL);
	if (r || r2) {
		printk("smp: FAIL initialise = %ld, up = %ld\n", r, r2);
		return 1;
	}
	wait_for_change(&ready1, 0, system_time_ns() + 10000000000UL);
	if (ready1 != 1 || HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) != 1) {
		printk("smp: FAIL vcpu 1 did not come up (ready %lu)\n", ready1);
		return 1;
	}
	u64 t0 = system_time_ns();
	for (long i = 0; i < rounds; i++) {
		u64 seen = ipi0_count;
		evtchn_send(port1);
		wait_for_change(&ipi0_count, seen, 0);
	}
	u64 dt = system_time_ns() - t0;
	stop1 = 1;
	mb();
	evtchn_send(port1);
	/* vCPU 1 takes itself down; wait (bounded) until VCPUOP_is_up says so. */
	u64 deadline = system_time_ns() + 10000000000UL;
	while (HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL) != 0 && system_time_ns() < deadline)
		sched_yield();
	long up = HYPERVISOR_vcpu_op(VCPUOP_is_up, 1, NULL);
	if (ipi1_count != (u64)rounds || up != 0) {
		printk("smp: FAIL vcpu 1 saw %lu of %ld IPIs, is_up after down = %ld\n", ipi1_count, rounds, up);
		return 1;
	}
	printk("smp: done rounds=%ld ns=%lu rtt_ns=%lu\n", rounds, dt, dt / (rounds ? rounds : 1));
	return 0;
}
