// SPDX-License-Identifier: GPL-2.0-only
// ensureGuestAssets without the network: the TSXEN_KERNEL / TSXEN_INITRD overrides, their
// one-line errors, the missing-mirror error, and the step display. (Building from Debian's
// archive is covered by tests/e2e/assets-qemu.e2e.test.ts.)
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AssetCache, RECIPE, templateHash } from './cache.ts';
import { ensureGuestAssets, findRepoRoot } from './index.ts';
import { Progress } from './progress.ts';

/** A minimal RISC-V Image: the 64-byte header with magic2, then a version banner. */
function fakeImage(release: string): Uint8Array {
  const buf = new Uint8Array(1024);
  buf.set([0x52, 0x53, 0x43, 0x05], 0x38);
  buf.set(new TextEncoder().encode(`Linux version ${release} (b@h) (gcc) #1\0`), 256);
  return buf;
}

function tmp(): { dir: string; [Symbol.dispose](): void } {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-assets-'));
  return { dir, [Symbol.dispose]: () => rmSync(dir, { recursive: true, force: true }) };
}

test('TSXEN_KERNEL + TSXEN_INITRD are used as given, with the version read from the kernel banner', async () => {
  const t = tmp();
  try {
    writeFileSync(join(t.dir, 'Image'), fakeImage('6.99.1-custom'));
    writeFileSync(join(t.dir, 'initrd.gz'), 'x');
    const r = await ensureGuestAssets({ progress: null, env: { TSXEN_KERNEL: join(t.dir, 'Image'), TSXEN_INITRD: join(t.dir, 'initrd.gz') } });
    assert.deepEqual(r, { kernel: join(t.dir, 'Image'), initrd: join(t.dir, 'initrd.gz'), version: '6.99.1-custom', modules: [], manifest: undefined, source: 'override' });
  } finally {
    t[Symbol.dispose]();
  }
});

test('bad overrides are one-line errors naming the variable and file', async () => {
  const t = tmp();
  try {
    writeFileSync(join(t.dir, 'notakernel'), 'hello world, this is not a RISC-V Linux Image at all, no magic here.');
    writeFileSync(join(t.dir, 'initrd.gz'), 'x');
    await assert.rejects(ensureGuestAssets({ progress: null, env: { TSXEN_KERNEL: join(t.dir, 'missing'), TSXEN_INITRD: join(t.dir, 'initrd.gz') } }),
      { message: `TSXEN_KERNEL=${join(t.dir, 'missing')}: no such file` });
    await assert.rejects(ensureGuestAssets({ progress: null, env: { TSXEN_KERNEL: join(t.dir, 'notakernel'), TSXEN_INITRD: join(t.dir, 'initrd.gz') } }),
      { name: 'AssetError', message: `TSXEN_KERNEL=${join(t.dir, 'notakernel')}: not a RISC-V Linux Image (no "RSC\\x05" magic at offset 0x38)` });
    writeFileSync(join(t.dir, 'Image'), fakeImage('6.99.1-custom'));
    await assert.rejects(ensureGuestAssets({ progress: null, env: { TSXEN_KERNEL: join(t.dir, 'Image'), TSXEN_INITRD: t.dir } }),
      /TSXEN_INITRD=.*: no such file/);
  } finally {
    t[Symbol.dispose]();
  }
});

test('a machine without a Debian source in its apt configuration gets a clear error', async () => {
  const t = tmp();
  try {
    mkdirSync(join(t.dir, 'etc-apt', 'sources.list.d'), { recursive: true });
    writeFileSync(join(t.dir, 'etc-apt', 'sources.list.d', 'vendor.list'), 'deb https://repo.vendor.example/apt stable-vendor main\n');
    const lines: string[] = [];
    await assert.rejects(
      ensureGuestAssets({ cacheDir: join(t.dir, 'cache'), etcApt: join(t.dir, 'etc-apt'), env: { PATH: process.env.PATH }, progress: { write: (s: string) => lines.push(s) } }),
      { name: 'AssetError', message: new RegExp(`^no Debian mirror found in this machine's apt sources \\(${join(t.dir, 'etc-apt')}/sources.list, .*set TSXEN_APT_MIRROR=<Debian archive URI>, or provide TSXEN_KERNEL and TSXEN_INITRD$`) },
    );
  } finally {
    t[Symbol.dispose]();
  }
});

