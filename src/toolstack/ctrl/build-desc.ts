// SPDX-License-Identifier: GPL-2.0-only
// Validation of a build description received over the control socket (untrusted JSON): every
// field checked, the first bad one named in a CtrlError('EINVAL', ..., field). Files are read by
// a loader the host supplies (paths are the host's), so this stays free of I/O.
// Xen: tools/libxl/libxl_create.c (libxl__domain_config_setdefault), docs/man/xl.cfg.pod.5
import { ACTIONS, CtrlError, type BuildDescription, type DiskDesc, type FileRef, type ShutdownActions, type VifDesc } from './protocol.ts';

export interface ResolvedBuild {
  name: string;
  type: 'pv' | 'hvm';
  memory: number;
  maxmem: number;
  vcpus: number;
  maxvcpus: number;
  kernel: Uint8Array;
  ramdisk: Uint8Array | undefined;
  cmdline: string;
  uuid: Uint8Array;
  paused: boolean;
  disks: DiskDesc[];
  vifs: VifDesc[];
  actions: ShutdownActions | null;
  vcpuAffinity: Array<{ hard: number[] | null; soft: number[] | null }>;
}

function vcpuAffinity(v: unknown, maxvcpus: number): Array<{ hard: number[] | null; soft: number[] | null }> {
  if (v === undefined) return [];
  if (!Array.isArray(v) || v.length > maxvcpus) throw bad('vcpuAffinity', `need a list of at most maxvcpus=${maxvcpus} entries`);
  const mask = (m: unknown, f: string): number[] | null => {
    if (m === null || m === undefined) return null;
    if (!Array.isArray(m) || m.length > 4096 || !m.every((c) => Number.isInteger(c) && c >= 0 && c < 4096)) throw bad(f, 'need a list of pCPU numbers or null');
    return m as number[];
  };
  return v.map((x: unknown, i) => {
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw bad(`vcpuAffinity[${i}]`, 'need {hard, soft}');
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) if (k !== 'hard' && k !== 'soft') throw bad(`vcpuAffinity[${i}].${k}`, 'unknown field');
    return { hard: mask(o.hard, `vcpuAffinity[${i}].hard`), soft: mask(o.soft, `vcpuAffinity[${i}].soft`) };
  });
}

/** HVM virtio-mmio slots left for disks and NICs (the virt board has 8). */
export const MAX_HVM_DEVICES = 8;
const MAC_RE = /^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/;

function disks(v: unknown): DiskDesc[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad('disks', 'need a list');
  const seen = new Set<string>();
  return v.map((x: unknown, i) => {
    const f = `disks[${i}]`;
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw bad(f, 'need an object');
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['target', 'format', 'vdev', 'access'].includes(k)) throw bad(`${f}.${k}`, 'unknown field');
    if (typeof o.target !== 'string' || o.target === '') throw bad(`${f}.target`, 'need a path');
    if (o.format !== 'raw') throw bad(`${f}.format`, `${JSON.stringify(o.format)}: only raw images are supported`);
    if (typeof o.vdev !== 'string' || !/^[a-z0-9]{1,16}$/.test(o.vdev)) throw bad(`${f}.vdev`, `${JSON.stringify(o.vdev)}: need a virtual device name`);
    if (seen.has(o.vdev)) throw bad(`${f}.vdev`, `${o.vdev} given twice`);
    seen.add(o.vdev);
    if (o.access !== 'ro' && o.access !== 'rw') throw bad(`${f}.access`, 'need "ro" or "rw"');
    return { target: o.target, format: 'raw', vdev: o.vdev, access: o.access };
  });
}

