// SPDX-License-Identifier: GPL-2.0-only
// xl's host and vCPU commands (Xen 4.7 xl_cmdimpl.c main_info, main_dmesg, main_uptime,
// main_vcpulist, main_vcpupin, main_vcpuset, main_memset/memmax): validation and messages as xl
// has them; commands whose control operation the host does not offer yet say so (exit 1).
import type { VcpuInfo } from '../ctrl/protocol.ts';
import { nodeCpuMap, resolveCpuList } from './cpulist.ts';
import { formatBitmap, formatInfo, formatNumaInfo, formatTopologyInfo, formatVcpuList, type VcpuRow } from './format.ts';
import { sprintf } from './printf.ts';
import { findDomain, getopt, helpText, parseMemSizeKb, type CmdSpec, type XlEnv } from './xl-env.ts';

export const infoCmd: CmdSpec = {
  name: 'info', help: 'Get information about Xen host', usage: '[-n|--numa] [--json]',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'n', long: 'numa' }, { short: 'J', long: 'json' }], infoCmd, 0, env);
    const i = await env.call('host.physinfo', {});
    const pools = await env.call('cpupool.list', {}).catch(() => null); // free_cpus, xen_scheduler (the boot sched=)
    if (p.opts.some(([o]) => o === 'J')) {
      env.out(JSON.stringify(i, null, 4) + '\n');
      return 0;
    }
    // print_info(): nodeinfo, physinfo, with -n the topology and NUMA tables, then xeninfo.
    env.out(formatInfo([
      ['host', i.hostName], ['release', 'tsxen'], ['version', 'tsxen'], ['machine', 'riscv64'],
      ['nr_cpus', i.nrCpus], ['max_cpu_id', i.nrCpus - 1], ['nr_nodes', i.nrNodes], ['cores_per_socket', i.coresPerSocket],
      ['threads_per_core', i.threadsPerCore], ['cpu_mhz', i.cpuMhz],
      ['hw_caps', '00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000'], ['virt_caps', 'hvm'],
      ['total_memory', i.totalMemoryMiB], ['free_memory', i.freeMemoryMiB], ['sharing_freed_memory', 0], ['sharing_used_memory', 0],
      ['outstanding_claims', 0], ['free_cpus', pools?.free.length ?? 0],
    ]));
    if (p.opts.some(([o]) => o === 'n')) env.out(formatTopologyInfo(i.cpuTopology) + formatNumaInfo(i.numaInfo));
    env.out(formatInfo([
      ['xen_major', i.xenMajor], ['xen_minor', i.xenMinor], ['xen_extra', i.xenExtra], ['xen_version', `${i.xenMajor}.${i.xenMinor}${i.xenExtra}`],
      ['xen_caps', i.xenCaps], ['xen_scheduler', pools?.defaultSched ?? 'credit2'], ['xen_pagesize', 4096], ['platform_params', 'virt_start=0x0'],
      ['xen_changeset', ''], ['xen_commandline', i.xenCommandline], ['cc_compiler', 'esbuild (TypeScript)'], ['cc_compile_by', 'tsxen'],
      ['cc_compile_domain', ''], ['cc_compile_date', ''], ['build_id', i.buildId], ['xend_config_format', 4],
    ]));
    return 0;
  },
};

export const dmesgCmd: CmdSpec = {
  name: 'dmesg', help: 'Read and/or clear dmesg buffer', usage: '[-c]', options: '  -c                        Clear dmesg buffer as well as printing it\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'c' }], dmesgCmd, 0, env);
    const r = await env.call('host.dmesg', { clear: p.opts.some(([o]) => o === 'c') });
    env.out(r.text);
    return 0;
  },
};

function uptimeString(sec: number, short: boolean): string {
  const day = Math.floor(sec / 86400);
  const hour = Math.floor((sec % 86400) / 3600);
  const min = Math.floor((sec % 3600) / 60);
  const s = Math.floor(sec % 60);
  const d = day > 1 ? `${day} days, ` : day === 1 ? `${day} day, ` : '';
  return d + (short ? sprintf('%2d:%02d', hour, min) : sprintf('%2d:%02d:%02d', hour, min, s));
}

