/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Start of day (docs/abi.md §4): a0 = vCPU id, a1 = start_info's guest-physical address, MMU off.
 * Check the magic, keep pointers to start_info and shared_info, bring up the console, event
 * channels (upcall), timers, the xenstore ring handler, then run the test program the command
 * line names (guests/pv/README.md) and power off with its status (with control=1, a status 0
 * instead waits for the toolstack's control/shutdown request: control.c).
 */
#include "hypercall.h"
#include "kernel.h"

struct start_info *start_info;
struct shared_info *shared_info;
unsigned int vcpu_id;
struct pcpu pcpus[MAX_PV_VCPUS];
unsigned int self_domid = DOMID_SELF;
static char cmdline[1024];

const char *cmdline_get(const char *key)
{
	size_t kl = strlen(key);
	const char *p = cmdline;
	while (*p) {
		while (*p == ' ')
			p++;
		if (strncmp(p, key, kl) == 0 && p[kl] == '=')
			return p + kl + 1;
		while (*p && *p != ' ')
			p++;
	}
	return NULL;
}

long cmdline_int(const char *key, long dflt)
{
	const char *v = cmdline_get(key);
	return v ? strtol(v, NULL, 0) : dflt;
}

static void shutdown(unsigned int reason)
{
	struct sched_shutdown s = { .reason = reason };
	for (;;)
		HYPERVISOR_sched_op(SCHEDOP_shutdown, &s);
}

/* Exit status 0 powers off; any other status is reported as a crash so the host sees a failure. */
void poweroff(int code)
{
	irq_disable();
	printk("pv: exit %d\n", code);
	console_flush();
	shutdown(code == 0 ? SHUTDOWN_poweroff : SHUTDOWN_crash);
	__builtin_unreachable();
}

void shutdown_with(unsigned int reason, const char *why)
{
	irq_disable();
	printk("pv: %s\n", why);
	console_flush();
	shutdown(reason);
	__builtin_unreachable();
}

void crash(const char *why)
{
	irq_disable();
	printk("pv: crash: %s\n", why);
	console_flush();
	shutdown(SHUTDOWN_crash);
	__builtin_unreachable();
}

static int run_test(const char *t)
{
	if (!t) {
		printk("pv: no test= on the command line; idle exit\n");
		return 0;
	}
	static const struct { const char *name; int (*fn)(void); } tests[] = {
		{ "pingpong", test_pingpong }, { "grant", test_grant }, { "time", test_time },
		{ "hostile", test_hostile }, { "xenstore", test_xenstore }, { "crash", test_crash },
		{ "hcbench", test_hcbench }, { "smp", test_smp }, { "blk", test_blk }, { "net", test_net },
		{ "idle", test_idle },
	};
	for (unsigned int i = 0; i < ARRAY_SIZE(tests); i++) {
		size_t n = strlen(tests[i].name);
		if (strncmp(t, tests[i].name, n) == 0 && (t[n] == 0 || t[n] == ' '))
			return tests[i].fn();
	}
	printk("pv: unknown test '%s'\n", t);
	return 2;
}

void kernel_main(unsigned long vcpu, unsigned long si_gpa)
{
	static const char bad[] = "pv: start_info magic is not xen-3.0-riscv64\n";
	start_info = (struct start_info *)si_gpa;
	vcpu_id = (unsigned int)vcpu;
	if (memcmp(start_info->magic, XEN_START_MAGIC, sizeof(XEN_START_MAGIC)) != 0) {
		HYPERVISOR_console_io(CONSOLEIO_write, sizeof(bad) - 1, bad);
		shutdown(SHUTDOWN_crash);
	}
	shared_info = (struct shared_info *)start_info->shared_info;
	pcpus[0].vi = &shared_info->vcpu_info[0];
	pcpus[0].id = vcpu_id;
	asm volatile("mv tp, %0" ::"r"(&pcpus[0]));
	memcpy(cmdline, start_info->cmd_line, sizeof(cmdline) - 1);
	long d = cmdline_int("domid", -1);
	if (d >= 0)
		self_domid = (unsigned int)d;

	console_init();
	events_init();
	time_init();
	xs_init();
	irq_enable();
	printk("pv: tsxen PV kernel on vcpu %u, %lu pages, cmdline '%s'\n", vcpu_id, start_info->nr_pages, cmdline);
	/* control=1: advertise at boot; answer xl shutdown / reboot / sysrq (control.c) once the test
	 * returns 0 (a request made meanwhile is still there: the node keeps it). */
	bool control = cmdline_int("control", 0) != 0;
	if (control)
		control_init();
	int r = run_test(cmdline_get("test"));
	if (control && r == 0) {
		printk("pv: test done; serving control requests\n");
		control_serve(~0UL);
	}
	poweroff(r);
}
