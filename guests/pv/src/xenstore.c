/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Xenstore client over the domain's ring page (struct xenstore_domain_interface,
 * xen-digest §1.10) at start_info.store_mfn, notified through start_info.store_evtchn.
 * Wire format (xen-digest §1.1-§1.3): header {type, req_id, tx_id, len} then the payload;
 * errors come back as type XS_ERROR with "E<NAME>\0". Indexes are free-running u32; the byte
 * at stream offset x is at x & 1023. Producer: data, wmb, index, notify. Consumer: read the
 * index, rmb, data, mb, advance the index, notify.
 *
 * Requests are synchronous (one outstanding); WATCH_EVENT messages that arrive meanwhile are
 * queued for xs_wait_watch. Every wait has a deadline so a domain without xenstored is told
 * so (-ETIME) instead of hanging; the first request decides xs_available().
 */
#include "hypercall.h"
#include "kernel.h"

#define RING_MASK (XENSTORE_RING_SIZE - 1)
#define XS_TIMEOUT_NS_DEFAULT 3000000000UL
#define WATCH_QUEUE 8
#define WATCH_PATH_MAX 256

static struct xenstore_domain_interface *xs;
static evtchn_port_t xs_port;
static volatile u64 xs_events;
static u32 next_req_id = 1;
static int state;                 /* 0 untried, 1 answered, -1 no answer / no ring */
static u64 timeout_ns = XS_TIMEOUT_NS_DEFAULT;
static char payload[XENSTORE_PAYLOAD_MAX + 1];
static char watch_q[WATCH_QUEUE][WATCH_PATH_MAX];
static unsigned int wq_head, wq_tail;
static volatile u64 control_events;

static void xs_event(evtchn_port_t port, void *data)
{
	(void)port, (void)data;
	xs_events++;
}

int xs_init(void)
{
	if (start_info->store_mfn == 0 || start_info->store_evtchn == 0) {
		state = -1;
		return -XEN_ENOENT;
	}
	xs = (struct xenstore_domain_interface *)(start_info->store_mfn << PAGE_SHIFT);
	xs_port = start_info->store_evtchn;
	long t = cmdline_int("xs_timeout_ms", -1);
	if (t >= 0)
		timeout_ns = (u64)t * 1000000UL;
	return evtchn_bind_handler(xs_port, xs_event, NULL);
}

bool xs_available(void) { return state >= 0 && xs != NULL; }

static int write_bytes(const void *p, u32 n, u64 deadline)
{
	const char *s = p;
	while (n) {
		u64 seen = xs_events;
		u32 cons = READ_ONCE(xs->req_cons), prod = xs->req_prod;
		mb();
		if (prod - cons > XENSTORE_RING_SIZE)
			return -XEN_EINVAL;
		u32 room = XENSTORE_RING_SIZE - (prod - cons);
		if (room == 0) {
			wait_for_change(&xs_events, seen, deadline);
			if (system_time_ns() >= deadline)
				return -XEN_ETIME;
			continue;
		}
		u32 k = n < room ? n : room;
		for (u32 i = 0; i < k; i++)
			xs->req[(prod + i) & RING_MASK] = s[i];
		wmb();
		WRITE_ONCE(xs->req_prod, prod + k);
		evtchn_send(xs_port);
		s += k;
		n -= k;
	}
	return 0;
}

static int read_bytes(void *p, u32 n, u64 deadline)
{
	char *d = p;
	while (n) {
		u64 seen = xs_events;
		u32 prod = READ_ONCE(xs->rsp_prod), cons = xs->rsp_cons;
		rmb();
		if (prod - cons > XENSTORE_RING_SIZE)
			return -XEN_EINVAL;
		u32 avail = prod - cons;
		if (avail == 0) {
			wait_for_change(&xs_events, seen, deadline);
			if (xs_events == seen && system_time_ns() >= deadline)
				return -XEN_ETIME;
			continue;
		}
		u32 k = n < avail ? n : avail;
		for (u32 i = 0; i < k; i++)
			d[i] = xs->rsp[(cons + i) & RING_MASK];
		mb();
		WRITE_ONCE(xs->rsp_cons, cons + k);
		evtchn_send(xs_port);
		d += k;
		n -= k;
	}
	return 0;
}

