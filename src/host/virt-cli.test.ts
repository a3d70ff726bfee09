// SPDX-License-Identifier: GPL-2.0-only
// `tsxen machine` on the virt board: QEMU's flag spellings parse to the same configuration,
// board selection (virt for Linux Images and virt flags, bare for ELF programs), and every bad
// input (flag, kernel, initramfs, disk image) is one line on stderr naming it, with exit 1,
// before any guest runs. These spawn the real command (bin/tsxen, the esbuild bundle).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { UsageError } from './machine-args.ts';
import { parseVirtArgs, selectBoard } from './virt-args.ts';
import { checkInitrd } from './virt-cli.ts';

const ROOT = join(import.meta.dirname, '..', '..');

test('QEMU spellings: one and two dashes, key=value lists, -netdev/-device pairs', () => {
  const a = parseVirtArgs(['-machine', 'virt', '-kernel', 'K', '-initrd', 'I', '-append', 'console=ttyS0 quiet', '-smp', 'cpus=2,sockets=1',
    '-m', '1G', '-drive', 'file=a.img,format=raw,if=virtio', '--drive=file=b,,c.img,format=raw,readonly=on', '-drive', 'file=c.img,if=none,id=d3',
    '-device', 'virtio-blk-device,drive=d3', '-netdev', 'switch,id=n0', '-device', 'virtio-net-device,netdev=n0,mac=52:54:00:00:00:09',
    '-nic', 'switch', '-device', 'virtio-rng-device', '-nographic', '-no-reboot', '--clock', 'deterministic']);
  assert.equal(a.kernel, 'K');
  assert.equal(a.initrd, 'I');
  assert.equal(a.append, 'console=ttyS0 quiet');
  assert.equal(a.smp, 2);
  assert.equal(a.memBytes, 1 << 30);
  assert.deepEqual(a.drives.map((d) => [d.file, d.readOnly]), [['a.img', false], ['b,c.img', true], ['c.img', false]]);
  assert.deepEqual(a.nics, [{ mac: undefined, netdev: 'switch' }, { mac: '52:54:00:00:00:09', netdev: 'n0' }]);
  assert.equal(a.rng, true);
  assert.equal(a.noReboot, true);
  assert.equal(a.bios, undefined);
  assert.equal(a.clock, 'deterministic');
  assert.equal(parseVirtArgs(['-kernel', 'K', '-bios', 'fw.bin']).bios, 'fw.bin');
  assert.equal(parseVirtArgs(['-kernel', 'K', '-bios', 'none']).bios, undefined);
  assert.equal(parseVirtArgs(['-kernel', 'K', '-m', '512']).memBytes, 512 << 20);
  // pCPU threads (docs/design/pcpus.md): --pcpus N, or QEMU's -accel tcg,thread=multi (one per hart)
  assert.equal(parseVirtArgs(['-kernel', 'K', '-smp', '2']).pcpus, 0);
  assert.equal(parseVirtArgs(['-kernel', 'K', '-smp', '4', '--pcpus', '2']).pcpus, 2);
  assert.equal(parseVirtArgs(['-kernel', 'K', '-smp', '4', '-accel', 'tcg,thread=multi']).pcpus, 4);
  assert.equal(parseVirtArgs(['-kernel', 'K', '-smp', '4', '-accel', 'tcg,thread=single']).pcpus, 0);
  assert.equal(parseVirtArgs(['-bios', 'fw.elf']).kernel, undefined, 'firmware alone, as QEMU -bios');
});

test('bad flags are one-line UsageErrors naming the flag', () => {
  const bad: [string[], RegExp][] = [
    [['-kernel', 'K', '-bogus'], /unknown option '-bogus'/],
    [['-kernel', 'K', '-drive', 'file=x,format=qcow2'], /format=qcow2 is not supported/],
    [['-kernel', 'K', '-drive', 'format=raw'], /no file=/],
    [['-kernel', 'K', '-drive', 'file=x,if=scsi'], /if=scsi/],
    [['-kernel', 'K', '-drive', 'file=x,readonly=maybe'], /readonly=maybe is not on or off/],
    [['-kernel', 'K', '-smp', '0'], /-smp: 0 is out of range/],
    [['-kernel', 'K', '-m', '8M'], /-m: 8M is too small/],
    [['-kernel', 'K', '-m', 'lots'], /'lots' is not a size/],
    [['-kernel', 'K', '-machine', 'sifive_u'], /-machine sifive_u/],
    [['-kernel', 'K', '-nic', 'user'], /-nic user: only 'switch'/],
    [['-kernel', 'K', '-nic', 'switch,mac=01:00:00:00:00:01'], /multicast/],
    [['-kernel', 'K', '-device', 'virtio-net-device,netdev=x'], /netdev=x names no -netdev/],
    [['-kernel', 'K', '-device', 'e1000'], /-device e1000: not supported/],
    [['-kernel', 'K', '-append'], /--append needs a value/],
    [['-initrd', 'I'], /no -kernel given/],
    [['-kernel', 'K', '-smp', '2', '--pcpus', '3'], /--pcpus 3: more threads than harts/],
    [['-kernel', 'K', '--pcpus', '0'], /--pcpus: 0 is out of range/],
    [['-kernel', 'K', '-smp', '2', '--pcpus', '2', '--clock', 'deterministic'], /deterministic clock/],
    [['-kernel', 'K', '-accel', 'kvm'], /-accel kvm: only 'tcg'/],
    [['-kernel', 'K', '-accel', 'tcg,thread=many'], /thread=many/],
    [['-kernel', 'K', ...Array.from({ length: 9 }, () => ['-nic', 'switch']).flat()], /8 virtio-mmio slots/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseVirtArgs(argv), (e: unknown) => e instanceof UsageError && re.test(e.message) && !e.message.includes('\n'), argv.join(' '));
  }
});

