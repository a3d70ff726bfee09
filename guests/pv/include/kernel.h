/* SPDX-License-Identifier: GPL-2.0-only */
/* The PV kernel's internal interfaces: runtime, console, events, time, grants, xenstore, tests. */
#ifndef PV_KERNEL_H
#define PV_KERNEL_H

#include "types.h"
#include "xen.h"
#include <stdarg.h>

/* lib.c: the libc-free runtime. */
void *memcpy(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strchr(const char *s, int c);
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
long strtol(const char *s, const char **end, int base);
u64 strtoull(const char *s, const char **end, int base);

/* Barriers (RISC-V fences): the ring and grant-entry ordering rules. */
#define mb() asm volatile("fence rw,rw" ::: "memory")
#define rmb() asm volatile("fence r,r" ::: "memory")
#define wmb() asm volatile("fence w,w" ::: "memory")
#define barrier() asm volatile("" ::: "memory")
#define READ_ONCE(x) (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

/* Interrupts: sstatus.SIE (bit 1). */
static inline unsigned long irq_save(void)
{ unsigned long f; asm volatile("csrrci %0, sstatus, 2" : "=r"(f) :: "memory"); return f & 2; }
static inline void irq_restore(unsigned long f)
{ if (f) asm volatile("csrsi sstatus, 2" ::: "memory"); }
static inline void irq_enable(void) { asm volatile("csrsi sstatus, 2" ::: "memory"); }
static inline void irq_disable(void) { asm volatile("csrci sstatus, 2" ::: "memory"); }
static inline u64 rdtime(void) { u64 t; asm volatile("rdtime %0" : "=r"(t)); return t; }

/* Per-vCPU state, reached through the tp register (set at each vCPU's entry). */
struct pcpu {
	struct vcpu_info *vi;     /* vCPU 0: in shared_info; others: registered with VCPUOP_register_vcpu_info */
	unsigned int id;
};
#define MAX_PV_VCPUS 2
extern struct pcpu pcpus[MAX_PV_VCPUS];
static inline struct pcpu *this_cpu(void) { struct pcpu *p; asm volatile("mv %0, tp" : "=r"(p)); return p; }

/* main.c: start of day. */
extern struct start_info *start_info;
extern struct shared_info *shared_info;
extern unsigned int vcpu_id;
extern unsigned int self_domid;   /* from xenstore "domid" or the command line; 0x7FF0 if unknown */
const char *cmdline_get(const char *key);          /* value of key=value, NULL if absent */
long cmdline_int(const char *key, long dflt);
void poweroff(int code) __attribute__((noreturn));
void crash(const char *why) __attribute__((noreturn));
void shutdown_with(unsigned int reason, const char *why) __attribute__((noreturn)); /* SCHEDOP_shutdown(reason) */

/* console.c */
void console_init(void);
void console_write(const char *s, size_t n);
void console_flush(void);

/* events.c */
typedef void (*evtchn_handler_t)(evtchn_port_t port, void *data);
void events_init(void);
void evtchn_handle_upcall(void);
int evtchn_bind_handler(evtchn_port_t port, evtchn_handler_t h, void *data);   /* served on this vCPU */
int evtchn_bind_handler_cpu(evtchn_port_t port, unsigned int cpu, evtchn_handler_t h, void *data);
void evtchn_unbind_handler(evtchn_port_t port);
long evtchn_alloc_unbound(u16 remote_dom, evtchn_port_t *port);
long evtchn_bind_interdomain(u16 remote_dom, evtchn_port_t remote_port, evtchn_port_t *local);
long evtchn_bind_virq(u32 virq, u32 vcpu, evtchn_port_t *port);
long evtchn_bind_ipi(u32 vcpu, evtchn_port_t *port);
long evtchn_send(evtchn_port_t port);
long evtchn_close(evtchn_port_t port);
long evtchn_unmask(evtchn_port_t port);
long evtchn_status(u16 dom, evtchn_port_t port, struct evtchn_status *st);
void evtchn_mask(evtchn_port_t port);
void evtchn_clear(evtchn_port_t port);
extern u64 upcalls_taken, upcalls_spurious, upcall_resyncs;
/* Wait (interrupts on) until *flag != seen or the deadline (system-time ns, 0 = none) passes. */
void wait_for_change(volatile u64 *flag, u64 seen, u64 deadline_ns);
long sched_yield(void);
long sched_block(void);
long sched_poll(evtchn_port_t *ports, unsigned int n, u64 timeout_ns);

/* time.c */
void time_init(void);
u64 system_time_ns(void);
void wallclock(u64 *sec, u32 *nsec);
long timer_set(u64 abs_ns);
void msleep(u64 ms);
extern volatile u64 timer_fires;

/* gnttab.c */
long gnttab_init(void);
grant_ref_t gnttab_grant_access(u16 domid, u64 gfn, bool readonly);
bool gnttab_end_access(grant_ref_t ref);
long gnttab_map(u16 dom, grant_ref_t ref, u64 host_gpa, bool readonly, u32 *handle);
long gnttab_unmap(u64 host_gpa, u32 handle);
long gnttab_copy_one(struct gnttab_copy *op);
extern struct grant_entry_v1 *gnttab_table;
extern unsigned int gnttab_nr_entries;

/* xenstore.c */
int xs_init(void);
bool xs_available(void);
int xs_read(const char *path, char *buf, size_t size);
int xs_write(const char *path, const char *value);
int xs_directory(const char *path, char *buf, size_t size);
int xs_watch(const char *path, const char *token);
int xs_unwatch(const char *path, const char *token);
int xs_wait_watch(char *path, size_t size, u64 deadline_ns);   /* next WATCH_EVENT's path */
int xs_read_int(const char *path, long *v);
int xs_wait_int(const char *path, long *v, u64 deadline_ns);    /* watch path until it exists */
int xs_set_perms_reader(const char *path, unsigned int owner, unsigned int reader);
/* Watch events whose token is XS_CONTROL_TOKEN are counted, not queued (control.c serves them). */
#define XS_CONTROL_TOKEN "pv-control"
u64 xs_control_events(void);
int xs_wait_control(u64 seen, u64 deadline_ns);   /* until the count moves past seen; -ETIME */

/* control.c: the ~/control requests of xl shutdown / reboot / sysrq (Linux drivers/xen/manage.c) */
int control_init(void);                 /* advertise feature-poweroff/-reboot, watch shutdown, sysrq */
int control_serve(u64 deadline_ns);     /* act on requests; returns -ETIME at the deadline */
int test_idle(void);                    /* control_init + control_serve forever */

/* xenbus.c: frontend helpers; XenbusState values (public/io/xenbus.h) */
enum { XB_INITIALISING = 1, XB_INITWAIT, XB_INITIALISED, XB_CONNECTED, XB_CLOSING, XB_CLOSED };
long xs_long(const char *path, long dflt);                        /* dflt if unreadable */
long xenbus_wait_state(const char *path, long want_min, u64 deadline_ns, bool gone_ends);
long xenbus_find_device(const char *kind, char *fe, size_t fsz, char *be, size_t bsz, u64 deadline_ns);
/* Wait for the backend's Closing, go Closing and Closed, wait for its Closed (or its removal);
 * true if both went so. *closing and *closed get the backend states seen (-1: node gone). */
bool xenbus_frontend_detach(const char *fe, const char *be, u64 wait_ns, long *closing, long *closed);
void xenbus_idle_after_detach(const char *who);   /* prints "<who>: still alive after detach", idles 600 s */

/* tests */
int test_pingpong(void);
int test_grant(void);
int test_time(void);
int test_hostile(void);
int test_xenstore(void);
int test_crash(void);
int test_hcbench(void);
int test_smp(void);
int test_blk(void);   /* blkfront.c */
int test_net(void);   /* netfront.c */

/* Supervisor trap frame built by head.S: x1..x31 at 8*i, then sepc, sstatus, scause, stval. */
struct trap_frame { u64 x[32]; u64 sepc, sstatus, scause, stval; };
void trap_handler(struct trap_frame *f);

#endif
