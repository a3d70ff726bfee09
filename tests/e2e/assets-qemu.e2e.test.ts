// SPDX-License-Identifier: GPL-2.0-only
// End to end: the asset builder's outputs (checked, reproducible) boot on Debian's
// qemu-system-riscv64 -machine virt (bundled OpenSBI) before our own board runs them: the
// benchmark path (tsxen.init=poweroff) and the default job-control shell with virtio devices.
// `-accel tcg,thread=single`: on this shared 2-core host at load 10-15, multi-threaded TCG
// stalled -smp 2 boots for minutes (docs/design/guest-assets.md); round-robin did not.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { buildFromExtracted, extractDeb } from '../../src/host/assets/build.ts';
import type { Manifest } from '../../src/host/assets/cache.ts';
import { ensureGuestAssets, findRepoRoot, type GuestAssets } from '../../src/host/assets/index.ts';

const BOOT_TIMEOUT_MS = 180_000;

let assets: GuestAssets | undefined;
async function getAssets(): Promise<GuestAssets> {
  assets ??= await ensureGuestAssets({ progress: process.stderr });
  return assets;
}

/** A QEMU process with its serial console collected, and a way to wait for output. */
class Qemu {
  readonly proc: ChildProcessWithoutNullStreams;
  out = '';
  readonly t0 = performance.now();
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;

  constructor(a: GuestAssets, append: string, extra: string[] = []) {
    this.proc = spawn('qemu-system-riscv64', [
      '-machine', 'virt', '-accel', 'tcg,thread=single', '-nographic', '-m', '512M', '-smp', '2', '-no-reboot',
      '-kernel', a.kernel, '-initrd', a.initrd, '-append', append, ...extra,
    ]);
    const onData = (b: Buffer): void => { this.out += b.toString('latin1'); for (const w of this.waiters) w(); };
    this.proc.stdout.on('data', onData);
    this.proc.stderr.on('data', onData);
    this.exited = new Promise((resolve) => this.proc.on('exit', (code) => { for (const w of this.waiters) w(); resolve(code); }));
  }

  /** Resolves with the match once `re` matches output after `from`; rejects on timeout or exit. */
  waitFor(re: RegExp, from = 0, timeoutMs = BOOT_TIMEOUT_MS): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => { done(); reject(new Error(`timeout waiting for ${re}; output tail:\n${this.out.slice(-2000)}`)); }, timeoutMs);
      const check = (): void => {
        // busybox's line editor asks for the cursor position (CSI 6n) after its prompt: ignore
        // terminal control sequences when matching.
        const m = re.exec(this.out.slice(from).replace(/\x1b\[[0-9;?]*[A-Za-z]/g, ''));
        if (m) { done(); resolve(m); } else if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
          done(); reject(new Error(`QEMU exited waiting for ${re}; output tail:\n${this.out.slice(-2000)}`));
        }
      };
      const done = (): void => { clearTimeout(timer); this.waiters = this.waiters.filter((w) => w !== check); };
      this.waiters.push(check);
      check();
    });
  }

  /** Types a command line and returns the output offset where its response starts. */
  type(line: string): number {
    const at = this.out.length;
    this.proc.stdin.write(`${line}\n`);
    return at;
  }

  /** QEMU's exit status, or 'timeout' (the timer is cleared so the test process can end). */
  async exit(timeoutMs: number): Promise<number | null | 'timeout'> {
    let timer: NodeJS.Timeout | undefined;
    const t = new Promise<'timeout'>((r) => { timer = setTimeout(() => r('timeout'), timeoutMs); });
    try {
      return await Promise.race([this.exited, t]);
    } finally {
      clearTimeout(timer);
    }
  }

  kill(): void {
    if (this.proc.exitCode === null && this.proc.signalCode === null) this.proc.kill('SIGKILL');
  }
}

