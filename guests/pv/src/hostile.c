/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * test=hostile: N random hypercalls (random numbers, sub-ops and arguments, pointers into a
 * scratch area of its own RAM and outside its memory), counting the results by errno, and
 * never crashing itself. The summary line is parsed by tests/pv/pv.e2e.test.ts:
 *   hostile: summary calls=<n> skipped=<n> ok=<n> err=<n> seed=<s>
 *   hostile: errno <e>:<count> ...
 *
 * What keeps the guest alive (guests/pv/README.md "hostile" lists the same):
 * - Scratch: the last SCRATCH_BYTES of RAM; every pointer "into its memory" points there, so
 *   whatever the hypervisor writes, it writes there, and an overrun runs off the end of RAM
 *   (an -EFAULT) instead of into the kernel.
 * - Every value the kernel writes into scratch or passes as an argument is scrubbed: a value
 *   that is a GFN of its own RAM or magic region, or a guest-physical address in its RAM
 *   outside scratch or in the magic region, gets bit 40 flipped. So memory_op cannot unmap,
 *   replace or repopulate its own pages, grant copies/maps cannot target them, and no
 *   handle reaches the kernel, start_info, shared_info, the rings or the grant table.
 * - Skipped (counted in skipped=): sched_op block, poll, shutdown, watchdog (stop or kill it)
 *   and remote_shutdown of itself; vcpu_op up/down of vCPU ids < 64 (down stops vCPU 0, up
 *   starts a vCPU at a random pc); event_channel_op reset (closes the console channel) and
 *   close/bind_vcpu of the console or xenstore port. multicall gets 0-7 entries whose nested
 *   op is rewritten to xen_version when it is one of the above families.
 * Interrupts stay off for the whole run (a random timer or event must not run handlers over
 * scribbled state); printing uses the console ring without waiting for events.
 */
#include "hypercall.h"
#include "kernel.h"

#define SCRATCH_BYTES (256UL * 1024)
#define MUTATE_WINDOW (16UL * 1024)
/* Bytes scrubbed at each pointer argument: the largest argument structure (a multicall entry). */
#define STRUCT_WINDOW 64

extern char _end[];

static u64 rng;
static u64 ram_start, ram_end, scratch, scratch_end;

static u64 rnd(void)
{
	/* xorshift64* */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545F4914F6CDD1DUL;
}

static bool dangerous(u64 v)
{
	u64 gfn_lo = ram_start >> PAGE_SHIFT, gfn_hi = ram_end >> PAGE_SHIFT;
	u64 magic_gfn = GUEST_MAGIC_BASE >> PAGE_SHIFT;
	for (int pass = 0; pass < 2; pass++) {
		if (v >= gfn_lo && v < gfn_hi)
			return true; /* a GFN of its RAM */
		if (v >= magic_gfn && v < gfn_lo)
			return true; /* a GFN of the magic region */
		if (v >= GUEST_MAGIC_BASE && v < ram_start)
			return true; /* a GPA in the magic region */
		if (v >= ram_start && v < ram_end && !(v >= scratch && v < scratch_end))
			return true; /* a GPA of its RAM outside scratch */
		v &= 0xFFFFFFFFUL; /* the same value read as a 32-bit field */
	}
	return false;
}

static u64 scrub(u64 v) { return dangerous(v) ? v ^ (1UL << 40) : v; }

static u64 rand_value(void)
{
	static const u64 special[] = {
		0, 1, ~0UL, 0x7FF0, 0x7FF1, 0x7FF2, 0x7FF4, 0x7FFF, 0xFFFF, 0xFFFFFFFFUL, 1UL << 31, 1UL << 63,
		4095, 4096, 1023, 1024, 4097, 0x7FFFFFFFUL,
	};
	u64 r = rnd(), k = r % 100;
	u64 x = rnd();
	u64 v;
	if (k < 25)
		v = x % 65;
	else if (k < 35)
		v = special[x % ARRAY_SIZE(special)];
	else if (k < 60) /* into scratch, mostly 8-aligned */
		v = (scratch + (x % SCRATCH_BYTES)) & ((x >> 40) % 8 ? ~7UL : ~0UL);
	else if (k < 75) { /* outside its memory */
		switch ((x >> 32) % 6) {
		case 0: v = (x % 0x7FF00UL) << PAGE_SHIFT; break;             /* below the magic region */
		case 1: v = ram_end + ((x >> 8) % 4096) * PAGE_SIZE; break;   /* just above RAM */
		case 2: v = ~0UL - (x % 8192); break;                          /* the top of the address space */
		case 3: v = 1UL << (32 + x % 31); break;                       /* huge */
		case 4: v = (x >> 16) % 0x100000; break;                       /* a frame number of nobody's RAM? */
		default: v = x; break;
		}
	} else if (k < 82)
		v = 1 + x % 8; /* a plausible domid */
	else
		v = x;
	return scrub(v);
}

/* Scrub (and keep scrubbed) the bytes a pointer argument may name as a structure. */
static void scrub_at(u64 p, u64 len)
{
	if (p < scratch || p >= scratch_end)
		return;
	u64 a = p & ~7UL, e = p + len < scratch_end ? p + len : scratch_end;
	for (; a + 8 <= e; a += 8) {
		u64 *w = (u64 *)a;
		*w = scrub(*w);
	}
}

static u32 read_u32(u64 p, u32 dflt)
{
	if (p < scratch || p >= scratch_end - 4 || (p & 3))
		return dflt;
	return *(u32 *)p;
}

static u16 read_u16(u64 p, u16 dflt)
{
	if (p < scratch || p >= scratch_end - 2 || (p & 1))
		return dflt;
	return *(u16 *)p;
}

