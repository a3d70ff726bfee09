// SPDX-License-Identifier: GPL-2.0-only
// Command line of `tsxen machine` for the virt board, in QEMU's spellings (one or two
// dashes), so `qemu-system-riscv64 -machine virt ...` carries over flag for flag:
//   -machine virt  -kernel K  -initrd I  -append CMDLINE  -smp N  -m SIZE  -bios none|FILE
//   -drive file=IMG,format=raw[,readonly=on][,if=virtio|none][,id=ID]
//   -netdev switch,id=ID  -device virtio-net-device,netdev=ID[,mac=MAC]  -nic switch[,mac=MAC]
//   -device virtio-blk-device,drive=ID  -device virtio-rng-device  -device virtconsole
//   -nographic (the default)  -no-reboot
// plus tsxen's own --clock, --max-insns, --stats. Every problem is a UsageError with one line
// naming the flag and value. `selectBoard` decides between this board and the bare one.
import { UsageError, parseCount, parseSize } from './machine-args.ts';
import type { VirtClock } from './virt-runner.ts';

export interface DriveArg {
  file: string;
  readOnly: boolean;
  id?: string;
  /** if=none: attached only through -device virtio-blk-device,drive=ID. */
  ifNone: boolean;
}

export interface NicArg {
  mac?: string;
  /** The switch (netdev) it is wired to. */
  netdev: string;
}

export interface VirtArgs {
  kernel?: string;
  initrd?: string;
  append?: string;
  /** undefined = the hypervisor's vSBI ("none" or "default" in QEMU terms would start firmware). */
  bios?: string;
  memBytes: number;
  smp: number;
  drives: DriveArg[];
  nics: NicArg[];
  rng: boolean;
  virtioConsole: boolean;
  noReboot: boolean;
  maxInsns: number;
  clock: VirtClock;
  stats: boolean;
  /** Worker threads running the harts (0 = every hart on the main thread). */
  pcpus: number;
}

export const VIRT_USAGE = `usage: tsxen machine [-machine virt] -kernel IMAGE [-initrd FILE] [-append CMDLINE]
                     [-smp N] [-m SIZE] [-bios FILE] [-drive file=IMG,format=raw[,readonly=on]]
                     [-nic switch[,mac=MAC]] [-device virtio-rng-device] [-no-reboot]
                     [--clock realtime|host|deterministic] [--max-insns N] [--stats]
                     [--pcpus N | -accel tcg,thread=multi]
  -machine virt   the virt board (QEMU's riscv virt memory map; default for Linux Images)
  -machine bare   the bare board for bare-metal ELF programs (default for ELF kernels)
  -kernel IMAGE   a RISC-V Linux Image (e.g. Debian's /boot/vmlinux-*), at RAM + 2 MiB
  -initrd FILE    initramfs (gzip/xz/zstd/... compressed cpio), at kernel + min(RAM/2, 128M)
  -append STR     the kernel command line (default: console=ttyS0)
  -smp N          harts (1..64); -m SIZE  RAM (default 512M; 128M, 1G ...; a plain number is MiB)
  -bios FILE      M-mode firmware, fw_dynamic (e.g. /usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin);
                  without it the hypervisor's vSBI (SBI v2.0) is the firmware and the kernel
                  starts in S-mode
  -drive file=IMG,format=raw[,readonly=on][,if=virtio|none][,id=ID]   a virtio-blk disk
  -nic switch[,mac=MAC]   a virtio-net NIC on the in-process Ethernet switch
                  (-netdev switch,id=N -device virtio-net-device,netdev=N[,mac=MAC] too)
  -device virtio-rng-device | virtio-blk-device,drive=ID | virtconsole
  -no-reboot      a guest reboot ends the run (exit 0) instead of restarting
  --clock         'realtime' (default: host time, paced by the instructions run, idle skipped
                  while the guest lags), 'host' (the host clock as is, like QEMU without
                  -icount) or 'deterministic' (10 instructions per tick, idle skipped)
  --max-insns N   stop (exit 1) after N instructions; --stats  instructions and MIPS on stderr
  --pcpus N       run the harts on N worker threads (1..smp; hart h on thread h mod N) over
                  shared memory, devices on the main thread (not with --clock deterministic).
                  -accel tcg,thread=multi (QEMU's MTTCG spelling) = --pcpus <smp>;
                  default: every hart on one thread (thread=single)
-nographic is accepted (the serial console is always stdio). Console: Ctrl-] leaves.
Exit status: 0 on guest poweroff, the fail code of the syscon device, 1 on errors.`;

