// SPDX-License-Identifier: GPL-2.0-only
// From parsed xl.cfg settings to a validated domain configuration (xl.cfg(5) at Xen 4.7, the
// keys that apply to tsxen's RISC-V guests). Errors name the file, line and column of the
// offending setting; keys xl knows but tsxen cannot honour, and unknown keys, give warnings.
import { parseXlCfg, lastSettings, type CfgSetting, type CfgValue } from './cfg-parser.ts';
import { parseCpuList } from './cpulist.ts';
import { parseDiskSpec, type DiskSpec } from './disk-spec.ts';
import { parseVifSpec, type VifSpec } from './vif-spec.ts';

export type DomainType = 'pv' | 'hvm';
export type Action = 'destroy' | 'restart' | 'rename-restart' | 'preserve' | 'coredump-destroy' | 'coredump-restart' | 'soft-reset';
const ACTIONS = new Set<string>(['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart', 'soft-reset']);

/** Hard or soft affinity: one CPU list for every vCPU, or one list per vCPU. */
export type Affinity = { all: string } | { perVcpu: string[] };

export interface DomainConfig {
  file: string;
  name: string;
  type: DomainType;
  uuid?: string;
  memoryMb: number;
  maxmemMb: number;
  vcpus: number;
  maxvcpus: number;
  cpus?: Affinity;
  cpusSoft?: Affinity;
  pool?: string;
  cpuWeight: number;
  cap: number;
  kernel?: string;
  ramdisk?: string;
  cmdline: string;
  disks: DiskSpec[];
  vifs: VifSpec[];
  onPoweroff: Action;
  onReboot: Action;
  onWatchdog: Action;
  onCrash: Action;
  onSoftReset: Action;
}

export class XlCfgError extends Error {
  constructor(readonly file: string, readonly line: number, readonly col: number, detail: string) {
    super(`${file}:${line}:${col}: ${detail}`);
    this.name = 'XlCfgError';
  }
}

/** Keys xl accepts that tsxen does not implement (x86, PCI passthrough, graphics...): warned and ignored. */
export const IGNORED_KEYS: ReadonlySet<string> = new Set([
  'seclabel', 'init_seclabel', 'builder', 'pvh', 'bootloader', 'bootloader_args', 'vfb', 'vtpm', 'pci', 'channel',
  'boot', 'bios', 'hap', 'acpi', 'apic', 'nx', 'hpet', 'viridian', 'nestedhvm', 'altp2mhvm', 'altp2m', 'serial', 'usb',
  'usbdevice', 'vga', 'vnc', 'vnclisten', 'vncdisplay', 'vncunused', 'sdl', 'spice', 'stdvga', 'videoram',
  'xen_platform_pci', 'timer_mode', 'mmio_hole', 'ms_vm_genid', 'cpuid', 'tsc_mode', 'localtime', 'rtc_timeoffset',
  'vpt_align', 'gic_version', 'device_model_version', 'device_model_override', 'device_model_stubdomain_override',
  'e820_host', 'iomem', 'irqs', 'ioports', 'dtdev', 'device_tree', 'rdm', 'vnuma', 'nomigrate', 'driver_domain',
  'max_event_channels', 'max_grant_frames', 'max_maptrack_frames', 'claim_mode', 'usbctrl', 'usbdev', 'vif2',
  'shadow_memory', 'keymap', 'soundhw', 'description', 'vcpu_hard_affinity', 'vcpu_soft_affinity',
]);
export const KNOWN_KEYS: ReadonlySet<string> = new Set([
  'name', 'type', 'uuid', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'cpus', 'cpus_soft', 'pool', 'cpu_weight', 'cap',
  'kernel', 'ramdisk', 'cmdline', 'extra', 'root', 'disk', 'vif', 'on_poweroff', 'on_reboot', 'on_watchdog', 'on_crash',
  'on_soft_reset',
]);

export interface ParseOptions {
  /** `key=value` overrides from the command line, parsed with the same grammar and applied last. */
  overrides?: readonly string[];
  warn?: (msg: string) => void;
}

