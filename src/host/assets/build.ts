// SPDX-License-Identifier: GPL-2.0-only
// Turns the downloaded Debian packages into guest assets: extracts them with dpkg-deb -x,
// checks the kernel Image, collects the virtio modules plus their dependencies (decompressed,
// since busybox insmod cannot read .ko.xz/.ko.zst), and writes a gzip-compressed newc
// initramfs holding static busybox, the modules and /init from guests/debian/.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { writeCpio, type CpioEntry } from './cpio.ts';
import { parseRiscvImage, type RiscvImageInfo } from './kernel-image.ts';
import { formatModulesDep, moduleName, parseModulesDep, readModinfo, resolveLoadOrder } from './modules.ts';
import { AssetError, runOk } from './run.ts';

/** The drivers /init loads at boot: virtio transport, disk, network, console, entropy. */
export const WANTED_MODULES = ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_console', 'virtio_rng'] as const;

/**
 * Modules put in the initramfs but loaded only on demand (the kernel runs busybox modprobe,
 * which reads our modules.dep and modules.alias): FAT, so a disk can carry files
 * (`mkdosfs /dev/vda; mount /dev/vda /mnt`), with the code pages it asks for.
 */
export const ON_DEMAND_MODULES = ['vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8'] as const;

export interface ModuleFile {
  name: string;
  path: string;       // relative to /lib/modules/<ver>, decompressed (.ko)
  depends: string[];
  size: number;
  sha256: string;
  boot: boolean;      // loaded by /init (else on demand)
}

export interface BuiltAssets {
  version: string;
  image: RiscvImageInfo;
  kernelSrc: string;          // extracted boot/vmlinux-<ver>
  configSrc?: string;         // extracted boot/config-<ver>
  modules: ModuleFile[];      // in load order; path relative to /lib/modules/<ver>
  builtin: string[];          // wanted drivers that are built into the kernel
  busybox: { size: number; sha256: string };
  initrd: Uint8Array;         // gzip-compressed cpio
  initrdEntries: number;
}

export async function extractDeb(deb: string, dest: string): Promise<void> {
  mkdirSync(dest, { recursive: true });
  await runOk(`dpkg-deb -x ${deb}`, 'dpkg-deb', ['-x', deb, dest], { timeoutMs: 300_000 });
}

/** Decompresses a module by its magic bytes (xz, zstd, gzip) or returns it as is. */
export async function decompressModule(path: string): Promise<Uint8Array> {
  const raw = readFileSync(path);
  const is = (...m: number[]): boolean => m.every((b, i) => raw[i] === b);
  if (is(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return runOk(`xz -dc ${path}`, 'xz', ['-dc', path]);
  if (is(0x28, 0xb5, 0x2f, 0xfd)) return runOk(`zstd -dc ${path}`, 'zstd', ['-dcq', path]);
  if (is(0x1f, 0x8b)) return gunzipSync(raw);
  if (is(0x7f, 0x45, 0x4c, 0x46)) return raw;
  throw new AssetError(`${path}: unknown module compression (suffix ${/\.ko(\.\w+)?$/.exec(path)?.[1] ?? 'none'})`);
}

/** Maps module name -> path relative to the modules directory, for every file under kernel/. */
export function indexModules(modDir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko(\.(xz|zst|gz))?$/.test(e.name)) out.set(moduleName(e.name), relative(modDir, p));
    }
  };
  walk(join(modDir, 'kernel'));
  return out;
}

function findOne(dir: string, re: RegExp, what: string): string {
  const hits = existsSync(dir) ? readdirSync(dir).filter((n) => re.test(n)) : [];
  if (hits.length !== 1) throw new AssetError(`${what}: expected one match for ${re} in ${dir}, found ${hits.length}`);
  return join(dir, hits[0]!);
}

/** Checks that a file is a statically linked RISC-V ELF executable. Spec: elf64-gabi "Program Header" (PT_INTERP). */
export function checkStaticRiscvElf(buf: Uint8Array, what: string): void {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.length < 64 || v.getUint32(0, false) !== 0x7f454c46 || buf[4] !== 2) throw new AssetError(`${what}: not a 64-bit ELF file`);
  if (v.getUint16(0x12, true) !== 243) throw new AssetError(`${what}: not a RISC-V ELF file (e_machine ${v.getUint16(0x12, true)})`);
  const phoff = Number(v.getBigUint64(0x20, true));
  const phentsize = v.getUint16(0x36, true);
  const phnum = v.getUint16(0x38, true);
  for (let i = 0; i < phnum; i++) {
    if (v.getUint32(phoff + i * phentsize, true) === 3) throw new AssetError(`${what}: dynamically linked (has PT_INTERP); busybox-static is needed`);
  }
}

