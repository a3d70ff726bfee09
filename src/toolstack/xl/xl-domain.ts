// SPDX-License-Identifier: GPL-2.0-only
// xl's domain lifecycle commands (Xen 4.7 tools/libxl/xl_cmdimpl.c main_create, main_list,
// main_destroy, main_shutdown/main_reboot, main_pause/unpause, main_domid, main_domname,
// main_console): options, messages and exit codes as xl has them, over the host's control socket.
import type { Action, BuildDescription, DomainInfo, ShutdownActions } from '../ctrl/protocol.ts';
import { nodeCpuMap, resolveCpuList } from './cpulist.ts';
import { parseDomainConfig, XlCfgError, type DomainConfig } from './domain-config.ts';
import { formatList, type ListRow } from './format.ts';
import { attachConfigDevices } from './xl-devices.ts';
import { findDomain, getopt, XlExit, type CmdSpec, type XlEnv } from './xl-env.ts';

const REASONS: Record<string, number> = { poweroff: 0, reboot: 1, suspend: 2, crash: 3, watchdog: 4, soft_reset: 5 };

export function toListRow(d: DomainInfo): ListRow {
  return {
    name: d.name, domid: d.domid, memMiB: Math.floor(d.memKiB / 1024), onlineVcpus: d.vcpusOnline,
    running: d.running, blocked: d.blocked, paused: d.paused, shutdown: d.shutdown || d.crashed || d.shutdownReason >= 0,
    shutdownReason: d.shutdownReason >= 0 ? d.shutdownReason : REASONS[d.shutdownReasonName] ?? 0,
    dying: d.dying, cpuTimeNs: d.cpuTimeSec * 1e9, uuid: d.uuid,
  };
}

/** libxl_action_on_shutdown's JSON names (libxl_types.idl: DESTROY ... RESTART_RENAME ... SOFT_RESET). */
const actionJson = (a: Action): string => (a === 'rename-restart' ? 'restart_rename' : a.replace('-', '_'));

/**
 * The libxl_domain_config-shaped JSON `xl list -l` prints for a domain (4.7: {domid, config}):
 * the on_* actions it was created with (libxl keeps the domain's config), libxl's defaults for
 * one created without them (not through xl).
 */
export function domainJson(d: DomainInfo): unknown {
  const a: ShutdownActions = d.actions ?? { onPoweroff: 'destroy', onReboot: 'restart', onWatchdog: 'destroy', onCrash: 'destroy', onSoftReset: 'soft-reset' };
  return {
    domid: d.domid,
    config: {
      c_info: { type: d.type === 'hvm' ? 'hvm' : 'pv', name: d.name, uuid: d.uuid },
      b_info: { max_vcpus: d.vcpus, max_memkb: d.maxMemKiB, target_memkb: d.memKiB },
      on_poweroff: actionJson(a.onPoweroff), on_reboot: actionJson(a.onReboot), on_watchdog: actionJson(a.onWatchdog),
      on_crash: actionJson(a.onCrash), on_soft_reset: actionJson(a.onSoftReset),
    },
  };
}

export const listCmd: CmdSpec = {
  name: 'list', help: 'List information about all/some domains', usage: '[options] [Domain]',
  options: '-l, --long                              Output all VM details\n-v, --verbose                           Prints out UUIDs and security context\n-Z, --context                           Prints out security context\n-c, --cpupool                           Prints the cpupool the domain is in\n--json                                  (tsxen) the rows as JSON\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'l', long: 'long' }, { short: 'v', long: 'verbose' }, { short: 'Z', long: 'context' },
      { short: 'c', long: 'cpupool' }, { short: 'n', long: 'numa' }, { short: 'J', long: 'json' }], listCmd, 0, env);
    const has = (c: string): boolean => p.opts.some(([o]) => o === c);
    let doms = await env.call('domain.list', {});
    if (p.args.length > 0) {
      const want = p.args[0]!;
      const id = /^[0-9]+$/.test(want) ? Number(want) : doms.find((d) => d.name === want)?.domid;
      doms = doms.filter((d) => d.domid === id);
      if (doms.length === 0) {
        env.err(`Error: Domain '${want}' does not exist.\n`);
        return 1;
      }
    }
    if (has('J')) env.out(JSON.stringify(doms.map(toListRow), null, 4) + '\n');
    else if (has('l')) env.out(JSON.stringify(doms.map(domainJson), null, 4) + '\n');
    else env.out(formatList(doms.map(toListRow), { verbose: has('v'), seclabel: has('Z'), cpupool: has('c') }));
    return 0;
  },
};