/** Parse and validate an xl.cfg file's text. */
export function parseDomainConfig(text: string, file: string, opts: ParseOptions = {}): DomainConfig {
  const settings = parseXlCfg(text, file);
  for (const [i, o] of (opts.overrides ?? []).entries()) settings.push(...parseXlCfg(o, `<command line #${i + 1}>`));
  return toDomainConfig(settings, file, opts.warn ?? (() => {}));
}

function toDomainConfig(all: CfgSetting[], file: string, warn: (msg: string) => void): DomainConfig {
  const s = lastSettings(all);
  const where = (st: CfgSetting | CfgValue) => `${file}:${st.line}:${st.col}`;
  const fail = (st: CfgSetting | CfgValue, d: string): never => { throw new XlCfgError(file, st.line, st.col, d); };
  for (const st of s.values()) {
    if (IGNORED_KEYS.has(st.name)) warn(`${where(st)}: warning: '${st.name}' is not supported by tsxen and is ignored`);
    else if (!KNOWN_KEYS.has(st.name)) warn(`${where(st)}: warning: unknown key '${st.name}' ignored`);
  }
  const str = (k: string): string | undefined => {
    const st = s.get(k);
    if (!st) return undefined;
    if (st.value.kind !== 'string') fail(st, `'${k}' must be a string`);
    return (st.value as { value: string }).value;
  };
  const num = (k: string, min: number, max: number): number | undefined => {
    const st = s.get(k);
    if (!st) return undefined;
    // xl reads numbers with strtol(…, 0): a decimal, 0-octal or 0x-hex NUMBER token, or a string holding one.
    const text = st.value.kind === 'number' ? st.value.text : st.value.kind === 'string' ? st.value.value : fail(st, `'${k}' must be a number`);
    const n = parseCNumber(text as string);
    if (n === undefined) fail(st, `'${k}' is not a valid number: '${text}'`);
    if (n! < min || n! > max) fail(st, `'${k}' = ${n} is out of range (${min}..${max})`);
    return n;
  };
  const strList = (k: string): { items: string[]; st?: CfgSetting } => {
    const st = s.get(k);
    if (!st) return { items: [] };
    if (st.value.kind === 'string') return { items: [st.value.value], st };
    if (st.value.kind !== 'list') fail(st, `'${k}' must be a list of strings`);
    const items = (st.value as { items: CfgValue[] }).items.map((v) => v.kind === 'string' ? v.value : fail(v, `'${k}' entries must be strings`));
    return { items, st };
  };
  const action = (k: string, def: Action): Action => {
    const v = str(k);
    if (v === undefined) return def;
    if (!ACTIONS.has(v)) fail(s.get(k)!, `'${k}' has unknown action '${v}' (one of ${[...ACTIONS].join(', ')})`);
    return v as Action;
  };
  const affinity = (k: string): Affinity | undefined => {
    const st = s.get(k);
    if (!st) return undefined;
    const check = (list: string, at: CfgSetting | CfgValue) => {
      try { parseCpuList(list); } catch (e) { fail(at, (e as Error).message); }
    };
    if (st.value.kind === 'string') { check(st.value.value, st); return { all: st.value.value }; }
    if (st.value.kind !== 'list') return fail(st, `'${k}' must be a CPU list string or a list of them`);
    const per = (st.value as { items: CfgValue[] }).items.map((v) => {
      if (v.kind !== 'string') return fail(v, `'${k}' entries must be strings`);
      check(v.value, v);
      return v.value;
    });
    return { perVcpu: per };
  };

  const nameSt = s.get('name');
  const name = str('name');
  if (name === undefined) throw new XlCfgError(file, 1, 1, "the domain needs a name (name=\"...\")");
  if (!/^[A-Za-z0-9_.:+-][A-Za-z0-9_.:+ -]{0,63}$/.test(name) || /^[0-9]+$/.test(name))
    fail(nameSt!, `invalid domain name '${name}'`);

  // type= (Xen 4.10+) or the 4.7 spelling builder="generic"|"hvm"; default pv, as x86 xl's.
  let type: DomainType = str('builder') === 'hvm' ? 'hvm' : 'pv';
  const typeStr = str('type');
  if (typeStr === 'pvh') fail(s.get('type')!, "type 'pvh' is not available on tsxen's RISC-V guests (use pv or hvm)");
  if (typeStr !== undefined) {
    if (typeStr !== 'pv' && typeStr !== 'hvm') fail(s.get('type')!, `unknown type '${typeStr}' (pv or hvm)`);
    type = typeStr as DomainType;
  }

  const memoryMb = num('memory', 1, 2 ** 31) ?? 128;
  const maxmemMb = num('maxmem', 1, 2 ** 31) ?? memoryMb;
  if (maxmemMb < memoryMb) fail(s.get('maxmem')!, `maxmem (${maxmemMb}) is below memory (${memoryMb})`);
  const vcpus = num('vcpus', 1, 4096) ?? 1;
  const maxvcpus = num('maxvcpus', 1, 4096) ?? vcpus;
  if (maxvcpus < vcpus) fail(s.get('maxvcpus')!, `maxvcpus (${maxvcpus}) is below vcpus (${vcpus})`);

  const kernel = str('kernel');
  const ramdisk = str('ramdisk');
  if (type !== 'hvm' && kernel === undefined) throw new XlCfgError(file, 1, 1, `a ${type} domain needs kernel="..."`);
  let cmdline = str('cmdline');
  if (cmdline === undefined) {
    const root = str('root');
    const extra = str('extra');
    cmdline = [root !== undefined ? `root=${root}` : undefined, extra].filter((x) => x !== undefined).join(' ');
  } else {
    for (const k of ['root', 'extra']) if (s.has(k)) warn(`${where(s.get(k)!)}: warning: '${k}' is ignored because cmdline is set`);
  }

  const diskList = strList('disk');
  const disks = diskList.items.map((d) => {
    try { return parseDiskSpec(d); } catch (e) { return fail(diskList.st!, (e as Error).message); }
  });
  const seen = new Map<number, string>();
  for (const d of disks) {
    if (seen.has(d.devid)) fail(diskList.st!, `disks '${seen.get(d.devid)}' and '${d.vdev}' use the same virtual device`);
    seen.set(d.devid, d.vdev);
  }
  const vifList = strList('vif');
  const vifs = vifList.items.map((v, i) => {
    try { return parseVifSpec(v, i); } catch (e) { return fail(vifList.st!, (e as Error).message); }
  });

  const cpus = affinity('cpus');
  const cpusSoft = affinity('cpus_soft');
  return {
    file, name, type, uuid: str('uuid'), memoryMb, maxmemMb, vcpus, maxvcpus, cpus, cpusSoft, pool: str('pool'),
    cpuWeight: num('cpu_weight', 1, 65535) ?? 256, cap: num('cap', 0, 100 * 4096) ?? 0,
    kernel, ramdisk, cmdline, disks, vifs,
    onPoweroff: action('on_poweroff', 'destroy'), onReboot: action('on_reboot', 'restart'),
    onWatchdog: action('on_watchdog', 'destroy'), onCrash: action('on_crash', 'destroy'),
    onSoftReset: action('on_soft_reset', 'soft-reset'),
  };
}

/** strtol(s, &end, 0) that must consume the whole string: decimal, 0-octal, 0x-hex. */
export function parseCNumber(text: string): number | undefined {
  const t = text.trim();
  let n: number;
  if (/^0[xX][0-9a-fA-F]+$/.test(t)) n = parseInt(t.slice(2), 16);
  else if (/^0[0-7]*$/.test(t)) n = t.length > 1 ? parseInt(t.slice(1), 8) : 0;
  else if (/^[1-9][0-9]*$/.test(t)) n = parseInt(t, 10);
  else return undefined;
  return Number.isSafeInteger(n) ? n : undefined;
}
