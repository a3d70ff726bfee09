// SPDX-License-Identifier: GPL-2.0-only
// xl's PV device commands: block-attach, block-detach, block-list, network-attach,
// network-detach, network-list (Xen 4.7 tools/libxl/xl_cmdimpl.c main_blockattach ...
// main_networklist): arguments, messages and exit codes as 4.7 has them; the work is the
// host's (device.* in src/host/host-devices.ts).
import { DiskSpecError, parseDiskSpec, vdevToDevid, type DiskSpec } from './disk-spec.ts';
import type { DomainConfig } from './domain-config.ts';
import { formatBlockList, formatNetworkList } from './format.ts';
import { VifSpecError, parseVifSpec, type VifSpec } from './vif-spec.ts';
import { XlExit, findDomain, getopt, type CmdSpec, type XlEnv } from './xl-env.ts';

/** libxl_domain_qualifier_to_domid: a domid or a name; -1 if neither names a domain. */
async function qualifierToDomid(env: XlEnv, q: string): Promise<number> {
  if (/^[0-9]+$/.test(q)) {
    const l = await env.call('domain.list', {}).catch(() => []);
    return l.some((d) => d.domid === Number(q)) ? Number(q) : -1;
  }
  const r = await env.call('domain.lookup', { name: q }).catch(() => null);
  return r ? r.domid : -1;
}

const msg = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * A parsed disk spec written back in the named form the host parses (target last, as the
 * grammar wants), with the image path resolved against xl's working directory: the host
 * daemon runs elsewhere (xl and the backend share a cwd on Xen).
 */
export function diskSpecString(d: DiskSpec, resolvePath: (p: string) => string): string {
  const items = [`format=${d.format}`, `vdev=${d.vdev}`, `access=${d.access}`, `devtype=${d.devtype}`, `backend=${d.backend}`];
  if (d.backendtype !== undefined) items.push(`backendtype=${d.backendtype}`);
  if (d.script !== undefined) items.push(`script=${d.script}`);
  if (d.directIoSafe) items.push('direct-io-safe');
  if (d.discard !== undefined) items.push(d.discard ? 'discard' : 'no-discard');
  return `${items.join(',')},target=${resolvePath(d.target)}`;
}

/** A parsed vif spec written back as key=value items (the host picks the devid). */
export function vifSpecString(v: VifSpec): string {
  const items = [`bridge=${v.bridge}`, `script=${v.script}`, `backend=${v.backend}`];
  for (const k of ['mac', 'type', 'model', 'vifname', 'ip', 'gatewaydev'] as const) if (v[k] !== undefined) items.push(`${k}=${v[k]}`);
  if (v.rate !== undefined) items.push(`rate=${Math.round((v.rate.bytesPerInterval * 1e6) / v.rate.intervalUs)}B/s@${v.rate.intervalUs}us`);
  return items.join(',');
}

/** libxl's device step of domain creation: a PV domain's disk= and vif= entries, in config order. */
export async function attachConfigDevices(env: XlEnv, domid: number, cfg: DomainConfig): Promise<void> {
  for (const d of cfg.disks) await env.call('device.block-attach', { domid, spec: diskSpecString(d, (p) => env.resolvePath(p)) });
  for (const v of cfg.vifs) await env.call('device.network-attach', { domid, spec: vifSpecString(v) });
}

export const blockAttachCmd: CmdSpec = {
  name: 'block-attach', help: 'Create a new virtual block device', usage: '<Domain> <disk-spec-component(s)>...',
  async run(argv, env) {
    const p = getopt(argv, [], blockAttachCmd, 2, env);
    const domid = await qualifierToDomid(env, p.args[0]!);
    if (domid < 0) {
      env.err(`${p.args[0]} is an invalid domain identifier\n`);
      return 1;
    }
    // parse_disk_config_multistring: the components form one spec, as in a disk= entry.
    const spec = p.args.slice(1).join(',');
    let disk;
    try {
      disk = parseDiskSpec(spec);
    } catch (e) {
      if (e instanceof DiskSpecError) { env.err(`${e.message}\n`); throw new XlExit(1); }
      throw e;
    }
    if (env.dryRun) {
      env.out(`disk: ${JSON.stringify({ pdev_path: disk.target, vdev: disk.vdev, format: disk.format, readwrite: disk.access === 'rw' ? 1 : 0, is_cdrom: disk.devtype === 'cdrom' ? 1 : 0 }, null, 4)}\n`);
      return 0;
    }
    try {
      await env.call('device.block-attach', { domid, spec: diskSpecString(disk, (p) => env.resolvePath(p)) });
    } catch (e) {
      env.err(`libxl: error: ${msg(e)}\nlibxl_device_disk_add failed.\n`);
      return 1;
    }
    return 0;
  },
};