test('offline with an index that needs refreshing: the cached build is used, with a warning', async () => {
  const t = tmp();
  try {
    // A cache holding a (fake) complete build, as a previous run leaves it.
    const cacheDir = join(t.dir, 'cache');
    const build = join(cacheDir, 'builds', '6.99.1-custom-0123456789abcdef');
    mkdirSync(build, { recursive: true });
    const kernel = fakeImage('6.99.1-custom');
    writeFileSync(join(build, 'vmlinux'), kernel);
    writeFileSync(join(build, 'initrd.gz'), 'initrd');
    writeFileSync(join(build, 'manifest.json'), JSON.stringify({
      recipe: RECIPE, key: '0123456789abcdef', version: '6.99.1-custom',
      kernel: { file: 'vmlinux', size: kernel.length }, initrd: { file: 'initrd.gz', size: 6 },
      modules: [{ name: 'virtio_mmio', boot: true }, { name: 'vfat', boot: false }], onDemand: [],
      templates: templateHash(join(findRepoRoot(), 'guests', 'debian')),
    }));
    writeFileSync(join(cacheDir, 'current.json'), JSON.stringify({ manifest: 'builds/6.99.1-custom-0123456789abcdef/manifest.json' }));
    const lines: string[] = [];
    const r = await ensureGuestAssets({
      cacheDir, env: { PATH: process.env.PATH, TSXEN_APT_MIRROR: 'http://127.0.0.1:9/debian' }, aptOptions: ['-o', 'Acquire::Retries=0'],
      progress: { write: (s: string) => lines.push(s) },
    });
    assert.deepEqual(r, { kernel: join(build, 'vmlinux'), initrd: join(build, 'initrd.gz'), version: '6.99.1-custom', modules: ['virtio_mmio'], manifest: join(build, 'manifest.json'), source: 'cache' });
    assert.match(lines.join(''), /assets: \[2\/7\] apt-get update \(signed index of the mirror\): failed, [\d.]+ s\nassets: warning: apt-get update from http:\/\/127\.0\.0\.1:9\/debian .* failed: .*; using the cached build of 6\.99\.1-custom\n/);
    // --rebuild never falls back: it must not pretend to have rebuilt.
    await assert.rejects(ensureGuestAssets({ cacheDir, rebuild: true, progress: null, env: { PATH: process.env.PATH, TSXEN_APT_MIRROR: 'http://127.0.0.1:9/debian' }, aptOptions: ['-o', 'Acquire::Retries=0'] }),
      /apt-get update from .* failed/);
  } finally {
    t[Symbol.dispose]();
  }
});