export const uptimeCmd: CmdSpec = {
  name: 'uptime', help: 'Print uptime for all/some domains', usage: '[-s] [Domain]',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 's' }], uptimeCmd, 0, env);
    const short = p.opts.some(([o]) => o === 's');
    const ids: number[] = [];
    for (const a of p.args) ids.push(await findDomain(env, a));
    const doms = await env.call('domain.list', {});
    const now = new Date();
    const hms = sprintf('%02d:%02d:%02d', now.getHours(), now.getMinutes(), now.getSeconds());
    if (!short) env.out(sprintf('%-33s %4s %s\n', 'Name', 'ID', 'Uptime'));
    // print_uptime(): Domain-0 first, then every VM, or the domains named, in the order named.
    const order = ids.length > 0 ? ids : [0, ...doms.filter((d) => d.domid !== 0).map((d) => d.domid)];
    for (const id of order) {
      const d = doms.find((x) => x.domid === id);
      if (d === undefined) continue;
      const up = uptimeString(d.uptimeSec, short);
      env.out(short ? ` ${hms} up ${up}, ${d.name} (${d.domid})\n` : sprintf('%-33s %4d %s\n', d.name, d.domid, up));
    }
    return 0;
  },
};

const mask = (s: string, n: number): number[] => (s === 'all' ? [...Array(n).keys()] : s === 'none' ? [] : resolveCpuList(s, n));

export function toVcpuRow(v: VcpuInfo, nrCpus: number): VcpuRow {
  return {
    name: v.name, domid: v.domid, vcpu: v.vcpu, online: v.online, running: v.running, blocked: v.blocked, cpu: v.cpu,
    cpuTimeNs: v.cpuTimeSec * 1e9, hard: mask(v.affinityHard, nrCpus), soft: mask(v.affinitySoft, nrCpus),
  };
}

export const vcpuListCmd: CmdSpec = {
  name: 'vcpu-list', help: 'List the VCPUs for all/some domains', usage: '[Domain, ...] [--json]',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'J', long: 'json' }], vcpuListCmd, 0, env);
    const { nrCpus } = await env.call('host.physinfo', {});
    let rows: VcpuInfo[] = [];
    if (p.args.length === 0) rows = await env.call('vcpu.list', {});
    else for (const a of p.args) rows.push(...await env.call('vcpu.list', { domid: await findDomain(env, a) }));
    if (p.opts.some(([o]) => o === 'J')) env.out(JSON.stringify(rows, null, 4) + '\n');
    else env.out(formatVcpuList(rows.map((v) => toVcpuRow(v, nrCpus)), nrCpus));
    return 0;
  },
};

function unsupported(env: XlEnv, what: string): number {
  env.err(`${what}: not supported by this tsxen host (no control operation for it yet)\n`);
  return 1;
}

/** The ctrl error of a failed call as libxl logs it (function and what it was doing). */
function libxlError(env: XlEnv, fn: string, what: string, e: unknown): void {
  env.err(`libxl: error: ${fn}: ${what}: ${e instanceof Error ? e.message : String(e)}\n`);
}

/**
 * cpurange_parse(): comma-separated items, each `all`, `N`, `N-M`, `node:N`/`nodes:N-M`, with `^`
 * to remove; xl's messages on stderr and null on a bad item. The bitmap is the host's CPU bitmap
 * (whole bytes), so CPUs beyond it are dropped silently as libxl_bitmap_set does; the
 * hypervisor judges the rest.
 */
