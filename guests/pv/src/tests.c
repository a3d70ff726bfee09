/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Test programs (selected by test= on the command line; parameters in guests/pv/README.md):
 * time, pingpong, grant, xenstore and crash. Each prints lines the host tests parse and
 * returns the exit status (0 = pass).
 */
#include "hypercall.h"
#include "kernel.h"

#define WAIT_NS 20000000000UL /* 20 s of system time for a peer to show up */

/* ─── shared helpers ─────────────────────────────────────────────────────────────────── */

static bool domid_known(void) { return self_domid != DOMID_SELF; }

/* Learn our domid from xenstore ("domid" under our home, written by the toolstack) if needed. */
static void learn_domid(void)
{
	long d;
	if (!domid_known() && xs_read_int("domid", &d) == 0)
		self_domid = (unsigned int)d;
}

/* A parameter from the command line, else from xenstore <path> (waiting for the peer). */
static int get_param(const char *key, const char *fmt, unsigned int dom, long *v)
{
	const char *c = cmdline_get(key);
	if (c) {
		*v = strtol(c, NULL, 0);
		return 0;
	}
	char path[128];
	snprintf(path, sizeof(path), fmt, dom);
	int r = xs_wait_int(path, v, system_time_ns() + WAIT_NS);
	if (r)
		printk("pv: %s: not on the command line and not in xenstore at %s (%d)\n", key, path, r);
	return r;
}

/* Publish key=value on the console (for a toolstack without xenstore) and in xenstore. */
static void publish(const char *path, unsigned int reader, long v)
{
	char val[24];
	snprintf(val, sizeof(val), "%ld", v);
	if (xs_write(path, val) == 0 && domid_known())
		xs_set_perms_reader(path, self_domid, reader);
}

/* ─── test=time ──────────────────────────────────────────────────────────────────────── */

