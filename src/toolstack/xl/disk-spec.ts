// SPDX-License-Identifier: GPL-2.0-only
// The xl disk specification (Xen docs/misc/xl-disk-configuration.txt) and the virtual device
// numbering it maps to (docs/misc/vbd-interface.txt). Positional items are target, format,
// vdev, access in that order; `target=` must come last and takes the rest of the string,
// commas included. The deprecated `[fmt:]target,vdev[:cdrom],access` form is accepted too.

export type DiskFormat = 'raw' | 'qcow' | 'qcow2' | 'vhd';
export type DiskAccess = 'ro' | 'rw';

export interface DiskSpec {
  target: string;
  format: DiskFormat;
  vdev: string;
  /** The xenstore virtual-device number of vdev. */
  devid: number;
  access: DiskAccess;
  devtype: 'disk' | 'cdrom';
  backend: string;
  backendtype?: 'phy' | 'tap' | 'qdisk';
  script?: string;
  directIoSafe: boolean;
  discard?: boolean;
}

export class DiskSpecError extends Error {
  constructor(readonly spec: string, detail: string) {
    super(`invalid disk specification '${spec}': ${detail}`);
    this.name = 'DiskSpecError';
  }
}

const FORMATS = new Set(['raw', 'qcow', 'qcow2', 'vhd']);
const IGNORED_PREFIXES = new Set(['tap', 'tap2', 'aio', 'ioemu', 'file', 'phy', 'tapdisk']);
const SCRIPT_PREFIXES = new Set(['iscsi', 'nbd', 'enbd', 'drbd']);

/** Bijective base-26 disk index of a letter suffix: a=0 … z=25, aa=26 … */
function letters(s: string): number {
  let n = 0;
  for (const ch of s) n = n * 26 + (ch.charCodeAt(0) - 96);
  return n - 1;
}

/**
 * Virtual device name → xenstore device number (vbd-interface.txt). Returns -1 if invalid.
 *   xvd, disk < 16, part < 16: 202<<8 | disk<<4 | part; larger: 1<<28 | disk<<8 | part
 *   sd: 8<<8 | disk<<4 | part (disk < 16, part < 16)
 *   hd: disks 0-1: 3<<8 | disk<<6 | part; disks 2-3: 22<<8 | (disk-2)<<6 | part (part < 64)
 *   dNpM: the xvd numbering of disk N, partition M; a bare number is taken as is.
 */
export function vdevToDevid(vdev: string): number {
  if (/^[0-9]+$/.test(vdev)) { const n = Number(vdev); return n < 2 ** 31 ? n : -1; }
  let m = /^d([0-9]+)(?:p([0-9]+))?$/.exec(vdev);
  if (m) return xvd(Number(m[1]), m[2] === undefined ? 0 : Number(m[2]));
  m = /^(xvd|sd|hd)([a-z]+)([0-9]*)$/.exec(vdev);
  if (!m || m[2].length > 3) return -1;
  const disk = letters(m[2]);
  const part = m[3] === '' ? 0 : Number(m[3]);
  if (m[3].length > 1 && m[3][0] === '0') return -1;
  switch (m[1]) {
    case 'xvd': return xvd(disk, part);
    case 'sd': return disk < 16 && part < 16 ? (8 << 8) | (disk << 4) | part : -1;
    default:
      if (part >= 64 || disk > 3) return -1;
      return disk < 2 ? (3 << 8) | (disk << 6) | part : (22 << 8) | ((disk - 2) << 6) | part;
  }
}

function xvd(disk: number, part: number): number {
  if (disk < 16 && part < 16) return (202 << 8) | (disk << 4) | part;
  if (disk < (1 << 20) && part < 256) return (1 << 28) | (disk << 8) | part;
  return -1;
}

