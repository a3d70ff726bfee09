// SPDX-License-Identifier: GPL-2.0-only
// The scheduler and cpupool part of the control protocol (libxc's xc_sched_*_domain_{get,set},
// xc_sched_rtds_vcpu_{get,set}, xc_sched_credit2_params_{get,set}, xc_cpupool_*): method name →
// [params, result]. Errors carry Xen's errno name (EINVAL, EBUSY, ENODEV, ENOENT, EPERM, EEXIST).

/** One cpupool as xc_cpupool_getinfo gives it, plus its domains (xl sched-* lists per pool). */
export interface CpupoolInfo { poolid: number; name: string; sched: string; cpus: number[]; domids: number[] }
/** Per-vCPU RTDS parameters (us). */
export interface RtdsVcpuParams { vcpu: number; period: number; budget: number; extratime: boolean }

export interface SchedMethods {
  /** XEN_DOMCTL_SCHEDOP_getinfo: credit2 {weight, cap}, rtds {period, budget, extratime}; EINVAL if the domain's pool runs another scheduler. */
  'sched.domain-get': [{ domid: number; sched: string }, Record<string, number | boolean>];
  'sched.domain-set': [{ domid: number; sched: string; params: Record<string, number | boolean> }, Record<string, never>];
  /** XEN_DOMCTL_SCHEDOP_{get,put}vcpuinfo (RTDS only); vcpus omitted = all. */
  'sched.vcpu-get': [{ domid: number; sched: string; vcpus?: number[] }, RtdsVcpuParams[]];
  'sched.vcpu-set': [{ domid: number; sched: string; vcpus: RtdsVcpuParams[] }, Record<string, never>];
  /** XEN_SYSCTL_SCHEDOP_{get,put}info of a pool (credit2: ratelimit in us). */
  'sched.pool-get': [{ pool: string }, { sched: string; params: Record<string, number | string> }];
  'sched.pool-set': [{ pool: string; params: Record<string, number | string> }, Record<string, never>];
  /** XEN_SYSCTL_CPUPOOL_OP_INFO for all pools, and the free pCPUs. */
  'cpupool.list': [Record<string, never>, { pools: CpupoolInfo[]; free: number[]; nrCpus: number; defaultSched: string }];
  'cpupool.create': [{ name: string; sched: string; cpus: number[] }, { poolid: number }];
  'cpupool.destroy': [{ pool: string }, Record<string, never>];
  'cpupool.cpu-add': [{ pool: string; cpu: number }, Record<string, never>];
  'cpupool.cpu-remove': [{ pool: string; cpu: number }, Record<string, never>];
  'cpupool.migrate': [{ domid: number; pool: string }, Record<string, never>];
}
export const SCHED_METHODS: ReadonlyArray<keyof SchedMethods> = [
  'sched.domain-get', 'sched.domain-set', 'sched.vcpu-get', 'sched.vcpu-set', 'sched.pool-get', 'sched.pool-set',
  'cpupool.list', 'cpupool.create', 'cpupool.destroy', 'cpupool.cpu-add', 'cpupool.cpu-remove', 'cpupool.migrate',
];