export function cpurangeParse(env: XlEnv, s: string, nrCpus: number, topology: ReadonlyArray<{ node: number }> = []): number[] | null {
  const nodeCpus = nodeCpuMap(topology.length > 0 ? topology : Array.from({ length: nrCpus }, () => ({ node: 0 })));
  const bits = Math.ceil(nrCpus / 8) * 8;
  const set = new Set<number>();
  for (const raw of s.split(',').filter((x) => x !== '')) {
    let t = raw;
    const not = t.startsWith('^');
    if (not) t = t.slice(1);
    const nodes = /^nodes?:/.exec(t);
    if (nodes) t = t.slice(nodes[0].length);
    if (t === 'all') {
      if (not) {
        env.err('Can\'t combine "^" and "all".\n');
        return null;
      }
      for (let c = 0; c < bits; c++) set.add(c);
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(t);
    const a = m ? Number(m[1]) : NaN;
    const b = m && m[2] !== undefined ? Number(m[2]) : a;
    if (!m || b < a) {
      env.err(`Invalid pcpu range: ${t}.\n`);
      return null;
    }
    for (let i = a; i <= b && i < bits; i++) {
      const cpus = nodes ? nodeCpus(i) : [i];
      if (cpus === undefined) {
        env.err('libxl_node_to_cpumap failed.\n');
        return null;
      }
      for (const c of cpus) (not ? set.delete(c) : set.add(c));
    }
  }
  return [...set].sort((x, y) => x - y);
}

export const vcpuPinCmd: CmdSpec = {
  name: 'vcpu-pin', help: 'Set which CPUs a VCPU can use', usage: '[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>',
  options: '-f, --force        undo an override pinning done by the guest\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'f', long: 'force' }], vcpuPinCmd, 3, env);
    const force = p.opts.some(([o]) => o === 'f');
    const domid = await findDomain(env, p.args[0]!);
    const [vcpu, hardStr, softStr] = [p.args[1]!, p.args[2]!, p.args[3]];
    // strtol(vcpu, &end, 10): leading digits count, a negative number or none is not a vCPU.
    const id = /^\s*[+-]?[0-9]+/.exec(vcpu);
    let vcpuid = id ? Number(id[0]) : -1;
    if (!id || vcpuid < 0) {
      if (vcpu !== 'all') {
        env.err(`Error: Invalid argument ${vcpu} as VCPU.\n`);
        return 1;
      }
      if (force) {
        env.err("Error: --force and 'all' as VCPU not allowed.\n");
        return 1;
      }
      vcpuid = -1;
    }
    const { nrCpus, cpuTopology } = await env.call('host.physinfo', {});
    const hard = hardStr === '-' ? null : cpurangeParse(env, hardStr, nrCpus, cpuTopology);
    if (hardStr !== '-' && hard === null) return 1;
    const soft = softStr === undefined || softStr === '-' ? null : cpurangeParse(env, softStr, nrCpus, cpuTopology);
    if (softStr !== undefined && softStr !== '-' && soft === null) return 1;
    if (env.dryRun) {
      const bm = (m: number[]): string => formatBitmap(m.filter((c) => c < nrCpus), nrCpus);
      env.out(`cpumap: ${hard === null ? '-' : bm(hard)}${soft !== null ? ` ${bm(soft)}` : ''}\n`);
      return 0;
    }
    try {
      await env.call('vcpu.pin', { domid, vcpu: vcpuid, hard, soft });
    } catch (e) {
      libxlError(env, 'libxl_set_vcpuaffinity', 'setting vcpu affinity', e);
      // xl: one vCPU fails the command; 'all' reports it and still exits 0.
      if (vcpuid === -1) {
        env.err('Could not set affinity.\n');
        return 0;
      }
      env.err(`Could not set affinity for vcpu \`${vcpuid}'.\n`);
      return 1;
    }
    return 0;
  },
};

