// SPDX-License-Identifier: GPL-2.0-only
// `tsxen machine` as a user runs it (a child process on the TypeScript sources): exit status
// from the test device and HTIF, QEMU's flag spellings, console input from a pipe and from a
// terminal, and a one-line error with exit 1 for every kind of bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILD, ROOT, crossBuild } from './machine-build.ts';

const CONF = join(ROOT, 'tests/conformance');
const LD = ['-march=rv64gc', '-mabi=lp64d', '-nostdlib', '-static', '-Wl,--build-id=none', '-T', join(CONF, 'common/htif.ld')];
const asm = (name: string, src: string, defs: string[] = []) =>
  crossBuild(`machine/${name}.elf`, [join(CONF, src)], [...LD, ...defs], [join(CONF, 'common/htif.ld')]);

function tsxen(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/tsxen-main.ts'), 'machine', ...args],
    { cwd: ROOT, encoding: 'utf8', input: input ?? '', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function oneLineError(r: { status: number | null; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr.split('\n').filter(Boolean).length, 1, `one line: ${r.stderr}`);
  assert.match(r.stderr.trimEnd(), re);
}

test('exit status: 0 on pass, the fail code from the test device, 0 after poweroff', () => {
  const pass = tsxen(['--kernel', asm('pass', 'finisher.S', ['-DFINISHER_VALUE=0x5555'])]);
  assert.equal(pass.status, 0);
  assert.equal(pass.stdout, 'finisher\n');
  const fail = tsxen(['--kernel', asm('fail42', 'finisher.S', [`-DFINISHER_VALUE=${(42 << 16) | 0x3333}`])]);
  assert.equal(fail.status, 42);
  assert.equal(fail.stdout, 'finisher\n');
});

test('HTIF tohost exit code becomes the exit status', () => {
  const r = tsxen(['--kernel', asm('htif-9', 'htif.S', ['-DEXIT_CODE=9'])]);
  assert.equal(r.status, 9);
  assert.equal(r.stdout, 'htif console ok\n');
});

test("QEMU spellings (-kernel, -m, -smp, -nographic) and --flag=value work", () => {
  const k = asm('pass', 'finisher.S', ['-DFINISHER_VALUE=0x5555']);
  assert.equal(tsxen(['-nographic', '-m', '64', '-smp', '2', '-kernel', k]).status, 0);
  assert.equal(tsxen([`--kernel=${k}`, '--mem=32M', '--smp=cpus=1', '--bios=none']).status, 0);
});

test('console input reaches the UART receiver in order (piped stdin)', () => {
  const r = tsxen(['--kernel', asm('echo', 'echo.S')], 'hello q');
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'ready\n<h><e><l><l><o>< >');
});

test('--max-insns stops a runaway guest with exit 1', () => {
  const spin = join(BUILD, 'machine', 'spin.bin');
  mkdirSync(join(BUILD, 'machine'), { recursive: true });
  writeFileSync(spin, new Uint8Array(new Uint32Array([0x0000006f]).buffer)); // j .
  // a raw image that is not a Linux Image needs -machine bare (non-ELF kernels go to the virt board)
  oneLineError(tsxen(['-machine', 'bare', '--kernel', spin, '--max-insns', '100000']), /^tsxen machine: stopped after 100000 instructions \(--max-insns\)$/);
});

test('bad input: one line naming the problem, exit 1', () => {
  const k = asm('pass', 'finisher.S', ['-DFINISHER_VALUE=0x5555']);
  oneLineError(tsxen(['--kernel', k, '--mem', '12X']), /--mem: '12X' is not a size/);
  oneLineError(tsxen(['--kernel', k, '--smp', '0']), /--smp: 0 is out of range \(1\.\.64\)/);
  oneLineError(tsxen(['--kernel', k, '--frobnicate']), /unknown option '--frobnicate'/);
  oneLineError(tsxen(['--mem', '64M']), /no --kernel given/);
  oneLineError(tsxen(['--kernel']), /--kernel needs a value/);
  oneLineError(tsxen(['--kernel', join(BUILD, 'does-not-exist.elf')]), /cannot read kernel '.*does-not-exist\.elf': (ENOENT|no such file)/);
  const trunc = join(BUILD, 'machine', 'truncated.elf');
  writeFileSync(trunc, readFileSync(k).subarray(0, 100));
  oneLineError(tsxen(['--kernel', trunc]), /kernel '.*truncated\.elf': truncated ELF: program headers end at \d+, file has 100 bytes/);
  oneLineError(tsxen(['--kernel', process.execPath]), /kernel '.*': ELF machine \d+ \(.*\), expected 243 \(RISC-V\)/);
  oneLineError(tsxen(['--kernel', k, '--mem', '4K']), /kernel '.*': segment at 0x8000[0-9a-f]+-0x[0-9a-f]+ lies outside RAM \[0x80000000-0x80001000\)/);
  oneLineError(tsxen(['--bios', join(BUILD, 'nope.bin')]), /cannot read firmware '.*nope\.bin': (ENOENT|no such file)/);
});

test('a fail code that is a multiple of 256 still exits non-zero', () => {
  const r = tsxen(['--kernel', asm('fail256', 'finisher.S', [`-DFINISHER_VALUE=${((256 << 16) | 0x3333) >>> 0}`])]);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /guest failed with code 256/);
});

test('on a terminal: raw mode (no local echo), keys reach the guest, Ctrl-] quits with 0', async () => {
  // util-linux `script` gives the runner a pseudo-terminal; keys are typed once the guest is up.
  const { spawn } = await import('node:child_process');
  const k = asm('echo', 'echo.S');
  const cmd = `${process.execPath} --import tsx ${join(ROOT, 'src/host/tsxen-main.ts')} machine --kernel ${k}`;
  const child = spawn('script', ['-qec', cmd, '/dev/null'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let out = '';
  let typed = false;
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString('latin1');
    if (!typed && out.includes('ready')) { typed = true; child.stdin.write('xy'); }
    if (out.includes('<y>')) child.stdin.write('\x1d');
  });
  const status = await new Promise<number | null>((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('exit', (code) => { clearTimeout(kill); resolve(code); });
  });
  assert.equal(status, 0);
  assert.equal(out.replace(/\r/g, ''), 'ready\n<x><y>', 'only the guest echoes: the terminal is raw');
});
