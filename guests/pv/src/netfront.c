/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * netfront: the PV network frontend (public/io/netif.h, io/ring.h, io/xenbus.h at Xen 4.7;
 * xen-digest §9.7) and test=net, which the xl e2e test drives with two guests on one bridge:
 *   wait for device/vif/<devid> (xl network-attach), read our mac, wait for the backend's
 *   InitWait, grant a tx and an rx ring page, post NR_RX receive buffers (granted pages),
 *   allocate an event channel, write tx-ring-ref/rx-ring-ref/event-channel/request-rx-copy=1/
 *   feature-rx-notify=1, Initialised; Connected when the backend is.
 *   net_role=ping (the default): send 5 malformed tx requests (each must fail alone), with
 *   net_fuzz=N N random ones, then broadcast `PING <i>` frames (ethertype 0x88b5, IEEE local experimental)
 *   until net_count of them got a `PONG <i>` back (a frame sent before the peer is connected
 *   is lost: resent after 200 ms). net_role=pong: answer every PING to its sender until
 *   PING <net_count - 1> was answered. Then wait for the detach (backend Closing): Closing, Closed,
 *   revoke the rings and buffers once the backend is Closed, and stay alive.
 * Frames of other stacks (an HVM guest's ARP on the same bridge) are counted and the first four
 * printed (`netfront: other frame from <mac> type 0xTTTT, N bytes`).
 * Frames are sent one at a time (the tx response is awaited); rx buffers are re-posted at once.
 */
#include "hypercall.h"
#include "kernel.h"

#define NETTXF_more_data (1U << 2)
#define NR_RX 16
#define ETH_P_TSXEN 0x88b5
#define NET_WAIT_NS 300000000000UL

struct netif_tx_request { grant_ref_t gref; u16 offset, flags, id, size; };
struct netif_tx_response { u16 id; s16 status; };
struct netif_rx_request { u16 id, pad; grant_ref_t gref; };
struct netif_rx_response { u16 id, offset, flags; s16 status; };
union netif_tx_entry { struct netif_tx_request req; struct netif_tx_response rsp; };
union netif_rx_entry { struct netif_rx_request req; struct netif_rx_response rsp; };
struct netif_tx_sring { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pvt[4], pad[44]; union netif_tx_entry ring[256]; };
struct netif_rx_sring { u32 req_prod, req_event, rsp_prod, rsp_event; u8 pvt[4], pad[44]; union netif_rx_entry ring[256]; };
_Static_assert(sizeof(struct netif_tx_request) == 12, "netif_tx_request is 12 bytes (netif.h)");
_Static_assert(sizeof(struct netif_tx_sring) <= PAGE_SIZE && sizeof(struct netif_rx_sring) <= PAGE_SIZE, "one page each");

static struct netif_tx_sring tx_page __attribute__((aligned(PAGE_SIZE)));
static struct netif_rx_sring rx_page __attribute__((aligned(PAGE_SIZE)));
static u8 tx_buf[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static u8 rx_buf[NR_RX][PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static grant_ref_t rx_ref[NR_RX];
static volatile u64 net_events;
static evtchn_port_t net_port;
static u32 tx_prod, tx_cons, rx_prod, rx_cons;
static u16 be_id;
static u8 mac[6];

static void net_event(evtchn_port_t port, void *d) { (void)port, (void)d; net_events++; }

static int parse_mac(const char *s, u8 *m)
{
	for (int i = 0; i < 6; i++) {
		const char *end;
		m[i] = (u8)strtol(s, &end, 16);
		if (end != s + 2 || (i < 5 && *end != ':'))
			return -1;
		s = end + 1;
	}
	return 0;
}

static void post_rx(u16 id)
{
	struct netif_rx_request *r = &rx_page.ring[rx_prod & 255].req;
	r->id = id;
	r->gref = rx_ref[id];
	wmb();
	WRITE_ONCE(rx_page.req_prod, ++rx_prod);
}

/* One tx request as given; returns its response status. */
static int net_tx(grant_ref_t ref, u16 offset, u16 flags, u16 len)
{
	struct netif_tx_request *r = &tx_page.ring[tx_prod & 255].req;
	u16 id = (u16)tx_prod;
	*r = (struct netif_tx_request){ .gref = ref, .offset = offset, .flags = flags, .id = id, .size = len };
	wmb();
	WRITE_ONCE(tx_page.req_prod, ++tx_prod);
	mb();
	evtchn_send(net_port);
	u64 deadline = system_time_ns() + 5000000000UL;
	int status = -100;
	for (;;) {
		u64 seen = net_events;
		if (READ_ONCE(tx_page.rsp_prod) != tx_cons) {
			rmb();
			struct netif_tx_response *p = &tx_page.ring[tx_cons & 255].rsp;
			status = p->id == id ? p->status : -101;
			tx_cons++;
			WRITE_ONCE(tx_page.rsp_event, tx_cons + 1);
			mb();
			break;
		}
		if (system_time_ns() >= deadline)
			break;
		wait_for_change(&net_events, seen, deadline);
	}
	return status;
}

/* Send one frame of `len` bytes from tx_buf; returns the tx response status. */
static int net_send(u16 len)
{
	grant_ref_t ref = gnttab_grant_access(be_id, (u64)tx_buf >> PAGE_SHIFT, true);
	int status = net_tx(ref, 0, 0, len);
	gnttab_end_access(ref);
	return status;
}

/* Requests a hostile frontend could send: each must fail alone (NETIF_RSP_ERROR) and tx carry on. */
static int net_bad_requests(void)
{
	static const struct { u16 offset, flags, size; bool bad_ref; const char *what; } bad[] = {
		{ 0, 0, 2000, false, "a frame over 1514 bytes" }, { 0, 0, 10, false, "a runt" },
		{ 4000, 0, 200, false, "a frame across the page end" }, { 0, NETTXF_more_data, 60, false, "more_data (no feature-sg)" },
		{ 0, 0, 60, true, "a grant ref that was never granted" },
	};
	int fails = 0;
	for (unsigned int i = 0; i < ARRAY_SIZE(bad); i++) {
		grant_ref_t ref = bad[i].bad_ref ? 4000 : gnttab_grant_access(be_id, (u64)tx_buf >> PAGE_SHIFT, true);
		int st = net_tx(ref, bad[i].offset, bad[i].flags, bad[i].size);
		if (!bad[i].bad_ref)
			gnttab_end_access(ref);
		if (st != -1) {
			printk("netfront: FAIL %s: status %d, want -1\n", bad[i].what, st);
			fails++;
		}
	}
	printk("netfront: %u bad tx requests refused one by one\n", (unsigned int)ARRAY_SIZE(bad));
	return fails;
}

/* The next received frame into *f (its rx buffer, re-posted after the caller is done); length or -1. */
static int net_recv(u8 **f, u16 *buf_id, u64 deadline)
{
	for (;;) {
		u64 seen = net_events;
		if (READ_ONCE(rx_page.rsp_prod) != rx_cons) {
			rmb();
			struct netif_rx_response *p = &rx_page.ring[rx_cons & 255].rsp;
			u16 id = p->id;
			s16 st = p->status;
			rx_cons++;
			WRITE_ONCE(rx_page.rsp_event, rx_cons + 1);
			mb();
			if (id >= NR_RX)
				continue;
			if (st <= 0 || (u64)p->offset + (u64)st > PAGE_SIZE) {
				post_rx(id);
				continue;
			}
			*f = rx_buf[id] + p->offset;
			*buf_id = id;
			return st;
		}
		if (system_time_ns() >= deadline)
			return -1;
		wait_for_change(&net_events, seen, deadline);
	}
}

static u16 build_frame(const u8 *dst, const char *text)
{
	memcpy(tx_buf, dst, 6);
	memcpy(tx_buf + 6, mac, 6);
	tx_buf[12] = ETH_P_TSXEN >> 8;
	tx_buf[13] = ETH_P_TSXEN & 0xff;
	size_t n = strlen(text);
	memcpy(tx_buf + 14, text, n + 1);
	u16 len = (u16)(14 + n + 1);
	if (len < 60) { /* the Ethernet minimum, padded */
		memset(tx_buf + len, 0, 60 - len);
		len = 60;
	}
	return len;
}

static bool is_ours(const u8 *f, int len, const char *prefix)
{
	return len >= 14 + (int)strlen(prefix) && f[12] == (ETH_P_TSXEN >> 8) && f[13] == (ETH_P_TSXEN & 0xff) &&
	       strncmp((const char *)f + 14, prefix, strlen(prefix)) == 0;
}

/* A frame that is not ours (another stack's ARP, IPv6 ...): the first few are printed. */
static void note_other(const u8 *f, int len)
{
	static unsigned int others;
	if (len < 14 || others++ >= 4)
		return;
	printk("netfront: other frame from %02x:%02x:%02x:%02x:%02x:%02x type 0x%02x%02x, %d bytes\n",
	       f[6], f[7], f[8], f[9], f[10], f[11], f[12], f[13], len);
}

/* net_fuzz=N: N tx requests with random grant refs, offsets, flags and sizes; each answer must be OKAY or ERROR. */
static int net_fuzz(long n)
{
	u64 x = 0x853c49e6748fea9bUL ^ (u64)n;
	grant_ref_t ref = gnttab_grant_access(be_id, (u64)tx_buf >> PAGE_SHIFT, true);
	long ok = 0, err = 0, bad = 0;
	for (long i = 0; i < n; i++) {
		x ^= x >> 12, x ^= x << 25, x ^= x >> 27; /* xorshift64* */
		u64 r = x * 0x2545f4914f6cdd1dUL;
		u32 g = (u32)(r % 4);
		grant_ref_t gref = g < 2 ? ref : g == 2 ? 2 + (u32)(r >> 8) % 6 : 600 + (u32)(r >> 8) % 100000;
		for (unsigned int k = 0; k < 64; k++)
			tx_buf[k] = (u8)(r >> (k % 8) * 8);
		int st = net_tx(gref, (u16)((r >> 20) % 4200), (u16)((r >> 36) % 16), (u16)((r >> 44) % 2000));
		if (st == 0)
			ok++;
		else if (st == -1)
			err++;
		else {
			bad++;
			break;
		}
	}
	gnttab_end_access(ref);
	printk("netfront: fuzz %ld tx requests: %ld ok, %ld error, %ld bad answers\n", n, ok, err, bad);
	return bad != 0;
}

static int run_ping(long count)
{
	static const u8 bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	long got = 0;
	u8 peer[6] = { 0 };
	char text[32], want[32];
	u64 deadline = system_time_ns() + NET_WAIT_NS;
	for (long i = 0; i < count && system_time_ns() < deadline;) {
		snprintf(text, sizeof(text), "PING %ld", i);
		snprintf(want, sizeof(want), "PONG %ld", i);
		int st = net_send(build_frame(bcast, text));
		if (st != 0) {
			printk("netfront: FAIL tx status %d\n", st);
			return 1;
		}
		u8 *f;
		u16 id;
		int len;
		u64 until = system_time_ns() + 200000000UL;
		while ((len = net_recv(&f, &id, until)) >= 0) {
			bool hit = is_ours(f, len, want) && memcmp(f, mac, 6) == 0;
			if (hit)
				memcpy(peer, f + 6, 6);
			else if (!is_ours(f, len, ""))
				note_other(f, len);
			post_rx(id);
			if (hit) {
				got++;
				i++;
				break;
			}
		}
	}
	printk("netfront: %ld/%ld pongs from %02x:%02x:%02x:%02x:%02x:%02x\n", got, count, peer[0], peer[1], peer[2], peer[3], peer[4], peer[5]);
	return got == count ? 0 : 1;
}

/* Answer PINGs (resent ones too) until PING <count-1> was answered. */
static int run_pong(long count)
{
	long answered = 0, last = -1;
	char text[32];
	u64 deadline = system_time_ns() + NET_WAIT_NS;
	while (last != count - 1) {
		u8 *f;
		u16 id;
		int len = net_recv(&f, &id, deadline);
		if (len < 0)
			break;
		if (is_ours(f, len, "PING ")) {
			u8 src[6];
			memcpy(src, f + 6, 6);
			long n = strtol((const char *)f + 19, NULL, 10);
			snprintf(text, sizeof(text), "PONG %ld", n);
			post_rx(id);
			if (net_send(build_frame(src, text)) == 0) {
				answered++;
				last = n;
			}
		} else {
			if (!is_ours(f, len, ""))
				note_other(f, len);
			post_rx(id);
		}
	}
	printk("netfront: answered %ld pings, the last PING %ld\n", answered, last);
	return last == count - 1 ? 0 : 1;
}

int test_net(void)
{
	char fe[64], be[128], path[192], v[32];
	if (gnttab_init()) {
		printk("netfront: FAIL grant table\n");
		return 1;
	}
	u64 deadline = system_time_ns() + NET_WAIT_NS;
	printk("netfront: waiting for a vif\n");
	long dev = xenbus_find_device("vif", fe, sizeof(fe), be, sizeof(be), deadline);
	if (dev < 0) {
		printk("netfront: FAIL no vif appeared\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/backend-id", fe);
	be_id = (u16)xs_long(path, 0);
	snprintf(path, sizeof(path), "%s/mac", fe);
	if (xs_read(path, v, sizeof(v)) < 0 || parse_mac(v, mac)) {
		printk("netfront: FAIL no mac\n");
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state", be);
	long r = xenbus_wait_state(path, XB_INITWAIT, deadline, false);
	if (r != XB_INITWAIT) {
		printk("netfront: FAIL backend state %ld, want InitWait\n", r);
		return 1;
	}
	memset(&tx_page, 0, sizeof(tx_page));
	memset(&rx_page, 0, sizeof(rx_page));
	tx_page.req_event = tx_page.rsp_event = rx_page.req_event = rx_page.rsp_event = 1;
	grant_ref_t txr = gnttab_grant_access(be_id, (u64)&tx_page >> PAGE_SHIFT, false);
	grant_ref_t rxr = gnttab_grant_access(be_id, (u64)&rx_page >> PAGE_SHIFT, false);
	for (u16 i = 0; i < NR_RX; i++) {
		rx_ref[i] = gnttab_grant_access(be_id, (u64)rx_buf[i] >> PAGE_SHIFT, false);
		post_rx(i);
	}
	if (!txr || !rxr || evtchn_alloc_unbound(be_id, &net_port) || evtchn_bind_handler(net_port, net_event, NULL)) {
		printk("netfront: FAIL rings or event channel\n");
		return 1;
	}
	static const struct { const char *node; long val; } nodes[] = {
		{ "tx-ring-ref", -1 }, { "rx-ring-ref", -2 }, { "event-channel", -3 }, { "request-rx-copy", 1 }, { "feature-rx-notify", 1 },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(nodes); i++) {
		long val = nodes[i].val == -1 ? (long)txr : nodes[i].val == -2 ? (long)rxr : nodes[i].val == -3 ? (long)net_port : nodes[i].val;
		snprintf(path, sizeof(path), "%s/%s", fe, nodes[i].node);
		snprintf(v, sizeof(v), "%ld", val);
		xs_write(path, v);
	}
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(path, "3");
	snprintf(path, sizeof(path), "%s/state", be);
	r = xenbus_wait_state(path, XB_CONNECTED, deadline, false);
	if (r != XB_CONNECTED) {
		printk("netfront: FAIL backend state %ld, want Connected\n", r);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(path, "4");
	printk("netfront: vif %ld connected: mac %02x:%02x:%02x:%02x:%02x:%02x, tx-ring-ref %u, rx-ring-ref %u, event-channel %u\n",
	       dev, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], txr, rxr, net_port);

	const char *role = cmdline_get("net_role");
	long count = cmdline_int("net_count", 10);
	bool pong = role && strncmp(role, "pong", 4) == 0;
	long fuzz = cmdline_int("net_fuzz", 0);
	int fails = pong ? run_pong(count) : net_bad_requests() + (fuzz > 0 ? net_fuzz(fuzz) : 0) + run_ping(count);

	/* Detach: the toolstack puts the backend in Closing. */
	printk("netfront: waiting for detach\n");
	long b;
	bool clean = xenbus_frontend_detach(fe, be, NET_WAIT_NS, &r, &b);
	bool revoked = gnttab_end_access(txr) & gnttab_end_access(rxr);
	for (unsigned int i = 0; i < NR_RX; i++)
		revoked &= gnttab_end_access(rx_ref[i]);
	evtchn_unbind_handler(net_port);
	evtchn_close(net_port);
	printk("netfront: backend went %ld then %ld; frontend Closing, Closed; rings %s\n", r, b, revoked ? "revoked" : "still mapped");
	printk("netfront: detached %s\n", clean && revoked ? "cleanly" : "FAIL");
	xenbus_idle_after_detach("netfront");
	return fails;
}