test('board selection: Linux Image and virt flags -> virt; ELF programs and -machine bare -> bare', () => {
  const image = new Uint8Array(64);
  image.set([0x52, 0x53, 0x43, 0x05], 56);
  const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  const head = (p: string) => (p === 'img' ? image : p === 'elf' ? elf : p === 'raw' ? new Uint8Array(64) : undefined);
  assert.equal(selectBoard(['-kernel', 'img'], head), 'virt');
  assert.equal(selectBoard(['--kernel=img'], head), 'virt');
  assert.equal(selectBoard(['-kernel', 'elf'], head), 'bare');
  assert.equal(selectBoard(['-kernel', 'elf', '-bios', 'fw.elf'], head), 'bare');
  assert.equal(selectBoard(['-bios', 'fw.elf'], head), 'bare');
  assert.equal(selectBoard(['-kernel', 'elf', '-machine', 'virt'], head), 'virt');
  assert.equal(selectBoard(['-kernel', 'img', '-M', 'bare'], head), 'bare');
  assert.equal(selectBoard(['-kernel', 'elf', '-append', 'x'], head), 'virt');
  assert.equal(selectBoard(['-kernel', 'raw'], head), 'virt');
  assert.equal(selectBoard(['-bios', 'fw.elf', '--pcpus', '2'], head), 'virt');
  assert.equal(selectBoard(['-kernel', 'missing'], head), 'virt');
});

test('initramfs check: newc cpio plain or compressed; truncated gzip and non-cpio are named', () => {
  const cpio = new TextEncoder().encode('070701' + '0'.repeat(200));
  checkInitrd({ name: 'plain', bytes: cpio });
  checkInitrd({ name: 'gz', bytes: gzipSync(cpio) });
  assert.throws(() => checkInitrd({ name: 'cut.gz', bytes: gzipSync(cpio).subarray(0, 20) }), /initrd 'cut\.gz' is corrupt: gzip data/);
  assert.throws(() => checkInitrd({ name: 'text.gz', bytes: gzipSync(new TextEncoder().encode('hello')) }), /not a newc cpio/);
  assert.throws(() => checkInitrd({ name: 'junk', bytes: new Uint8Array([1, 2, 3, 4]) }), /initrd 'junk' is not an initramfs/);
  assert.throws(() => checkInitrd({ name: 'empty', bytes: new Uint8Array(0) }), /initrd 'empty' is empty/);
});

test('bin/tsxen machine: bad input is one line on stderr and exit status 1, before anything runs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-virt-cli-'));
  try {
    // A kernel-shaped file: a RISC-V Image header whose image_size the file does not reach is
    // "truncated" only with a PE stub; without one, the header alone is a valid (tiny) Image.
    const hdr = new Uint8Array(4096);
    const dv = new DataView(hdr.buffer);
    dv.setUint32(8, 0x200000, true); // text_offset
    dv.setUint32(16, 0x10000, true); // image_size
    hdr.set([0x52, 0x53, 0x43, 0x05], 56);
    const kernel = join(dir, 'Image');
    writeFileSync(kernel, hdr);
    const notKernel = join(dir, 'notes.txt');
    writeFileSync(notKernel, 'not a kernel\n'.repeat(10));
    const badInitrd = join(dir, 'initrd.gz');
    writeFileSync(badInitrd, gzipSync(new TextEncoder().encode('070701' + 'x'.repeat(5000))).subarray(0, 40));
    const noRead = join(dir, 'locked.img');
    writeFileSync(noRead, new Uint8Array(4096));
    chmodSync(noRead, 0);
    const cases: [string[], RegExp][] = [
      [['-kernel', join(dir, 'missing')], /cannot read kernel '.*missing': no such file/],
      [['-kernel', notKernel], /kernel '.*notes\.txt' is not a RISC-V Linux Image/],
      [['-kernel', kernel, '-initrd', join(dir, 'nope.gz')], /cannot read initrd '.*nope\.gz': no such file/],
      [['-kernel', kernel, '-initrd', badInitrd], /initrd '.*initrd\.gz' is corrupt/],
      [['-kernel', kernel, '-drive', `file=${join(dir, 'nodisk.img')},format=raw`], /disk image .*nodisk\.img: no such file/],
      [['-kernel', kernel, '-drive', `file=${dir},format=raw`], /disk image .*: is a directory/],
      [['-kernel', kernel, '-frobnicate'], /unknown option '-frobnicate'/],
      [['-kernel', kernel, '-bios', join(dir, 'fw.bin')], /cannot read firmware '.*fw\.bin': no such file/],
    ];
    // root reads any file: the permission case only means something for other users.
    if (process.getuid?.() !== 0) cases.push([['-kernel', kernel, '-drive', `file=${noRead},format=raw`], /locked\.img: permission denied/]);
    for (const [argv, re] of cases) {
      const r = spawnSync(process.execPath, [join(ROOT, 'bin', 'tsxen'), 'machine', ...argv], { encoding: 'utf8', timeout: 60_000, input: '' });
      assert.equal(r.status, 1, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', argv.join(' '));
      const lines = r.stderr.trimEnd().split('\n');
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0]!, /^tsxen machine: /);
      assert.match(lines[0]!, re);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
