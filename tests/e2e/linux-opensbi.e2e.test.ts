// SPDX-License-Identifier: GPL-2.0-only
// End to end through the command a user types: `bin/tsxen machine -bios <QEMU's OpenSBI>
// -kernel <Debian's kernel> -initrd <busybox initramfs> -append ... -smp 2`, the same flags
// as `qemu-system-riscv64 -machine virt`. Unmodified M-mode firmware (Debian's
// qemu-system-data OpenSBI, fw_dynamic) boots on our harts' M-mode, starts the kernel in
// S-mode, Linux brings up both harts through OpenSBI's HSM and /init starts the busybox shell.
// Stdin is a pipe written at once, before the guest is up, as a script would: the runner holds
// the bytes until the guest's 8250 driver listens, the shell runs `uname -r` and `poweroff`,
// busybox init powers off through the syscon device, and the command exits with status 0.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { assets, TEST_APPEND } from './linux-harness.ts';

const ROOT = join(import.meta.dirname, '..', '..');
const OPENSBI = '/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin';

function run(args: string[], input: string, timeoutMs: number): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((res) => {
    const p = spawn(process.execPath, [join(ROOT, 'bin', 'tsxen'), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    p.stdin.end(input);
    let out = '', err = '';
    p.stdout.on('data', (d: Buffer) => { out += d.toString('latin1'); });
    p.stderr.on('data', (d: Buffer) => { err += d.toString(); });
    const t = setTimeout(() => p.kill('SIGTERM'), timeoutMs);
    p.on('close', (code) => { clearTimeout(t); res({ code, out, err }); });
  });
}

test('tsxen machine -bios OpenSBI: Debian Linux boots on our M-mode with 2 harts to the shell; piped uname -r and poweroff (exit 0)', { timeout: 1_200_000 }, async () => {
  assert.ok(existsSync(OPENSBI), `${OPENSBI} (Debian's qemu-system-data) is needed`);
  const a = await assets();
  const r = await run(['machine', '-machine', 'virt', '-bios', OPENSBI, '-kernel', a.kernel, '-initrd', a.initrd,
    '-append', TEST_APPEND, '-smp', '2', '-m', '256M', '-nographic', '--stats'], 'echo TSXEN-PIPE-$(uname -r)\npoweroff\n', 1_100_000);
  const tail = `\n--- stderr ---\n${r.err}\n--- console tail ---\n${r.out.slice(-3000)}`;
  assert.match(r.out, /OpenSBI v\d+\.\d+/, tail);
  assert.match(r.out, /Platform Name\s+: riscv-virtio,tsxen/, tail);
  assert.match(r.out, /Platform HART Count\s+: 2/, tail);
  assert.match(r.out, /SBI specification v\d+\.\d+ detected/, tail);
  assert.match(r.out, /smp: Brought up 1 node, 2 CPUs/, tail);
  assert.match(r.out, /TSXEN-BOOT-OK/, tail);
  assert.ok(r.out.includes(`\nTSXEN-PIPE-${a.version}`), `uname -r ran in the guest${tail}`);
  assert.match(r.out, /TSXEN-POWEROFF/, tail);
  assert.equal(r.code, 0, tail);
  assert.match(r.err, /tsxen machine: \d+ instructions in/, tail);
});