function vifs(v: unknown): VifDesc[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw bad('vifs', 'need a list');
  return v.map((x: unknown, i) => {
    const f = `vifs[${i}]`;
    if (x === null || typeof x !== 'object' || Array.isArray(x)) throw bad(f, 'need an object');
    const o = x as Record<string, unknown>;
    for (const k of Object.keys(o)) if (!['mac', 'bridge'].includes(k)) throw bad(`${f}.${k}`, 'unknown field');
    if (o.mac !== undefined && (typeof o.mac !== 'string' || !MAC_RE.test(o.mac) || (parseInt(o.mac.slice(0, 2), 16) & 1) !== 0))
      throw bad(`${f}.mac`, `${JSON.stringify(o.mac)}: need a unicast xx:xx:xx:xx:xx:xx`);
    if (typeof o.bridge !== 'string' || !/^[A-Za-z0-9_.-]{1,15}$/.test(o.bridge)) throw bad(`${f}.bridge`, `${JSON.stringify(o.bridge)}: need a bridge name`);
    return o.mac === undefined ? { bridge: o.bridge } : { mac: o.mac.toLowerCase(), bridge: o.bridge };
  });
}

function actions(v: unknown): ShutdownActions | null {
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) throw bad('actions', 'need an object');
  const o = v as Record<string, unknown>;
  const keys = ['onPoweroff', 'onReboot', 'onWatchdog', 'onCrash', 'onSoftReset'] as const;
  for (const k of Object.keys(o)) if (!(keys as readonly string[]).includes(k)) throw bad(`actions.${k}`, 'unknown field');
  const defaults: ShutdownActions = { onPoweroff: 'destroy', onReboot: 'restart', onWatchdog: 'destroy', onCrash: 'destroy', onSoftReset: 'soft-reset' };
  for (const k of keys) {
    const a = o[k];
    if (a === undefined) continue;
    if (typeof a !== 'string' || !(ACTIONS as readonly string[]).includes(a)) throw bad(`actions.${k}`, `${JSON.stringify(a)}: one of ${ACTIONS.join(', ')}`);
    defaults[k] = a as ShutdownActions[typeof k];
  }
  return defaults;
}

/** Reads a host file; throws with a one-line reason (ENOENT...). */
export type FileLoader = (path: string) => Uint8Array;

export const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.:+-]{0,63}$/;
const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const bad = (field: string, msg: string): CtrlError => new CtrlError('EINVAL', `invalid build description: ${field}: ${msg}`, field);

function count(o: Record<string, unknown>, field: string, dflt: number | undefined, max: number): number {
  const v = o[field] ?? dflt;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1 || v > max) throw bad(field, `${JSON.stringify(v)}: need a whole number from 1 to ${max}`);
  return v;
}

