/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The xenbus helpers the PV frontends share (blkfront.c, netfront.c): find the first device of
 * a kind under our home's device/<kind>/ (the toolstack writes the directory, then the nodes:
 * wait until its `backend` node is readable), and wait for the other side's `state` node
 * (public/io/xenbus.h states) with a watch; the frontend's half of a detach. Every wait has a
 * deadline in system time.
 */
#include "hypercall.h"
#include "kernel.h"

long xs_long(const char *path, long dflt)
{
	long v;
	return xs_read_int(path, &v) == 0 ? v : dflt;
}

long xenbus_wait_state(const char *path, long want_min, u64 deadline_ns, bool gone_ends)
{
	char ev[128];
	if (xs_watch(path, "xb-state"))
		return -2;
	long s;
	for (;;) {
		s = xs_long(path, -1);
		if (s >= want_min || (s == -1 && gone_ends) || deadline_ns < system_time_ns())
			break;
		if (xs_wait_watch(ev, sizeof(ev), deadline_ns) < 0 && system_time_ns() >= deadline_ns)
			break;
	}
	xs_unwatch(path, "xb-state");
	return s;
}

long xenbus_find_device(const char *kind, char *fe, size_t fsz, char *be, size_t bsz, u64 deadline_ns)
{
	char dir[32], names[256], path[192], ev[128];
	snprintf(dir, sizeof(dir), "device/%s", kind);
	if (xs_watch(dir, "xb-dev"))
		return -1;
	long devid = -1;
	for (;;) {
		/* The watch fires for the directory and everything below it. */
		if (xs_directory(dir, names, sizeof(names)) > 0) {
			snprintf(fe, fsz, "%s/%s", dir, names);
			snprintf(path, sizeof(path), "%s/backend", fe);
			if (xs_read(path, be, bsz) > 0) {
				devid = strtol(names, NULL, 10);
				break;
			}
		}
		if (xs_wait_watch(ev, sizeof(ev), deadline_ns) < 0 && system_time_ns() >= deadline_ns)
			break;
	}
	xs_unwatch(dir, "xb-dev");
	return devid;
}

bool xenbus_frontend_detach(const char *fe, const char *be, u64 wait_ns, long *closing, long *closed)
{
	char path[192];
	snprintf(path, sizeof(path), "%s/state", be);
	*closing = xenbus_wait_state(path, XB_CLOSING, system_time_ns() + wait_ns, true);
	snprintf(path, sizeof(path), "%s/state", fe);
	xs_write(path, "5");
	xs_write(path, "6");
	snprintf(path, sizeof(path), "%s/state", be);
	*closed = xenbus_wait_state(path, XB_CLOSED, system_time_ns() + 20000000000UL, true);
	return *closing == XB_CLOSING && (*closed == XB_CLOSED || *closed == -1);
}

void xenbus_idle_after_detach(const char *who)
{
	for (unsigned int i = 0; i < 600; i++) {
		msleep(1000);
		if (i == 1)
			printk("%s: still alive after detach\n", who);
	}
}