int test_time(void)
{
	int fails = 0;
	u64 sec;
	u32 nsec;
	wallclock(&sec, &nsec);
	u64 t0 = system_time_ns();
	printk("time: wallclock %lu.%09u system %lu ns\n", sec, nsec, t0);
	if (nsec >= 1000000000U) {
		printk("time: FAIL wc_nsec %u >= 1e9\n", nsec);
		fails++;
	}
	long min_sec = cmdline_int("min_wc", 1000000000L); /* 2001-09-09: a host clock later than this */
	if ((long)sec < min_sec) {
		printk("time: FAIL wallclock %lu before %ld\n", sec, min_sec);
		fails++;
	}
	/* Monotonic over many reads. */
	u64 prev = system_time_ns(), back = 0;
	for (int i = 0; i < 10000; i++) {
		u64 t = system_time_ns();
		if (t < prev)
			back++;
		prev = t;
	}
	if (back) {
		printk("time: FAIL system time went back %lu times\n", back);
		fails++;
	}
	/* Singleshot timer: each sleep ends no earlier than its deadline, through VIRQ_TIMER. */
	long sleeps = cmdline_int("sleeps", 5), ms = cmdline_int("sleep_ms", 20);
	u64 late_max = 0;
	for (long i = 0; i < sleeps; i++) {
		u64 fires = timer_fires, start = system_time_ns();
		u64 deadline = start + (u64)ms * 1000000UL;
		msleep((u64)ms);
		u64 end = system_time_ns();
		if (end > deadline && end - deadline > late_max)
			late_max = end - deadline;
		if (end < deadline || timer_fires == fires) {
			printk("time: FAIL sleep %ld: woke at +%lu ns (want >= %lu), timer events %lu -> %lu\n", i, end - start,
			       (u64)ms * 1000000UL, fires, timer_fires);
			fails++;
		}
	}
	u64 t1 = system_time_ns();
	/*
	 * SCHEDOP_poll (public/sched.h): on a port nobody signals it returns at the timeout; on a
	 * pending port (an IPI sent to ourselves, masked, so only poll sees it) at once.
	 */
	evtchn_port_t ipi;
	if (evtchn_bind_ipi(vcpu_id, &ipi) != 0) {
		printk("time: FAIL bind_ipi\n");
		fails++;
	} else {
		u64 ps = system_time_ns(), pdl = ps + (u64)ms * 1000000UL;
		irq_disable();
		long pr = sched_poll(&ipi, 1, pdl);
		u64 pe = system_time_ns();
		evtchn_send(ipi);
		u64 qs = system_time_ns();
		long qr = sched_poll(&ipi, 1, qs + 10000000000UL);
		u64 qe = system_time_ns();
		irq_enable();
		if (pr != 0 || pe < pdl || qr != 0 || qe - qs > 1000000000UL) {
			printk("time: FAIL poll: timeout case %ld after %lu ns (want >= %lu), pending case %ld after %lu ns\n", pr, pe - ps,
			       pdl - ps, qr, qe - qs);
			fails++;
		}
		evtchn_clear(ipi);
		evtchn_close(ipi);
	}
	/* A deadline in the past with VCPU_SSHOTTMR_future is refused with -ETIME (public/vcpu.h). */
	struct vcpu_set_singleshot_timer past = { .timeout_abs_ns = 1, .flags = VCPU_SSHOTTMR_future };
	long r = HYPERVISOR_vcpu_op(VCPUOP_set_singleshot_timer, vcpu_id, &past);
	if (r != -XEN_ETIME) {
		printk("time: FAIL past deadline with VCPU_SSHOTTMR_future returned %ld, want %d\n", r, -XEN_ETIME);
		fails++;
	}
	u64 sec2;
	u32 nsec2;
	wallclock(&sec2, &nsec2);
	printk("time: slept %ld x %ld ms in %lu ns, timer events %lu, latest wake %lu ns after its deadline, wallclock %lu -> %lu\n",
	       sleeps, ms, t1 - t0, timer_fires, late_max, sec, sec2);
	printk("time: %s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}

/* ─── test=pingpong ──────────────────────────────────────────────────────────────────── */

static volatile u64 pp_events;
static void pp_event(evtchn_port_t port, void *data)
{
	(void)port, (void)data;
	pp_events++;
}

int test_pingpong(void)
{
	const char *role = cmdline_get("role");
	long peer = cmdline_int("peer", -1), rounds = cmdline_int("rounds", 1000);
	if (!role || peer < 0) {
		printk("pingpong: needs role=ping|pong and peer=<domid>\n");
		return 2;
	}
	evtchn_port_t port;
	long r;
	if (strncmp(role, "ping", 4) == 0) {
		learn_domid();
		r = evtchn_alloc_unbound((u16)peer, &port);
		if (r) {
			printk("pingpong: alloc_unbound(%ld) = %ld\n", peer, r);
			return 1;
		}
		evtchn_bind_handler(port, pp_event, NULL);
		printk("pingpong: port=%u\n", port);
		publish("data/pingpong/port", (unsigned int)peer, port);
		/* The pong sends one event once bound. */
		wait_for_change(&pp_events, 0, system_time_ns() + WAIT_NS);
		if (pp_events == 0) {
			printk("pingpong: FAIL no hello from d%ld\n", peer);
			return 1;
		}
		struct evtchn_status st;
		r = evtchn_status(DOMID_SELF, port, &st);
		if (r || st.status != EVTCHNSTAT_interdomain || st.u.interdomain.dom != peer) {
			printk("pingpong: FAIL status of port %u: r=%ld status=%u dom=%u\n", port, r, st.status, st.u.interdomain.dom);
			return 1;
		}
		u64 t0 = system_time_ns();
		for (long i = 0; i < rounds; i++) {
			u64 seen = pp_events;
			evtchn_send(port);
			wait_for_change(&pp_events, seen, 0);
		}
		u64 dt = system_time_ns() - t0;
		/* Tell the pong we are done: one more event after `rounds` replies. */
		evtchn_send(port);
		printk("pingpong: done rounds=%ld ns=%lu rtt_ns=%lu per_s=%lu upcalls=%lu spurious=%lu resyncs=%lu\n", rounds, dt,
		       dt / (rounds ? rounds : 1), dt ? (u64)rounds * 1000000000UL / dt : 0, upcalls_taken, upcalls_spurious,
		       upcall_resyncs);
		evtchn_close(port);
		return 0;
	}
	long rport;
	if (get_param("port", "/local/domain/%u/data/pingpong/port", (unsigned int)peer, &rport))
		return 1;
	r = evtchn_bind_interdomain((u16)peer, (evtchn_port_t)rport, &port);
	if (r) {
		printk("pingpong: bind_interdomain(d%ld, %ld) = %ld\n", peer, rport, r);
		return 1;
	}
	/* Binding sets our new port pending (covering earlier sends); drop that one. */
	evtchn_clear(port);
	evtchn_bind_handler(port, pp_event, NULL);
	evtchn_send(port);
	/*
	 * Answer `rounds` pings, then take the ping's final "done" event. Wait for the (i+1)-th
	 * event by count, not for a change after reading the counter: with the two domains on
	 * different pCPUs the next ping can arrive between our reply and that read (a lost wake-up).
	 */
	for (long i = 0; i <= rounds; i++) {
		if (pp_events <= (u64)i)
			wait_for_change(&pp_events, (u64)i, i == 0 ? system_time_ns() + WAIT_NS : 0);
		if (pp_events <= (u64)i) {
			printk("pingpong: FAIL no ping from d%ld\n", peer);
			return 1;
		}
		if (i < rounds)
			evtchn_send(port);
	}
	printk("pingpong: pong done rounds=%ld events=%lu\n", rounds, pp_events);
	return 0;
}

/* ─── test=grant ─────────────────────────────────────────────────────────────────────── */

static u8 page_rw[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 page_ro[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 page_local[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile u64 gr_events;
static void gr_event(evtchn_port_t port, void *data)
{
	(void)port, (void)data;
	gr_events++;
}

static u8 pat_map(unsigned int i) { return (u8)(i * 13 + 0x5a); }
static u8 pat_ro(unsigned int i) { return (u8)(i * 31 + 1); }
static u8 pat_copy(unsigned int i) { return (u8)(i * 7 + 3); }

#define COPY_OFF 2048
#define COPY_LEN 1024

static int grant_granter(long peer)
{
	learn_domid();
	memset(page_rw, 0, PAGE_SIZE);
	for (unsigned int i = 0; i < PAGE_SIZE; i++)
		page_ro[i] = pat_ro(i);
	grant_ref_t rw = gnttab_grant_access((u16)peer, (u64)page_rw >> PAGE_SHIFT, false);
	grant_ref_t ro = gnttab_grant_access((u16)peer, (u64)page_ro >> PAGE_SHIFT, true);
	evtchn_port_t port;
	if (!rw || !ro || evtchn_alloc_unbound((u16)peer, &port)) {
		printk("grant: FAIL setting up grants/port\n");
		return 1;
	}
	evtchn_bind_handler(port, gr_event, NULL);
	printk("grant: ref=%u roref=%u port=%u\n", rw, ro, port);
	publish("data/grant/ref", (unsigned int)peer, rw);
	publish("data/grant/roref", (unsigned int)peer, ro);
	publish("data/grant/port", (unsigned int)peer, port);
	/* The mapper sends one event when it has finished (after its unmaps). */
	wait_for_change(&gr_events, 0, system_time_ns() + 3 * WAIT_NS);
	if (!gr_events) {
		printk("grant: FAIL no word from d%ld\n", peer);
		return 1;
	}
	int bad = 0;
	for (unsigned int i = 0; i < COPY_OFF; i++)
		bad += page_rw[i] != pat_map(i);
	for (unsigned int i = 0; i < COPY_LEN; i++)
		bad += page_rw[COPY_OFF + i] != pat_copy(i);
	for (unsigned int i = 0; i < PAGE_SIZE; i++)
		bad += page_ro[i] != pat_ro(i);
	bool ended = gnttab_end_access(rw) && gnttab_end_access(ro);
	printk("grant: granter checked: %d bad bytes, revoke %s\n", bad, ended ? "ok" : "refused (still mapped)");
	printk("grant: %s\n", bad || !ended ? "FAIL" : "ok");
	return bad || !ended ? 1 : 0;
}

static int grant_mapper(long peer)
{
	long rw, ro, rport;
	const char *f = "/local/domain/%u/data/grant/";
	char pr[64], pro[64], pp[64];
	snprintf(pr, sizeof(pr), "%sref", f);
	snprintf(pro, sizeof(pro), "%sroref", f);
	snprintf(pp, sizeof(pp), "%sport", f);
	if (get_param("port", pp, (unsigned int)peer, &rport) || get_param("ref", pr, (unsigned int)peer, &rw) ||
	    get_param("roref", pro, (unsigned int)peer, &ro))
		return 1;
	evtchn_port_t port;
	long r = evtchn_bind_interdomain((u16)peer, (evtchn_port_t)rport, &port);
	if (r) {
		printk("grant: FAIL bind_interdomain = %ld\n", r);
		return 1;
	}
	if (gnttab_init())
		return 1;
	int fails = 0;
	/* Map the rw grant above our RAM (an unpopulated GFN: host_addr is a guest-physical address). */
	u64 map_at = GUEST_RAM_BASE + start_info->nr_pages * PAGE_SIZE + 16 * PAGE_SIZE;
	u32 h;
	r = gnttab_map((u16)peer, (grant_ref_t)rw, map_at, false, &h);
	if (r != GNTST_okay) {
		printk("grant: FAIL map_grant_ref rw = %ld\n", r);
		return 1;
	}
	volatile u8 *m = (volatile u8 *)map_at;
	for (unsigned int i = 0; i < COPY_OFF; i++)
		m[i] = pat_map(i);
	r = gnttab_unmap(map_at, h);
	if (r != GNTST_okay) {
		printk("grant: FAIL unmap rw = %ld\n", r);
		fails++;
	}
	/*
	 * The read-only grant: mapping it writable is refused, read-only works and shows the
	 * pattern. Xen 4.7 refuses a write pin of a GTF_readonly entry with GNTST_general_error
	 * ("Attempt to write-pin a r/o grant entry", _set_status_v1 in common/grant_table.c).
	 */
	r = gnttab_map((u16)peer, (grant_ref_t)ro, map_at, false, &h);
	if (r != GNTST_general_error) {
		printk("grant: FAIL writable map of a readonly grant = %ld, want %d\n", r, GNTST_general_error);
		fails++;
		if (r == GNTST_okay)
			gnttab_unmap(map_at, h);
	}
	r = gnttab_map((u16)peer, (grant_ref_t)ro, map_at, true, &h);
	if (r != GNTST_okay) {
		printk("grant: FAIL readonly map = %ld\n", r);
		fails++;
	} else {
		int bad = 0;
		for (unsigned int i = 0; i < PAGE_SIZE; i++)
			bad += m[i] != pat_ro(i);
		if (bad) {
			printk("grant: FAIL readonly mapping: %d bad bytes\n", bad);
			fails++;
		}
		gnttab_unmap(map_at, h);
	}
	/* Grant copy, local page → peer's rw grant at COPY_OFF. */
	for (unsigned int i = 0; i < COPY_LEN; i++)
		page_local[i] = pat_copy(i);
	struct gnttab_copy c = { 0 };
	c.source.u.gmfn = (u64)page_local >> PAGE_SHIFT;
	c.source.domid = DOMID_SELF;
	c.source.offset = 0;
	c.dest.u.ref = (grant_ref_t)rw;
	c.dest.domid = (u16)peer;
	c.dest.offset = COPY_OFF;
	c.len = COPY_LEN;
	c.flags = GNTCOPY_dest_gref;
	r = gnttab_copy_one(&c);
	if (r != GNTST_okay) {
		printk("grant: FAIL copy to peer = %ld\n", r);
		fails++;
	}
	/* Grant copy, peer's readonly grant → local page. */
	memset(page_local, 0, PAGE_SIZE);
	struct gnttab_copy c2 = { 0 };
	c2.source.u.ref = (grant_ref_t)ro;
	c2.source.domid = (u16)peer;
	c2.dest.u.gmfn = (u64)page_local >> PAGE_SHIFT;
	c2.dest.domid = DOMID_SELF;
	c2.len = PAGE_SIZE;
	c2.flags = GNTCOPY_source_gref;
	r = gnttab_copy_one(&c2);
	int bad = 0;
	for (unsigned int i = 0; i < PAGE_SIZE; i++)
		bad += page_local[i] != pat_ro(i);
	if (r != GNTST_okay || bad) {
		printk("grant: FAIL copy from peer = %ld, %d bad bytes\n", r, bad);
		fails++;
	}
	/* Grant copy into the readonly grant is refused (the same write pin, GNTST_general_error). */
	struct gnttab_copy c3 = c;
	c3.dest.u.ref = (grant_ref_t)ro;
	c3.dest.offset = 0;
	c3.status = 0;
	r = gnttab_copy_one(&c3);
	if (r != GNTST_general_error) {
		printk("grant: FAIL copy into a readonly grant = %ld, want %d\n", r, GNTST_general_error);
		fails++;
	}
	/* A copy crossing the page end is refused (GNTST_bad_copy_arg). */
	struct gnttab_copy c4 = c;
	c4.dest.offset = PAGE_SIZE - 16;
	c4.len = 32;
	c4.status = 0;
	r = gnttab_copy_one(&c4);
	if (r != GNTST_bad_copy_arg) {
		printk("grant: FAIL page-crossing copy = %ld, want %d\n", r, GNTST_bad_copy_arg);
		fails++;
	}
	evtchn_send(port);
	printk("grant: mapper %s\n", fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}

int test_grant(void)
{
	const char *role = cmdline_get("role");
	long peer = cmdline_int("peer", -1);
	if (!role || peer < 0) {
		printk("grant: needs role=granter|mapper and peer=<domid>\n");
		return 2;
	}
	if (gnttab_init()) {
		printk("grant: FAIL no grant table\n");
		return 1;
	}
	return strncmp(role, "granter", 7) == 0 ? grant_granter(peer) : grant_mapper(peer);
}

/* ─── test=xenstore ──────────────────────────────────────────────────────────────────── */

int test_xenstore(void)
{
	char buf[256];
	int fails = 0, r;
	learn_domid();
	if (!xs_available()) {
		printk("xenstore: FAIL unavailable\n");
		return 1;
	}
	r = xs_watch("data/pvtest", "tok");
	char ev[128];
	/* A new watch fires once at once (xen-digest §1.7). */
	if (r || xs_wait_watch(ev, sizeof(ev), system_time_ns() + WAIT_NS) < 0) {
		printk("xenstore: FAIL watch (%d)\n", r);
		fails++;
	}
	if (xs_write("data/pvtest/a", "hello") || xs_write("data/pvtest/b", "world")) {
		printk("xenstore: FAIL write\n");
		fails++;
	}
	r = xs_read("data/pvtest/a", buf, sizeof(buf));
	if (r != 5 || strcmp(buf, "hello") != 0) {
		printk("xenstore: FAIL read = %d '%s'\n", r, r > 0 ? buf : "");
		fails++;
	}
	r = xs_directory("data/pvtest", buf, sizeof(buf));
	if (r != 4 || strcmp(buf, "a") != 0 || strcmp(buf + 2, "b") != 0) {
		printk("xenstore: FAIL directory = %d\n", r);
		fails++;
	}
	r = xs_wait_watch(ev, sizeof(ev), system_time_ns() + WAIT_NS);
	if (r < 0 || strncmp(ev, "data/pvtest", 11) != 0) {
		printk("xenstore: FAIL watch event (%d) '%s'\n", r, r > 0 ? ev : "");
		fails++;
	}
	r = xs_read("data/pvtest/missing", buf, sizeof(buf));
	if (r != -XEN_ENOENT) {
		printk("xenstore: FAIL read of a missing node = %d\n", r);
		fails++;
	}
	long n = cmdline_int("xs_bench", 0);
	if (n > 0) {
		u64 t0 = system_time_ns();
		for (long i = 0; i < n; i++)
			if (xs_read("data/pvtest/a", buf, sizeof(buf)) != 5)
				fails++;
		u64 us = (system_time_ns() - t0) / 1000 + 1;
		printk("xenstore: bench %ld reads in %lu us: %lu reads/s\n", n, us, (u64)n * 1000000 / us);
	}
	printk("xenstore: domid %u %s\n", self_domid, fails ? "FAIL" : "ok");
	return fails ? 1 : 0;
}

/* ─── test=crash ─────────────────────────────────────────────────────────────────────── */

int test_crash(void)
{
	const char *mode = cmdline_get("mode");
	long after = cmdline_int("after_ms", 0);
	if (after > 0)
		msleep((u64)after);
	printk("crash: crashing now (%s)\n", mode ? mode : "trap");
	if (mode && strncmp(mode, "fault", 5) == 0) /* unmapped guest-physical address: a stage-2 fault */
		*(volatile u64 *)0x10000000UL = 1;
	asm volatile(".word 0" ::: "memory"); /* an illegal instruction: our trap handler crashes the domain */
	return 1;
}

/* ─── test=hcbench ───────────────────────────────────────────────────────────────────── */

/*
 * Hypercall cost and grant-copy throughput measured from inside the guest (guest system time):
 * `calls` xen_version(XENVER_version) calls, the same number of iterations of an empty loop as
 * the baseline, and `copies` GNTTABOP_copy of a whole page between two of its own frames.
 */
int test_hcbench(void)
{
	long n = cmdline_int("calls", 100000), copies = cmdline_int("copies", 20000);
	u64 t0 = system_time_ns();
	for (long i = 0; i < n; i++)
		HYPERVISOR_xen_version(XENVER_version, NULL);
	u64 t1 = system_time_ns();
	for (long i = 0; i < n; i++)
		asm volatile("" ::: "memory");
	u64 t2 = system_time_ns();
	printk("hcbench: hypercalls=%ld ns=%lu per_call_ns=%lu loop_ns=%lu\n", n, t1 - t0, (t1 - t0) / (n ? n : 1), t2 - t1);
	if (gnttab_init())
		return 1;
	for (unsigned int i = 0; i < PAGE_SIZE; i++)
		page_local[i] = pat_copy(i);
	struct gnttab_copy c = { 0 };
	c.source.u.gmfn = (u64)page_local >> PAGE_SHIFT;
	c.source.domid = DOMID_SELF;
	c.dest.u.gmfn = (u64)page_rw >> PAGE_SHIFT;
	c.dest.domid = DOMID_SELF;
	c.len = PAGE_SIZE;
	u64 t3 = system_time_ns();
	for (long i = 0; i < copies; i++) {
		c.status = 1;
		if (gnttab_copy_one(&c) != GNTST_okay) {
			printk("hcbench: FAIL grant copy %ld status %d\n", i, c.status);
			return 1;
		}
	}
	u64 t4 = system_time_ns();
	if (memcmp(page_rw, page_local, PAGE_SIZE) != 0) {
		printk("hcbench: FAIL grant copy did not copy\n");
		return 1;
	}
	u64 bytes = (u64)copies * PAGE_SIZE;
	printk("hcbench: grant_copies=%ld bytes=%lu ns=%lu mib_per_s=%lu\n", copies, bytes, t4 - t3,
	       t4 > t3 ? bytes * 1000000000UL / (t4 - t3) / (1024 * 1024) : 0);
	return 0;
}
