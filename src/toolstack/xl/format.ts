// SPDX-License-Identifier: GPL-2.0-only
// xl's human-readable output, byte for byte (the printf formats of Xen 4.7's
// tools/libxl/xl_cmdimpl.c as gathered in xen-digest.md §2.4): list, vcpu-list, info,
// cpupool-list, sched-credit2, sched-rtds, block-list, network-list. Pure functions over
// plain records; the xl command fetches the records from the host.
import { sprintf } from './printf.ts';

export interface ListRow {
  name: string;
  domid: number;
  memMiB: number;
  onlineVcpus: number;
  running: boolean;
  blocked: boolean;
  paused: boolean;
  shutdown: boolean;
  /** Shutdown reason code (0 poweroff, 1 reboot, 2 suspend, 3 crash, 4 watchdog, 5 soft_reset) when shut down. */
  shutdownReason?: number;
  dying: boolean;
  cpuTimeNs: number;
  uuid: string;
  seclabel?: string;
  cpupool?: string;
}

const REASON_CHARS = '-rscwS';

/** The six state characters r b p s <reason> d ('-' when false). */
export function stateChars(d: Pick<ListRow, 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutdownReason' | 'dying'>): string {
  const reason = d.shutdown ? REASON_CHARS[d.shutdownReason ?? 0] ?? '?' : '-';
  return (d.running ? 'r' : '-') + (d.blocked ? 'b' : '-') + (d.paused ? 'p' : '-') + (d.shutdown ? 's' : '-') + reason + (d.dying ? 'd' : '-');
}

export interface ListOptions { verbose?: boolean; seclabel?: boolean; cpupool?: boolean }

/** `xl list [-v] [-Z] [-c]` (xl_cmdimpl.c list_domains() at 4.7). */
export function formatList(rows: readonly ListRow[], opts: ListOptions = {}): string {
  let out = 'Name                                        ID   Mem VCPUs\tState\tTime(s)';
  if (opts.verbose) out += '   UUID                            Reason-Code\tSecurity Label';
  if (opts.seclabel && !opts.verbose) out += '   Security Label';
  if (opts.cpupool) out += '         Cpupool';
  out += '\n';
  for (const d of rows) {
    let line = sprintf('%-40s %5d %5d %5d     %s  %8.1f', d.name, d.domid, d.memMiB, d.onlineVcpus, stateChars(d), d.cpuTimeNs / 1e9);
    if (opts.verbose) line += ` ${d.uuid}` + (d.shutdown ? sprintf(' %8x', d.shutdownReason ?? 0) : sprintf(' %8s', '-'));
    if (opts.verbose || opts.seclabel) line += sprintf(' %16s', d.seclabel ?? '-');
    if (opts.cpupool) line += sprintf('%16s', d.cpupool ?? 'Pool-0');
    out += `${line}\n`;
  }
  return out;
}

