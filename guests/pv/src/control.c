/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The toolstack's requests through ~/control (what Linux's drivers/xen/manage.c answers):
 * advertise control/feature-poweroff and control/feature-reboot = "1", watch control/shutdown
 * and control/sysrq. A shutdown request is read and the node cleared ("") before acting, so it
 * is served once: "poweroff" and "halt" → SCHEDOP_shutdown(SHUTDOWN_poweroff), "reboot" →
 * SHUTDOWN_reboot; others ("suspend": not advertised) are reported and ignored. A sysrq key is
 * cleared the same way, printed, and 'o' powers off, 'b' reboots, 'c' crashes (Linux's sysrq
 * keys). libxl writes the request (tools/libxl/libxl.c libxl__domain_pvcontrol_write,
 * libxl_send_sysrq) into nodes libxl__domain_make made ours (owner = this domain).
 * Linux clears the node inside a transaction; this client has none, and one request at a time
 * is all xl makes.
 */
#include "hypercall.h"
#include "kernel.h"

static bool ready;

int control_init(void)
{
	int r = xs_write("control/feature-poweroff", "1");
	if (!r)
		r = xs_write("control/feature-reboot", "1");
	if (!r)
		r = xs_watch("control/shutdown", XS_CONTROL_TOKEN);
	if (!r)
		r = xs_watch("control/sysrq", XS_CONTROL_TOKEN);
	if (r) {
		printk("control: xenstore unavailable (%d); not answering control requests\n", r);
		return r;
	}
	ready = true;
	printk("control: feature-poweroff feature-reboot; watching control/shutdown, control/sysrq\n");
	return 0;
}

static void shutdown_request(void)
{
	char v[32];
	if (xs_read("control/shutdown", v, sizeof(v)) <= 0)
		return; /* absent or "" (our own clearing write fires the watch too) */
	xs_write("control/shutdown", "");
	if (strcmp(v, "poweroff") == 0 || strcmp(v, "halt") == 0)
		shutdown_with(SHUTDOWN_poweroff, "control: shutdown request, powering off");
	if (strcmp(v, "reboot") == 0)
		shutdown_with(SHUTDOWN_reboot, "control: reboot request, rebooting");
	printk("control: unsupported shutdown request '%s' ignored\n", v);
}

static void sysrq_request(void)
{
	char v[8];
	if (xs_read("control/sysrq", v, sizeof(v)) <= 0 || v[0] == 0)
		return;
	xs_write("control/sysrq", "");
	printk("control: sysrq '%c'\n", v[0]);
	if (v[0] == 'o')
		shutdown_with(SHUTDOWN_poweroff, "control: sysrq o, powering off");
	if (v[0] == 'b')
		shutdown_with(SHUTDOWN_reboot, "control: sysrq b, rebooting");
	if (v[0] == 'c')
		crash("sysrq c");
}

int control_serve(u64 deadline_ns)
{
	if (!ready)
		return -XEN_ENOENT;
	for (;;) {
		u64 seen = xs_control_events();
		shutdown_request();
		sysrq_request();
		int r = xs_wait_control(seen, deadline_ns);
		if (r == -XEN_ETIME && system_time_ns() >= deadline_ns)
			return r;
		if (r && r != -XEN_ETIME)
			return r;
	}
}

/* test=idle: a guest that stays up until the toolstack asks it to go. */
int test_idle(void)
{
	int r = control_init();
	if (r)
		return 1;
	printk("idle: waiting for control requests\n");
	return control_serve(~0UL) ? 1 : 0;
}
