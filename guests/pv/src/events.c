/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Event channels, 2-level ABI (docs/abi.md §6; public/event_channel.h; xen-digest §9.2).
 *
 * The upcall is the supervisor external interrupt: SEIP follows vcpu_info.evtchn_upcall_pending.
 * The handler clears evtchn_upcall_pending, atomically swaps evtchn_pending_sel to 0, and for
 * every word it names takes the pending-and-unmasked ports, clears each port's pending bit and
 * calls that port's handler; it repeats while evtchn_upcall_pending was set again meanwhile.
 *
 * If SEIP is still asserted after the byte is clear (a hypervisor that re-samples the level
 * only at its own entry points), the handler makes one cheap hypercall (xen_version) so the
 * level is re-sampled; without it, S-mode could not drop SEIP and would take the trap forever.
 */
#include "hypercall.h"
#include "kernel.h"

#define SIP_SEIP (1UL << 9)
#define SIE_SEIE (1UL << 9)

struct handler { evtchn_handler_t fn; void *data; unsigned int cpu; };
static struct handler handlers[NR_EVENT_CHANNELS];
u64 upcalls_taken;
u64 upcalls_spurious;
u64 upcall_resyncs; /* hypercalls made only to drop a stale SEIP */

void events_init(void)
{
	/* Start with every port masked but those we bind (Linux does the same). */
	for (unsigned int i = 0; i < 64; i++)
		shared_info->evtchn_mask[i] = ~0UL;
	asm volatile("csrs sie, %0" ::"r"(SIE_SEIE));
}

void evtchn_mask(evtchn_port_t port)
{
	__atomic_fetch_or(&shared_info->evtchn_mask[port / 64], 1UL << (port % 64), __ATOMIC_SEQ_CST);
}

void evtchn_clear(evtchn_port_t port)
{
	__atomic_fetch_and(&shared_info->evtchn_pending[port / 64], ~(1UL << (port % 64)), __ATOMIC_SEQ_CST);
}

/* The handler runs on `cpu`, the vCPU the port notifies (Xen's notify_vcpu_id). */
int evtchn_bind_handler_cpu(evtchn_port_t port, unsigned int cpu, evtchn_handler_t h, void *data)
{
	if (port >= NR_EVENT_CHANNELS)
		return -XEN_EINVAL;
	handlers[port].fn = h;
	handlers[port].data = data;
	handlers[port].cpu = cpu;
	return (int)evtchn_unmask(port);
}

int evtchn_bind_handler(evtchn_port_t port, evtchn_handler_t h, void *data)
{
	return evtchn_bind_handler_cpu(port, this_cpu()->id, h, data);
}

void evtchn_unbind_handler(evtchn_port_t port)
{
	if (port >= NR_EVENT_CHANNELS)
		return;
	evtchn_mask(port);
	handlers[port].fn = NULL;
}

void evtchn_handle_upcall(void)
{
	struct vcpu_info *vi = this_cpu()->vi;
	unsigned int me = this_cpu()->id;
	bool any = false;
	upcalls_taken++;
	while (READ_ONCE(vi->evtchn_upcall_pending)) {
		WRITE_ONCE(vi->evtchn_upcall_pending, 0);
		mb();
		u64 sel = __atomic_exchange_n(&vi->evtchn_pending_sel, 0, __ATOMIC_SEQ_CST);
		while (sel) {
			unsigned int w = __builtin_ctzl(sel);
			sel &= sel - 1;
			/*
			 * One pass over a snapshot of the word: a port that turns pending later sets
			 * the selector and evtchn_upcall_pending again, so the outer loop sees it.
			 * Ports another vCPU serves are left pending for it.
			 */
			u64 bits = READ_ONCE(shared_info->evtchn_pending[w]) & ~READ_ONCE(shared_info->evtchn_mask[w]);
			while (bits) {
				unsigned int b = __builtin_ctzl(bits);
				bits &= bits - 1;
				evtchn_port_t port = w * 64 + b;
				struct handler *h = &handlers[port];
				if (h->fn && h->cpu != me)
					continue;
				evtchn_clear(port);
				any = true;
				if (h->fn)
					h->fn(port, h->data);
			}
		}
	}
	if (!any)
		upcalls_spurious++;
	unsigned long sip;
	asm volatile("csrr %0, sip" : "=r"(sip));
	if ((sip & SIP_SEIP) && !READ_ONCE(vi->evtchn_upcall_pending)) {
		upcall_resyncs++;
		HYPERVISOR_xen_version(XENVER_version, NULL);
	}
}