const ALIASES: Record<string, string> = {
  '-kernel': '--kernel', '-initrd': '--initrd', '-append': '--append', '-bios': '--bios', '-m': '--mem', '--m': '--mem',
  '-smp': '--smp', '-drive': '--drive', '-nographic': '--nographic', '-machine': '--machine', '-M': '--machine', '--M': '--machine',
  '-netdev': '--netdev', '-nic': '--nic', '-device': '--device', '-no-reboot': '--no-reboot', '-display': '--display',
  '-serial': '--serial', '-monitor': '--monitor', '-accel': '--accel',
};

/** QEMU's option syntax: "a=b,c=d" (',,' escapes a comma); a leading bare word goes in `_`. */
export function parseKeyValues(flag: string, v: string, implied?: string): Map<string, string> {
  const out = new Map<string, string>();
  const parts: string[] = [];
  let cur = '';
  for (let i = 0; i < v.length; i++) {
    if (v[i] === ',') {
      if (v[i + 1] === ',') { cur += ','; i++; continue; }
      parts.push(cur);
      cur = '';
    } else cur += v[i];
  }
  parts.push(cur);
  parts.forEach((p, i) => {
    const eq = p.indexOf('=');
    if (eq < 0) {
      if (i === 0 && implied !== undefined) out.set(implied, p);
      else throw new UsageError(`${flag}: '${p}' in '${v}' is not key=value`);
    } else {
      const k = p.slice(0, eq);
      if (out.has(k)) throw new UsageError(`${flag}: '${k}' given twice in '${v}'`);
      out.set(k, p.slice(eq + 1));
    }
  });
  return out;
}

const ON = new Set(['on', 'yes', 'true', '1']);
const OFF = new Set(['off', 'no', 'false', '0']);
function bool(flag: string, key: string, v: string): boolean {
  if (ON.has(v)) return true;
  if (OFF.has(v)) return false;
  throw new UsageError(`${flag}: ${key}=${v} is not on or off`);
}

function parseDrive(v: string): DriveArg {
  const kv = parseKeyValues('-drive', v);
  const file = kv.get('file');
  if (file === undefined || file === '') throw new UsageError(`-drive ${v}: no file=`);
  const format = kv.get('format') ?? 'raw';
  if (format !== 'raw') throw new UsageError(`-drive ${v}: format=${format} is not supported (only raw)`);
  const iface = kv.get('if') ?? 'virtio';
  if (iface !== 'virtio' && iface !== 'none') throw new UsageError(`-drive ${v}: if=${iface} is not supported (virtio or none)`);
  const readOnly = kv.has('readonly') ? bool('-drive', 'readonly', kv.get('readonly')!) : false;
  for (const k of kv.keys()) {
    if (!['file', 'format', 'if', 'readonly', 'id', 'media', 'cache', 'aio', 'discard'].includes(k))
      throw new UsageError(`-drive ${v}: unknown key '${k}'`);
  }
  const media = kv.get('media');
  if (media !== undefined && media !== 'disk') throw new UsageError(`-drive ${v}: media=${media} is not supported (disk)`);
  return { file, readOnly, id: kv.get('id'), ifNone: iface === 'none' };
}

function checkMac(flag: string, mac: string | undefined): string | undefined {
  if (mac === undefined) return undefined;
  if (!/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(mac)) throw new UsageError(`${flag}: mac=${mac} is not a MAC address (52:54:00:12:34:56)`);
  if (parseInt(mac.slice(0, 2), 16) & 1) throw new UsageError(`${flag}: mac=${mac} is a multicast address`);
  return mac;
}