export function parseDiskSpec(spec: string): DiskSpec {
  const err = (d: string): never => { throw new DiskSpecError(spec, d); };
  const out: Partial<DiskSpec> & { directIoSafe: boolean; devtype: 'disk' | 'cdrom'; backend: string } = {
    directIoSafe: false, devtype: 'disk', backend: '0',
  };
  let accessGiven = false;
  let positional = 0;
  let rest = spec;
  while (rest.length > 0 || positional === 0) {
    // libxlu's disk lexer skips whitespace before each parameter ("format=raw, vdev=xvda").
    rest = rest.replace(/^[ \t\n]+/, '');
    if (rest.startsWith('target=')) { out.target = rest.slice(7); rest = ''; break; }
    const comma = rest.indexOf(',');
    const item = comma < 0 ? rest : rest.slice(0, comma);
    rest = comma < 0 ? '' : rest.slice(comma + 1);
    const eq = item.indexOf('=');
    if (eq < 0) {
      if (item === 'cdrom' || item === 'devtype=cdrom') { out.devtype = 'cdrom'; }
      else if (item === 'direct-io-safe') out.directIoSafe = true;
      else if (item === 'discard') out.discard = true;
      else if (item === 'no-discard') out.discard = false;
      else {
        // Positional: target, format, vdev, access. Empty items take the default.
        switch (positional++) {
          case 0: if (item) out.target = item; break;
          case 1: if (item) setFormat(item); break;
          case 2: if (item) out.vdev = item; break;
          case 3: if (item) { setAccess(item); accessGiven = true; } break;
          default: err(`too many positional items ('${item}')`);
        }
      }
    } else {
      const k = item.slice(0, eq);
      const v = item.slice(eq + 1);
      switch (k) {
        case 'format': setFormat(v); break;
        case 'vdev': out.vdev = v; break;
        case 'access': setAccess(v); accessGiven = true; break;
        case 'devtype': if (v !== 'cdrom' && v !== 'disk') err(`unknown devtype '${v}'`); out.devtype = v as 'disk' | 'cdrom'; break;
        case 'backend': out.backend = v; break;
        case 'backendtype': if (v !== 'phy' && v !== 'tap' && v !== 'qdisk') err(`unknown backendtype '${v}'`); out.backendtype = v as 'phy' | 'tap' | 'qdisk'; break;
        case 'script': out.script = v; break;
        default: err(`unknown key '${k}'`);
      }
    }
    if (comma < 0) break;
  }
  // Deprecated form "[fmt:]target,vdev[:cdrom],access": setFormat() takes a vdev in the format
  // position; here the "fmt:" / script prefixes of the target are resolved.
  if (out.target !== undefined) {
    const m = /^([a-z0-9]+):(.*)$/.exec(out.target);
    if (m && !m[2].startsWith('//')) {
      if (FORMATS.has(m[1])) { out.format ??= m[1] as DiskFormat; out.target = m[2]; }
      else if (IGNORED_PREFIXES.has(m[1])) {
        // xend's "phy:sda1" named a device without /dev; a file path given plainly stays as is.
        out.target = m[1] === 'phy' && !m[2].startsWith('/') ? `/dev/${m[2]}` : m[2];
      }
      else if (SCRIPT_PREFIXES.has(m[1])) { out.script ??= `block-${m[1]}`; out.target = m[2]; }
    }
  }
  if (out.vdev === undefined) err('no vdev given (e.g. xvda)');
  const cd = /^(.*):cdrom$/.exec(out.vdev!);
  if (cd) { out.vdev = cd[1]; out.devtype = 'cdrom'; }
  const devid = vdevToDevid(out.vdev!);
  if (devid < 0) err(`invalid virtual device '${out.vdev}'`);
  if (out.target === undefined || out.target === '') {
    if (out.devtype !== 'cdrom') err('no target given');
    out.target = '';
  }
  // A relative target stays relative: libxl stat()s pdev_path in xl's own process
  // (libxl_device.c, libxl__device_disk_set_backend, R47), so it names a file relative to
  // xl's working directory. (docs/misc/xl-disk-configuration.txt says "/dev will be
  // prepended", but 4.7's parser and libxl do not do that.)
  if (!accessGiven) out.access = out.devtype === 'cdrom' ? 'ro' : 'rw';
  return {
    target: out.target!, format: out.format ?? 'raw', vdev: out.vdev!, devid, access: out.access!,
    devtype: out.devtype, backend: out.backend, backendtype: out.backendtype, script: out.script,
    directIoSafe: out.directIoSafe, discard: out.discard,
  };

  function setFormat(v: string) {
    if (!FORMATS.has(v)) {
      // A positional second item that is a vdev means the deprecated form target,vdev,access.
      if (vdevToDevid(v.replace(/:cdrom$/, '')) >= 0 && out.vdev === undefined) { out.vdev = v; positional = 3; return; }
      err(`unknown format '${v}' (raw, qcow, qcow2 or vhd)`);
    }
    out.format = v as DiskFormat;
  }
  function setAccess(v: string) {
    if (v === 'r' || v === 'ro') out.access = 'ro';
    else if (v === 'w' || v === 'rw') out.access = 'rw';
    else err(`unknown access '${v}' (ro or rw)`);
  }
}