/* xsd_errors[] names → errno (xen-digest §1.4); unknown ones are EINVAL. */
static int xs_errno(const char *name)
{
	static const struct { const char *n; int e; } t[] = {
		{ "EINVAL", XEN_EINVAL }, { "EACCES", 13 }, { "EEXIST", XEN_EEXIST }, { "EISDIR", 21 },
		{ "ENOENT", XEN_ENOENT }, { "ENOMEM", XEN_ENOMEM }, { "ENOSPC", XEN_ENOSPC }, { "EIO", 5 },
		{ "ENOTEMPTY", 39 }, { "ENOSYS", XEN_ENOSYS }, { "EROFS", 30 }, { "EBUSY", XEN_EBUSY },
		{ "EAGAIN", XEN_EAGAIN }, { "EISCONN", 106 }, { "E2BIG", 7 }, { "EPERM", XEN_EPERM },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(t); i++)
		if (strcmp(name, t[i].n) == 0)
			return -t[i].e;
	return -XEN_EINVAL;
}

/* Read one message into payload[]; returns its header, or a negative errno in hdr->len's place. */
static int read_msg(struct xsd_sockmsg *h, u64 deadline)
{
	int r = read_bytes(h, sizeof(*h), deadline);
	if (r)
		return r;
	if (h->len > XENSTORE_PAYLOAD_MAX)
		return -XEN_EINVAL;
	r = read_bytes(payload, h->len, deadline);
	if (r)
		return r;
	payload[h->len] = 0;
	return 0;
}

static void queue_watch(u32 len)
{
	/* payload: <path>\0<token>\0 */
	size_t pl = strlen(payload);
	if (pl + 1 < len && strcmp(payload + pl + 1, XS_CONTROL_TOKEN) == 0) {
		control_events++;
		return;
	}
	if (wq_tail - wq_head >= WATCH_QUEUE)
		wq_head++; /* drop the oldest: spurious or lost events are allowed (§1.7) */
	char *slot = watch_q[wq_tail % WATCH_QUEUE];
	size_t n = strlen(payload);
	if (n >= WATCH_PATH_MAX)
		n = WATCH_PATH_MAX - 1;
	(void)len;
	memcpy(slot, payload, n);
	slot[n] = 0;
	wq_tail++;
}

/* One request; the reply payload (NUL-terminated) is left in payload[]; returns its length or -errno. */
static int xs_talk(u32 type, const char *a, u32 alen, const char *b, u32 blen)
{
	if (xs == NULL || state < 0)
		return -XEN_ENOENT;
	if (alen + blen > XENSTORE_PAYLOAD_MAX)
		return -XEN_EINVAL;
	u64 deadline = system_time_ns() + timeout_ns;
	struct xsd_sockmsg h = { .type = type, .req_id = next_req_id++, .tx_id = 0, .len = alen + blen };
	u32 id = h.req_id;
	int r = write_bytes(&h, sizeof(h), deadline);
	if (!r)
		r = write_bytes(a, alen, deadline);
	if (!r && blen)
		r = write_bytes(b, blen, deadline);
	for (;;) {
		if (r) {
			if (r == -XEN_ETIME && state == 0) {
				state = -1;
				printk("pv: xenstore: no answer on the ring (port %u); xenstore unavailable\n", xs_port);
			}
			return r;
		}
		struct xsd_sockmsg rh;
		r = read_msg(&rh, deadline);
		if (r)
			continue;
		if (rh.type == XS_WATCH_EVENT) {
			queue_watch(rh.len);
			continue;
		}
		if (rh.req_id != id)
			continue; /* a stale reply to a request that timed out */
		state = 1;
		if (rh.type == XS_ERROR)
			return xs_errno(payload);
		return (int)rh.len;
	}
}

int xs_read(const char *path, char *buf, size_t size)
{
	int n = xs_talk(XS_READ, path, strlen(path) + 1, NULL, 0);
	if (n < 0)
		return n;
	size_t k = (size_t)n < size - 1 ? (size_t)n : size - 1;
	memcpy(buf, payload, k);
	buf[k] = 0;
	return (int)k;
}

