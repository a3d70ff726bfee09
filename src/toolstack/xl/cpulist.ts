// SPDX-License-Identifier: GPL-2.0-only
// xl's CPU list syntax, used by `cpus=`, `cpus_soft=`, `xl vcpu-pin` and cpupools (xl.cfg(5)
// "CPU-LIST"): comma-separated items, each "all", "N", "N-M", "node:N", "nodes:N-M", and any
// item prefixed with "^" excludes instead of includes. Items apply left to right.

export interface CpuListItem { exclude: boolean; kind: 'cpu' | 'node' | 'all'; lo: number; hi: number }

export class CpuListError extends Error {
  constructor(readonly list: string, detail: string) {
    super(`invalid CPU list '${list}': ${detail}`);
    this.name = 'CpuListError';
  }
}

export function parseCpuList(list: string): CpuListItem[] {
  const items: CpuListItem[] = [];
  const s = list.trim();
  if (s === '') throw new CpuListError(list, 'empty');
  for (const raw of s.split(',')) {
    let t = raw.trim();
    const exclude = t.startsWith('^');
    if (exclude) t = t.slice(1);
    if (t === 'all') { items.push({ exclude, kind: 'all', lo: 0, hi: Infinity }); continue; }
    let kind: 'cpu' | 'node' = 'cpu';
    const nm = /^nodes?:(.*)$/.exec(t);
    if (nm) { kind = 'node'; t = nm[1]; }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(t);
    if (!m) throw new CpuListError(list, `bad item '${raw.trim()}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) throw new CpuListError(list, `range '${raw.trim()}' is backwards`);
    items.push({ exclude, kind, lo, hi });
  }
  return items;
}

/**
 * libxl_node_to_cpumap over physinfo's cpu_topology (row i is pCPU i): the CPUs of node n, or
 * undefined for a node that holds none.
 */
export function nodeCpuMap(topology: ReadonlyArray<{ node: number }>): (node: number) => number[] | undefined {
  return (n) => {
    const cpus = topology.flatMap((t, c) => (t.node === n ? [c] : []));
    return cpus.length > 0 ? cpus : undefined;
  };
}

/**
 * Resolve a parsed list to a sorted array of CPU numbers < nrCpus. `nodeCpus(n)` gives the
 * CPUs of NUMA node n (undefined for a node that does not exist). Throws on CPUs or nodes
 * the host does not have, and on a list that selects nothing.
 */
export function resolveCpuList(list: string, nrCpus: number, nodeCpus: (node: number) => readonly number[] | undefined = (n) => (n === 0 ? [...Array(nrCpus).keys()] : undefined)): number[] {
  const set = new Set<number>();
  for (const it of parseCpuList(list)) {
    let cpus: number[];
    if (it.kind === 'all') cpus = [...Array(nrCpus).keys()];
    else if (it.kind === 'cpu') {
      if (it.hi >= nrCpus) throw new CpuListError(list, `CPU ${it.hi} does not exist (the host has ${nrCpus})`);
      cpus = Array.from({ length: it.hi - it.lo + 1 }, (_, i) => it.lo + i);
    } else {
      cpus = [];
      for (let n = it.lo; n <= it.hi; n++) {
        const c = nodeCpus(n);
        if (!c) throw new CpuListError(list, `node ${n} does not exist`);
        cpus.push(...c);
      }
    }
    for (const c of cpus) { if (it.exclude) set.delete(c); else set.add(c); }
  }
  if (set.size === 0) throw new CpuListError(list, 'selects no CPU');
  return [...set].sort((a, b) => a - b);
}
