// SPDX-License-Identifier: GPL-2.0-only
// Shared by the tests/e2e/linux-*.e2e.test.ts files: Debian's kernel and the busybox initramfs
// (the asset builder's) booted on the virt board through the product's runner (VirtMachine +
// driveMachines, as `tsxen machine` and `tsxen demo` use them), with a serial console the
// test types into. `Guest.sh()` types a command, waits for its exit status marker and the next
// prompt, and returns what the command printed.
import { EthernetSwitch } from '../../src/hardware/net/switch.ts';
import { ensureGuestAssets, type GuestAssets } from '../../src/host/assets/index.ts';
import type { BlockFile } from '../../src/host/block-file.ts';
import { driveMachines, readBootFile, VirtMachine, type VirtMachineConfig } from '../../src/host/virt-runner.ts';

/**
 * The tests' kernel command line: the product default (console=ttyS0) plus
 * cryptomgr.notests, which skips the kernel's crypto self-tests (0.6 G instead of 1.0 G
 * instructions to the prompt) to keep the e2e files' runtime down.
 */
export const TEST_APPEND = 'console=ttyS0 cryptomgr.notests';

export async function assets(): Promise<GuestAssets> {
  return ensureGuestAssets({ progress: null });
}

export interface GuestOptions {
  smp: number;
  append?: string;
  disks?: BlockFile[];
  sw?: EthernetSwitch;
  mac?: Uint8Array;
  rng?: boolean;
  clock?: VirtMachineConfig['clock'];
  memBytes?: number;
  /** Worker threads for the harts (VirtMachineConfig.pcpus); absent = the main thread. */
  pcpus?: number;
}

export class Guest {
  out = '';
  readonly machine: VirtMachine;
  constructor(a: GuestAssets, o: GuestOptions) {
    this.machine = new VirtMachine({
      smp: o.smp, memBytes: o.memBytes ?? 256 << 20,
      kernel: readBootFile('kernel', a.kernel), initrd: readBootFile('initrd', a.initrd),
      append: o.append ?? TEST_APPEND,
      drives: (o.disks ?? []).map((backend) => ({ backend })),
      nics: o.sw ? [{ mac: o.mac ?? new Uint8Array([0x52, 0x54, 0, 0x12, 0x34, 0x56]), switch: o.sw }] : [],
      rng: o.rng ?? false, clock: o.clock ?? 'realtime', pcpus: o.pcpus,
      output: (b) => { this.out += String.fromCharCode(b); },
    });
  }

  tail(n = 3000): string {
    return `\n--- console tail (${this.machine.instructions} instructions, ${this.machine.reboots} reboots) ---\n${this.out.slice(-n)}`;
  }
}

/**
 * Drive `guests` (all of them, interleaved, as one process runs machines on one switch) until
 * `re` matches guest `g`'s output after `from`, or `ms` of wall time pass (then throws with the
 * console tail).
 */
export async function waitFor(guests: readonly Guest[], g: Guest, re: RegExp, from: number, ms: number): Promise<RegExpExecArray> {
  const t0 = performance.now();
  let m: RegExpExecArray | null = null;
  await driveMachines(guests.map((x) => x.machine), {
    until: () => (m = re.exec(g.out.slice(from))) !== null || performance.now() - t0 > ms || g.machine.stopped !== null,
  });
  m ??= re.exec(g.out.slice(from));
  if (!m) {
    const why = g.machine.stopped ? `the machine stopped (${JSON.stringify(g.machine.stopped)})` : `${ms} ms passed`;
    throw new Error(`no ${re} in the console: ${why}${g.tail()}`);
  }
  return m;
}

export const PROMPT = /tsxen:[^\n]*# /;

let seq = 0;
/**
 * Type `cmd` into guest `g`'s shell; resolves to its output (the text between the echoed
 * command line and the status marker) and exit status once the marker and the next prompt show.
 */
export async function sh(guests: readonly Guest[], g: Guest, cmd: string, ms = 120_000): Promise<{ out: string; status: number }> {
  const tag = `TSXEN-RC${++seq}`;
  const from = g.out.length;
  g.machine.sendInput(`${cmd}; echo ${tag}=$?\n`);
  const re = new RegExp(`\\n${tag}=(\\d+)\\r?\\n[\\s\\S]*?tsxen:[^\\n]*# `);
  const m = await waitFor(guests, g, re, from, ms);
  const text = g.out.slice(from);
  // The shell echoes the typed line (wrapped at the terminal width): the output starts after
  // the line that ends the echo, whose last characters are the literal "=$?".
  const echoEnd = text.lastIndexOf('=$?', m.index);
  const start = text.indexOf('\n', echoEnd);
  const body = text.slice(start + 1, m.index).replace(/\r/g, '');
  return { out: body, status: Number(m[1]) };
}

/** Drive until guest `g`'s machine stops (poweroff, reset with noReboot, crash); throws after `ms`. */
export async function waitStopped(guests: readonly Guest[], g: Guest, ms: number): Promise<void> {
  const t0 = performance.now();
  await driveMachines(guests.map((x) => x.machine), { until: () => g.machine.stopped !== null || performance.now() - t0 > ms });
  if (!g.machine.stopped) throw new Error(`the machine did not stop within ${ms} ms${g.tail()}`);
}

/** Drive without input until guest `g`'s paced clock has caught up with the host's (or `ms` pass). */
export async function settle(guests: readonly Guest[], g: Guest, ms: number): Promise<void> {
  const t0 = performance.now();
  await driveMachines(guests.map((x) => x.machine), { until: () => g.machine.lagMs() < 200 || performance.now() - t0 > ms });
}