export const domidCmd: CmdSpec = {
  name: 'domid', help: 'Convert a domain name to domain id', usage: '<DomainName>',
  async run(argv, env) {
    const p = getopt(argv, [], domidCmd, 1, env);
    const r = await env.call('domain.lookup', { name: p.args[0]! }).catch(() => null);
    if (!r) {
      env.err(`Can't get domid of domain name '${p.args[0]}', maybe this domain does not exist.\n`);
      return 1;
    }
    env.out(`${r.domid}\n`);
    return 0;
  },
};

export const domnameCmd: CmdSpec = {
  name: 'domname', help: 'Convert a domain id to domain name', usage: '<DomainId>',
  async run(argv, env) {
    const p = getopt(argv, [], domnameCmd, 1, env);
    const s = p.args[0]!;
    if (!/^[0-9]+$/.test(s)) {
      env.err('Invalid domain id.\n\n');
      return 1;
    }
    const d = (await env.call('domain.list', {})).find((x) => x.domid === Number(s));
    if (!d) {
      env.err(`Can't get domain name of domain id '${Number(s)}', maybe this domain does not exist.\n`);
      return 1;
    }
    env.out(`${d.name}\n`);
    return 0;
  },
};

function simple(name: string, help: string, method: 'domain.pause' | 'domain.unpause' | 'domain.destroy'): CmdSpec {
  const c: CmdSpec = {
    name, help, usage: '<Domain>',
    async run(argv, env) {
      const p = getopt(argv, name === 'destroy' ? [{ short: 'f' }] : [], c, 1, env);
      const domid = await findDomain(env, p.args[0]!);
      if (name === 'destroy' && domid === 0 && !p.opts.some(([o]) => o === 'f') && !env.force) {
        env.err('Not destroying domain 0; use -f to force.\n' + 'This can only be done when using a disaggregated hardware domain and toolstack.\n\n');
        return 1;
      }
      if (env.dryRun) return 0;
      await env.call(method, { domid });
      return 0;
    },
  };
  return c;
}
export const pauseCmd = simple('pause', 'Pause execution of a domain', 'domain.pause');
export const unpauseCmd = simple('unpause', 'Unpause a paused domain', 'domain.unpause');
export const destroyCmd = simple('destroy', 'Terminate a domain immediately', 'domain.destroy');

/** wait_for_domain_deaths(): one line per domain as its shutdown or death event arrives. */
async function waitForDeaths(env: XlEnv, deaths: ReadonlyMap<number, Promise<DeathEvent>>): Promise<void> {
  env.err(`Waiting for ${deaths.size} domains\n`);
  await Promise.all([...deaths].map(async ([domid, p]) => {
    const e = await p;
    env.err(e.event === 'shutdown' ? `Domain ${domid} has been shut down, reason code ${e.reason}\n` : `Domain ${domid} has been destroyed\n`);
  }));
}

type DeathEvent = { event: 'shutdown'; reason: number } | { event: 'death' };
/**
 * libxl_evenable_domain_death: asked for before the shutdown request goes out (requests on one
 * connection are served in order), so the shutdown is seen even if the on_* action destroys the
 * domain at once.
 */
function deathWatch(env: XlEnv, domids: readonly number[]): Map<number, Promise<DeathEvent>> {
  return new Map(domids.map((domid) => [domid, env.call('domain.wait-death', { domid }).catch((): DeathEvent => ({ event: 'death' }))]));
}

/**
 * shutdown_domain() / reboot_domain(): the PV control request (~/control/shutdown); for a guest
 * without PV control (ERROR_NOPARAVIRT), -F falls back to the power (reset) trigger.
 */
async function shutdownOne(env: XlEnv, domid: number, reboot: boolean, fallback: boolean): Promise<void> {
  env.err(`${reboot ? 'Rebooting' : 'Shutting down'} domain ${domid}\n`);
  if (env.dryRun) return;
  let rc = 0;
  try {
    await env.call('domain.pvcontrol', { domid, command: reboot ? 'reboot' : 'poweroff' });
  } catch (e) {
    rc = -3;
    if (e instanceof Error && (e as Error & { code?: string }).code === 'EOPNOTSUPP') {
      rc = -10; // ERROR_NOPARAVIRT
      const ev = reboot ? 'reset' : 'power';
      if (fallback) {
        env.err(`PV control interface not available: sending ACPI ${ev} button event.\n`);
        rc = await env.call('domain.trigger', { domid, trigger: ev, vcpu: 0 }).then(() => 0, (t: unknown) => {
          env.err(`libxl: error: libxl_send_trigger: Send trigger '${ev}' failed: ${t instanceof Error ? t.message : String(t)}\n`);
          return -3;
        });
      } else {
        env.err(`PV control interface not available: external graceful ${reboot ? 'reboot' : 'shutdown'} not possible.\n`);
        env.err(`Use "-F" to fallback to ACPI ${ev} event.\n`);
      }
    } else env.err(`libxl: error: libxl__domain_pvcontrol: ${e instanceof Error ? e.message : String(e)}\n`);
  }
  if (rc !== 0) {
    env.err(`${reboot ? 'reboot' : 'shutdown'} failed (rc=${rc})\n`);
    throw new XlExit(1);
  }
}