test('the progress display numbers steps and reports their result and time', () => {
  const out: string[] = [];
  const p = new Progress(3, { write: (s: string) => out.push(s) });
  p.step('first')('ok');
  p.note('a note');
  p.step('second')();
  assert.match(out.join(''), /^assets: \[1\/3\] first: ok, \d+\.\d s\nassets: a note\nassets: \[2\/3\] second: \d+\.\d s\n$/);
  const tty: string[] = [];
  const q = new Progress(2, { write: (s: string) => tty.push(s), isTTY: true });
  q.step('long step');
  q.abort();
  const done = q.step('download');
  q.status('1.0/2.0 MiB');
  done('ok');
  assert.match(tty.join(''), /^assets: \[1\/2\] long step \.\.\. failed\nassets: \[2\/2\] download \.\.\.\r\x1b\[Kassets: \[2\/2\] download \.\.\. 1\.0\/2\.0 MiB\r\x1b\[Kassets: \[2\/2\] download: ok, \d+\.\d s\n$/);
});

test('the cache lock waits for a live holder, gives up after its limit, and takes over a dead one', async () => {
  const t = tmp();
  try {
    const cache = new AssetCache(t.dir);
    const notes: string[] = [];
    const progress = new Progress(1, { write: (s: string) => notes.push(s) });
    // Held by this (live) process: waits, then gives up with a one-line error.
    writeFileSync(join(t.dir, '.lock'), String(process.pid));
    await assert.rejects(cache.withLock(progress, async () => 1, 700), /\.lock has been held by process \d+ for 0 minutes; stop it or remove the file/);
    assert.match(notes.join(''), /waiting for process \d+, which is building the guest assets/);
    // Held by a process that no longer exists: taken over; leftovers of its build are swept.
    const dead = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
    writeFileSync(join(t.dir, '.lock'), dead.stdout);
    mkdirSync(join(t.dir, `.work-${dead.stdout}`));
    assert.equal(await cache.withLock(progress, async () => 42), 42);
    assert.equal(existsSync(join(t.dir, `.work-${dead.stdout}`)), false);
    assert.equal(existsSync(join(t.dir, '.lock')), false, 'released');
  } finally {
    t[Symbol.dispose]();
  }
});

test('a complete build with a fresh index is returned without running any tool; TSXEN_KERNEL alone replaces just the kernel', async () => {
  const t = tmp();
  try {
    const cacheDir = join(t.dir, 'cache');
    const build = join(cacheDir, 'builds', 'b');
    mkdirSync(build, { recursive: true });
    mkdirSync(join(cacheDir, 'apt', 'lists'), { recursive: true });
    writeFileSync(join(cacheDir, 'apt', 'lists', 'mirror.example_debian_dists_trixie_InRelease'), 'fresh');
    const kernel = fakeImage('6.99.1-custom');
    writeFileSync(join(build, 'vmlinux'), kernel);
    writeFileSync(join(build, 'initrd.gz'), 'initrd');
    writeFileSync(join(build, 'manifest.json'), JSON.stringify({
      recipe: RECIPE, key: 'k', version: '6.99.1-custom', kernel: { file: 'vmlinux', size: kernel.length }, initrd: { file: 'initrd.gz', size: 6 },
      modules: [{ name: 'virtio_mmio', boot: true }], onDemand: ['vfat', 'nls_cp437', 'nls_ascii', 'nls_utf8'],
      templates: templateHash(join(findRepoRoot(), 'guests', 'debian')),
    }));
    writeFileSync(join(cacheDir, 'current.json'), JSON.stringify({ manifest: 'builds/b/manifest.json' }));

    const r = await ensureGuestAssets({ cacheDir, progress: null, env: { PATH: '/nonexistent' } });
    assert.equal(r.source, 'cache');
    assert.equal(r.kernel, join(build, 'vmlinux'));

    writeFileSync(join(t.dir, 'Image'), fakeImage('7.0.0-mine'));
    const notes: string[] = [];
    const o = await ensureGuestAssets({ cacheDir, progress: { write: (s: string) => notes.push(s) }, env: { PATH: '/nonexistent', TSXEN_KERNEL: join(t.dir, 'Image') } });
    assert.deepEqual(o, { kernel: join(t.dir, 'Image'), initrd: join(build, 'initrd.gz'), version: '7.0.0-mine', modules: ['virtio_mmio'], manifest: join(build, 'manifest.json'), source: 'override' });
    assert.match(notes.join(''), /warning: TSXEN_KERNEL is 7\.0\.0-mine but the initramfs modules are for 6\.99\.1-custom/);

    // Another on-demand module list is another build: the cached one no longer matches.
    await assert.rejects(ensureGuestAssets({ cacheDir, progress: null, extraModules: ['ext4'], env: { PATH: '/nonexistent' } }), /missing host tools apt-get, apt-cache, dpkg-deb/);
  } finally {
    t[Symbol.dispose]();
  }
});
