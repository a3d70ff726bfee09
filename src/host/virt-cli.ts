// SPDX-License-Identifier: GPL-2.0-only
// `tsxen machine` on the virt board (QEMU's flags; see virt-args.ts) and `tsxen demo`: the
// default guest (Debian's kernel + the busybox initramfs from the asset builder, 2 harts, a
// virtio-blk scratch disk, virtio-rng, a NIC) on the terminal. Both check every input before
// the console is touched, so a bad flag, a missing or corrupt kernel/initramfs or an
// unreadable disk image is one line on stderr and exit status 1.
import { existsSync, mkdirSync, openSync, readSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { VirtBoardError } from '../hardware/boards/virt.ts';
import { EthernetSwitch, parseMac } from '../hardware/net/switch.ts';
import type { BootFile } from '../hypervisor/boot/boot-plan.ts';
import { BootImageError, parseLinuxImage } from '../hypervisor/boot/linux-image.ts';
import { AssetError, ensureGuestAssets, findRepoRoot } from './assets/index.ts';
import { BlockFile, BlockFileError } from './block-file.ts';
import { TerminalConsole } from './console.ts';
import { UsageError } from './machine-args.ts';
import { VIRT_USAGE, parseVirtArgs, selectBoard, type VirtArgs } from './virt-args.ts';
import { driveMachines, readBootFile, VirtMachine, type VirtStop } from './virt-runner.ts';

/** A problem the user can fix: printed as one line, exit status 1. */
class InputError extends Error {}

const MiB = 1024 * 1024;

/** The first bytes of a file (undefined if it cannot be read). */
export function fileHead(path: string, n = 64): Uint8Array | undefined {
  try {
    const fd = openSync(path, 'r');
    try {
      const b = new Uint8Array(n);
      const got = readSync(fd, b, 0, n, 0);
      return b.subarray(0, got);
    } finally {
      closeSync(fd);
    }
  } catch {
    return undefined;
  }
}

const startsWith = (b: Uint8Array, sig: readonly number[]): boolean => sig.every((v, i) => b[i] === v);
const CPIO_NEWC = [0x30, 0x37, 0x30, 0x37, 0x30]; // "07070" (newc 070701, crc 070702)

/**
 * An initramfs the kernel can unpack: a newc cpio, plain or compressed with one of the
 * formats Debian's kernel decompresses. gzip (what the asset builder and most tools write)
 * is unpacked here in full, so a truncated or damaged file is caught before booting.
 */
export function checkInitrd(f: BootFile): void {
  const b = f.bytes;
  if (b.length === 0) throw new InputError(`initrd '${f.name}' is empty`);
  if (startsWith(b, [0x1f, 0x8b])) {
    let cpio: Uint8Array;
    try {
      cpio = gunzipSync(b);
    } catch (e) {
      throw new InputError(`initrd '${f.name}' is corrupt: gzip data ${(e as Error).message.replace(/\.$/, '').toLowerCase()}`);
    }
    if (!startsWith(cpio, CPIO_NEWC)) throw new InputError(`initrd '${f.name}' is corrupt: the gzip data is not a newc cpio archive`);
    return;
  }
  const known = startsWith(b, CPIO_NEWC) || startsWith(b, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) /* xz */ ||
    startsWith(b, [0x28, 0xb5, 0x2f, 0xfd]) /* zstd */ || startsWith(b, [0x42, 0x5a, 0x68]) /* bzip2 */ ||
    startsWith(b, [0x02, 0x21, 0x4c, 0x18]) /* lz4 legacy */ || startsWith(b, [0x89, 0x4c, 0x5a, 0x4f]) /* lzop */ ||
    startsWith(b, [0x5d, 0x00, 0x00]) /* lzma */;
  if (!known) throw new InputError(`initrd '${f.name}' is not an initramfs (no cpio archive, compressed or plain)`);
}

function checkKernel(f: BootFile, firmware: boolean): void {
  const b = f.bytes;
  if (!firmware || (b.length >= 64 && startsWith(b.subarray(56), [0x52, 0x53, 0x43, 0x05]))) {
    parseLinuxImage(b, f.name); // BootImageError: truncated, not an Image, ELF...
  } else if (startsWith(b, [0x7f, 0x45, 0x4c, 0x46])) {
    throw new InputError(`kernel '${f.name}' is an ELF file: the virt board loads raw images (use -machine bare for ELF programs)`);
  } else if (b.length === 0) {
    throw new InputError(`kernel '${f.name}' is empty`);
  }
}

/** Default MACs as QEMU hands them out: 52:54:00:12:34:56, then ...:57. */
function defaultMac(i: number): Uint8Array {
  return new Uint8Array([0x52, 0x54, 0x00, 0x12, 0x34, 0x56 + i]);
}

export interface BuiltMachine {
  machine: VirtMachine;
  disks: BlockFile[];
}

/** Open every input of `args` and build the machine (one-line errors as InputError/UsageError/...). */
export function buildVirtMachine(args: VirtArgs, output: (b: number) => void, sw = new EthernetSwitch()): BuiltMachine {
  const kernel = args.kernel !== undefined ? readBootFile('kernel', args.kernel) : undefined;
  const initrd = args.initrd !== undefined ? readBootFile('initrd', args.initrd) : undefined;
  const bios = args.bios !== undefined ? readBootFile('firmware', args.bios) : undefined;
  if (kernel) checkKernel(kernel, bios !== undefined);
  if (initrd) checkInitrd(initrd);
  const disks: BlockFile[] = [];
  try {
    for (const d of args.drives) disks.push(BlockFile.open(d.file, { readOnly: d.readOnly }));
    for (const [i, d] of disks.entries()) {
      if (d.size % 512 !== 0) throw new InputError(`disk image ${d.path}: its size (${d.size} bytes) is not a multiple of 512`);
      if (i >= 0 && d.size === 0) throw new InputError(`disk image ${d.path}: is empty`);
    }
    const machine = new VirtMachine({
      smp: args.smp, memBytes: args.memBytes, kernel, initrd, bios, append: args.append ?? 'console=ttyS0',
      drives: disks.map((backend) => ({ backend })),
      nics: args.nics.map((n, i) => ({ mac: n.mac ? parseMac(n.mac)! : defaultMac(i), switch: sw })),
      rng: args.rng, virtioConsole: args.virtioConsole ? (b) => { for (const c of b) output(c); } : undefined,
      clock: args.clock, output, maxInsns: args.maxInsns, noReboot: args.noReboot, pcpus: args.pcpus,
    });
    return { machine, disks };
  } catch (e) {
    for (const d of disks) d.close();
    throw e;
  }
}

function stopStatus(stop: VirtStop, maxInsns: number): { code: number; message?: string } {
  switch (stop.kind) {
    case 'poweroff': return { code: 0 };
    case 'reset': return { code: 0 };
    case 'fail': return stop.code % 256 !== 0 ? { code: stop.code % 256, message: `guest failed with code ${stop.code}` } : { code: 1, message: `guest failed with code ${stop.code}` };
    case 'crash': return { code: 1, message: `guest crashed: ${stop.message}` };
    case 'limit': return { code: 1, message: `stopped after ${maxInsns} instructions (--max-insns)` };
    case 'idle': return { code: 1, message: 'every hart is stopped: nothing can run' };
  }
}

/** One-line message for an error the user can fix, or undefined for a bug. */
function userError(e: unknown): string | undefined {
  if (e instanceof UsageError || e instanceof InputError || e instanceof BootImageError || e instanceof BlockFileError ||
      e instanceof VirtBoardError || e instanceof AssetError) return e.message.split('\n')[0];
  if (e instanceof Error && /^cannot read /.test(e.message)) return e.message;
  return undefined;
}

/** Boot `args` with the console on this terminal; returns the exit status. */
async function runOnTerminal(cmd: string, args: VirtArgs): Promise<number> {
  let con: TerminalConsole | null = null;
  const out = (b: number): void => con!.put(b);
  const { machine, disks } = buildVirtMachine(args, out);
  con = new TerminalConsole({ stdin: process.stdin, stdout: process.stdout }, (b) => machine.sendInput(b));
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  con.start();
  try {
    const quit = con.whenQuit().then(() => machine.kick());
    void quit;
    await driveMachines([machine], { afterBurst: () => con!.flush(), until: () => con!.quitStatus !== null });
    con.flush();
    if (con.quitStatus !== null) return con.quitStatus;
    const { code, message } = stopStatus(machine.stopped!, args.maxInsns);
    con.stop();
    if (message) process.stderr.write(`\r\ntsxen ${cmd}: ${message}\n`);
    return code;
  } finally {
    con.stop();
    machine.close();
    for (const d of disks) { d.flush(); d.close(); }
    if (args.stats) {
      const n = machine.instructions, s = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0), cs = (c.user + c.system) / 1e6;
      process.stderr.write(`tsxen ${cmd}: ${n} instructions in ${s.toFixed(2)} s = ${(n / s / 1e6).toFixed(1)} MIPS` +
        ` (${cs.toFixed(2)} s CPU = ${(n / cs / 1e6).toFixed(1)} MIPS per CPU second), ${machine.reboots} reboot(s)` +
        (args.pcpus > 0 ? `, ${args.pcpus} pCPU threads, ${machine.pcpuRequests} requests served` : '') + '\n');
    }
  }
}