export function parseVirtArgs(argv: readonly string[]): VirtArgs {
  const a: VirtArgs = {
    memBytes: 512 * 1024 * 1024, smp: 1, drives: [], nics: [], rng: false, virtioConsole: false, noReboot: false,
    maxInsns: Infinity, clock: 'realtime', stats: false, pcpus: 0,
  };
  let multi = false;
  const netdevs = new Set<string>();
  const devices: Map<string, string>[] = [];
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let value: string | undefined;
    if (flag.startsWith('--')) {
      const eq = flag.indexOf('=');
      if (eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    }
    flag = ALIASES[flag] ?? flag;
    const need = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--machine': {
        const v = need(), type = parseKeyValues('-machine', v, 'type').get('type');
        if (type !== 'virt') throw new UsageError(`-machine ${v}: this runner is the virt board (use -machine bare for bare-metal programs)`);
        break;
      }
      case '--kernel': a.kernel = need(); break;
      case '--initrd': a.initrd = need(); break;
      case '--append': a.append = need(); break;
      case '--bios': { const v = need(); a.bios = v === 'none' || v === 'vsbi' ? undefined : v; break; }
      case '--mem': {
        const v = need(), m = /^(?:size=)?([^,]+)(?:,.*)?$/.exec(v);
        a.memBytes = parseSize(m ? m[1]! : v);
        if (a.memBytes < 16 * 1024 * 1024) throw new UsageError(`-m: ${v} is too small for the virt board (at least 16M)`);
        break;
      }
      case '--smp': {
        const v = need(), m = /^(?:cpus=)?(\d+)(?:,.*)?$/.exec(v);
        a.smp = parseCount('-smp', m ? m[1]! : v, 1, 64);
        break;
      }
      case '--drive': a.drives.push(parseDrive(need())); break;
      case '--netdev': {
        const v = need(), kv = parseKeyValues('-netdev', v, 'type');
        if (kv.get('type') !== 'switch') throw new UsageError(`-netdev ${v}: only 'switch' (the in-process Ethernet switch) is supported`);
        const id = kv.get('id');
        if (!id) throw new UsageError(`-netdev ${v}: no id=`);
        netdevs.add(id);
        break;
      }
      case '--nic': {
        const v = need(), kv = parseKeyValues('-nic', v, 'type');
        const type = kv.get('type');
        if (type === 'none') break;
        if (type !== 'switch') throw new UsageError(`-nic ${v}: only 'switch' (the in-process Ethernet switch) or 'none' is supported`);
        const model = kv.get('model') ?? 'virtio-net-device';
        if (model !== 'virtio-net-device' && model !== 'virtio') throw new UsageError(`-nic ${v}: model=${model} is not supported (virtio-net-device)`);
        a.nics.push({ mac: checkMac('-nic', kv.get('mac')), netdev: 'switch' });
        break;
      }
      case '--device': devices.push(parseKeyValues('-device', need(), 'driver')); break;
      case '--no-reboot': a.noReboot = true; break;
      case '--nographic': break;
      case '--display': { const v = need(); if (v !== 'none') throw new UsageError(`-display ${v}: only 'none'`); break; }
      case '--serial': { const v = need(); if (v !== 'stdio' && v !== 'mon:stdio') throw new UsageError(`-serial ${v}: only 'stdio'`); break; }
      case '--monitor': { const v = need(); if (v !== 'none') throw new UsageError(`-monitor ${v}: only 'none'`); break; }
      case '--max-insns': a.maxInsns = parseCount('--max-insns', need(), 1, Number.MAX_SAFE_INTEGER); break;
      case '--clock': {
        const v = need();
        if (v !== 'realtime' && v !== 'host' && v !== 'deterministic') throw new UsageError(`--clock: '${v}' is not realtime, host or deterministic`);
        a.clock = v;
        break;
      }
      case '--stats': a.stats = true; break;
      case '--pcpus': a.pcpus = parseCount('--pcpus', need(), 1, 64); break;
      case '--accel': {
        const v = need(), kv = parseKeyValues('-accel', v, 'type');
        if (kv.get('type') !== 'tcg') throw new UsageError(`-accel ${v}: only 'tcg' (tsxen's interpreter)`);
        const th = kv.get('thread') ?? 'single';
        if (th !== 'single' && th !== 'multi') throw new UsageError(`-accel ${v}: thread=${th} is not single or multi`);
        multi = th === 'multi';
        break;
      }
      default:
        throw new UsageError(flag.startsWith('-') ? `unknown option '${flag}'` : `unexpected argument '${flag}'`);
    }
  }
  const attached = new Set<string>();
  for (const d of devices) {
    const drv = d.get('driver')!;
    switch (drv) {
      case 'virtio-rng-device': case 'virtio-rng': a.rng = true; break;
      case 'virtconsole': case 'virtio-serial-device': a.virtioConsole = true; break;
      case 'virtio-blk-device': {
        const id = d.get('drive');
        const drive = a.drives.find((x) => x.id === id);
        if (!id || !drive) throw new UsageError(`-device virtio-blk-device: drive=${id ?? ''} names no -drive id`);
        if (!drive.ifNone || attached.has(id)) throw new UsageError(`-device virtio-blk-device,drive=${id}: that drive is already attached (give it if=none)`);
        attached.add(id);
        drive.ifNone = false;
        break;
      }
      case 'virtio-net-device': {
        const id = d.get('netdev');
        if (!id || !netdevs.has(id)) throw new UsageError(`-device virtio-net-device: netdev=${id ?? ''} names no -netdev switch,id=`);
        a.nics.push({ mac: checkMac('-device', d.get('mac')), netdev: id });
        break;
      }
      default:
        throw new UsageError(`-device ${drv}: not supported (virtio-blk-device, virtio-net-device, virtio-rng-device, virtconsole)`);
    }
  }
  a.drives = a.drives.filter((d) => !d.ifNone);
  if (a.drives.length + a.nics.length + (a.rng ? 1 : 0) + (a.virtioConsole ? 1 : 0) > 8)
    throw new UsageError('too many virtio devices: the virt board has 8 virtio-mmio slots');
  // QEMU runs -bios firmware alone (a bare-metal program as the firmware); the vSBI needs a kernel.
  if (a.kernel === undefined && a.bios === undefined) throw new UsageError('no -kernel given');
  if (a.initrd !== undefined && a.kernel === undefined) throw new UsageError('-initrd needs -kernel');
  if (multi && a.pcpus === 0) a.pcpus = a.smp;
  if (a.pcpus > a.smp) throw new UsageError(`--pcpus ${a.pcpus}: more threads than harts (-smp ${a.smp})`);
  if (a.pcpus > 0 && a.clock === 'deterministic') throw new UsageError(`--pcpus ${a.pcpus}: worker threads do not run on the deterministic clock (realtime or host)`);
  return a;
}

