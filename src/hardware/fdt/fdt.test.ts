// SPDX-License-Identifier: GPL-2.0-only
// FDT writer and reader, checked against Debian's dtc (device-tree-compiler): dtc must accept
// what we write, and our reader must read what dtc writes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FdtParseError, fdtNode, parseDtb, propCells, propString, propStrings } from './fdt-reader.ts';
import { buildDtb, cells64, FDT_MAGIC, FdtNode } from './fdt-writer.ts';

const dir = mkdtempSync(join(tmpdir(), 'tsxen-fdt-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function dtc(args: string[], input: Uint8Array | string): string {
  return execFileSync('dtc', ['-q', ...args], { input, encoding: 'utf8' });
}

function sample(): FdtNode {
  const root = new FdtNode('');
  root.prop('#address-cells', 2).prop('#size-cells', 2).prop('compatible', 'riscv-virtio');
  const soc = root.child('soc');
  soc.prop('ranges', true).prop('compatible', 'simple-bus');
  const uart = soc.child('serial@10000000');
  uart.prop('reg', [...cells64(0x1000_0000), ...cells64(0x100)]);
  uart.prop('compatible', ['ns16550a', 'generic-16550']).prop('interrupts', 10);
  uart.prop('big', [...cells64(0x1_2345_6789)]);
  root.child('chosen').prop('bootargs', 'console=ttyS0 x=y').prop('stdout-path', '/soc/serial@10000000');
  return root;
}

test('dtc decompiles the blob we write, with the same nodes and values', () => {
  const blob = buildDtb(sample(), { bootCpuidPhys: 1, reservations: [{ address: 0x8000_0000, size: 0x20_0000 }] });
  const dts = dtc(['-I', 'dtb', '-O', 'dts'], blob);
  assert.match(dts, /\/memreserve\/\s+0x0*80000000 0x0*200000;/);
  assert.match(dts, /serial@10000000 \{/);
  assert.match(dts, /compatible = "ns16550a\\0generic-16550";/);
  assert.match(dts, /interrupts = <0x0a>;/);
  assert.match(dts, /reg = <0x00 0x10000000 0x00 0x100>;/);
  assert.match(dts, /big = <0x01 0x23456789>;/);
  assert.match(dts, /ranges;/);
  assert.match(dts, /bootargs = "console=ttyS0 x=y";/);
  // dtc's own blob of the decompiled source carries the same tree as ours.
  const again = new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb'], { input: dts }));
  assert.deepEqual(parseDtb(again).root, parseDtb(blob).root);
});

test('our reader reads a blob compiled by dtc from source', () => {
  const src = `/dts-v1/;\n/memreserve/ 0x80000000 0x1000;\n/ {\n  #address-cells = <2>;\n  model = "m";\n` +
    `  a@1 { x = <1 2 3>; s = "p", "q"; e; };\n  b { y = [de ad be ef]; };\n};\n`;
  const blob = new Uint8Array(execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-b', '3'], { input: src }));
  const t = parseDtb(blob);
  assert.equal(t.bootCpuidPhys, 3);
  assert.deepEqual(t.reservations, [{ address: 0x8000_0000, size: 0x1000 }]);
  assert.deepEqual(propCells(t.root, '#address-cells'), [2]);
  assert.equal(propString(t.root, 'model'), 'm');
  const a = fdtNode(t.root, '/a@1');
  assert.deepEqual(propCells(a, 'x'), [1, 2, 3]);
  assert.deepEqual(propStrings(a, 's'), ['p', 'q']);
  assert.equal(a?.props.get('e')?.length, 0);
  assert.deepEqual([...(fdtNode(t.root, '/b')?.props.get('y') ?? [])], [0xde, 0xad, 0xbe, 0xef]);
});

test('layout: header, 8-aligned reservation block, deduplicated strings, padding', () => {
  const blob = buildDtb(sample(), { padding: 100 });
  const dv = new DataView(blob.buffer);
  assert.equal(dv.getUint32(0), FDT_MAGIC);
  assert.equal(dv.getUint32(4), blob.length);
  assert.equal(dv.getUint32(16) % 8, 0);
  assert.equal(dv.getUint32(20), 17);
  assert.equal(dv.getUint32(24), 16);
  const offStr = dv.getUint32(12), sizeStr = dv.getUint32(32);
  assert.equal(offStr + sizeStr + 100, blob.length);
  const names = new TextDecoder().decode(blob.subarray(offStr, offStr + sizeStr)).split('\0').slice(0, -1);
  assert.equal(new Set(names).size, names.length, 'every property name is stored once');
  assert.ok(names.includes('compatible'));
  // dtc accepts the padded blob too.
  assert.match(dtc(['-I', 'dtb', '-O', 'dts'], blob), /soc \{/);
});

test('bad names and values are rejected at build time', () => {
  assert.throws(() => new FdtNode('bad name'), RangeError);
  assert.throws(() => new FdtNode('').prop('x y', 1), RangeError);
  assert.throws(() => new FdtNode('').prop('x', 0x1_0000_0000), RangeError);
  assert.throws(() => new FdtNode('').prop('x', 'a\0b'), RangeError);
  const n = new FdtNode('');
  n.child('a');
  assert.throws(() => n.child('a'), RangeError);
});

test('the reader rejects corrupt blobs with FdtParseError, never anything else', () => {
  const good = buildDtb(sample());
  assert.throws(() => parseDtb(good.subarray(0, 20)), FdtParseError);
  const badMagic = good.slice();
  badMagic[0] ^= 0xff;
  assert.throws(() => parseDtb(badMagic), FdtParseError);
  // Flip every structure-block byte in turn: each result either parses or is FdtParseError.
  const offStruct = new DataView(good.buffer).getUint32(8);
  for (let i = offStruct; i < offStruct + 64; i++) {
    const b = good.slice();
    b[i] ^= 0x5a;
    try {
      parseDtb(b);
    } catch (e) {
      assert.ok(e instanceof FdtParseError, `byte ${i}: ${String(e)}`);
    }
  }
});

test('a written blob survives a file round trip through dtc -O dtb', () => {
  const f = join(dir, 'a.dtb');
  writeFileSync(f, buildDtb(sample()));
  const out = join(dir, 'b.dtb');
  execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dtb', '-o', out, f]);
  assert.deepEqual(parseDtb(new Uint8Array(readFileSync(out))).root, parseDtb(new Uint8Array(readFileSync(f))).root);
});
