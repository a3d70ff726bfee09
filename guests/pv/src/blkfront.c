/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * blkfront: the PV block frontend (public/io/blkif.h, io/ring.h, io/xenbus.h at Xen 4.7;
 * xen-digest §9.6-§9.7) and test=blk, which the xl e2e test drives:
 *   wait for device/vbd/<devid> (a watch: the toolstack's block-attach fires it), wait for the
 *   backend's InitWait, read sectors/sector-size/info/feature-flush-cache, grant a ring page
 *   and allocate an event channel, write ring-ref/event-channel/protocol, Initialised; when
 *   the backend is Connected, Connected. Then I/O: read sector 0 (the host put a marker there),
 *   write two pages at sector 64 as two segments, flush, read them back and compare, write a
 *   marker at sector 128 for the host to find, read past the end and send malformed requests
 *   (each must fail alone; with blk_hostile=1 also a bogus req_prod, which halts the ring). Then wait
 *   for the toolstack's detach (backend Closing): Closing, revoke the ring, close the channel,
 *   Closed; wait for the backend's Closed (or its nodes going), and stay alive.
 * One request in flight at a time; data pages are granted per request and revoked after.
 */
#include "hypercall.h"
#include "kernel.h"

#define BLKIF_OP_READ 0
#define BLKIF_OP_WRITE 1
#define BLKIF_OP_FLUSH_DISKCACHE 3
#define BLKIF_MAX_SEGMENTS_PER_REQUEST 11
#define BLK_SECTOR 512

struct blkif_request_segment { grant_ref_t gref; u8 first_sect, last_sect; };
struct blkif_request {
	u8 operation, nr_segments;
	u16 handle;
	u64 id, sector_number;
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct blkif_response { u64 id; u8 operation; s16 status; };
union blkif_sring_entry { struct blkif_request req; struct blkif_response rsp; };
struct blkif_sring {
	u32 req_prod, req_event, rsp_prod, rsp_event;
	u8 pvt[4], pad[44];
	union blkif_sring_entry ring[32]; /* __RING_SIZE: (4096 - 64) / 112 rounded down to 32 */
};
#define BLK_RING_SIZE 32
_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request is 112 bytes (blkif.h)");
_Static_assert(sizeof(struct blkif_sring) <= PAGE_SIZE, "one ring page");

#define BLK_WAIT_NS 300000000000UL /* 300 s: the toolstack's attach and detach come from the test */

static struct blkif_sring ring_page __attribute__((aligned(PAGE_SIZE)));
static u8 data[3][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static volatile u64 blk_events;
static evtchn_port_t blk_port;
static u32 req_prod_pvt, rsp_cons;
static u16 be_id, handle;
static u64 next_id = 1;

static void blk_event(evtchn_port_t port, void *d) { (void)port, (void)d; blk_events++; }

/* Put *q on the ring, notify, wait for its response; returns the status (-100 timeout, -101 wrong id). */
static int blk_submit(const struct blkif_request *q)
{
	struct blkif_request *r = &ring_page.ring[req_prod_pvt & (BLK_RING_SIZE - 1)].req;
	*r = *q;
	u64 id = next_id++;
	r->id = id; /* the backend's response reuses this slot: compare with the local copy */
	wmb();
	WRITE_ONCE(ring_page.req_prod, ++req_prod_pvt);
	mb();
	evtchn_send(blk_port);
	u64 deadline = system_time_ns() + 10000000000UL;
	int status = -100;
	for (;;) {
		u64 seen = blk_events;
		u32 prod = READ_ONCE(ring_page.rsp_prod);
		rmb();
		if (prod != rsp_cons) {
			struct blkif_response *p = &ring_page.ring[rsp_cons & (BLK_RING_SIZE - 1)].rsp;
			status = p->id == id ? p->status : -101;
			rsp_cons++;
			WRITE_ONCE(ring_page.rsp_event, rsp_cons + 1);
			mb();
			break;
		}
		if (system_time_ns() >= deadline)
			break;
		wait_for_change(&blk_events, seen, deadline);
	}
	return status;
}

/* One request of nseg segments, each a page of data[] (first..last sectors); returns the status. */
static int blk_io(u8 op, u64 sector, unsigned int nseg, u8 first, u8 last)
{
	grant_ref_t refs[3];
	struct blkif_request q;
	memset(&q, 0, sizeof(q));
	q.operation = op;
	q.nr_segments = (u8)nseg;
	q.handle = handle;
	q.sector_number = sector;
	for (unsigned int i = 0; i < nseg; i++) {
		/* A read fills our page (grant it writable); a write only lets the backend read it. */
		refs[i] = gnttab_grant_access(be_id, (u64)data[i] >> PAGE_SHIFT, op == BLKIF_OP_WRITE);
		q.seg[i].gref = refs[i];
		q.seg[i].first_sect = first;
		q.seg[i].last_sect = last;
	}
	int status = blk_submit(&q);
	for (unsigned int i = 0; i < nseg; i++)
		gnttab_end_access(refs[i]);
	return status;
}

/* Requests a hostile frontend could send: each must fail on its own and the ring carry on. */
static int blk_bad_requests(void)
{
	static const struct { u8 op, nseg, first, last; grant_ref_t gref; u64 sector; int want; const char *what; } bad[] = {
		{ 9, 1, 0, 0, 0, 0, -2, "unknown operation" },
		{ BLKIF_OP_READ, 0, 0, 0, 0, 0, -1, "no segments" },
		{ BLKIF_OP_READ, 12, 0, 0, 0, 0, -1, "12 segments" },
		{ BLKIF_OP_READ, 1, 0, 0, 4000, 0, -1, "a grant ref that was never granted" },
		{ BLKIF_OP_READ, 1, 3, 1, 0, 0, -1, "last_sect before first_sect" },
		{ BLKIF_OP_READ, 1, 0, 8, 0, 0, -1, "last_sect past the page" },
		{ BLKIF_OP_WRITE, 1, 0, 0, 0, 1UL << 60, -1, "sector 2^60" },
	};
	int fails = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		struct blkif_request q;
		memset(&q, 0, sizeof(q));
		q.operation = bad[i].op;
		q.nr_segments = bad[i].nseg;
		q.handle = handle;
		q.sector_number = bad[i].sector;
		grant_ref_t ref = bad[i].gref ? bad[i].gref : gnttab_grant_access(be_id, (u64)data[0] >> PAGE_SHIFT, false);
		for (unsigned int k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++) {
			q.seg[k].gref = ref;
			q.seg[k].first_sect = bad[i].first;
			q.seg[k].last_sect = bad[i].last;
		}
		int st = blk_submit(&q);
		if (!bad[i].gref)
			gnttab_end_access(ref);
		if (st != bad[i].want) {
			printk("blkfront: FAIL %s: status %d, want %d\n", bad[i].what, st, bad[i].want);
			fails++;
		}
	}
	int st = blk_io(BLKIF_OP_READ, 0, 1, 0, 0);
	printk("blkfront: %u bad requests refused one by one, ring still serves (status %d)\n", (unsigned int)ARRAY_SIZE(bad), st);
	return fails + (st != 0);
}

/*
 * blk_fuzz=N: N requests with random operation, segment count, handle, sector, grant refs and
 * sector ranges (grefs: a scratch page granted for the run, our never-granted refs, or the
 * reserved console/xenstore entries' neighbours; never the ring itself or entries 0-1, which
 * would let the backend scribble over our own rings). Every answer must be OKAY, ERROR or
 * EOPNOTSUPP and the ring must keep going.
 */
static int blk_fuzz(long n, u64 sectors)
{
	u64 x = 0x9e3779b97f4a7c15UL ^ (u64)n;
	grant_ref_t scratch = gnttab_grant_access(be_id, (u64)data[2] >> PAGE_SHIFT, false);
	long ok = 0, err = 0, nosup = 0, bad = 0;
	for (long i = 0; i < n; i++) {
		struct blkif_request q;
		u64 r[4];
		for (int k = 0; k < 4; k++) { /* xorshift64* */
			x ^= x >> 12, x ^= x << 25, x ^= x >> 27;
			r[k] = x * 0x2545f4914f6cdd1dUL;
		}
		memset(&q, 0, sizeof(q));
		q.operation = (u8)(r[0] % 8);
		q.nr_segments = (u8)(r[0] >> 8) % 13;
		q.handle = (u16)(r[0] >> 16);
		q.sector_number = (r[1] & 1) ? (r[1] >> 1) % (sectors + 64) : r[1];
		for (int k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++) {
			u32 g = (u32)(r[2] >> (k * 5)) % 4;
			q.seg[k].gref = g == 0 ? scratch : g == 1 ? 2 + (u32)(r[3] >> k) % 6 : g == 2 ? 600 + (u32)(r[3] >> k) % 100000 : scratch + 1;
			q.seg[k].first_sect = (u8)((r[3] >> (k * 4)) % 9);
			q.seg[k].last_sect = (u8)((r[3] >> (k * 4 + 2)) % 9);
		}
		int st = blk_submit(&q);
		if (st == 0)
			ok++;
		else if (st == -1)
			err++;
		else if (st == -2)
			nosup++;
		else {
			bad++;
			break;
		}
	}
	gnttab_end_access(scratch);
	printk("blkfront: fuzz %ld requests: %ld ok, %ld error, %ld unsupported, %ld bad answers\n", n, ok, err, nosup, bad);
	return bad != 0;
}

/* blk_bench=KiB: read, then write, that much from sector 0 in 11-segment requests; prints KiB/s. */
static int blk_bench(long kib, u64 sectors)
{
	static u8 pages[BLKIF_MAX_SEGMENTS_PER_REQUEST][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
	grant_ref_t refs[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	for (int k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++)
		refs[k] = gnttab_grant_access(be_id, (u64)pages[k] >> PAGE_SHIFT, false);
	const u64 per = BLKIF_MAX_SEGMENTS_PER_REQUEST * 8; /* sectors per request */
	int fails = 0;
	for (int w = 0; w < 2; w++) {
		u64 total = (u64)kib * 2, done = 0, sector = 0, reqs = 0;
		u64 t0 = system_time_ns();
		while (done < total) {
			struct blkif_request q;
			memset(&q, 0, sizeof(q));
			q.operation = w ? BLKIF_OP_WRITE : BLKIF_OP_READ;
			q.nr_segments = BLKIF_MAX_SEGMENTS_PER_REQUEST;
			q.handle = handle;
			if (sector + per > sectors)
				sector = 0;
			q.sector_number = sector;
			for (int k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++)
				q.seg[k] = (struct blkif_request_segment){ .gref = refs[k], .first_sect = 0, .last_sect = 7 };
			if (blk_submit(&q) != 0) {
				fails++;
				break;
			}
			sector += per, done += per, reqs++;
		}
		u64 us = (system_time_ns() - t0) / 1000 + 1;
		printk("blkfront: bench %s %lu KiB in %lu us: %lu KiB/s, %lu requests/s\n", w ? "write" : "read", done / 2, us,
		       done / 2 * 1000000 / us, reqs * 1000000 / us);
	}
	for (int k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++)
		gnttab_end_access(refs[k]);
	return fails;
}

int test_blk(void)
{
	char fe[64], be[128], path[192];
	int fails = 0;
	long r;
	if (gnttab_init()) {
		printk("blkfront: FAIL grant table\n");
		return 1;
	}
	/* 1. Wait for the toolstack to add a vbd. */
	u64 deadline = system_time_ns() + BLK_WAIT_NS;
	printk("blkfront: waiting for a vbd\n");
	long dev = xenbus_find_device("vbd", fe, sizeof(fe), be, sizeof(be), deadline);
	if (dev < 0) {
		printk("blkfront: FAIL no vbd appeared\n");
		return 1;
	}
	handle = (u16)dev;
	snprintf(path, sizeof(path), "%s/backend-id", fe);
	be_id = (u16)xs_long(path, 0);

	/* 2. The backend publishes the disk and waits for us. */
	snprintf(path, sizeof(path), "%s/state", be);
	r = xenbus_wait_state(path, XB_INITWAIT, deadline, false);
	if (r != XB_INITWAIT) {
		printk("blkfront: FAIL backend state %ld, want InitWait\n", r);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/sectors", be);
	long sectors = xs_long(path, -1);
	snprintf(path, sizeof(path), "%s/sector-size", be);
	long ssize = xs_long(path, -1);
	snprintf(path, sizeof(path), "%s/info", be);
	long info = xs_long(path, -1);
	snprintf(path, sizeof(path), "%s/feature-flush-cache", be);
	long flush = xs_long(path, 0);

	/* 3. Ring, event channel, Initialised; Connected when the backend is. */
	memset(&ring_page, 0, sizeof(ring_page));
	ring_page.req_event = ring_page.rsp_event = 1;
	grant_ref_t ring_ref = gnttab_grant_access(be_id, (u64)&ring_page >> PAGE_SHIFT, false);
	if (ring_ref == 0 || evtchn_alloc_unbound(be_id, &blk_port) || evtchn_bind_handler(blk_port, blk_event, NULL)) {
		printk("blkfront: FAIL ring or event channel\n");
		return 1;
	}
	char v[24];
	snprintf(path, sizeof(path), "%s/ring-ref", fe);
	snprintf(v, sizeof(v), "%u", ring_ref);
	xs_write(path, v);
	snprintf(path, sizeof(path), "%s/event-channel", fe);
	snprintf(v, sizeof(v), "%u", blk_port);
	xs_write(path, v);
	snprintf(path, sizeof(path), "%s/protocol", fe);
	xs_write(path, "riscv64-abi");
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(path, "3");
	snprintf(path, sizeof(path), "%s/state", be);
	r = xenbus_wait_state(path, XB_CONNECTED, deadline, false);
	if (r != XB_CONNECTED) {
		printk("blkfront: FAIL backend state %ld, want Connected\n", r);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(path, "4");
	printk("blkfront: vbd %u connected: %ld sectors of %ld bytes, info %ld, flush %ld, ring-ref %u, event-channel %u\n",
	       handle, sectors, ssize, info, flush, ring_ref, blk_port);

	/* 4. I/O. */
	int st = blk_io(BLKIF_OP_READ, 0, 1, 0, 0);
	data[0][40] = 0;
	printk("blkfront: sector 0 (status %d): '%s'\n", st, (char *)data[0]);
	if (st != 0)
		fails++;
	for (unsigned int i = 0; i < 2 * PAGE_SIZE; i++)
		data[i / PAGE_SIZE][i % PAGE_SIZE] = (u8)(i * 7 + 3);
	int w = blk_io(BLKIF_OP_WRITE, 64, 2, 0, 7);
	int f = flush ? blk_io(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, 0, 0) : 0;
	memset(data, 0, sizeof(data));
	int rd = blk_io(BLKIF_OP_READ, 64, 2, 0, 7);
	int same = 1;
	for (unsigned int i = 0; i < 2 * PAGE_SIZE; i++)
		if (data[i / PAGE_SIZE][i % PAGE_SIZE] != (u8)(i * 7 + 3))
			same = 0;
	printk("blkfront: write %d flush %d read %d: 8192 bytes at sector 64 %s\n", w, f, rd, same ? "read back ok" : "FAIL differ");
	if (w || f || rd || !same)
		fails++;
	memset(data[0], 0, PAGE_SIZE);
	snprintf((char *)data[0], 64, "TSXEN-BLKFRONT-WROTE-THIS vbd %u", handle);
	st = blk_io(BLKIF_OP_WRITE, 128, 1, 0, 0);
	printk("blkfront: marker at sector 128: status %d\n", st);
	if (st)
		fails++;
	st = blk_io(BLKIF_OP_READ, (u64)sectors, 1, 0, 0);
	printk("blkfront: read past the end: status %d %s\n", st, st == -1 ? "ok" : "FAIL");
	if (st != -1)
		fails++;
	fails += blk_bad_requests();
	long bench = cmdline_int("blk_bench", 0);
	if (bench > 0)
		fails += blk_bench(bench, (u64)sectors);
	long fuzz = cmdline_int("blk_fuzz", 0);
	if (fuzz > 0)
		fails += blk_fuzz(fuzz, (u64)sectors);
	printk("blkfront: io %s\n", fails ? "FAIL" : "ok");
	if (cmdline_int("blk_hostile", 0)) {
		/* A producer index far ahead of the ring: the backend must halt this ring only. */
		WRITE_ONCE(ring_page.req_prod, req_prod_pvt + 1000);
		mb();
		evtchn_send(blk_port);
		snprintf(path, sizeof(path), "%s/state", be);
		r = xenbus_wait_state(path, XB_CLOSING, system_time_ns() + 30000000000UL, true);
		printk("blkfront: bogus req_prod: backend state %ld %s\n", r, r == XB_CLOSING ? "(ring halted)" : "FAIL");
	}

	/* 5. Detach: the toolstack puts the backend in Closing. */
	printk("blkfront: waiting for detach\n");
	long b;
	bool clean = xenbus_frontend_detach(fe, be, BLK_WAIT_NS, &r, &b);
	/* The backend unmapped the ring before it went Closed: revoke it now, then the channel. */
	bool revoked = gnttab_end_access(ring_ref);
	evtchn_unbind_handler(blk_port);
	evtchn_close(blk_port);
	printk("blkfront: backend went %ld then %ld; frontend Closing, Closed; ring %s\n", r, b,
	       revoked ? "revoked" : "still mapped");
	printk("blkfront: detached %s\n", clean && revoked ? "cleanly" : "FAIL");

	/* 6. Stay alive: the host checks that we survive the detach, then destroys us. */
	xenbus_idle_after_detach("blkfront");
	return fails;
}
