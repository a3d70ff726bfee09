// SPDX-License-Identifier: GPL-2.0-only
// `tsxen machine`: the bare board (src/hardware/boards/bare.ts) driven from a terminal. Harts
// run round-robin in slices; when every hart waits in WFI the runner sleeps until the next
// timer deadline or console input; the console is stdin/stdout (raw mode on a TTY; Ctrl-] or
// Ctrl-A x quits, Ctrl-A Ctrl-A sends Ctrl-A). A reset request (0x7777) reboots the board.
// `tsxen demo`: minimark from the team's cpu-bench recipe on the bare board, with its MIPS.
import { readFileSync } from 'node:fs';
import { setImmediate as yieldNow, setTimeout as sleep } from 'node:timers/promises';
import { BareBoard, TIMEBASE_HZ, type BootImages, type StopReason } from '../hardware/boards/bare.ts';
import { LoadError } from '../hardware/loader/elf.ts';
import { MACHINE_USAGE, UsageError, parseMachineArgs, type MachineArgs } from './machine-args.ts';
import { buildMinimarkBare } from './machine-build.ts';

/** Instructions per hart per round. */
const SLICE = 200_000;
/** Wall time between looks at the event loop (console input, output flush). */
const YIELD_MS = 16;

function readImage(what: string, path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code ?? String(e);
    throw new UsageError(`cannot read ${what} '${path}': ${code}`);
  }
}

/** Buffered console output (one write per yield, not per byte). */
class ConsoleOut {
  private buf = new Uint8Array(8192);
  private n = 0;
  constructor(private readonly write: (b: Uint8Array) => void) {}
  put(byte: number): void {
    if (this.n === this.buf.length) this.flush();
    this.buf[this.n++] = byte;
  }
  flush(): void {
    if (this.n === 0) return;
    this.write(this.buf.slice(0, this.n));
    this.n = 0;
  }
}

/** Console input: escape handling (Ctrl-], Ctrl-A x) and a queue the UART drains as it has room. */
export class ConsoleIn {
  readonly queue: number[] = [];
  quit = false;
  private ctrlA = false;
  private wake: (() => void) | null = null;
  feedHost(chunk: Uint8Array): void {
    for (const b of chunk) {
      if (this.ctrlA) {
        this.ctrlA = false;
        if (b === 0x78 /* x */) { this.quit = true; break; }
        if (b === 0x01) { this.queue.push(0x01); continue; }
      }
      if (b === 0x1d) { this.quit = true; break; }
      if (b === 0x01) { this.ctrlA = true; continue; }
      this.queue.push(b);
    }
    this.wake?.();
  }
  /** A promise that settles at the next input (or quit). */
  waitInput(): Promise<void> {
    return new Promise((res) => { this.wake = () => { this.wake = null; res(); }; });
  }
}

function exitStatus(stop: StopReason, maxInsns: number): { code: number; message?: string } {
  switch (stop.kind) {
    case 'pass': return { code: 0 };
    // The OS keeps only the low 8 bits of an exit status: a fail code that is a multiple of
    // 256 would read as success, so it becomes 1 (with the real code on stderr).
    case 'fail': return stop.code % 256 !== 0 ? { code: stop.code } : { code: 1, message: `guest failed with code ${stop.code}` };
    case 'limit': return { code: 1, message: `stopped after ${maxInsns} instructions (--max-insns)` };
    case 'idle': return { code: 1, message: 'every hart waits in WFI with nothing to wake it' };
    case 'reset': return { code: 0 };
  }
}

