// SPDX-License-Identifier: GPL-2.0-only
// xl's PV device commands: block-attach, block-detach, block-list (Xen 4.7 tools/libxl/
// xl_cmdimpl.c main_blockattach / main_blockdetach / main_blocklist): arguments, messages and
// exit codes as 4.7 has them; the work is the host's (device.block-* in src/host/host-devices.ts).
import { DiskSpecError, parseDiskSpec, vdevToDevid } from './disk-spec.ts';
import { formatBlockList } from './format.ts';
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
      await env.call('device.block-attach', { domid, spec });
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
