// SPDX-License-Identifier: GPL-2.0-only
// The pool scheduler interface (Xen's struct scheduler) with the host Topology, CPU masks, the
// per-vCPU scheduling unit and the errors Xen returns. Schedulers only decide: the run loop (one
// thread in deterministic virtual time, pCPU workers later) executes their decisions.
// Xen: xen/include/xen/sched-if.h, xen/common/schedule.c
import { EBUSY, EINVAL, ENODEV, ENOENT, EPERM } from '../public/errno.ts';

export { EBUSY, EINVAL, ENODEV, ENOENT, EPERM };

/** A Xen error: `errno` is positive (the hypercall returns -errno); nothing changed. */
export class SchedError extends Error {
  constructor(readonly errno: number, msg: string) {
    super(msg);
  }
}

/**
 * Host shape, numbered as Xen and Linux enumerate: cpu = ((socket * coresPerSocket) + core) *
 * threadsPerCore + thread; node = socket / (sockets / nodes) (sockets split evenly into nodes).
 */
export interface Topology {
  sockets: number;
  coresPerSocket: number;
  threadsPerCore: number;
  nodes: number;
}
export const topologyCpus = (t: Topology): number => t.sockets * t.coresPerSocket * t.threadsPerCore;
/** A host-wide core id (siblings share it, cores of different sockets never do): what runqueues group by. */
export function cpuCore(t: Topology, cpu: number): number {
  return Math.floor(cpu / t.threadsPerCore);
}
export function cpuSocket(t: Topology, cpu: number): number {
  return Math.floor(cpu / (t.threadsPerCore * t.coresPerSocket));
}
export function cpuNode(t: Topology, cpu: number): number {
  return Math.floor((cpuSocket(t, cpu) * t.nodes) / t.sockets);
}
/**
 * XEN_SYSCTL_cputopoinfo's row for a pCPU: core is the core's id within its socket (x86's
 * cpu_core_id, Linux's topology/core_id), as `xl info -n` prints it. Xen: common/sysctl.c
 */
export function cpuTopoInfo(t: Topology, cpu: number): { core: number; socket: number; node: number } {
  return { core: cpuCore(t, cpu) % t.coresPerSocket, socket: cpuSocket(t, cpu), node: cpuNode(t, cpu) };
}
export function validateTopology(t: Topology): void {
  for (const k of ['sockets', 'coresPerSocket', 'threadsPerCore', 'nodes'] as const) {
    if (!Number.isInteger(t[k]) || t[k] < 1) throw new SchedError(EINVAL, `topology ${k} ${t[k]}`);
  }
  if (t.sockets % t.nodes !== 0) throw new SchedError(EINVAL, `${t.sockets} sockets do not split into ${t.nodes} nodes`);
}

/** A set of pCPUs (null in an affinity: all). */
export type CpuMask = ReadonlySet<number>;
export const inMask = (m: CpuMask | null, cpu: number): boolean => m === null || m.has(cpu);

/** What a scheduler knows of a vCPU (the core's Vcpu carries one; tests may make their own). */
export class SchedUnit {
  /** pCPU it last ran on / is assigned to (Xen's v->processor). */
  processor = -1;
  /** Hard affinity (never violated) and soft affinity (preferred); null = all pCPUs. */
  hard: CpuMask | null = null;
  soft: CpuMask | null = null;
  /** The scheduler's private data (Xen's sched_priv). */
  priv: unknown = null;
  /** Runnable as far as the scheduler was told (wake/sleep). */
  runnable = false;
  constructor(readonly domid: number, readonly vcpuId: number) {}
}

/** do_schedule's answer: what pCPU `cpu` runs next, for how long (ns; Infinity = until an event). */
export interface Decision {
  unit: SchedUnit | null;
  sliceNs: number;
}

/** What the run loop offers a scheduler: ask it to reschedule a pCPU soon (Xen's SCHEDULE_SOFTIRQ). */
export interface SchedHost {
  tickle(cpu: number): void;
  /** Virtual/host time in ns (for operations without a time argument: parameter changes). */
  now(): number;
}

/** Per-domain parameters as xl shows them (units: us; cap in %). */
export interface Credit2Params { weight: number; cap: number }
export interface RtdsParams { period: number; budget: number; extratime: boolean }

/** Xen's struct scheduler. One instance per cpupool. */
export interface Scheduler {
  readonly name: string; // xl's name: credit2, rtds, null
  readonly id: number; // XEN_SCHEDULER_*
  init(host: SchedHost, topo: Topology): void;
  deinit(): void;
  /** pCPU joins / leaves the pool (cpupool cpu-add / cpu-remove). */
  addCpu(cpu: number): void;
  removeCpu(cpu: number): void;
  insertUnit(u: SchedUnit): void;
  removeUnit(u: SchedUnit): void;
  sleep(u: SchedUnit, now: number): void;
  wake(u: SchedUnit, now: number): void;
  yield(u: SchedUnit): void;
  /** Pick what `cpu` runs next at `now`; the unit it ran so far is charged up to `now`. */
  doSchedule(cpu: number, now: number): Decision;
  /** A pCPU for u (respecting hard affinity, preferring soft). */
  pickCpu(u: SchedUnit, now: number): number;
  /** Affinity changed or pool changed: the unit may need to move. */
  migrate(u: SchedUnit, cpu: number, now: number): void;
  /** Domain parameters (xl sched-<name> -d): get, and set with validation (throws SchedError, nothing changes). */
  getDomain(domid: number): Record<string, number | boolean>;
  adjustDomain(domid: number, p: Record<string, number | boolean>): void;
  /** Per-vCPU parameters (RTDS only; others throw EINVAL). */
  getVcpu?(domid: number, vcpu: number): Record<string, number | boolean>;
  adjustVcpu?(domid: number, vcpu: number, p: Record<string, number | boolean>): void;
  /** Pool parameters (ratelimit, runqueue arrangement) and their get. */
  getGlobal(): Record<string, number | string>;
  adjustGlobal(p: Record<string, number | string>): void;
  /** What `xl debug-keys r` prints. */
  dump(): string;
}

export const XEN_SCHEDULER_CREDIT2 = 6;
export const XEN_SCHEDULER_ARINC653 = 7;
export const XEN_SCHEDULER_RTDS = 8;
export const XEN_SCHEDULER_NULL = 9;
export const XEN_SYSCTL_SCHED_RATELIMIT_MAX = 500000;
export const XEN_SYSCTL_SCHED_RATELIMIT_MIN = 100;
export const US = 1000;
export const MS = 1_000_000;

/** Insert into an array kept sorted by `key` ascending (stable: after equal keys). */
export function sortedInsert<T>(a: T[], x: T, key: (t: T) => number): void {
  const k = key(x);
  let lo = 0, hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (key(a[mid]!) <= k) lo = mid + 1;
    else hi = mid;
  }
  a.splice(lo, 0, x);
}
export function removeFrom<T>(a: T[], x: T): boolean {
  const i = a.indexOf(x);
  if (i < 0) return false;
  a.splice(i, 1);
  return true;
}