/** `tsxen machine` for the virt board. */
export async function virtMachineCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(VIRT_USAGE + '\n'); return 0; }
  try {
    return await runOnTerminal('machine', parseVirtArgs(argv));
  } catch (e) {
    const m = userError(e);
    if (m === undefined) throw e;
    process.stderr.write(`tsxen machine: ${m}\n`);
    return 1;
  }
}

/** Which board `tsxen machine ARGS` runs on (see selectBoard). */
export function machineBoard(argv: readonly string[]): 'virt' | 'bare' {
  return selectBoard(argv, (p) => fileHead(p));
}

/** argv without `-machine bare` (the bare board's own parser does not know -machine). */
export function withoutMachineFlag(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '-machine' || a === '--machine' || a === '-M') { i++; continue; }
    if (a.startsWith('--machine=')) continue;
    out.push(a);
  }
  return out;
}

export const DEMO_DISK_BYTES = 64 * MiB;

const DEMO_USAGE = `usage: tsxen demo [--smp N] [--mem SIZE] [--append CMDLINE] [--minimark [ITERS]]
The default guest: Debian trixie's riscv64 kernel and a busybox initramfs (built on first use
by 'tsxen assets'), 2 harts, 512 MiB, a 64 MiB virtio-blk scratch disk (/dev/vda, kept in the
asset cache), virtio-rng (/dev/hwrng) and a virtio-net NIC (eth0), booted on the virt board
with the hypervisor's vSBI. The serial console is this terminal: 'poweroff' in the guest ends
the run (exit status 0); Ctrl-] leaves at once.
--minimark runs the bare-metal CPU benchmark demo instead.`;

