// SPDX-License-Identifier: GPL-2.0-only
// Command line of `tsxen machine`, with QEMU's spellings accepted too (-kernel, -bios, -m,
// -smp, -nographic) so a QEMU command line carries over. Every problem is one line naming
// the flag and the value; the caller prints it and exits 1.

export interface MachineArgs {
  /** 'none', or the firmware file. */
  bios: string;
  kernel?: string;
  memBytes: number;
  smp: number;
  maxInsns: number;
  clock: 'realtime' | 'deterministic';
  stats: boolean;
}

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export const MACHINE_USAGE = `usage: tsxen machine [--bios none|FILE] --kernel FILE [--mem SIZE] [--smp N]
                     [--max-insns N] [--clock realtime|deterministic] [--stats]
  --bios none    start the kernel (ELF, or raw at 0x80000000) in M-mode at its entry (default)
  --bios FILE    firmware (ELF, or raw at 0x80000000) is started; the kernel goes to its ELF
                 addresses or, raw, to 0x80200000
  --mem SIZE     RAM at 0x80000000: 128M (default), 1G, 64K; a plain number means MiB
  --smp N        harts (1..64); every hart starts at the entry with a0 = hart id, a1 = 0
  --max-insns N  stop (exit 1) after N instructions
  --clock        'realtime' (host clock, default) or 'deterministic' (time from instructions)
  --stats        print instructions, time and MIPS to stderr at the end
QEMU spellings -kernel, -bios, -m, -smp work too; -nographic is accepted (the console is
always stdio). Console: Ctrl-] or Ctrl-A x quits. Exit status: 0 on pass/poweroff, the fail
code from the test device or HTIF, 1 on errors.`;

const MAX_MEM = 2 * 1024 * 1024 * 1024;

/** A size like 128M, 1G, 4096K, 512 (MiB, as QEMU's -m), in bytes. */
export function parseSize(v: string): number {
  const m = /^(\d+)([KMG]i?B?)?$/i.exec(v.trim());
  if (!m) throw new UsageError(`--mem: '${v}' is not a size (e.g. 128M, 1G)`);
  const unit = (m[2] ?? 'M')[0].toUpperCase();
  const n = Number(m[1]) * (unit === 'K' ? 1024 : unit === 'M' ? 1024 ** 2 : 1024 ** 3);
  if (n < 4096 || n > MAX_MEM) throw new UsageError(`--mem: ${v} is out of range (4K..2G)`);
  if (n % 4096 !== 0) throw new UsageError(`--mem: ${v} is not a multiple of 4K`);
  return n;
}

/** A decimal count for `flag` within [min, max]; a UsageError naming the flag otherwise. */
export function parseCount(flag: string, v: string, min: number, max: number): number {
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag}: '${v}' is not a number`);
  const n = Number(v);
  if (n < min || n > max) throw new UsageError(`${flag}: ${v} is out of range (${min}..${max})`);
  return n;
}

const ALIASES: Record<string, string> = {
  '-kernel': '--kernel', '-bios': '--bios', '-m': '--mem', '-smp': '--smp', '--m': '--mem', '-nographic': '--nographic',
};

export function parseMachineArgs(argv: readonly string[]): MachineArgs {
  const a: MachineArgs = { bios: 'none', memBytes: 128 * 1024 * 1024, smp: 1, maxInsns: Infinity, clock: 'realtime', stats: false };
  for (let i = 0; i < argv.length; i++) {
    let flag = argv[i];
    let value: string | undefined;
    const eq = flag.indexOf('=');
    if (flag.startsWith('-') && eq > 0) { value = flag.slice(eq + 1); flag = flag.slice(0, eq); }
    flag = ALIASES[flag] ?? flag;
    const need = (): string => {
      if (value !== undefined) return value;
      const v = argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--kernel': a.kernel = need(); break;
      case '--bios': a.bios = need(); break;
      case '--mem': a.memBytes = parseSize(need()); break;
      case '--smp': {
        // QEMU also allows -smp cpus=N or N,sockets=...: take the hart count.
        const v = need(), m = /^(?:cpus=)?(\d+)(?:,.*)?$/.exec(v);
        a.smp = parseCount('--smp', m ? m[1] : v, 1, 64);
        break;
      }
      case '--max-insns': a.maxInsns = parseCount('--max-insns', need(), 1, Number.MAX_SAFE_INTEGER); break;
      case '--clock': {
        const v = need();
        if (v !== 'realtime' && v !== 'deterministic') throw new UsageError(`--clock: '${v}' is not realtime or deterministic`);
        a.clock = v;
        break;
      }
      case '--stats': a.stats = true; break;
      case '--nographic': break;
      default:
        throw new UsageError(flag.startsWith('-') ? `unknown option '${flag}'` : `unexpected argument '${flag}'`);
    }
  }
  if (a.kernel === undefined && a.bios === 'none') throw new UsageError('no --kernel given (and --bios none)');
  return a;
}