/** Flags only the virt board understands. */
const VIRT_ONLY = new Set(['--initrd', '--append', '--drive', '--netdev', '--nic', '--device', '--no-reboot', '--pcpus', '--accel']);

/**
 * Which board a `tsxen machine` command line means: an explicit -machine wins ('bare' or
 * 'virt'); otherwise any virt-only flag selects virt, an ELF kernel (a bare-metal program or
 * test binary) or firmware without a kernel keeps the bare board (virt's memory map without
 * PLIC and virtio), and everything else (Linux Images, unreadable or unknown files, which the
 * virt runner then names) goes to virt. `kernelHead` reads a file's first bytes.
 */
export function selectBoard(argv: readonly string[], kernelHead: (path: string) => Uint8Array | undefined): 'virt' | 'bare' {
  let kernel: string | undefined;
  let virtFlag = false;
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i]!;
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('--') && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    flag = ALIASES[flag] ?? flag;
    const next = (): string | undefined => value ?? argv[i + 1];
    if (flag === '--machine') {
      const type = (next() ?? '').split(',')[0];
      if (type === 'bare') return 'bare';
      if (type === 'virt') return 'virt';
    }
    if (flag === '--kernel') kernel = next();
    if (VIRT_ONLY.has(flag)) virtFlag = true;
  }
  if (virtFlag) return 'virt';
  if (kernel === undefined) return 'bare';
  const h = kernelHead(kernel);
  const isElf = h !== undefined && h.length >= 4 && h[0] === 0x7f && h[1] === 0x45 && h[2] === 0x4c && h[3] === 0x46;
  return isElf ? 'bare' : 'virt';
}
