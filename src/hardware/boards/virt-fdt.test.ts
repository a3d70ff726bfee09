// SPDX-License-Identifier: GPL-2.0-only
// The virt board's device tree against two independent references: Debian's dtc must
// decompile it cleanly, and QEMU's own virt machine (qemu-system-riscv64 -M virt,dumpdtb=)
// must describe every device we share with the same node names and the properties Linux
// and OpenSBI read (phandles resolved to node paths before comparing).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fdtNode, parseDtb, propCells, propString, propStrings, type FdtParsedNode } from '../fdt/fdt-reader.ts';
import { riscvIsaString, VIRT_HART_EXTENSIONS, virtFdt } from './virt-fdt.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsxen-virt-fdt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function qemuDtb(smp: number, memMiB: number): Uint8Array {
  const f = join(dir, `qemu-${smp}-${memMiB}.dtb`);
  const r = spawnSync('qemu-system-riscv64', ['-M', `virt,dumpdtb=${f}`, '-smp', String(smp), '-m', `${memMiB}M`,
    '-nographic', '-nodefaults'], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.status, 0, `qemu-system-riscv64 (Debian qemu-system-misc) must run: ${r.stderr}`);
  return new Uint8Array(readFileSync(f));
}

/** Every node by absolute path, and phandle -> path. */
function index(root: FdtParsedNode) {
  const byPath = new Map<string, FdtParsedNode>();
  const byPhandle = new Map<number, string>();
  const walk = (n: FdtParsedNode, path: string) => {
    byPath.set(path, n);
    const ph = propCells(n, 'phandle');
    if (ph) byPhandle.set(ph[0], path);
    for (const c of n.children) walk(c, path === '/' ? `/${c.name}` : `${path}/${c.name}`);
  };
  walk(root, '/');
  return { byPath, byPhandle };
}

/** interrupts-extended as "path:irq" pairs. */
function intExt(n: FdtParsedNode | undefined, phandles: Map<number, string>): string[] {
  const c = propCells(n, 'interrupts-extended') ?? [];
  const out: string[] = [];
  for (let i = 0; i + 1 < c.length; i += 2) out.push(`${phandles.get(c[i])}:${c[i + 1]}`);
  return out;
}

test('dtc decompiles the virt tree without errors', () => {
  const blob = virtFdt({ hartCount: 2, ramSize: 256 << 20, mode: 'firmware', bootargs: 'console=ttyS0',
    initrd: { start: 0x8820_0000, end: 0x8830_0000 } });
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null'], { input: blob, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => /ERROR/.test(l)).length, 0, r.stderr);
});

/**
 * dtc's warnings for a blob, without the file name prefix and with cpu unit addresses
 * generalised (QEMU names cpu nodes in decimal, we in hex as the reg value).
 */
function dtcWarnings(blob: Uint8Array): Set<string> {
  const r = spawnSync('dtc', ['-I', 'dtb', '-O', 'dts', '-o', '/dev/null', '-'], { input: blob, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return new Set(r.stderr.split('\n').filter((l) => l.trim()).map((l) => l.replace(/^[^:]*: /, '').replace(/cpu@[0-9a-f]+/g, 'cpu@N')));
}

test('dtc finds nothing in our tree that it does not also find in QEMU\'s (1, 2 and 12 harts, both modes)', () => {
  for (const smp of [1, 2, 12]) {
    const theirs = dtcWarnings(qemuDtb(smp, 256));
    for (const mode of ['firmware', 'vsbi'] as const) {
      const ours = dtcWarnings(virtFdt({ hartCount: smp, ramSize: 256 << 20, mode, bootargs: 'x', initrd: { start: 0x8820_0000, end: 0x8830_0000 } }));
      for (const w of ours) assert.ok(theirs.has(w), `smp=${smp} ${mode}: dtc warns only about ours: ${w}`);
    }
  }
});

test('every device QEMU virt describes and we model has the same node and properties', () => {
  for (const [smp, mem] of [[1, 128], [2, 256], [4, 2048]] as const) {
    const q = parseDtb(qemuDtb(smp, mem));
    const ours = parseDtb(virtFdt({ hartCount: smp, ramSize: mem * 2 ** 20, mode: 'firmware' }));
    const qi = index(q.root), oi = index(ours.root);
    // Nodes QEMU has for devices this board does not model.
    const absent = /^\/(pmu|fw-cfg@|flash@|platform-bus@|soc\/pci@)/;
    // riscv,ndev is left out: QEMU 7.2 writes 96 (the source count including the reserved
    // id 0); QEMU 8.0 and later write 95, the number of usable ids, as we do (asserted below).
    const props = ['compatible', 'reg', 'interrupts', '#interrupt-cells', '#address-cells',
      '#size-cells', 'interrupt-controller', 'clock-frequency', 'timebase-frequency', 'device_type', 'value',
      'offset', 'status', 'ranges', 'stdout-path'];
    for (const [path, qn] of qi.byPath) {
      if (absent.test(path)) continue;
      const on = oi.byPath.get(path);
      assert.ok(on, `smp=${smp}: node ${path} missing`);
      for (const p of props) {
        assert.deepEqual(on.props.get(p), qn.props.get(p), `smp=${smp}: ${path} ${p}`);
      }
      for (const p of ['interrupt-parent', 'regmap', 'cpu']) {
        const qv = propCells(qn, p), ov = propCells(on, p);
        assert.equal(ov && oi.byPhandle.get(ov[0]), qv && qi.byPhandle.get(qv[0]), `smp=${smp}: ${path} ${p}`);
      }
      assert.deepEqual(intExt(on, oi.byPhandle), intExt(qn, qi.byPhandle), `smp=${smp}: ${path} interrupts-extended`);
    }
    assert.deepEqual(propCells(oi.byPath.get('/soc/plic@c000000'), 'riscv,ndev'), [95]);
  }
});

test('the harts announce exactly what our hart implements', () => {
  const t = parseDtb(virtFdt({ hartCount: 2, ramSize: 128 << 20, mode: 'firmware' }));
  const cpu = fdtNode(t.root, '/cpus/cpu@1');
  assert.equal(propString(cpu, 'riscv,isa'), 'rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc');
  assert.equal(riscvIsaString(VIRT_HART_EXTENSIONS), 'rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc');
  assert.equal(propString(cpu, 'riscv,isa-base'), 'rv64i');
  assert.deepEqual(propStrings(cpu, 'riscv,isa-extensions'), ['i', 'm', 'a', 'f', 'd', 'c', 'zicntr', 'zicsr',
    'zifencei', 'zihintpause', 'zba', 'zbb', 'zbc', 'zbs', 'sstc']);
  assert.equal(propString(cpu, 'mmu-type'), 'riscv,sv57');
  assert.deepEqual(propCells(cpu, 'reg'), [1]);
  // the bit-manipulation extensions are the ones QEMU 7.2's virt CPU announces (its riscv,isa)
  const qemuIsa = propString(fdtNode(parseDtb(qemuDtb(1, 128)).root, '/cpus/cpu@0'), 'riscv,isa') ?? '';
  assert.deepEqual((propStrings(cpu, 'riscv,isa-extensions') ?? []).filter((e) => e.startsWith('zb')),
    qemuIsa.split('_').filter((e) => e.startsWith('zb')));
  const dts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: virtFdt({ hartCount: 1, ramSize: 128 << 20, mode: 'vsbi' }), encoding: 'utf8' });
  assert.match(dts, /riscv,isa = "rv64imafdc_zicntr_zicsr_zifencei_zihintpause_zba_zbb_zbc_zbs_sstc";/);
  assert.match(dts, /riscv,isa-extensions = "i\\0m\\0a\\0f\\0d\\0c\\0zicntr\\0zicsr\\0zifencei\\0zihintpause\\0zba\\0zbb\\0zbc\\0zbs\\0sstc";/);
  // Unit addresses are the reg value in hex (devicetree-0.4 "Node Names"); QEMU prints the
  // hart id in decimal, so its cpu@10 has reg 0xa and dtc warns about it. Ours is cpu@a.
  const twelve = parseDtb(virtFdt({ hartCount: 12, ramSize: 128 << 20, mode: 'firmware' }));
  assert.deepEqual(propCells(fdtNode(twelve.root, '/cpus/cpu@a'), 'reg'), [10]);
  assert.equal(fdtNode(twelve.root, '/cpus/cpu-map/cluster0')?.children.length, 12);
});