/**
 * Collects the boot and on-demand modules with all their dependencies, decompressed, in an
 * order where each module follows its dependencies (boot modules' closure first).
 * Wanted drivers that are built in are reported, not collected.
 */
export async function collectModules(modDir: string, version: string, boot: readonly string[], onDemand: readonly string[]) {
  const files = indexModules(modDir);
  const builtinFile = join(modDir, 'modules.builtin');
  const builtinSet = new Set(existsSync(builtinFile) ? readFileSync(builtinFile, 'utf8').split('\n').filter(Boolean).map(moduleName) : []);
  const depFile = join(modDir, 'modules.dep');
  const depMap = existsSync(depFile) ? parseModulesDep(readFileSync(depFile, 'utf8')) : undefined;

  const builtin: string[] = [];
  const pick = (names: readonly string[]): string[] => names.map(moduleName).filter((w) => {
    if (files.has(w)) return true;
    if (builtinSet.has(w)) { builtin.push(w); return false; }
    throw new AssetError(`kernel ${version} has ${w} neither as a module nor built in`);
  });
  const bootWanted = pick(boot);
  const demandWanted = pick(onDemand);

  const elf = new Map<string, Uint8Array>();
  const deps = new Map<string, string[]>();
  const aliases: [string, string][] = [];
  // Read the .modinfo of every module reachable from the wanted sets (breadth first).
  const queue = [...bootWanted, ...demandWanted];
  while (queue.length) {
    const name = queue.shift()!;
    if (elf.has(name) || builtinSet.has(name)) continue;
    const rel = files.get(name);
    if (!rel) continue;   // resolveLoadOrder reports it
    const bytes = await decompressModule(join(modDir, rel));
    const info = readModinfo(bytes, rel);
    if (info.vermagic && !info.vermagic.startsWith(`${version} `)) throw new AssetError(`${rel}: vermagic '${info.vermagic}' does not match kernel ${version}`);
    elf.set(name, bytes);
    const d = (depMap?.get(name) ?? info.depends).filter((x) => !builtinSet.has(x));
    deps.set(name, d);
    for (const a of info.fields.get('alias') ?? []) aliases.push([a, name]);
    queue.push(...d);
  }
  const bootOrder = resolveLoadOrder(bootWanted, (n) => deps.get(n));
  const bootSet = new Set(bootOrder);
  const order = [...bootOrder, ...resolveLoadOrder(demandWanted, (n) => deps.get(n)).filter((n) => !bootSet.has(n))];
  const modules: ModuleFile[] = order.map((name) => {
    const bytes = elf.get(name)!;
    return {
      name, path: files.get(name)!.replace(/\.ko\.(xz|zst|gz)$/, '.ko'), depends: deps.get(name)!,
      size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), boot: bootSet.has(name),
    };
  });
  return { modules, builtin, elf, aliases: aliases.filter(([, m]) => order.includes(m)) };
}

export interface BuildInputs {
  kernelRoot: string;   // dpkg-deb -x of linux-image-<ver>-riscv64
  busyboxRoot: string;  // dpkg-deb -x of busybox-static
  templateDir: string;  // guests/debian
  onDemand?: readonly string[];  // default ON_DEMAND_MODULES
  mtime?: number;       // mtime written into the cpio (reproducible builds)
}

