// SPDX-License-Identifier: GPL-2.0-only
// The host's pCPU topology (issue 7): `tsxen host --topology sockets=S,cores=C,threads=T[,nodes=N]`
// given by hand, or `--topology host` read from Linux sysfs, so schedulers can be studied on any
// shape. pCPUs are numbered as Xen and Linux enumerate them: cpu = ((socket * C) + core) * T +
// thread, node = socket / (S / N) (sched-if.ts cpuCore/cpuSocket/cpuNode).
// Linux: Documentation/ABI/stable/sysfs-devices-system-cpu (topology/physical_package_id,
// core_id), Documentation/ABI/stable/sysfs-devices-node (nodeN/cpulist).
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { cpus as osCpus } from 'node:os';
import { join } from 'node:path';
import { topologyCpus, type Topology } from '../hypervisor/sched/sched-if.ts';

/** Most pCPUs a host may have (libxl's and our bitmaps, xl's --cpus limit). */
export const MAX_HOST_CPUS = 256;

export const flatTopology = (cpus: number): Topology => ({ sockets: 1, coresPerSocket: cpus, threadsPerCore: 1, nodes: 1 });

const KEYS: Record<string, keyof Topology> = { sockets: 'sockets', cores: 'coresPerSocket', threads: 'threadsPerCore', nodes: 'nodes' };

/** A shape's own checks: a message naming what is wrong, or null. */
export function topologyProblem(t: Topology): string | null {
  const n = topologyCpus(t);
  if (n > MAX_HOST_CPUS) return `${t.sockets}*${t.coresPerSocket}*${t.threadsPerCore} = ${n} CPUs, more than ${MAX_HOST_CPUS}`;
  if (t.nodes > t.sockets || t.sockets % t.nodes !== 0) return `nodes=${t.nodes} does not divide sockets=${t.sockets}`;
  return null;
}

/**
 * `sockets=S,cores=C,threads=T[,nodes=N]` (cores per socket, threads per core; nodes default
 * to 1 and split the sockets evenly). Returns the Topology or an error message naming the option
 * and the value, as host-cli's parse() returns them.
 */
export function parseTopology(spec: string): Topology | string {
  const bad = (why: string): string => `--topology ${JSON.stringify(spec)}: ${why}`;
  const seen: Partial<Record<keyof Topology, number>> = {};
  for (const item of spec.split(',')) {
    const m = /^([a-z]+)=(.*)$/.exec(item);
    if (!m) return bad(`need key=value items (sockets=S,cores=C,threads=T[,nodes=N]), got ${JSON.stringify(item)}`);
    const key = KEYS[m[1]!];
    if (key === undefined) return bad(`unknown key '${m[1]}' (sockets, cores, threads, nodes)`);
    if (seen[key] !== undefined) return bad(`'${m[1]}' given twice`);
    if (!/^[0-9]+$/.test(m[2]!) || Number(m[2]) < 1 || Number(m[2]) > MAX_HOST_CPUS)
      return bad(`${m[1]} needs a whole number from 1 to ${MAX_HOST_CPUS}, got ${JSON.stringify(m[2])}`);
    seen[key] = Number(m[2]);
  }
  for (const k of ['sockets', 'cores', 'threads'] as const) if (seen[KEYS[k]!] === undefined) return bad(`missing ${k}=`);
  const t: Topology = { sockets: seen.sockets!, coresPerSocket: seen.coresPerSocket!, threadsPerCore: seen.threadsPerCore!, nodes: seen.nodes ?? 1 };
  const p = topologyProblem(t);
  return p === null ? t : bad(p);
}