export const vcpuSetCmd: CmdSpec = {
  name: 'vcpu-set', help: 'Set the number of active VCPUs allowed for the domain', usage: '[option] <Domain> <vCPUs>',
  options: '-i, --ignore-host  Don\'t limit the vCPU based on the host CPU count\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'i', long: 'ignore-host' }], vcpuSetCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const m = /^\s*[+]?[0-9]+/.exec(p.args[1]!);
    if (!m) {
      env.err('Error: Invalid argument.\n');
      return 1;
    }
    const n = Number(m[0]);
    if (!p.opts.some(([o]) => o === 'i')) {
      const { nrCpus } = await env.call('host.physinfo', {});
      const d = (await env.call('domain.list', { domid }))[0]!;
      if (n > d.vcpusOnline && n > nrCpus) {
        env.err(`You are overcommmitting! You have ${nrCpus} physical CPUs and want ${n} vCPUs! Aborting, use --ignore-host to continue\n`);
        return 1;
      }
    }
    if (env.dryRun) return 0;
    try {
      await env.call('vcpu.set-online', { domid, count: n });
    } catch (e) {
      libxlError(env, 'libxl_set_vcpuonline', 'setting vcpus online', e);
      env.err(`libxl_set_vcpuonline failed domid=${domid} max_vcpus=${n}, rc: -3\n`);
      return 1;
    }
    return 0;
  },
};

function memCmd(name: 'mem-set' | 'mem-max', help: string): CmdSpec {
  const c: CmdSpec = {
    name, help, usage: '<Domain> <MemMB[bBkKmMgG]>',
    async run(argv, env) {
      const p = getopt(argv, [], c, 2, env);
      const domid = await findDomain(env, p.args[0]!);
      const kb = parseMemSizeKb(p.args[1]!);
      if (kb < 0) {
        env.err(`invalid memory size: ${p.args[1]}\n`);
        return 1;
      }
      if (env.dryRun) return 0;
      if (name === 'mem-set') {
        try {
          await env.call('domain.set-target', { domid, targetKiB: kb });
        } catch (e) {
          libxlError(env, 'libxl_set_memory_target', 'setting memory target', e);
          env.err(`cannot set domid ${domid} dynamic max memory to : ${p.args[1]}\n`);
          return 1;
        }
        return 0;
      }
      try {
        await env.call('domain.set-maxmem', { domid, maxMemKiB: kb });
      } catch {
        env.err(`cannot set domid ${domid} static max memory to : ${p.args[1]}\n`);
        return 1;
      }
      return 0;
    },
  };
  return c;
}
export const memSetCmd = memCmd('mem-set', 'Set the current memory usage for a domain');
export const memMaxCmd = memCmd('mem-max', 'Set the maximum amount reservation for a domain');

