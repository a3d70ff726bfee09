// SPDX-License-Identifier: GPL-2.0-only
// xl's host and vCPU commands (Xen 4.7 xl_cmdimpl.c main_info, main_dmesg, main_uptime,
// main_vcpulist, main_vcpupin, main_vcpuset, main_memset/memmax): validation and messages as xl
// has them; commands whose control operation the host does not offer yet say so (exit 1).
import type { VcpuInfo } from '../ctrl/protocol.ts';
import { resolveCpuList } from './cpulist.ts';
import { formatInfo, formatVcpuList, type VcpuRow } from './format.ts';
import { sprintf } from './printf.ts';
import { findDomain, getopt, parseMemSizeKb, type CmdSpec, type XlEnv } from './xl-env.ts';

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
    env.out(formatInfo([
      ['host', i.hostName], ['release', 'tsxen'], ['version', 'tsxen'], ['machine', 'riscv64'],
      ['nr_cpus', i.nrCpus], ['max_cpu_id', i.nrCpus - 1], ['nr_nodes', i.nrNodes], ['cores_per_socket', i.coresPerSocket],
      ['threads_per_core', i.threadsPerCore], ['cpu_mhz', i.cpuMhz],
      ['hw_caps', '00000000:00000000:00000000:00000000:00000000:00000000:00000000:00000000'], ['virt_caps', ' hvm'],
      ['total_memory', i.totalMemoryMiB], ['free_memory', i.freeMemoryMiB], ['sharing_freed_memory', 0], ['sharing_used_memory', 0],
      ['outstanding_claims', 0], ['free_cpus', pools?.free.length ?? 0],
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
    const i = await env.call('host.physinfo', {});
    const doms = await env.call('domain.list', {});
    const now = new Date();
    const hms = sprintf('%02d:%02d:%02d', now.getHours(), now.getMinutes(), now.getSeconds());
    if (!short) env.out(sprintf('%-33s %4s %s\n', 'Name', 'ID', 'Uptime'));
    for (const d of doms) {
      if (p.args.length > 0 && !p.args.includes(String(d.domid)) && !p.args.includes(d.name)) continue;
      // The host records no per-domain start time yet: every domain reports the host's uptime.
      const up = uptimeString(i.uptimeSec, short);
      env.out(short ? ` ${hms} up ${up}, ${d.name} (${d.domid})\n` : sprintf('%-33s %4d %s\n', d.name, d.domid, up));
    }
    return 0;
  },
};

const mask = (s: string, n: number): number[] => (s === 'all' ? [...Array(n).keys()] : resolveCpuList(s, n));

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

/** cpurange_parse(): a CPU list against the host's CPUs; xl's errors on stderr. */
function cpuRange(env: XlEnv, s: string, nrCpus: number): number[] | null {
  try {
    return mask(s, nrCpus);
  } catch (e) {
    env.err(`${e instanceof Error ? e.message : String(e)}\n`);
    return null;
  }
}

export const vcpuPinCmd: CmdSpec = {
  name: 'vcpu-pin', help: 'Set which CPUs a VCPU can use', usage: '[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>',
  options: '-f, --force        undo an override pinning done by the guest\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'f', long: 'force' }], vcpuPinCmd, 3, env);
    const force = p.opts.some(([o]) => o === 'f');
    const domid = await findDomain(env, p.args[0]!);
    const [vcpu, hard, soft] = [p.args[1]!, p.args[2]!, p.args[3]];
    const id = /^[0-9]+/.exec(vcpu);
    if (!id) {
      if (vcpu !== 'all') {
        env.err(`Error: Invalid argument ${vcpu} as VCPU.\n`);
        return 1;
      }
      if (force) {
        env.err("Error: --force and 'all' as VCPU not allowed.\n");
        return 1;
      }
    }
    const { nrCpus } = await env.call('host.physinfo', {});
    if (hard !== '-' && cpuRange(env, hard, nrCpus) === null) return 1;
    if (soft !== undefined && soft !== '-' && cpuRange(env, soft, nrCpus) === null) return 1;
    const vcpus = await env.call('vcpu.list', { domid });
    if (id && Number(id[0]) >= vcpus.length) {
      env.err(`libxl: error: vCPU ${id[0]} of domain ${domid} does not exist\n`);
      return 1;
    }
    if (env.dryRun) return 0;
    return unsupported(env, 'vcpu-pin');
  },
};

export const vcpuSetCmd: CmdSpec = {
  name: 'vcpu-set', help: 'Set the number of active VCPUs allowed for the domain', usage: '[option] <Domain> <vCPUs>',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'i', long: 'ignore-host' }], vcpuSetCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const n = /^[0-9]+$/.test(p.args[1]!) ? Number(p.args[1]) : NaN;
    if (!(n >= 1)) {
      env.err(`Error: Invalid argument.\n`);
      return 1;
    }
    const d = (await env.call('domain.list', { domid }))[0]!;
    if (n > d.vcpus) {
      env.err(`Error: Cannot set ${n} vCPUs: domain ${domid} has maxvcpus ${d.vcpus}.\n`);
      return 1;
    }
    return env.dryRun ? 0 : unsupported(env, 'vcpu-set');
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
      if (name === 'mem-set') return unsupported(env, name);
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