function file(o: Record<string, unknown>, field: string, load: FileLoader): Uint8Array | undefined {
  const v = o[field] as FileRef | undefined | null;
  if (v === undefined || v === null) return undefined;
  let path: string | undefined;
  if (typeof v === 'string') path = v;
  else if (typeof v === 'object' && typeof (v as { path?: unknown }).path === 'string') path = (v as { path: string }).path;
  else if (typeof v === 'object' && typeof (v as { base64?: unknown }).base64 === 'string') {
    const s = (v as { base64: string }).base64;
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(s) || s.length % 4 !== 0) throw bad(field, 'base64: not valid base64');
    return base64Decode(s);
  } else throw bad(field, 'need a path string, {"path": ...} or {"base64": ...}');
  if (path === '') throw bad(field, 'empty path');
  try {
    return load(path);
  } catch (e) {
    throw bad(field, `cannot read ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
export function base64Decode(s: string): Uint8Array {
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const n = (B64.indexOf(s[i]!) << 18) | (B64.indexOf(s[i + 1]!) << 12) | ((B64.indexOf(s[i + 2]!) & 63) << 6) | (B64.indexOf(s[i + 3]!) & 63);
    if (o < out.length) out[o++] = (n >> 16) & 255;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

export function parseUuid(s: string): Uint8Array {
  const hex = s.replace(/-/g, '');
  const b = new Uint8Array(16);
  for (let i = 0; i < 16; i++) b[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return b;
}
export function formatUuid(b: Uint8Array): string {
  const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** Check every field of an untrusted description; `random(16)` supplies a fresh UUID. */
export function resolveBuild(d: unknown, load: FileLoader, random: (n: number) => Uint8Array): ResolvedBuild {
  if (d === null || typeof d !== 'object' || Array.isArray(d)) throw bad('description', 'need a JSON object');
  const o = d as Record<string, unknown> & Partial<BuildDescription>;
  const known = new Set(['name', 'type', 'memory', 'maxmem', 'vcpus', 'maxvcpus', 'kernel', 'ramdisk', 'cmdline', 'uuid', 'paused', 'disks', 'vifs', 'actions', 'monitor', 'vcpuAffinity']);
  for (const k of Object.keys(o)) if (!known.has(k)) throw bad(k, 'unknown field');
  if (typeof o.name !== 'string' || !NAME_RE.test(o.name) || /^\d+$/.test(o.name))
    throw bad('name', `${JSON.stringify(o.name)}: need 1-64 characters [A-Za-z0-9_.:+-], not all digits`);
  if (o.type !== 'pv' && o.type !== 'hvm') throw bad('type', `${JSON.stringify(o.type)}: need "pv" or "hvm"`);
  const memory = count(o, 'memory', undefined, 65536);
  const maxmem = count(o, 'maxmem', memory, 65536);
  if (maxmem < memory) throw bad('maxmem', `${maxmem} is below memory=${memory}`);
  const vcpus = count(o, 'vcpus', 1, 128);
  const maxvcpus = count(o, 'maxvcpus', vcpus, 128);
  if (maxvcpus < vcpus) throw bad('maxvcpus', `${maxvcpus} is below vcpus=${vcpus}`);
  if (o.cmdline !== undefined && typeof o.cmdline !== 'string') throw bad('cmdline', 'need a string');
  if (typeof o.cmdline === 'string' && o.cmdline.length > 1023) throw bad('cmdline', `${o.cmdline.length} characters: at most 1023`);
  if (o.uuid !== undefined && (typeof o.uuid !== 'string' || !UUID_RE.test(o.uuid))) throw bad('uuid', `${JSON.stringify(o.uuid)}: need xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`);
  if (o.paused !== undefined && typeof o.paused !== 'boolean') throw bad('paused', 'need true or false');
  if (o.monitor !== undefined && typeof o.monitor !== 'boolean') throw bad('monitor', 'need true or false');
  if (o.kernel === undefined || o.kernel === null) throw bad('kernel', 'missing');
  const kernel = file(o, 'kernel', load)!;
  if (kernel.length === 0) throw bad('kernel', 'empty file');
  const dl = disks(o.disks);
  const vl = vifs(o.vifs);
  if ((dl.length > 0 || vl.length > 0) && o.type !== 'hvm') throw bad(dl.length > 0 ? 'disks' : 'vifs', 'PV domains need blkback/netback, which this host has not');
  if (dl.length + vl.length > MAX_HVM_DEVICES) throw bad('disks', `${dl.length} disks and ${vl.length} vifs: an HVM domain has ${MAX_HVM_DEVICES} virtio slots`);
  const act = actions(o.actions);
  const aff = vcpuAffinity(o.vcpuAffinity, maxvcpus);
  const ramdisk = file(o, 'ramdisk', load);
  let uuid: Uint8Array;
  if (typeof o.uuid === 'string') uuid = parseUuid(o.uuid);
  else {
    uuid = random(16);
    uuid[6] = (uuid[6]! & 0x0f) | 0x40; // version 4
    uuid[8] = (uuid[8]! & 0x3f) | 0x80;
  }
  return { name: o.name, type: o.type, memory, maxmem, vcpus, maxvcpus, kernel, ramdisk, cmdline: o.cmdline ?? '', uuid, paused: o.paused ?? false, disks: dl, vifs: vl, actions: act, vcpuAffinity: aff };
}
