// SPDX-License-Identifier: GPL-2.0-only
// The build description of a domain (the part of xl.cfg the hypervisor needs: type, memory,
// maxmem, vcpus, maxvcpus, kernel, ramdisk, cmdline) and its validation. A bad description is
// the toolstack user's mistake: a DomainConfigError whose one-line message names the field
// (docs/error-handling.md §3). Xen: docs/man/xl.cfg.pod.5 (memory, maxmem, vcpus, maxvcpus)

export class DomainConfigError extends Error {
  constructor(readonly field: string, message: string) {
    super(`domain config: ${field}: ${message}`);
    this.name = 'DomainConfigError';
  }
}

export interface DomainConfig {
  type: 'hvm' | 'pv';
  /** RAM in MiB (xl.cfg memory=). */
  memoryMiB: number;
  /** max_pages in MiB (xl.cfg maxmem=), >= memoryMiB; default memoryMiB. */
  maxMemoryMiB?: number;
  /** vCPUs online at boot (xl.cfg vcpus=); default 1. */
  vcpus?: number;
  /** vCPUs the domain may ever have (xl.cfg maxvcpus=); default vcpus. */
  maxVcpus?: number;
  kernel: Uint8Array;
  ramdisk?: Uint8Array;
  cmdline?: string;
  /** Human-readable name (xl.cfg name=), for logs. */
  name?: string;
}

export interface ValidConfig {
  type: 'hvm' | 'pv';
  memoryPages: number;
  maxPages: number;
  vcpus: number;
  maxVcpus: number;
  kernel: Uint8Array;
  ramdisk: Uint8Array | undefined;
  cmdline: string;
  name: string;
}

/**
 * Pages max_pages allows beyond maxmem, for the special pages and grant frames: libxl adds
 * LIBXL_MAXMEM_CONSTANT (1 MiB) the same way (tools/libxl/libxl_internal.h).
 */
export const MAXMEM_SLACK_PAGES = 256;

/** Most vCPUs a domain may have: 512 (issue 7: a PV guest with 512 vCPUs; Xen x86 PV allows 8192, ARM 128). */
export const MAX_VIRT_CPUS = 512;
/** Largest memory= accepted (MiB): 64 GiB, far beyond what one Node process can back. */
export const MAX_MEMORY_MIB = 65536;

const posInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

export function validateConfig(c: DomainConfig): ValidConfig {
  if (c === null || typeof c !== 'object') throw new DomainConfigError('config', 'not an object');
  if (c.type !== 'hvm' && c.type !== 'pv') throw new DomainConfigError('type', `"${String(c.type)}" is neither "hvm" nor "pv"`);
  if (!posInt(c.memoryMiB) || c.memoryMiB > MAX_MEMORY_MIB)
    throw new DomainConfigError('memory', `${String(c.memoryMiB)} MiB: need a whole number from 1 to ${MAX_MEMORY_MIB}`);
  const maxMem = c.maxMemoryMiB ?? c.memoryMiB;
  if (!posInt(maxMem) || maxMem > MAX_MEMORY_MIB) throw new DomainConfigError('maxmem', `${String(maxMem)} MiB: need a whole number from 1 to ${MAX_MEMORY_MIB}`);
  if (maxMem < c.memoryMiB) throw new DomainConfigError('maxmem', `${maxMem} MiB is below memory=${c.memoryMiB} MiB`);
  const vcpus = c.vcpus ?? 1;
  if (!posInt(vcpus) || vcpus > MAX_VIRT_CPUS) throw new DomainConfigError('vcpus', `${String(vcpus)}: need 1 to ${MAX_VIRT_CPUS}`);
  const maxVcpus = c.maxVcpus ?? vcpus;
  if (!posInt(maxVcpus) || maxVcpus > MAX_VIRT_CPUS) throw new DomainConfigError('maxvcpus', `${String(maxVcpus)}: need 1 to ${MAX_VIRT_CPUS}`);
  if (maxVcpus < vcpus) throw new DomainConfigError('maxvcpus', `${maxVcpus} is below vcpus=${vcpus}`);
  if (!(c.kernel instanceof Uint8Array) || c.kernel.length === 0) throw new DomainConfigError('kernel', 'missing or empty');
  if (c.ramdisk !== undefined && !(c.ramdisk instanceof Uint8Array)) throw new DomainConfigError('ramdisk', 'not bytes');
  const cmdline = c.cmdline ?? '';
  if (typeof cmdline !== 'string') throw new DomainConfigError('cmdline', 'not a string');
  return {
    type: c.type,
    memoryPages: c.memoryMiB * 256,
    maxPages: maxMem * 256 + MAXMEM_SLACK_PAGES,
    vcpus,
    maxVcpus,
    kernel: c.kernel,
    ramdisk: c.ramdisk !== undefined && c.ramdisk.length > 0 ? c.ramdisk : undefined,
    cmdline,
    name: c.name ?? '',
  };
}
