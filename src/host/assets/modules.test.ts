// SPDX-License-Identifier: GPL-2.0-only
// Module bookkeeping: names, modules.dep parsing and writing, load order with dependencies
// first, and .modinfo reading from a real RISC-V object built by Debian's cross compiler,
// also after xz and zstd compression (as Debian ships modules).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { decompressModule } from './build.ts';
import { formatModulesDep, moduleName, parseModulesDep, readModinfo, resolveLoadOrder } from './modules.ts';

test('module names drop the directory, .ko and compression suffix, and read - as _', () => {
  assert.equal(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko.xz'), 'virtio_rng');
  assert.equal(moduleName('virtio_blk.ko.zst'), 'virtio_blk');
  assert.equal(moduleName('kernel/net/core/failover.ko'), 'failover');
  assert.equal(moduleName('virtio_mmio'), 'virtio_mmio');
});

const DEP = `kernel/drivers/virtio/virtio_mmio.ko.xz:
kernel/drivers/net/virtio_net.ko.xz: kernel/drivers/net/net_failover.ko.xz kernel/net/core/failover.ko.xz
kernel/drivers/net/net_failover.ko.xz: kernel/net/core/failover.ko.xz
kernel/net/core/failover.ko.xz:
kernel/drivers/char/hw_random/virtio-rng.ko.xz:
`;

test('modules.dep parses into name -> dependency names', () => {
  const m = parseModulesDep(DEP);
  assert.deepEqual(m.get('virtio_net'), ['net_failover', 'failover']);
  assert.deepEqual(m.get('virtio_mmio'), []);
  assert.deepEqual(m.get('virtio_rng'), []);
  assert.throws(() => parseModulesDep('no colon here'), /malformed/);
});

test('load order puts every module after its dependencies, each once', () => {
  const m = parseModulesDep(DEP);
  const order = resolveLoadOrder(['virtio_mmio', 'virtio_net', 'virtio-rng', 'net_failover'], (n) => m.get(n));
  assert.deepEqual(order, ['virtio_mmio', 'failover', 'net_failover', 'virtio_net', 'virtio_rng']);
  for (const [i, name] of order.entries()) {
    for (const d of m.get(name)!) assert.ok(order.indexOf(d) < i, `${d} before ${name}`);
  }
});

test('an unknown module or a dependency cycle is an error naming it', () => {
  const deps = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['x', ['missing']]]);
  assert.throws(() => resolveLoadOrder(['a'], (n) => deps.get(n)), /cycle: a -> b -> c -> a/);
  assert.throws(() => resolveLoadOrder(['x'], (n) => deps.get(n)), /module missing \(needed by x\) not found/);
  assert.throws(() => resolveLoadOrder(['nope'], (n) => deps.get(n)), /module nope not found/);
});

test('formatModulesDep writes what parseModulesDep reads, with indirect dependencies', () => {
  const mods = [
    { path: 'kernel/net/core/failover.ko', depends: [] },
    { path: 'kernel/drivers/net/net_failover.ko', depends: ['failover'] },
    { path: 'kernel/drivers/net/virtio_net.ko', depends: ['net_failover'] },
  ];
  const text = formatModulesDep(mods);
  assert.match(text, /^kernel\/drivers\/net\/virtio_net\.ko: kernel\/drivers\/net\/net_failover\.ko kernel\/net\/core\/failover\.ko$/m);
  assert.deepEqual(parseModulesDep(text).get('virtio_net'), ['net_failover', 'failover']);
  assert.deepEqual(parseModulesDep(text).get('failover'), []);
});

test('.modinfo of a real RISC-V ELF object is read, plain and xz/zstd compressed', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-mod-'));
  try {
    // What modpost emits into a module's .modinfo: NUL-terminated key=value strings.
    writeFileSync(join(dir, 'm.c'), [
      'static const char a[] __attribute__((section(".modinfo"), used, aligned(1))) = "license=GPL";',
      'static const char b[] __attribute__((section(".modinfo"), used, aligned(1))) = "depends=net_failover,virtio-ring";',
      'static const char c[] __attribute__((section(".modinfo"), used, aligned(1))) = "name=virtio_net";',
      'static const char d[] __attribute__((section(".modinfo"), used, aligned(1))) = "vermagic=6.12.0-test SMP mod_unload riscv";',
      'int f(void) { return 42; }',
    ].join('\n'));
    const cc = spawnSync('riscv64-linux-gnu-gcc', ['-c', '-O2', '-o', join(dir, 'm.ko'), join(dir, 'm.c')], { encoding: 'utf8' });
    assert.equal(cc.status, 0, cc.stderr);
    const elf = readFileSync(join(dir, 'm.ko'));
    const info = readModinfo(elf, 'm.ko');
    assert.deepEqual(info.depends, ['net_failover', 'virtio_ring']);
    assert.equal(info.name, 'virtio_net');
    assert.equal(info.vermagic, '6.12.0-test SMP mod_unload riscv');
    assert.deepEqual(info.fields.get('license'), ['GPL']);

    assert.equal(spawnSync('xz', ['-k', join(dir, 'm.ko')]).status, 0);
    assert.equal(spawnSync('zstd', ['-q', '-k', join(dir, 'm.ko')]).status, 0);
    assert.deepEqual(Buffer.from(await decompressModule(join(dir, 'm.ko.xz'))), elf);
    assert.deepEqual(Buffer.from(await decompressModule(join(dir, 'm.ko.zst'))), elf);
    assert.deepEqual(Buffer.from(await decompressModule(join(dir, 'm.ko'))), elf);
    assert.throws(() => readModinfo(readFileSync(join(dir, 'm.ko.xz')), 'm.ko.xz'), /not an ELF file \(still compressed\?\)/);
    writeFileSync(join(dir, 'junk.ko.lz4'), 'junk');
    await assert.rejects(decompressModule(join(dir, 'junk.ko.lz4')), /unknown module compression/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