export const sysrqCmd: CmdSpec = {
  name: 'sysrq', help: 'Send a sysrq to a domain', usage: '<Domain> <letter>',
  async run(argv, env) {
    const p = getopt(argv, [], sysrqCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const key = p.args[1]!;
    if (key.length !== 1) {
      env.err('Invalid sysrq.\n\n');
      env.out(helpText(sysrqCmd));
      return 1;
    }
    if (env.dryRun) return 0;
    // libxl_send_sysrq writes ~/control/sysrq and reports nothing back.
    await env.call('domain.sysrq', { domid, key }).catch((e: unknown) => libxlError(env, 'libxl_send_sysrq', 'writing control/sysrq', e));
    return 0;
  },
};

const TRIGGER_NAMES = ['power', 'sleep', 'nmi', 'init', 'reset', 's3resume'];

export const triggerCmd: CmdSpec = {
  name: 'trigger', help: 'Send a trigger to a domain', usage: '<Domain> <nmi|reset|init|power|sleep|s3resume> [<VCPU>]',
  async run(argv, env) {
    const p = getopt(argv, [], triggerCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const name = p.args[1]!;
    if (!TRIGGER_NAMES.includes(name.toLowerCase())) {
      env.err(`Invalid trigger "${name}"\n`);
      return 1;
    }
    let vcpu = 0;
    if (p.args[2] !== undefined) {
      const m = /^\s*[+-]?[0-9]+/.exec(p.args[2]);
      vcpu = m ? Number(m[0]) : 0;
      if (!m) env.err('Invalid vcpuid, using default vcpuid=0.\n\n');
    }
    if (env.dryRun) return 0;
    // main_trigger returns success whatever libxl_send_trigger says; libxl logs the failure.
    await env.call('domain.trigger', { domid, trigger: name.toLowerCase(), vcpu }).catch((e: unknown) => {
      env.err(`libxl: error: libxl_send_trigger: Send trigger '${name.toLowerCase()}' failed: ${e instanceof Error ? e.message : String(e)}\n`);
    });
    return 0;
  },
};

/** Commands xl has that need host operations (devices, sysrq, trigger, rename) not offered yet. */
export function notYet(name: string, help: string, usage: string, reqargs: number): CmdSpec {
  const c: CmdSpec = {
    name, help, usage,
    async run(argv, env) {
      const p = getopt(argv, [], c, reqargs, env);
      if (reqargs > 0) await findDomain(env, p.args[0]!);
      return unsupported(env, name);
    },
  };
  return c;
}

export const renameCmd: CmdSpec = {
  name: 'rename', help: 'Rename a domain', usage: '<Domain> <NewDomainName>',
  async run(argv, env) {
    const p = getopt(argv, [], renameCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    if (env.dryRun) return 0;
    try {
      await env.call('domain.rename', { domid, name: p.args[1]! });
    } catch {
      env.err(`Can't rename domain '${p.args[0]}'.\n`);
      return 1;
    }
    return 0;
  },
};

/**
 * `xl top`: xentop's table of domains (NAME STATE CPU(sec) CPU(%) MEM(k) MEM(%) MAXMEM(k) VCPUS),
 * refreshed every -d seconds; -b batch mode (no screen control), -i N iterations.
 */
export const topCmd: CmdSpec = {
  name: 'top', help: 'Monitor a host and the domains in real time', usage: '[-b] [-d SECONDS] [-i ITERATIONS]',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'b', long: 'batch' }, { short: 'd', long: 'delay', arg: true }, { short: 'i', long: 'iterations', arg: true }], topCmd, 0, env);
    const batch = p.opts.some(([o]) => o === 'b');
    const delay = Number(p.opts.find(([o]) => o === 'd')?.[1] ?? '3');
    const iters = Number(p.opts.find(([o]) => o === 'i')?.[1] ?? (batch ? '1' : 'Infinity'));
    if (!(delay > 0) || !(iters >= 1)) {
      env.err('xl top: -d needs a positive number of seconds and -i a positive count\n');
      return 2;
    }
    const phys = await env.call('host.physinfo', {});
    let prev = new Map<number, [number, number]>();
    for (let it = 0; it < iters; it++) {
      if (it > 0) await env.sleep(delay * 1000);
      const now = Date.now();
      const doms = await env.call('domain.list', {});
      let s = batch ? '' : '\x1b[H\x1b[2J';
      s += sprintf('%10s %8s %10s %6s %10s %6s %10s %5s\n', 'NAME', 'STATE', 'CPU(sec)', 'CPU(%)', 'MEM(k)', 'MEM(%)', 'MAXMEM(k)', 'VCPUS');
      const next = new Map<number, [number, number]>();
      for (const d of doms) {
        const was = prev.get(d.domid);
        const pct = was ? ((d.cpuTimeSec - was[0]) / ((now - was[1]) / 1000)) * 100 : 0;
        next.set(d.domid, [d.cpuTimeSec, now]);
        const st = [d.running ? 'r' : '-', d.blocked ? 'b' : '-', d.paused ? 'p' : '-', d.shutdown || d.crashed ? 's' : '-', d.crashed ? 'c' : '-', d.dying ? 'd' : '-'].join('');
        s += sprintf('%10s %8s %10d %6.1f %10d %6.1f %10d %5d\n', d.name.slice(0, 10), st, Math.floor(d.cpuTimeSec), pct,
          d.memKiB, (d.memKiB / (phys.totalMemoryMiB * 1024)) * 100, d.maxMemKiB, d.vcpus);
      }
      prev = next;
      env.out(s);
    }
    return 0;
  },
};