test('/chosen carries bootargs, the console and the initrd range', () => {
  const blob = virtFdt({ hartCount: 1, ramSize: 512 << 20, mode: 'vsbi', bootargs: 'console=ttyS0 quiet',
    initrd: { start: 0x8820_0000, end: 0x8820_03e8 }, rngSeed: new Uint8Array(32).fill(7), bootHart: 0 });
  const dts = execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts'], { input: blob, encoding: 'utf8' });
  const chosen = dts.slice(dts.indexOf('chosen {'));
  assert.match(chosen, /bootargs = "console=ttyS0 quiet";/);
  assert.match(chosen, /stdout-path = "\/soc\/serial@10000000";/);
  // The same values QEMU 7.2 writes for -m 512M -initrd (one cell each below 4 GiB).
  assert.match(chosen, /linux,initrd-start = <0x88200000>;/);
  assert.match(chosen, /linux,initrd-end = <0x882003e8>;/);
  assert.match(chosen, /rng-seed = <0x7070707 /);
  const big = parseDtb(virtFdt({ hartCount: 1, ramSize: 8 * 2 ** 30, mode: 'vsbi', initrd: { start: 0x1_2000_0000, end: 0x1_2000_1000 } }));
  assert.deepEqual(propCells(fdtNode(big.root, '/chosen'), 'linux,initrd-start'), [1, 0x2000_0000]);
  assert.deepEqual(propCells(fdtNode(big.root, '/memory@80000000'), 'reg'), [0, 0x8000_0000, 2, 0]);
});

test('vsbi mode: PLIC S contexts only and no CLINT, as QEMU builds it for a KVM guest', () => {
  const t = parseDtb(virtFdt({ hartCount: 2, ramSize: 128 << 20, mode: 'vsbi' }));
  const { byPhandle } = index(t.root);
  assert.deepEqual(intExt(fdtNode(t.root, '/soc/plic@c000000'), byPhandle),
    ['/cpus/cpu@0/interrupt-controller:9', '/cpus/cpu@1/interrupt-controller:9']);
  assert.equal(fdtNode(t.root, '/soc/clint@2000000'), undefined);
  const withClint = parseDtb(virtFdt({ hartCount: 1, ramSize: 128 << 20, mode: 'vsbi', clint: true }));
  assert.ok(fdtNode(withClint.root, '/soc/clint@2000000'));
});

test('virtio slots are listed highest address first, as QEMU lists them', () => {
  const t = parseDtb(virtFdt({ hartCount: 1, ramSize: 128 << 20, mode: 'firmware' }));
  const names = (fdtNode(t.root, '/soc')?.children ?? []).map((c) => c.name).filter((n) => n.startsWith('virtio'));
  assert.deepEqual(names, [8, 7, 6, 5, 4, 3, 2, 1].map((i) => `virtio_mmio@1000${i}000`));
  assert.deepEqual(propCells(fdtNode(t.root, '/soc/virtio_mmio@10008000'), 'interrupts'), [8]);
});