test('the builder returns a RISC-V Image and an initramfs; a second call is served from the cache at once', async () => {
  const a = await getAssets();
  const img = readFileSync(a.kernel);
  assert.equal(img.subarray(0x38, 0x3c).toString('latin1'), 'RSC\x05');
  assert.match(a.version, /^\d+\.\d+\.\d+.*-riscv64$/);
  assert.ok(img.includes(`Linux version ${a.version} `), 'kernel banner names the version');
  for (const m of ['virtio_mmio', 'virtio_blk', 'virtio_net', 'virtio_rng']) assert.ok(a.modules.includes(m), m);

  const t0 = performance.now();
  const again = await ensureGuestAssets({ progress: null });
  const ms = performance.now() - t0;
  assert.equal(again.source, 'cache');
  assert.deepEqual([again.kernel, again.initrd, again.version], [a.kernel, a.initrd, a.version]);
  assert.ok(ms < 1000, `cached call took ${ms.toFixed(0)} ms`);

  const list = spawnSync('cpio', ['-itv', '--quiet'], { input: gunzipSync(readFileSync(a.initrd)), encoding: 'latin1' });
  assert.equal(list.status, 0, list.stderr);
  assert.match(list.stdout, /^-rwxr-xr-x .* init$/m);
  assert.match(list.stdout, /^-rwxr-xr-x .* bin\/busybox$/m);
  assert.match(list.stdout, /^lrwxrwxrwx .* bin\/sh -> busybox$/m);
  assert.match(list.stdout, /^crw------- .* 5, +1 .* dev\/console$/m);
  assert.match(list.stdout, new RegExp(`lib/modules/${a.version.replace(/[+.]/g, '\\$&')}/kernel/drivers/block/virtio_blk\\.ko$`, 'm'));
  assert.doesNotMatch(list.stdout, /\.ko\.(xz|zst|gz)$/m, 'modules are stored decompressed');

  // The command users run prints the same paths.
  const cli = spawnSync(join(findRepoRoot(), 'bin', 'tsxen'), ['assets', '--print'], { encoding: 'utf8' });
  assert.equal(cli.status, 0, cli.stderr);
  assert.equal(cli.stdout, `${a.kernel}\n${a.initrd}\n`);
});

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

