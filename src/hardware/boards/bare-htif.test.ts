// SPDX-License-Identifier: GPL-2.0-only
// HTIF through the bus as a hart would drive it (two 4-byte stores per 64-bit word, low word
// first): exit codes, console putchar with its fromhost answer, and the magic_mem syscalls
// (write to stdout, exit, anything else -ENOSYS). Console and exit against QEMU's spike
// machine are covered by tests/conformance (htif.S); QEMU serves no syscalls, so they are here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PhysBus } from '../bus/phys-bus.ts';
import { Htif } from './bare-htif.ts';

const RAM = 0x8000_0000;
const TOHOST = RAM + 0x1000, FROMHOST = RAM + 0x1040, MAGIC = RAM + 0x2000, TEXT = RAM + 0x3000;

function setup() {
  const bus = new PhysBus(RAM, 1 << 16);
  const log = { exits: [] as number[], out: '' };
  new Htif(bus, TOHOST, FROMHOST, { exit: (c) => log.exits.push(c), putchar: (b) => { log.out += String.fromCharCode(b); } });
  const store64 = (pa: number, v: bigint) => {
    bus.mmioWrite(pa, 4, Number(v & 0xffffffffn));
    bus.mmioWrite(pa + 4, 4, Number(v >> 32n));
  };
  const load64 = (pa: number) => (BigInt(bus.mmioRead(pa + 4, 4)) << 32n) | BigInt(bus.mmioRead(pa, 4));
  const ram64 = (pa: number, v?: bigint) => {
    const dv = new DataView(bus.memory, pa - RAM, 8);
    if (v !== undefined) dv.setBigUint64(0, v & 0xffffffffffffffffn, true);
    return dv.getBigUint64(0, true);
  };
  return { bus, log, store64, load64, ram64 };
}

test('exit: 1 is pass, (code << 1) | 1 fails with code; the host clears tohost', () => {
  const { log, store64, load64 } = setup();
  store64(TOHOST, 1n);
  store64(TOHOST, (21n << 1n) | 1n);
  assert.deepEqual(log.exits, [0, 21]);
  assert.equal(load64(TOHOST), 0n);
});

test('console putchar (dev 1, cmd 1) prints and answers in fromhost; the guest acknowledges', () => {
  const { log, store64, load64 } = setup();
  for (const c of 'ok') store64(TOHOST, (1n << 56n) | (1n << 48n) | BigInt(c.charCodeAt(0)));
  assert.equal(log.out, 'ok');
  assert.equal(load64(FROMHOST) >> 48n, 0x101n, 'answer names device 1, command 1');
  store64(FROMHOST, 0n);
  assert.equal(load64(FROMHOST), 0n);
  assert.deepEqual(log.exits, []);
});

test('syscalls through magic_mem: write(1, buf, n) returns n; exit(code); others -ENOSYS', () => {
  const { bus, log, store64, ram64 } = setup();
  bus.writePhys(TEXT, new TextEncoder().encode('hello, htif\n'));
  ram64(MAGIC, 64n); ram64(MAGIC + 8, 1n); ram64(MAGIC + 16, BigInt(TEXT)); ram64(MAGIC + 24, 12n);
  store64(TOHOST, BigInt(MAGIC));
  assert.equal(log.out, 'hello, htif\n');
  assert.equal(ram64(MAGIC), 12n);
  ram64(MAGIC, 57n); // close: not served
  store64(TOHOST, BigInt(MAGIC));
  assert.equal(ram64(MAGIC), (1n << 64n) - 38n);
  ram64(MAGIC, 64n); ram64(MAGIC + 8, 1n); ram64(MAGIC + 16, BigInt(RAM + 0xfff0)); ram64(MAGIC + 24, 0x100n); // runs off RAM
  store64(TOHOST, BigInt(MAGIC));
  assert.equal(ram64(MAGIC), (1n << 64n) - 38n, 'a buffer outside RAM is refused, not read');
  ram64(MAGIC, 93n); ram64(MAGIC + 8, 3n);
  store64(TOHOST, BigInt(MAGIC));
  assert.deepEqual(log.exits, [3]);
});

test('hostile pointers: magic_mem outside RAM is ignored without a throw', () => {
  const { log, store64 } = setup();
  store64(TOHOST, 0x10n);
  store64(TOHOST, 0xfff0n << 32n);
  assert.deepEqual(log.exits, []);
  assert.equal(log.out, '');
});