async function run(args: MachineArgs, images: BootImages): Promise<number> {
  const out = new ConsoleOut((b) => process.stdout.write(b));
  const input = new ConsoleIn();
  const stdin = process.stdin;
  const tty = stdin.isTTY === true;
  const onData = (d: Buffer): void => input.feedHost(d);
  stdin.on('data', onData);
  stdin.on('end', () => { /* no more input: the guest keeps running */ });
  if (tty) stdin.setRawMode(true);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let board: BareBoard | null = null;
  /** Instructions of boards already reset (the current board counts its own). */
  let insns = 0;
  try {
    for (;;) {
      if (board) insns += board.instructions;
      board = new BareBoard({ ramSize: args.memBytes, hartCount: args.smp, clock: args.clock, onTransmit: (b) => out.put(b) });
      board.load(images);
      let stop: StopReason | null = null;
      while (stop === null) {
        const until = performance.now() + YIELD_MS;
        do {
          while (input.queue.length > 0 && board.uart.rxFree() > 0) board.uart.receive(input.queue.shift()!);
          const left = args.maxInsns - (insns + board.instructions);
          if (left <= 0) { stop = { kind: 'limit' }; break; }
          board.runRound(Math.min(SLICE, left));
          if (board.stopped) { stop = board.stopped; break; }
          if (board.idle && !board.wakeable()) break;
        } while (performance.now() < until);
        out.flush();
        if (input.quit) return 0;
        if (stop) break;
        if (board.idle && !board.wakeable()) {
          if (args.clock === 'deterministic') {
            if (!board.skipToDeadline() && input.queue.length === 0) await Promise.race([input.waitInput(), sleep(100)]);
          } else {
            const ticks = board.nextDeadline() - board.now();
            const ms = Math.max(0, Math.min(50, ticks / (TIMEBASE_HZ / 1000)));
            await Promise.race([input.waitInput(), sleep(ms)]);
          }
        } else {
          await yieldNow();
        }
      }
      if (stop.kind !== 'reset') {
        const { code, message } = exitStatus(stop, args.maxInsns);
        if (message) process.stderr.write(`tsxen machine: ${message}\n`);
        return code;
      }
    }
  } finally {
    out.flush();
    if (tty) stdin.setRawMode(false);
    stdin.off('data', onData);
    stdin.pause();
    if (args.stats) {
      const total = insns + (board?.instructions ?? 0);
      const s = (performance.now() - t0) / 1000;
      const c = process.cpuUsage(cpu0), cs = (c.user + c.system) / 1e6;
      process.stderr.write(`tsxen machine: ${total} instructions in ${s.toFixed(2)} s = ${(total / s / 1e6).toFixed(1)} MIPS` +
        ` (${cs.toFixed(2)} s CPU = ${(total / cs / 1e6).toFixed(1)} MIPS per CPU second)\n`);
    }
  }
}

/** `tsxen machine ...`: returns the exit status. */
export async function machineCommand(argvIn: readonly string[]): Promise<number> {
  // Linux Images and virt flags (-initrd, -append, -drive, ...) go to the virt board
  // (src/host/virt-cli.ts); ELF programs (bare metal, ISA tests) and -machine bare stay here.
  const virt = await import('./virt-cli.ts');
  if (argvIn.includes('--help') || argvIn.includes('-h')) { process.stdout.write(virt.VIRT_USAGE_ALL + '\n\n' + MACHINE_USAGE + '\n'); return 0; }
  if (virt.machineBoard(argvIn) === 'virt') return virt.virtMachineCommand(argvIn);
  const argv = virt.withoutMachineFlag(argvIn);
  try {
    const args = parseMachineArgs(argv);
    const images: BootImages = {
      kernel: args.kernel !== undefined ? readImage('kernel', args.kernel) : undefined,
      bios: args.bios !== 'none' ? readImage('firmware', args.bios) : undefined,
      kernelName: `kernel '${args.kernel}'`,
      biosName: `firmware '${args.bios}'`,
    };
    // Load once up front so a bad image fails before the console is touched.
    new BareBoard({ ramSize: args.memBytes, hartCount: args.smp, onTransmit: () => {} }).load(images);
    return await run(args, images);
  } catch (e) {
    if (e instanceof UsageError) { process.stderr.write(`tsxen machine: ${e.message}\n`); return 1; }
    if (e instanceof LoadError) { process.stderr.write(`tsxen machine: ${e.message}\n`); return 1; }
    throw e;
  }
}

/** `tsxen demo`: minimark (cpu-bench recipe, bare-metal build) on the bare board. */
export async function demoCommand(argv: readonly string[]): Promise<number> {
  const iters = argv[0] !== undefined && /^\d+$/.test(argv[0]) ? Number(argv[0]) : 1000;
  let elf: string;
  try {
    elf = buildMinimarkBare(iters);
  } catch (e) {
    process.stderr.write(`tsxen demo: ${e instanceof Error ? e.message.split('\n')[0] : String(e)}\n`);
    return 1;
  }
  process.stdout.write(`tsxen demo: minimark (bare-metal, ${iters} iterations) on the bare board\n`);
  const board = new BareBoard({ ramSize: 128 * 1024 * 1024, onTransmit: (b) => process.stdout.write(String.fromCharCode(b)) });
  board.load({ kernel: readFileSync(elf) });
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const stop = board.run();
  const s = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(cpu0), cs = (c.user + c.system) / 1e6;
  const slot = board.elf?.symbol('result_slot');
  if (stop.kind !== 'pass' || slot === undefined) {
    process.stderr.write(`tsxen demo: minimark did not finish (${stop.kind})\n`);
    return 1;
  }
  const result = board.readU64(slot).toString(16).padStart(16, '0');
  process.stdout.write(`minimark iters=${iters} result=${result}\n`);
  const n = board.instructions;
  process.stdout.write(`${n} instructions in ${s.toFixed(2)} s = ${(n / s / 1e6).toFixed(1)} MIPS` +
    ` (${(n / cs / 1e6).toFixed(1)} MIPS per CPU second; QEMU comparison: npm run bench)\n`);
  return 0;
}