test('the build is reproducible: the cached packages give byte-identical kernel and initramfs again', async () => {
  const a = await getAssets();
  const m = JSON.parse(readFileSync(a.manifest!, 'utf8')) as Manifest;
  assert.equal(sha256(readFileSync(a.kernel)), m.kernel.sha256);
  assert.equal(sha256(readFileSync(a.initrd)), m.initrd.sha256);
  const debs = Object.values(m.packages).map((p) => p.file).filter((f): f is string => !!f);
  assert.equal(debs.length, 2);
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-repro-'));
  try {
    const [kdeb, bdeb] = debs.sort((x, y) => Number(x.includes('busybox')) - Number(y.includes('busybox'))) as [string, string];
    await Promise.all([extractDeb(kdeb, join(dir, 'k')), extractDeb(bdeb, join(dir, 'b'))]);
    const b = await buildFromExtracted({ kernelRoot: join(dir, 'k'), busyboxRoot: join(dir, 'b'), templateDir: join(findRepoRoot(), 'guests', 'debian'), onDemand: m.onDemand });
    assert.equal(sha256(b.initrd), m.initrd.sha256);
    assert.equal(sha256(readFileSync(b.kernelSrc)), m.kernel.sha256);
    assert.deepEqual(b.modules.map((x) => [x.name, x.sha256]), m.modules.map((x) => [x.name, x.sha256]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('QEMU boots it with tsxen.init=poweroff: modules load, TSXEN-BOOT-OK, QEMU exits', async (t) => {
  const a = await getAssets();
  const q = new Qemu(a, 'console=ttyS0 tsxen.init=poweroff');
  try {
    await q.waitFor(/TSXEN-BOOT-OK/);
    const tMarker = (performance.now() - q.t0) / 1000;
    const code = await q.exit(30_000);
    assert.equal(code, 0, `QEMU exit: ${String(code)}\n${q.out.slice(-1500)}`);
    const tExit = (performance.now() - q.t0) / 1000;
    t.diagnostic(`qemu-system-riscv64 -smp 2 (round-robin TCG): TSXEN-BOOT-OK after ${tMarker.toFixed(2)} s, exit after ${tExit.toFixed(2)} s`);

    const loaded = /TSXEN-MODULES: (.*)/.exec(q.out)![1]!.trim().split(/\s+/);
    assert.deepEqual([...loaded].sort(), [...a.modules].sort(), 'every module of the initramfs is loaded');
    const drivers = /TSXEN-VIRTIO-DRIVERS: (.*)/.exec(q.out)![1]!.trim().split(/\s+/);
    for (const d of ['virtio_blk', 'virtio_net', 'virtio_rng', 'virtio_console']) assert.ok(drivers.includes(d), `${d} registered`);
    assert.doesNotMatch(q.out, /insmod .* failed|Unknown symbol|Kernel panic/);
    assert.match(q.out, new RegExp(`Linux version ${a.version.replace(/[+.]/g, '\\$&')} `));
    assert.match(q.out, /TSXEN-POWEROFF/);
  } finally {
    q.kill();
  }
});

test('by default it starts a job-control shell on the console: uname -r, 2 harts, virtio devices work, poweroff', async () => {
  const a = await getAssets();
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-e2e-'));
  const disk = join(dir, 'disk.img');
  writeFileSync(disk, new Uint8Array(8 << 20));
  const q = new Qemu(a, 'console=ttyS0', [
    '-drive', `file=${disk},format=raw,if=none,id=hd0`, '-device', 'virtio-blk-device,drive=hd0',
    '-netdev', 'user,id=n0', '-device', 'virtio-net-device,netdev=n0',
    '-device', 'virtio-rng-device',
  ]);
  const prompt = /tsxen:[^\n#]*# $/;
  const cmd = async (line: string, expect: RegExp): Promise<RegExpExecArray> => {
    const at = q.type(line);
    const m = await q.waitFor(expect, at, 60_000);
    await q.waitFor(prompt, at, 60_000);
    return m;
  };
  try {
    await q.waitFor(/TSXEN-BOOT-OK/);
    await q.waitFor(prompt);
    await cmd('uname -r', new RegExp(`\\n${a.version.replace(/[+.]/g, '\\$&')}\\r?\\n`));
    const cpu = await cmd('cat /proc/cpuinfo', /processor\s*: 0[\s\S]*processor\s*: 1[\s\S]*tsxen:/);
    assert.doesNotMatch(cpu[0], /processor\s*: 2/);
    assert.match(cpu[0], /isa\s*: rv64imafdc/);
    assert.match(cpu[0], /hart\s*: 1/);
    // Job control: the shell owns the real serial tty (cttyhack), so background jobs are tracked.
    await cmd('tty', /\/dev\/ttyS0\r?\n/);
    await cmd('set -o', /monitor +on/);
    await cmd('sleep 30 &', /sleep 30 &\r?\n/);
    await cmd('jobs', /\[1\]\+ +Running +sleep 30/);
    // The modules drive QEMU's virtio-mmio devices: a disk (FAT loaded on demand by the
    // kernel through busybox modprobe and our modules.alias), a NIC, an entropy source.
    await cmd('cat /sys/block/vda/size', /\n16384\r?\n/);
    await cmd('mkdosfs /dev/vda >/dev/null && mkdir -p /mnt && mount -t vfat /dev/vda /mnt && echo tsxen-disk-ok > /mnt/hello.txt && umount /mnt && echo DISK-DONE',
      /\nDISK-DONE\r?\n/);
    await cmd('lsmod | grep -c "^vfat "', /\n1\r?\n/);
    await cmd('cat /sys/class/misc/hw_random/rng_current; dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1 | tr -d " " | wc -c',
      /\nvirtio_rng\.0\r?\n33\r?\n/);
    await cmd('ip addr add 10.0.2.15/24 dev eth0 && ip link set eth0 up && ping -c 1 -W 5 10.0.2.2 | grep -c "bytes from"', /\n1\r?\n/);
    // The kernel set the clock from the goldfish RTC (RTC_HCTOSYS): the host's date.
    const when = await cmd('date -u +%s', /\n(\d{9,})\r?\n/);
    assert.ok(Math.abs(Number(when[1]) - Date.now() / 1000) < 300, `guest clock ${when[1]} vs host ${Math.round(Date.now() / 1000)}`);
    // poweroff (without -f) goes through busybox init's shutdown actions.
    q.type('poweroff');
    await q.waitFor(/TSXEN-POWEROFF/, 0, 30_000);
    const code = await q.exit(30_000);
    assert.equal(code, 0, `QEMU exit: ${String(code)}\n${q.out.slice(-1500)}`);
    assert.ok(readFileSync(disk).includes('tsxen-disk-ok\n'), 'the file reached the disk image');
  } finally {
    q.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