/** print_bitmap: all set → "all", none → "none", else ranges "0-3,5,8-9". */
export function formatBitmap(cpus: readonly number[], nrCpus: number): string {
  const set = [...new Set(cpus)].filter((c) => c >= 0 && c < nrCpus).sort((a, b) => a - b);
  if (set.length === 0) return 'none';
  if (set.length === nrCpus) return 'all';
  const parts: string[] = [];
  for (let i = 0; i < set.length;) {
    let j = i;
    while (j + 1 < set.length && set[j + 1] === set[j] + 1) j++;
    parts.push(i === j ? `${set[i]}` : `${set[i]}-${set[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

export interface VcpuRow {
  name: string;
  domid: number;
  vcpu: number;
  online: boolean;
  running: boolean;
  blocked: boolean;
  cpu: number;
  cpuTimeNs: number;
  hard: readonly number[];
  soft: readonly number[];
}

/** `xl vcpu-list` (print_vcpuinfo() at 4.7: no space between the VCPU and CPU columns). */
export function formatVcpuList(rows: readonly VcpuRow[], nrCpus: number): string {
  let out = sprintf('%-32s %5s %5s %5s %5s %9s %s\n', 'Name', 'ID', 'VCPU', 'CPU', 'State', 'Time(s)', 'Affinity (Hard / Soft)');
  for (const v of rows) {
    let line = sprintf('%-32s %5u %5u', v.name, v.domid, v.vcpu);
    if (v.online) line += sprintf('%5u %3c%c- ', v.cpu, v.running ? 'r' : '-', v.blocked ? 'b' : '-');
    else line += sprintf('%5c %3c%cp ', '-', '-', '-');
    line += sprintf('%9.1f  ', v.cpuTimeNs / 1e9) + formatBitmap(v.hard, nrCpus) + ' / ' + formatBitmap(v.soft, nrCpus);
    out += `${line}\n`;
  }
  return out;
}

/** `xl info`: each key padded to 23 characters, then ": value". */
export function formatInfo(pairs: ReadonlyArray<readonly [string, string | number]>): string {
  return pairs.map(([k, v]) => `${k.padEnd(23)}: ${v}\n`).join('');
}

/**
 * `xl info -n`'s tables (output_topologyinfo, output_numainfo at 4.7): one `%3d:    %4d     %4d
 * %4d` row per pCPU, the PCI device table (no PCI devices: its "No device topology data"
 * line), then one `%4d:    %6lu     %6lu      %d[,%d...]` row per node (memory in MiB).
 */
export function formatTopologyInfo(cpus: ReadonlyArray<{ core: number; socket: number; node: number }>): string {
  let out = 'cpu_topology           :\ncpu:    core    socket     node\n';
  cpus.forEach((c, i) => (out += sprintf('%3d:    %4d     %4d     %4d\n', i, c.core, c.socket, c.node)));
  return out + 'device topology        :\ndevice           node\nNo device topology data available\n';
}
export function formatNumaInfo(nodes: ReadonlyArray<{ memsizeMiB: number; memfreeMiB: number; distances: readonly number[] }>): string {
  let out = 'numa_info              :\nnode:    memsize    memfree    distances\n';
  nodes.forEach((n, i) => (out += sprintf('%4d:    %6d     %6d      %s\n', i, n.memsizeMiB, n.memfreeMiB, n.distances.join(','))));
  return out;
}

export interface CpupoolRow { name: string; sched: string; nrDomains: number; cpus: readonly number[] }

/** `xl cpupool-list [-c]` (main_cpupoollist() at 4.7). */
export function formatCpupoolList(rows: readonly CpupoolRow[], showCpus = false): string {
  let out = sprintf('%-19s', 'Name') + (showCpus ? 'CPU list\n' : 'CPUs   Sched     Active   Domain count\n');
  for (const p of rows) {
    out += sprintf('%-19s', p.name);
    out += showCpus ? [...p.cpus].sort((a, b) => a - b).join(',') : sprintf('%3d %9s       y       %4d', p.cpus.length, p.sched, p.nrDomains);
    out += '\n';
  }
  return out;
}

/** `xl sched-credit2` at 4.7: the pool line of sched_default_pool_output(), then Name ID Weight. */
export function formatSchedCredit2(pool: string, rows: ReadonlyArray<{ name: string; domid: number; weight: number }>): string {
  let out = `Cpupool ${pool}:\n`;
  out += sprintf('%-33s %4s %6s\n', 'Name', 'ID', 'Weight');
  for (const r of rows) out += sprintf('%-33s %4d %6d\n', r.name, r.domid, r.weight);
  return out;
}

/** `xl sched-rtds`: domain view, or per-vCPU view when rows carry a vcpu number. */
export function formatSchedRtds(pool: string, rows: ReadonlyArray<{ name: string; domid: number; vcpu?: number; periodUs: number; budgetUs: number }>, perVcpu: boolean): string {
  let out = `Cpupool ${pool}: sched=RTDS\n`;
  if (perVcpu) {
    out += sprintf('%-33s %4s %4s %9s %9s\n', 'Name', 'ID', 'VCPU', 'Period', 'Budget');
    for (const r of rows) out += sprintf('%-33s %4d %4d %9d %9d\n', r.name, r.domid, r.vcpu ?? 0, r.periodUs, r.budgetUs);
  } else {
    out += sprintf('%-33s %4s %9s %9s\n', 'Name', 'ID', 'Period', 'Budget');
    for (const r of rows) out += sprintf('%-33s %4d %9d %9d\n', r.name, r.domid, r.periodUs, r.budgetUs);
  }
  return out;
}

export interface BlockRow { devid: number; backendId: number; frontendId: number; state: number; evtch: number; ringRef: number; bePath: string }

/** `xl block-list` (the "handle" column holds the frontend domain id, as 4.7 prints it). */
export function formatBlockList(rows: readonly BlockRow[]): string {
  let out = sprintf('%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n', 'Vdev', 'BE', 'handle', 'state', 'evt-ch', 'ring-ref', 'BE-path');
  for (const r of rows) out += sprintf('%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n', r.devid, r.backendId, r.frontendId, r.state, r.evtch, r.ringRef, r.bePath);
  return out;
}

export interface NetRow { devid: number; backendId: number; mac: string; state: number; evtch: number; txRef: number; rxRef: number; bePath: string }

/** `xl network-list` (the MAC abuts the %6d handle column, which repeats the devid, as at 4.7). */
export function formatNetworkList(rows: readonly NetRow[]): string {
  let out = sprintf('%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n', 'Idx', 'BE', 'Mac Addr.', 'handle', 'state', 'evt-ch', 'tx-', 'rx-ring-ref', 'BE-path');
  for (const r of rows) out += sprintf('%-3d %-2d %s%6d %5d %6d %5d/%-11d %-30s\n', r.devid, r.backendId, r.mac, r.devid, r.state, r.evtch, r.txRef, r.rxRef, r.bePath);
  return out;
}