function shutdownOrReboot(reboot: boolean): CmdSpec {
  const c: CmdSpec = {
    name: reboot ? 'reboot' : 'shutdown',
    help: reboot ? 'Issue a reboot signal to a domain' : 'Issue a shutdown signal to a domain',
    usage: '[options] <-a|Domain>',
    options: `-a, --all               ${reboot ? 'Reboot' : 'Shutdown'} all guest domains.\n-h                      Print this help.\n-F                      Fallback to ACPI ${reboot ? 'reset' : 'power'} event for HVM guests with\n                        no PV drivers.\n-w, --wait              Wait for guest(s) to ${reboot ? 'reboot' : 'shutdown'}.\n`,
    async run(argv, env) {
      const p = getopt(argv, [{ short: 'a', long: 'all' }, { short: 'w', long: 'wait' }, { short: 'F' }], c, 0, env);
      const has = (o: string): boolean => p.opts.some(([x]) => x === o);
      if (!has('a') && p.args.length === 0) {
        env.err('You must specify -a or a domain id.\n\n');
        return 1;
      }
      const targets = has('a') ? (await env.call('domain.list', {})).filter((d) => d.domid !== 0).map((d) => d.domid) : [await findDomain(env, p.args[0]!)];
      const deaths = has('w') && !env.dryRun ? deathWatch(env, targets) : null;
      for (const domid of targets) await shutdownOne(env, domid, reboot, has('F'));
      if (deaths !== null) await waitForDeaths(env, deaths);
      return 0;
    },
  };
  return c;
}
export const shutdownCmd = shutdownOrReboot(false);
export const rebootCmd = shutdownOrReboot(true);

/** The libxl part of create: the build description for the host from a parsed config. */
export function buildDescription(cfg: DomainConfig, env: Pick<XlEnv, 'resolvePath' | 'err'>, paused: boolean, monitor = true): BuildDescription {
  if (cfg.kernel === undefined) throw new XlCfgError(cfg.file, 1, 1, "no 'kernel' given (tsxen boots kernels directly)");
  const desc: BuildDescription = {
    name: cfg.name, type: cfg.type, memory: cfg.memoryMb, maxmem: cfg.maxmemMb, vcpus: cfg.vcpus, maxvcpus: cfg.maxvcpus,
    kernel: { path: env.resolvePath(cfg.kernel) },
    ...(cfg.ramdisk !== undefined ? { ramdisk: { path: env.resolvePath(cfg.ramdisk) } } : {}),
    cmdline: cfg.cmdline, ...(cfg.uuid !== undefined ? { uuid: cfg.uuid } : {}), paused,
  };
  if (cfg.type === 'hvm') {
    // The device model's virtio slots: disks in disk= order (vda, vdb ...), then the vifs.
    desc.disks = cfg.disks.map((d) => ({ target: env.resolvePath(d.target), format: d.format as 'raw', vdev: d.vdev, access: d.access }));
    desc.vifs = cfg.vifs.map((v) => (v.mac !== undefined ? { mac: v.mac, bridge: v.bridge } : { bridge: v.bridge }));
  }
  // A PV domain's disk= and vif= go to blkback/netback once it is built (below).
  // create -e: the actions are still the domain's configuration (list -l), but no monitor runs them.
  desc.actions = { onPoweroff: cfg.onPoweroff, onReboot: cfg.onReboot, onWatchdog: cfg.onWatchdog, onCrash: cfg.onCrash, onSoftReset: cfg.onSoftReset };
  if (!monitor) desc.monitor = false;
  return desc;
}

/**
 * libxl's vcpu affinity at build (b_info vcpu_hard/soft_affinity): cpus= / cpus_soft= as one
 * list for every vCPU or one per vCPU, against the host's pCPUs.
 */
export function vcpuAffinity(cfg: DomainConfig, nrCpus: number, topology?: ReadonlyArray<{ node: number }>): Array<{ hard: number[] | null; soft: number[] | null }> {
  if (cfg.cpus === undefined && cfg.cpusSoft === undefined) return [];
  const nodes = topology === undefined ? undefined : nodeCpuMap(topology);
  const pick = (a: DomainConfig['cpus'], i: number): number[] | null => {
    if (a === undefined) return null;
    const s = 'all' in a ? a.all : a.perVcpu[i];
    return s === undefined ? null : resolveCpuList(s, nrCpus, nodes);
  };
  return Array.from({ length: cfg.maxvcpus }, (_, i) => ({ hard: pick(cfg.cpus, i), soft: pick(cfg.cpusSoft, i) }));
}