/** A Linux cpulist ("0-3,8,10-11"): the CPU numbers, or null if it is not one. */
export function parseCpuList(s: string): number[] | null {
  const out: number[] = [];
  const t = s.trim();
  if (t === '') return out;
  for (const item of t.split(',')) {
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(item);
    if (!m) return null;
    const lo = Number(m[1]), hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65536) return null;
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

const readInt = (p: string): number | null => {
  try {
    const v = readFileSync(p, 'utf8').trim();
    return /^-?[0-9]+$/.test(v) ? Number(v) : null;
  } catch {
    return null;
  }
};

/**
 * The machine's shape from sysfs under `root` (default /sys): sockets = distinct
 * physical_package_id, cores per socket = distinct core_id in a package, threads per core = CPUs
 * sharing a (package, core_id); NUMA nodes = nodeN directories whose cpulist is not empty
 * (memory-only nodes hold no pCPU). Linux's numbering (siblings are often cpuN and cpuN+half) is
 * not kept: tsxen renumbers in Xen's order, the shape is what a scheduler sees. A shape our
 * Topology cannot express (hybrid cores of different thread counts, nodes that are not whole
 * sockets) or no sysfs at all falls back as `note` says: `cpus` flat CPUs (os.cpus().length).
 * Returns an error message when the machine has more than MAX_HOST_CPUS CPUs.
 */
export function detectTopology(root = '/sys', cpus = osCpus().length): { topology: Topology; note: string | null } | string {
  const flat = (why: string): { topology: Topology; note: string } | string =>
    cpus > MAX_HOST_CPUS ? `--topology host: this machine has ${cpus} CPUs, more than ${MAX_HOST_CPUS}` :
      { topology: flatTopology(Math.max(1, cpus)), note: `${why}: using ${Math.max(1, cpus)} CPU(s) in one socket (flat)` };
  const cpuDir = join(root, 'devices/system/cpu');
  if (!existsSync(cpuDir)) return flat(`no ${cpuDir}`);
  // Online CPUs have a topology directory; offline ones do not (and cannot run pCPUs).
  const found: Array<{ cpu: number; pkg: number; core: number }> = [];
  for (const d of readdirSync(cpuDir)) {
    const m = /^cpu([0-9]+)$/.exec(d);
    if (!m) continue;
    const pkg = readInt(join(cpuDir, d, 'topology/physical_package_id'));
    const core = readInt(join(cpuDir, d, 'topology/core_id'));
    if (pkg !== null && core !== null) found.push({ cpu: Number(m[1]), pkg, core });
  }
  if (found.length === 0) return flat(`no CPU topology in ${cpuDir}`);
  if (found.length > MAX_HOST_CPUS) return `--topology host: this machine has ${found.length} CPUs, more than ${MAX_HOST_CPUS}`;
  const cores = new Map<number, Map<number, number[]>>(); // package -> core_id -> cpus
  for (const f of found) {
    let p = cores.get(f.pkg);
    if (p === undefined) cores.set(f.pkg, (p = new Map()));
    const l = p.get(f.core);
    if (l === undefined) p.set(f.core, [f.cpu]);
    else l.push(f.cpu);
  }
  const sockets = cores.size;
  const perSocket = new Set([...cores.values()].map((p) => p.size));
  const perCore = new Set([...cores.values()].flatMap((p) => [...p.values()].map((l) => l.length)));
  if (perSocket.size !== 1 || perCore.size !== 1) {
    cpus = found.length;
    return flat(`${cpuDir}: sockets of different core counts or cores of different thread counts`);
  }
  const t: Topology = { sockets, coresPerSocket: [...perSocket][0]!, threadsPerCore: [...perCore][0]!, nodes: 1 };
  const note = nodesOf(root, cores, t);
  return { topology: t, note };
}

/** Sets t.nodes from nodeN/cpulist when every node is a whole number of sockets, equal in size; else a note. */
function nodesOf(root: string, cores: Map<number, Map<number, number[]>>, t: Topology): string | null {
  const nodeDir = join(root, 'devices/system/node');
  if (!existsSync(nodeDir)) return null; // a kernel without NUMA: one node
  const pkgOf = new Map<number, number>();
  for (const [pkg, p] of cores) for (const l of p.values()) for (const c of l) pkgOf.set(c, pkg);
  const nodes: Array<Set<number>> = []; // the packages of each node holding CPUs
  for (const d of readdirSync(nodeDir)) {
    if (!/^node[0-9]+$/.test(d)) continue;
    let text: string;
    try {
      text = readFileSync(join(nodeDir, d, 'cpulist'), 'utf8');
    } catch {
      continue;
    }
    const list = parseCpuList(text);
    if (list === null) return `${join(nodeDir, d, 'cpulist')}: not a CPU list: using one NUMA node`;
    const pkgs = new Set(list.filter((c) => pkgOf.has(c)).map((c) => pkgOf.get(c)!));
    if (pkgs.size > 0) nodes.push(pkgs);
  }
  if (nodes.length <= 1) return null;
  const whole = nodes.every((pkgs) => pkgs.size === t.sockets / nodes.length) &&
    new Set(nodes.flatMap((pkgs) => [...pkgs])).size === t.sockets;
  if (t.sockets % nodes.length !== 0 || !whole)
    return `${nodes.length} NUMA nodes over ${t.sockets} socket(s) are not whole sockets split evenly: using one NUMA node`;
  t.nodes = nodes.length;
  return null;
}