export const blockDetachCmd: CmdSpec = {
  name: 'block-detach', help: 'Destroy a domain\'s virtual block device', usage: '<Domain> <DevId>',
  async run(argv, env) {
    const p = getopt(argv, [], blockDetachCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const dev = p.args[1]!;
    // libxl_vdev_to_device_disk: a vdev name (xvdb) or its number; it must be one of the domain's.
    const devid = vdevToDevid(dev);
    const rows = devid < 0 ? [] : await env.call('device.block-list', { domid }).catch(() => []);
    if (!rows.some((r) => r.devid === devid)) {
      env.err(`Error: Device ${dev} not connected.\n`);
      return 1;
    }
    try {
      await env.call('device.block-detach', { domid, devid, force: env.force });
    } catch (e) {
      env.err(`libxl: error: ${msg(e)}\nlibxl_device_disk_remove failed.\n`);
      return 1;
    }
    return 0;
  },
};

export const blockListCmd: CmdSpec = {
  name: 'block-list', help: 'List virtual block devices for a domain', usage: '<Domain(s)>',
  async run(argv, env) {
    const p = getopt(argv, [], blockListCmd, 1, env);
    env.out(formatBlockList([]));
    for (const q of p.args) {
      const domid = await qualifierToDomid(env, q);
      if (domid < 0) {
        env.err(`${q} is an invalid domain identifier\n`);
        continue;
      }
      const rows = await env.call('device.block-list', { domid }).catch(() => []);
      const table = formatBlockList(rows);
      env.out(table.slice(table.indexOf('\n') + 1));
    }
    return 0;
  },
};

export const networkAttachCmd: CmdSpec = {
  name: 'network-attach', help: 'Create a new virtual network device',
  usage: '<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>]',
  async run(argv, env) {
    const p = getopt(argv, [], networkAttachCmd, 1, env);
    const domid = await findDomain(env, p.args[0]!);
    // parse_nic_config, one key=value per argument.
    const spec = p.args.slice(1).join(',');
    let vif;
    try {
      vif = parseVifSpec(spec, -1);
    } catch (e) {
      if (e instanceof VifSpecError) { env.err(`${e.message}\n`); return 1; }
      throw e;
    }
    if (env.dryRun) {
      env.out(`vif: ${JSON.stringify({ mac: vif.mac, bridge: vif.bridge, script: vif.script, ...(vif.ip !== undefined ? { ip: vif.ip } : {}) }, null, 4)}\n`);
      return 0;
    }
    try {
      await env.call('device.network-attach', { domid, spec });
    } catch (e) {
      env.err(`libxl: error: ${msg(e)}\nlibxl_device_nic_add failed.\n`);
      return 1;
    }
    return 0;
  },
};

export const networkDetachCmd: CmdSpec = {
  name: 'network-detach', help: 'Destroy a domain\'s virtual network device', usage: '<Domain> <DevId|mac>',
  async run(argv, env) {
    const p = getopt(argv, [], networkDetachCmd, 2, env);
    const domid = await findDomain(env, p.args[0]!);
    const dev = p.args[1]!;
    const rows = await env.call('device.network-list', { domid }).catch(() => []);
    // libxl_mac_to_device_nic when the argument has a ':', else libxl_devid_to_device_nic(atoi()).
    const row = dev.includes(':') ? rows.find((r) => r.mac === dev.toLowerCase()) : rows.find((r) => r.devid === (parseInt(dev, 10) || 0));
    if (row === undefined) {
      env.err(`Unknown device ${dev}.\n`);
      return 1;
    }
    try {
      await env.call('device.network-detach', { domid, devid: row.devid, force: env.force });
    } catch (e) {
      env.err(`libxl: error: ${msg(e)}\nlibxl_device_nic_del failed.\n`);
      return 1;
    }
    return 0;
  },
};

export const networkListCmd: CmdSpec = {
  name: 'network-list', help: 'List virtual network interfaces for a domain', usage: '<Domain(s)>',
  async run(argv, env) {
    const p = getopt(argv, [], networkListCmd, 1, env);
    env.out(formatNetworkList([]));
    for (const q of p.args) {
      const domid = await findDomain(env, q);
      const table = formatNetworkList(await env.call('device.network-list', { domid }).catch(() => []));
      env.out(table.slice(table.indexOf('\n') + 1));
    }
    return 0;
  },
};