/** `tsxen demo`: the default guest on the terminal (or the minimark demo with --minimark). */
export async function demoCommand(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(DEMO_USAGE + '\n'); return 0; }
  const mm = argv.indexOf('--minimark');
  if (mm >= 0) return (await import('./machine.ts')).demoCommand(argv.slice(mm + 1));
  try {
    const extra = parseVirtArgs(['-kernel', 'unused', ...argv]);
    process.stderr.write('tsxen demo: guest assets (Debian kernel + busybox initramfs)...\n');
    const assets = await ensureGuestAssets();
    const cache = process.env.TSXEN_CACHE ?? join(findRepoRoot(), '.cache', 'assets');
    mkdirSync(cache, { recursive: true });
    const disk = join(cache, 'demo-disk.img');
    if (!existsSync(disk)) BlockFile.create(disk, DEMO_DISK_BYTES).close();
    const smp = argv.some((a) => /^-?-smp(=|$)/.test(a)) ? extra.smp : 2;
    const args: VirtArgs = {
      ...extra, kernel: assets.kernel, initrd: assets.initrd, smp,
      append: extra.append ?? 'console=ttyS0',
      drives: [{ file: disk, readOnly: false, ifNone: false }, ...extra.drives],
      nics: extra.nics.length > 0 ? extra.nics : [{ netdev: 'switch' }], rng: true,
    };
    process.stderr.write(`tsxen demo: Linux ${assets.version}, ${args.smp} harts, ${args.memBytes / MiB} MiB, ` +
      `disk ${disk} (/dev/vda), virtio-rng, virtio-net; 'poweroff' ends the run, Ctrl-] leaves\n`);
    return await runOnTerminal('demo', args);
  } catch (e) {
    const m = userError(e);
    if (m === undefined) throw e;
    process.stderr.write(`tsxen demo: ${m}\n`);
    return 1;
  }
}

/** `tsxen machine --help`: the virt board's flags (the bare board's follow). */
export const VIRT_USAGE_ALL = VIRT_USAGE;
