// SPDX-License-Identifier: GPL-2.0-only
// collectModules on a modules tree laid out as Debian ships it (kernel/**/*.ko.xz, a
// modules.builtin, no modules.dep), with modules built by Debian's RISC-V cross compiler:
// built-in drivers are skipped, dependencies come from .modinfo, boot modules come first,
// aliases are gathered, and a module for another kernel is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import { collectModules } from './build.ts';

const VER = '6.12.0-test-riscv64';

/** Compiles a RISC-V object whose .modinfo holds `fields`, xz-compressed at modDir/rel.xz. */
function makeModule(modDir: string, rel: string, fields: string[]): void {
  mkdirSync(modDir, { recursive: true });
  const src = join(modDir, '..', `${rel.replace(/\W/g, '_')}.c`);
  writeFileSync(src, fields.map((f, i) => `static const char f${i}[] __attribute__((section(".modinfo"), used, aligned(1))) = ${JSON.stringify(f)};`).join('\n') + '\nint x(void) { return 1; }\n');
  const out = join(modDir, rel);
  mkdirSync(dirname(out), { recursive: true });
  const cc = spawnSync('riscv64-linux-gnu-gcc', ['-c', '-o', out, src], { encoding: 'utf8' });
  assert.equal(cc.status, 0, cc.stderr);
  assert.equal(spawnSync('xz', [out]).status, 0);
}

test('collectModules: built-ins skipped, .modinfo dependencies, boot set first, aliases', async () => {
  const root = mkdtempSync(join(tmpdir(), 'tsxen-modtree-'));
  try {
    const modDir = join(root, 'lib', 'modules', VER);
    const vm = `vermagic=${VER} SMP mod_unload riscv`;
    makeModule(modDir, 'kernel/drivers/virtio/virtio_mmio.ko', [vm, 'depends=', 'alias=of:N*T*Cvirtio,mmio']);
    makeModule(modDir, 'kernel/net/core/failover.ko', [vm, 'depends=']);
    makeModule(modDir, 'kernel/drivers/net/net_failover.ko', [vm, 'depends=failover']);
    makeModule(modDir, 'kernel/drivers/net/virtio_net.ko', [vm, 'depends=net_failover', 'alias=virtio:d00000001v*']);
    makeModule(modDir, 'kernel/fs/fat/fat.ko', [vm, 'depends=']);
    makeModule(modDir, 'kernel/fs/fat/vfat.ko', [vm, 'depends=fat', 'alias=fs-vfat']);
    makeModule(modDir, 'kernel/drivers/unused.ko', [vm, 'depends=']);
    writeFileSync(join(modDir, 'modules.builtin'), 'kernel/drivers/virtio/virtio.ko\nkernel/drivers/char/virtio_console.ko\n');

    const r = await collectModules(modDir, VER, ['virtio_mmio', 'virtio_net', 'virtio_console'], ['vfat', 'failover']);
    assert.deepEqual(r.builtin, ['virtio_console']);
    assert.deepEqual(r.modules.map((m) => [m.name, m.boot]), [
      ['virtio_mmio', true], ['failover', true], ['net_failover', true], ['virtio_net', true], ['fat', false], ['vfat', false],
    ]);
    assert.equal(r.modules[3]!.path, 'kernel/drivers/net/virtio_net.ko');
    assert.deepEqual(r.modules[3]!.depends, ['net_failover']);
    assert.match(r.modules[0]!.sha256, /^[0-9a-f]{64}$/);
    assert.equal(r.elf.get('vfat')![0], 0x7f, 'stored decompressed');
    assert.deepEqual(r.aliases, [['of:N*T*Cvirtio,mmio', 'virtio_mmio'], ['virtio:d00000001v*', 'virtio_net'], ['fs-vfat', 'vfat']]);

    await assert.rejects(collectModules(modDir, VER, ['virtio_blk'], []), /kernel 6\.12\.0-test-riscv64 has virtio_blk neither as a module nor built in/);
    makeModule(modDir, 'kernel/drivers/block/virtio_blk.ko', ['vermagic=6.1.0-other SMP riscv', 'depends=']);
    await assert.rejects(collectModules(modDir, VER, ['virtio_blk'], []), /virtio_blk\.ko\.xz: vermagic '6\.1\.0-other SMP riscv' does not match kernel 6\.12\.0-test-riscv64/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