int xs_write(const char *path, const char *value)
{
	int n = xs_talk(XS_WRITE, path, strlen(path) + 1, value, strlen(value));
	return n < 0 ? n : 0;
}

/* Children as a NUL-separated list; returns the byte count or -errno. */
int xs_directory(const char *path, char *buf, size_t size)
{
	int n = xs_talk(XS_DIRECTORY, path, strlen(path) + 1, NULL, 0);
	if (n < 0)
		return n;
	if ((size_t)n > size)
		return -XEN_ENOSPC;
	memcpy(buf, payload, n);
	return n;
}

static int watch_op(u32 type, const char *path, const char *token)
{
	char body[WATCH_PATH_MAX * 2];
	size_t pl = strlen(path) + 1, tl = strlen(token) + 1;
	if (pl + tl > sizeof(body))
		return -XEN_EINVAL;
	memcpy(body, path, pl);
	memcpy(body + pl, token, tl);
	int n = xs_talk(type, body, pl + tl, NULL, 0);
	return n < 0 ? n : 0;
}

int xs_watch(const char *path, const char *token) { return watch_op(XS_WATCH, path, token); }
int xs_unwatch(const char *path, const char *token) { return watch_op(XS_UNWATCH, path, token); }

int xs_wait_watch(char *path, size_t size, u64 deadline_ns)
{
	while (wq_head == wq_tail) {
		struct xsd_sockmsg h;
		int r = read_msg(&h, deadline_ns);
		if (r)
			return r;
		if (h.type == XS_WATCH_EVENT)
			queue_watch(h.len);
	}
	const char *s = watch_q[wq_head++ % WATCH_QUEUE];
	size_t n = strlen(s);
	if (n >= size)
		n = size - 1;
	memcpy(path, s, n);
	path[n] = 0;
	return (int)n;
}

int xs_read_int(const char *path, long *v)
{
	char buf[32];
	int r = xs_read(path, buf, sizeof(buf));
	if (r < 0)
		return r;
	*v = strtol(buf, NULL, 0);
	return 0;
}

/* Watch `path` until it can be read (the peer publishes it), then unwatch. */
int xs_wait_int(const char *path, long *v, u64 deadline_ns)
{
	int r = xs_watch(path, "pv-wait");
	if (r)
		return r;
	char ev[WATCH_PATH_MAX];
	for (;;) {
		if (xs_read_int(path, v) == 0)
			break;
		r = xs_wait_watch(ev, sizeof(ev), deadline_ns);
		if (r < 0)
			break;
	}
	xs_unwatch(path, "pv-wait");
	return r < 0 ? r : 0;
}

/* SET_PERMS <path>|<perm>|...: owner `owner` (no access for others by default) and read for `reader`. */
int xs_set_perms_reader(const char *path, unsigned int owner, unsigned int reader)
{
	char body[WATCH_PATH_MAX + 32];
	size_t pl = strlen(path) + 1;
	if (pl + 24 > sizeof(body))
		return -XEN_EINVAL;
	memcpy(body, path, pl);
	int n = snprintf(body + pl, sizeof(body) - pl, "n%u", owner);
	size_t at = pl + n + 1;
	n = snprintf(body + at, sizeof(body) - at, "r%u", reader);
	at += n + 1;
	int r = xs_talk(14 /* XS_SET_PERMS */, body, at, NULL, 0);
	return r < 0 ? r : 0;
}

u64 xs_control_events(void) { return control_events; }

/* Read the ring (queueing other watches' events) until a control watch fires after `seen`. */
int xs_wait_control(u64 seen, u64 deadline_ns)
{
	if (xs == NULL || state < 0)
		return -XEN_ENOENT;
	while (control_events == seen) {
		struct xsd_sockmsg h;
		int r = read_msg(&h, deadline_ns);
		if (r)
			return r;
		if (h.type == XS_WATCH_EVENT)
			queue_watch(h.len);
	}
	return 0;
}