export async function buildFromExtracted(inp: BuildInputs): Promise<BuiltAssets> {
  // Kernel: boot/vmlinux-<ver> is an uncompressed RISC-V Image.
  const kernelSrc = findOne(join(inp.kernelRoot, 'boot'), /^vmlinux-/, 'kernel package');
  const version = kernelSrc.slice(kernelSrc.lastIndexOf('/vmlinux-') + '/vmlinux-'.length);
  const image = parseRiscvImage(readFileSync(kernelSrc), kernelSrc);
  if (image.release && image.release !== version) throw new AssetError(`${kernelSrc}: banner says ${image.release}, file name says ${version}`);
  const configSrc = join(inp.kernelRoot, 'boot', `config-${version}`);

  // Modules: Debian ships them under usr/lib/modules (merged /usr) and without modules.dep.
  const modDir = [join(inp.kernelRoot, 'usr/lib/modules', version), join(inp.kernelRoot, 'lib/modules', version)].find(existsSync);
  if (!modDir) throw new AssetError(`kernel package has no modules directory for ${version}`);
  const { modules, builtin, elf, aliases } = await collectModules(modDir, version, WANTED_MODULES, inp.onDemand ?? ON_DEMAND_MODULES);
  const bootModules = modules.filter((m) => m.boot);

  // busybox-static: /usr/bin/busybox in trixie (/bin/busybox before the /usr merge).
  const bbPath = [join(inp.busyboxRoot, 'usr/bin/busybox'), join(inp.busyboxRoot, 'bin/busybox')].find(existsSync);
  if (!bbPath) throw new AssetError('busybox-static package has no busybox binary');
  const busybox = readFileSync(bbPath);
  checkStaticRiscvElf(busybox, bbPath);

  const tpl = (name: string): string => {
    const p = join(inp.templateDir, name);
    if (!existsSync(p)) throw new AssetError(`guest template ${p} is missing`);
    return readFileSync(p, 'utf8');
  };
  const initText = tpl('init.sh');
  if (!initText.includes('@KVER@') || !initText.includes('@MODULES@')) throw new AssetError(`${inp.templateDir}/init.sh lacks the @KVER@/@MODULES@ placeholders`);
  const init = initText.replaceAll('@KVER@', version).replaceAll('@MODULES@', bootModules.map((m) => m.path).join(' '));

  const enc = new TextEncoder();
  const entries: CpioEntry[] = [];
  const dirs = new Set<string>();
  const dir = (p: string): void => {
    const parts = p.split('/');
    for (let i = 1; i <= parts.length; i++) {
      const d = parts.slice(0, i).join('/');
      if (!dirs.has(d)) { dirs.add(d); entries.push({ kind: 'dir', path: d, mode: d === 'root' ? 0o700 : d === 'tmp' ? 0o1777 : 0o755 }); }
    }
  };
  for (const d of ['bin', 'sbin', 'usr/bin', 'usr/sbin', 'dev', 'etc', 'proc', 'sys', 'run', 'tmp', 'root', `lib/modules/${version}`]) dir(d);
  entries.push({ kind: 'chr', path: 'dev/console', major: 5, minor: 1, mode: 0o600 });
  entries.push({ kind: 'chr', path: 'dev/null', major: 1, minor: 3, mode: 0o666 });
  entries.push({ kind: 'file', path: 'bin/busybox', data: busybox, mode: 0o755 });
  entries.push({ kind: 'symlink', path: 'bin/sh', target: 'busybox' });
  entries.push({ kind: 'file', path: 'init', data: enc.encode(init), mode: 0o755 });
  entries.push({ kind: 'file', path: 'etc/inittab', data: enc.encode(tpl('inittab')) });
  entries.push({ kind: 'file', path: 'etc/profile', data: enc.encode(tpl('profile')) });
  entries.push({ kind: 'file', path: 'etc/hostname', data: enc.encode('tsxen-guest\n') });
  for (const m of modules) {
    dir(`lib/modules/${version}/${m.path.slice(0, m.path.lastIndexOf('/'))}`);
    entries.push({ kind: 'file', path: `lib/modules/${version}/${m.path}`, data: elf.get(m.name)!, mode: 0o644 });
  }
  entries.push({ kind: 'file', path: `lib/modules/${version}/modules.dep`, data: enc.encode(formatModulesDep(modules)) });
  entries.push({ kind: 'file', path: `lib/modules/${version}/modules.alias`, data: enc.encode(aliases.map(([a, m]) => `alias ${a} ${m}\n`).join('')) });
  const cpio = writeCpio(entries, { mtime: inp.mtime ?? 0 });
  return {
    version, image, kernelSrc, configSrc: existsSync(configSrc) ? configSrc : undefined, modules, builtin,
    busybox: { size: busybox.length, sha256: createHash('sha256').update(busybox).digest('hex') },
    initrd: gzipSync(cpio, { level: 9 }), initrdEntries: entries.length,
  };
}

/** Copies the built kernel and writes the initramfs into `outDir`; returns their paths. */
export function writeOutputs(b: BuiltAssets, outDir: string): { kernel: string; initrd: string; config?: string } {
  mkdirSync(outDir, { recursive: true });
  const kernel = join(outDir, `vmlinux-${b.version}`);
  cpSync(b.kernelSrc, kernel);
  const initrd = join(outDir, `initrd-${b.version}.cpio.gz`);
  writeFileSync(initrd, b.initrd);
  let config: string | undefined;
  if (b.configSrc) { config = join(outDir, `config-${b.version}`); cpSync(b.configSrc, config); }
  return { kernel, initrd, config };
}