long evtchn_alloc_unbound(u16 remote_dom, evtchn_port_t *port)
{
	struct evtchn_alloc_unbound op = { .dom = DOMID_SELF, .remote_dom = remote_dom };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_alloc_unbound, &op);
	if (r == 0)
		*port = op.port;
	return r;
}

long evtchn_bind_interdomain(u16 remote_dom, evtchn_port_t remote_port, evtchn_port_t *local)
{
	struct evtchn_bind_interdomain op = { .remote_dom = remote_dom, .remote_port = remote_port };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_interdomain, &op);
	if (r == 0)
		*local = op.local_port;
	return r;
}

long evtchn_bind_virq(u32 virq, u32 vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_virq op = { .virq = virq, .vcpu = vcpu };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_virq, &op);
	if (r == 0)
		*port = op.port;
	return r;
}

long evtchn_bind_ipi(u32 vcpu, evtchn_port_t *port)
{
	struct evtchn_bind_ipi op = { .vcpu = vcpu };
	long r = HYPERVISOR_event_channel_op(EVTCHNOP_bind_ipi, &op);
	if (r == 0)
		*port = op.port;
	return r;
}

long evtchn_send(evtchn_port_t port)
{
	struct evtchn_port_op op = { .port = port };
	return HYPERVISOR_event_channel_op(EVTCHNOP_send, &op);
}

long evtchn_close(evtchn_port_t port)
{
	struct evtchn_port_op op = { .port = port };
	evtchn_unbind_handler(port);
	return HYPERVISOR_event_channel_op(EVTCHNOP_close, &op);
}

/* EVTCHNOP_unmask: Xen clears the mask bit and re-raises the port if it is pending. */
long evtchn_unmask(evtchn_port_t port)
{
	struct evtchn_port_op op = { .port = port };
	return HYPERVISOR_event_channel_op(EVTCHNOP_unmask, &op);
}

long evtchn_status(u16 dom, evtchn_port_t port, struct evtchn_status *st)
{
	memset(st, 0, sizeof(*st));
	st->dom = dom;
	st->port = port;
	return HYPERVISOR_event_channel_op(EVTCHNOP_status, st);
}

long sched_yield(void) { return HYPERVISOR_sched_op(SCHEDOP_yield, NULL); }

/* SCHEDOP_block returns at once if an upcall is pending (Xen: local_events_need_delivery). */
long sched_block(void) { return HYPERVISOR_sched_op(SCHEDOP_block, NULL); }

long sched_poll(evtchn_port_t *ports, unsigned int n, u64 timeout_ns)
{
	struct sched_poll p = { .ports = (u64)ports, .nr_ports = n, .timeout = timeout_ns };
	return HYPERVISOR_sched_op(SCHEDOP_poll, &p);
}

/*
 * Sleep until *flag differs from `seen` (it is changed by an event handler) or the deadline
 * passes. Interrupts are off while checking and blocking, so an event between the check and
 * SCHEDOP_block is not lost: it sets evtchn_upcall_pending and block returns at once; the
 * handler runs when interrupts come back on.
 */
void wait_for_change(volatile u64 *flag, u64 seen, u64 deadline_ns)
{
	for (;;) {
		irq_disable();
		if (*flag != seen || (deadline_ns && system_time_ns() >= deadline_ns)) {
			irq_enable();
			return;
		}
		if (deadline_ns)
			timer_set(deadline_ns);
		sched_block();
		irq_enable();
	}
}