/* Nested multicall ops that could stop or damage it are turned into xen_version. */
static bool unsafe_family(u64 op)
{
	return op == __HYPERVISOR_sched_op || op == __HYPERVISOR_vcpu_op || op == __HYPERVISOR_event_channel_op ||
	       op == __HYPERVISOR_multicall || op == __HYPERVISOR_memory_op || op == __HYPERVISOR_grant_table_op;
}

/* Returns true to skip the call. */
static bool sanitize(u64 nr, u64 *a)
{
	u32 cmd = (u32)a[0];
	for (int i = 0; i < 6; i++)
		scrub_at(a[i], STRUCT_WINDOW);
	switch (nr) {
	case __HYPERVISOR_sched_op:
		if (cmd == SCHEDOP_block || cmd == SCHEDOP_poll || cmd == SCHEDOP_shutdown || cmd == SCHEDOP_watchdog)
			return true;
		if (cmd == SCHEDOP_remote_shutdown) {
			u16 dom = read_u16(a[1], 0xFFFF);
			return dom == DOMID_SELF || dom == self_domid;
		}
		return false;
	case __HYPERVISOR_vcpu_op:
		return (cmd == VCPUOP_up || cmd == VCPUOP_down) && (u32)a[1] < 64;
	case __HYPERVISOR_event_channel_op: {
		if (cmd == EVTCHNOP_reset)
			return true;
		if (cmd == EVTCHNOP_close || cmd == EVTCHNOP_bind_vcpu) {
			u32 port = read_u32(a[1], 0);
			return port == start_info->console_evtchn || port == start_info->store_evtchn;
		}
		return false;
	}
	case __HYPERVISOR_multicall: {
		a[1] = rnd() % 8;
		if (a[0] < scratch || a[0] >= scratch_end)
			return false; /* not its memory: the hypervisor must answer -EFAULT */
		/* Entries it can sanitise: 8-aligned, all 8 possible ones inside scratch. */
		a[0] &= ~7UL;
		if (a[0] > scratch_end - 8 * 64)
			a[0] = scratch_end - 8 * 64;
		for (u64 i = 0; i < a[1]; i++) {
			u64 *e = (u64 *)(a[0] + i * 64); /* multicall_entry_t { op, result, args[6] } */
			if (unsafe_family(e[0]) || unsafe_family((u32)e[0]))
				e[0] = __HYPERVISOR_xen_version;
		}
		return false;
	}
	}
	return false;
}

static u64 pick_nr(void)
{
	static const u64 impl[] = {
		__HYPERVISOR_memory_op, __HYPERVISOR_multicall, __HYPERVISOR_xen_version, __HYPERVISOR_console_io,
		__HYPERVISOR_grant_table_op, __HYPERVISOR_vcpu_op, __HYPERVISOR_sched_op, __HYPERVISOR_event_channel_op,
		__HYPERVISOR_sysctl, __HYPERVISOR_domctl,
	};
	u64 k = rnd() % 100;
	if (k < 75)
		return impl[rnd() % ARRAY_SIZE(impl)];
	if (k < 95)
		return rnd() % 64;
	return rnd();
}

int test_hostile(void)
{
	u64 n = (u64)cmdline_int("calls", 1000000);
	rng = (u64)cmdline_int("seed", 1) * 0x9E3779B97F4A7C15UL + 1;
	u64 seed = (u64)cmdline_int("seed", 1);
	ram_start = GUEST_RAM_BASE;
	ram_end = ram_start + start_info->nr_pages * PAGE_SIZE;
	scratch = ram_end - SCRATCH_BYTES;
	scratch_end = ram_end;
	if ((u64)_end > scratch) {
		printk("hostile: RAM too small: kernel ends at %p, scratch starts at 0x%lx\n", _end, scratch);
		return 2;
	}
	/* Fill scratch with scrubbed random values. */
	for (u64 p = scratch; p < scratch_end; p += 8)
		*(u64 *)p = rand_value();
	static u64 counts[134];
	u64 ok = 0, err = 0, other = 0, skipped = 0;
	u64 progress = n / 10 ? n / 10 : 1;
	printk("hostile: start calls=%lu seed=%lu scratch=0x%lx-0x%lx\n", n, seed, scratch, scratch_end);
	irq_disable();
	u64 t0 = system_time_ns();
	for (u64 i = 0; i < n;) {
		/* Mutate a few words where most structures live. */
		for (int k = 0; k < 4; k++) {
			u64 *w = (u64 *)(scratch + (rnd() % (MUTATE_WINDOW / 8)) * 8);
			*w = rand_value();
		}
		u64 nr = pick_nr();
		u64 a[6];
		a[0] = rnd() % 100 < 60 ? rnd() % 16 : rand_value();
		for (int k = 1; k < 6; k++)
			a[k] = rand_value();
		if (sanitize(nr, a)) {
			skipped++;
			continue;
		}
		long r = hypercall6(nr, a[0], a[1], a[2], a[3], a[4], a[5]);
		i++;
		if (r >= 0)
			ok++;
		else if (r >= -133)
			err++, counts[-r]++;
		else
			other++;
		if (i % progress == 0)
			printk("hostile: progress %lu\n", i);
	}
	u64 dt = system_time_ns() - t0;
	printk("hostile: summary calls=%lu skipped=%lu ok=%lu err=%lu other=%lu seed=%lu ns=%lu\n", n, skipped, ok, err, other, seed, dt);
	char line[1024];
	int at = snprintf(line, sizeof(line), "hostile: errno");
	for (int e = 1; e < 134; e++)
		if (counts[e] && at < (int)sizeof(line) - 32)
			at += snprintf(line + at, sizeof(line) - at, " %d:%lu", e, counts[e]);
	printk("%s\n", line);
	return 0;
}