export const createCmd: CmdSpec = {
  name: 'create', help: 'Create a domain from config file <filename>', usage: '<ConfigFile> [options] [vars]',
  options: '-h                      Print this help.\n-p                      Leave the domain paused after it is created.\n-c                      Connect to the console after the domain is created.\n-f FILE, --defconfig=FILE\n                        Use the given configuration file.\n-q, --quiet             Quiet.\n-n, --dryrun            Dry run - prints the resulting configuration\n                         (deprecated in favour of global -N option).\n-F                      Run in foreground until death of the domain.\n-e                      Do not wait in the background for the death of the domain.\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'p' }, { short: 'c' }, { short: 'f', long: 'defconfig', arg: true }, { short: 'q', long: 'quiet' },
      { short: 'n', long: 'dryrun' }, { short: 'F' }, { short: 'e' }, { short: 'd', long: 'debug' }, { short: 'V', long: 'vncviewer' },
      { short: 'A', long: 'vncviewer-autopass' }], createCmd, 0, env);
    const has = (o: string): boolean => p.opts.some(([x]) => x === o);
    let file = p.opts.filter(([o]) => o === 'f').at(-1)?.[1];
    const rest = [...p.args];
    if (file === undefined && rest.length > 0 && !rest[0]!.includes('=')) file = rest.shift();
    if (file === undefined) {
      env.err('Config file not specified\n');
      return 1;
    }
    const overrides = rest.flatMap((a) => a.split(';')).filter((a) => a.trim() !== '');
    if (!has('q')) env.err(`Parsing config from ${file}\n`);
    let text: string;
    try {
      text = env.readFile(file);
    } catch (e) {
      env.err(`Failed to read config file: ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
      return 1;
    }
    let cfg: DomainConfig;
    let desc: BuildDescription;
    try {
      cfg = parseDomainConfig(text, file, { overrides, warn: (m) => env.err(`${m}\n`) });
      desc = buildDescription(cfg, env, has('p') || has('c'), !has('e'));
    } catch (e) {
      if (e instanceof XlCfgError || (e instanceof Error && /^.+:\d+:\d+: /.test(e.message))) {
        env.err(`${e.message}\n`);
        return 1;
      }
      throw e;
    }
    if (has('n') || env.dryRun) {
      env.out(JSON.stringify({ domid: null, config: cfg }, null, 4) + '\n');
      return 0;
    }
    if (cfg.cpus !== undefined || cfg.cpusSoft !== undefined) {
      try {
        const phys = await env.call('host.physinfo', {});
        desc.vcpuAffinity = vcpuAffinity(cfg, phys.nrCpus, phys.cpuTopology);
      } catch (e) {
        env.err(`${file}: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
    }
    let r;
    // PV devices (disk=, vif=) are added while the domain is paused, as libxl does.
    const devices = cfg.type === 'pv' && (cfg.disks.length > 0 || cfg.vifs.length > 0);
    try {
      r = await env.call('domain.create', { ...desc, paused: desc.paused || devices });
      if (devices) {
        await attachConfigDevices(env, r.domid, cfg).catch(async (e: unknown) => {
          await env.call('domain.destroy', { domid: r!.domid }).catch(() => {});
          throw e;
        });
        if (!desc.paused) await env.call('domain.unpause', { domid: r.domid });
      }
    } catch (e) {
      env.err(`libxl: error: domain creation failed: ${e instanceof Error ? e.message : String(e)}\n`);
      return 3;
    }
    if (env.verbose > 0) env.err(`Started domain ${r.name} (id=${r.domid})\n`);
    if (has('c')) {
      if (!has('p')) await env.call('domain.unpause', { domid: r.domid });
      await env.console(r.domid);
    }
    if (has('F')) await waitForDeaths(env, deathWatch(env, [r.domid]));
    return 0;
  },
};

export const consoleCmd: CmdSpec = {
  name: 'console', help: 'Attach to domain\'s console', usage: '[options] <Domain>\n-t <type>       console type, pv or serial\n-n <number>     console number',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 't', arg: true }, { short: 'n', arg: true }], consoleCmd, 1, env);
    const t = p.opts.find(([o]) => o === 't')?.[1];
    if (t !== undefined && t !== 'pv' && t !== 'serial') {
      env.err(`console type supported are: pv, serial\n`);
      return 2;
    }
    const domid = await findDomain(env, p.args[0]!);
    const info = await env.call('console.info', { domid });
    if (t !== undefined && (t === 'pv') !== (info.type === 'xenconsole')) {
      env.err(`Unable to attach console: domain ${domid} has no ${t} console\n`);
      return 1;
    }
    await env.console(domid);
    return 0;
  },
};

export function ensureExit(e: unknown): number {
  if (e instanceof XlExit) return e.code;
  throw e;
}
