// SPDX-License-Identifier: GPL-2.0-only
// Kernel module bookkeeping for the initramfs: module names, modules.dep parsing, reading a
// module's .modinfo (its depends= and vermagic=) from the ELF file, and the dependency
// closure in load order. Debian's kernel packages ship no modules.dep (depmod runs in the
// postinst), so the builder falls back to each module's own depends= field, which is what
// modpost derived from the same symbol references depmod would resolve.
// Leaves out: soft dependencies (softdep=) and aliases.

/** Canonical module name: basename without .ko and compression suffix, '-' read as '_'. */
export function moduleName(path: string): string {
  const base = path.slice(path.lastIndexOf('/') + 1);
  return base.replace(/\.ko(\.[a-z0-9]+)?$/, '').replace(/-/g, '_');
}

export const COMPRESSION_SUFFIXES = ['', '.xz', '.zst', '.gz'] as const;

/** Parses modules.dep ("kernel/a.ko.xz: kernel/b.ko.xz kernel/c.ko.xz") into name -> dependency names. */
export function parseModulesDep(text: string): Map<string, string[]> {
  const deps = new Map<string, string[]>();
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const colon = line.indexOf(':');
    if (colon < 0) throw new Error(`modules.dep: malformed line '${line}'`);
    deps.set(moduleName(line.slice(0, colon)), line.slice(colon + 1).split(/\s+/).filter(Boolean).map(moduleName));
  }
  return deps;
}

/** Formats modules.dep lines for the given modules (paths relative to /lib/modules/<ver>). */
export function formatModulesDep(mods: readonly { path: string; depends: readonly string[] }[]): string {
  const byName = new Map(mods.map((m) => [moduleName(m.path), m.path]));
  // modules.dep lists every module the entry needs, directly or not, nearest first.
  const all = (name: string, seen: Set<string>, out: string[]): void => {
    const m = mods.find((x) => moduleName(x.path) === name);
    for (const d of m?.depends ?? []) {
      if (seen.has(d)) continue;
      seen.add(d);
      out.push(byName.get(d) ?? d);
      all(d, seen, out);
    }
  };
  return mods.map((m) => {
    const out: string[] = [];
    all(moduleName(m.path), new Set([moduleName(m.path)]), out);
    return `${m.path}:${out.length ? ' ' + out.join(' ') : ''}\n`;
  }).join('');
}

export interface ModInfo { fields: Map<string, string[]>; depends: string[]; vermagic?: string; name?: string }

/**
 * Reads the .modinfo section of an uncompressed ELF64 little-endian module.
 * Spec: elf64-gabi "ELF Header", "Sections" (section header table, section name string table).
 */
export function readModinfo(elf: Uint8Array, what = 'module'): ModInfo {
  if (elf.length < 64 || elf[0] !== 0x7f || elf[1] !== 0x45 || elf[2] !== 0x4c || elf[3] !== 0x46) {
    throw new Error(`${what}: not an ELF file (still compressed?)`);
  }
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error(`${what}: not a 64-bit little-endian ELF file`);
  const v = new DataView(elf.buffer, elf.byteOffset, elf.byteLength);
  const shoff = Number(v.getBigUint64(0x28, true));
  const shentsize = v.getUint16(0x3a, true);
  const shnum = v.getUint16(0x3c, true);
  const shstrndx = v.getUint16(0x3e, true);
  if (shentsize < 64 || shoff + shnum * shentsize > elf.length || shstrndx >= shnum) throw new Error(`${what}: bad ELF section table`);
  const sec = (i: number): { name: number; off: number; size: number } => {
    const b = shoff + i * shentsize;
    return { name: v.getUint32(b, true), off: Number(v.getBigUint64(b + 0x18, true)), size: Number(v.getBigUint64(b + 0x20, true)) };
  };
  const strtab = sec(shstrndx);
  const cstr = (off: number): string => {
    let end = off;
    while (end < elf.length && elf[end] !== 0) end++;
    return Buffer.from(elf.subarray(off, end)).toString('latin1');
  };
  for (let i = 0; i < shnum; i++) {
    const s = sec(i);
    if (cstr(strtab.off + s.name) !== '.modinfo') continue;
    if (s.off + s.size > elf.length) throw new Error(`${what}: .modinfo runs past the end of the file`);
    const fields = new Map<string, string[]>();
    for (const kv of Buffer.from(elf.subarray(s.off, s.off + s.size)).toString('latin1').split('\0')) {
      const eq = kv.indexOf('=');
      if (eq <= 0) continue;
      const k = kv.slice(0, eq);
      fields.set(k, [...(fields.get(k) ?? []), kv.slice(eq + 1)]);
    }
    const depends = (fields.get('depends')?.[0] ?? '').split(',').filter(Boolean).map(moduleName);
    return { fields, depends, vermagic: fields.get('vermagic')?.[0], name: fields.get('name')?.[0] };
  }
  throw new Error(`${what}: no .modinfo section`);
}

/**
 * The closure of `wanted` under `depsOf`, ordered so every module comes after all of its
 * dependencies (the order insmod needs). Throws on an unknown module or a dependency cycle.
 */
export function resolveLoadOrder(wanted: readonly string[], depsOf: (name: string) => readonly string[] | undefined): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, chain: string[]): void => {
    const st = state.get(name);
    if (st === 'done') return;
    if (st === 'visiting') throw new Error(`module dependency cycle: ${[...chain, name].join(' -> ')}`);
    const deps = depsOf(name);
    if (deps === undefined) {
      throw new Error(chain.length ? `module ${name} (needed by ${chain[chain.length - 1]}) not found` : `module ${name} not found`);
    }
    state.set(name, 'visiting');
    for (const d of deps) visit(d, [...chain, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const w of wanted) visit(moduleName(w), []);
  return order;
}
