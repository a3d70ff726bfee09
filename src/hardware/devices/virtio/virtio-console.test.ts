// SPDX-License-Identifier: GPL-2.0-only
// virtio-console end to end: guest output reaches the host hook, host input fills receive
// buffers (waiting for them if needed), resize, emergency write, bounded input, save/restore.
// Also virtio-rng's own behaviour (its transport tests are in virtio-mmio.test.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MmioDriver, TestRam } from './test-driver.ts';
import { bit, VIRTIO_F_VERSION_1 } from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import { VIRTIO_CONSOLE_F_SIZE, VirtioConsole } from './virtio-console.ts';
import { VirtioRng } from './virtio-rng.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

function consoleRig() {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  const out: string[] = [];
  const con = new VirtioConsole({ output: (b) => out.push(dec(b)), cols: 100, rows: 40 });
  const t = new VirtioMmio(ram.mem, drv.irq, con);
  drv.dev = t;
  return { ram, drv, con, t, out };
}

function start(r: ReturnType<typeof consoleRig>) {
  assert.ok(r.drv.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_CONSOLE_F_SIZE)));
  const rx = r.drv.setupQueue(0, 16, false);
  const tx = r.drv.setupQueue(1, 16, false);
  r.drv.driverOk();
  return { rx, tx };
}

test('guest output reaches the host hook', () => {
  const r = consoleRig();
  const { tx } = start(r);
  const b = r.ram.alloc(64);
  r.ram.put(b, enc('hello, '));
  r.ram.put(b + 32, enc('world\n'));
  tx.add([{ gpa: b, len: 7 }, { gpa: b + 32, len: 6 }], []);
  tx.kick();
  assert.deepEqual(tx.takeUsed().map((u) => u.len), [0]);
  assert.equal(r.out.join(''), 'hello, world\n');
});

test('host input fills the receive buffers, waiting for buffers when there are none', () => {
  const r = consoleRig();
  const { rx } = start(r);
  r.con.input(enc('ls -l\n'));
  assert.equal(r.con.pendingInput, 6);
  const bufs = [r.ram.alloc(4), r.ram.alloc(4)];
  const heads = bufs.map((b) => rx.add([], [{ gpa: b, len: 4 }]));
  rx.kick();
  const used = rx.takeUsed();
  assert.deepEqual(used, [{ id: heads[0], len: 4 }, { id: heads[1], len: 2 }]);
  assert.equal(dec(r.ram.bytes(bufs[0]!, 4)) + dec(r.ram.bytes(bufs[1]!, 2)), 'ls -l\n');
  assert.equal(r.con.pendingInput, 0);
  assert.equal(r.drv.ackInterrupt(), R.VIRTIO_MMIO_INT_VRING);
});

test('configuration: cols, rows, max_nr_ports; resize is a configuration change', () => {
  const r = consoleRig();
  start(r);
  assert.deepEqual([r.drv.config16(0), r.drv.config16(2), r.drv.config32(4)], [100, 40, 1]);
  const gen = r.drv.read(R.VIRTIO_MMIO_CONFIG_GENERATION);
  r.con.resize(132, 50);
  assert.deepEqual([r.drv.config16(0), r.drv.config16(2)], [132, 50]);
  assert.notEqual(r.drv.read(R.VIRTIO_MMIO_CONFIG_GENERATION), gen);
  assert.equal(r.drv.ackInterrupt(), R.VIRTIO_MMIO_INT_CONFIG);
});

test('emergency write works before the driver initialises anything', () => {
  const r = consoleRig();
  for (const c of enc('OK')) r.t.write(R.VIRTIO_MMIO_CONFIG + 8, 4, c);
  assert.equal(r.out.join(''), 'OK');
  r.t.write(R.VIRTIO_MMIO_CONFIG + 8, 1, 0x41);
  assert.equal(r.out.join(''), 'OK', 'only a 32-bit write to emerg_wr outputs');
});

test('host input is bounded: the excess is dropped and counted', () => {
  const r = consoleRig();
  r.con.input(new Uint8Array(64 * 1024 + 10));
  assert.equal(r.con.pendingInput, 64 * 1024);
  assert.equal(r.con.inputDropped, 10);
});

test('input wraps around the internal ring intact', () => {
  const r = consoleRig();
  const { rx } = start(r);
  const b = r.ram.alloc(40 * 1024);
  let sent = '';
  for (let round = 0; round < 3; round++) {
    const chunk = `round ${round} `.repeat(6000).slice(0, 40 * 1024 - round);
    r.con.input(enc(chunk));
    sent += chunk;
    rx.add([], [{ gpa: b, len: 40 * 1024 }]);
    rx.kick();
    const [u] = rx.takeUsed();
    assert.equal(dec(r.ram.bytes(b, u!.len)), chunk);
  }
  assert.equal(sent.length, 3 * 40 * 1024 - 3);
});

test('save/restore keeps pending input and the terminal size; restored input reaches buffers posted before the save', () => {
  const r = consoleRig();
  const { rx } = start(r);
  r.con.input(enc('pending'));
  r.con.resize(90, 30);
  const state = JSON.parse(JSON.stringify(r.t.save()));
  const con2 = new VirtioConsole({ output: () => {} });
  const t2 = new VirtioMmio(r.ram.mem, r.drv.irq, con2);
  // The driver posts a buffer while the old device is gone (no notification reaches anyone).
  const b = r.ram.alloc(16);
  rx.add([], [{ gpa: b, len: 16 }]);
  assert.equal(t2.restore(state), true);
  r.drv.dev = t2;
  assert.deepEqual([r.drv.config16(0), r.drv.config16(2)], [90, 30]);
  assert.deepEqual(rx.takeUsed().map((u) => u.len), [7], 'delivered at restore, without a new notification');
  assert.equal(dec(r.ram.bytes(b, 7)), 'pending');
  assert.equal(con2.pendingInput, 0);
});

test('virtio-rng fills every writable byte from the entropy source, across segments', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  let calls = 0;
  drv.dev = new VirtioMmio(ram.mem, drv.irq, new VirtioRng({ entropy: (b) => { calls++; b.fill(0xab); } }));
  assert.equal(drv.read(R.VIRTIO_MMIO_DEVICE_ID), 4);
  assert.ok(drv.negotiate(bit(VIRTIO_F_VERSION_1)));
  const q = drv.setupQueue(0, 8, false);
  drv.driverOk();
  const a = ram.alloc(100), b = ram.alloc(28);
  q.add([], [{ gpa: a, len: 100 }, { gpa: b, len: 28 }]);
  q.kick();
  assert.deepEqual(q.takeUsed().map((u) => u.len), [128]);
  assert.ok(ram.bytes(a, 100).every((x) => x === 0xab) && ram.bytes(b, 28).every((x) => x === 0xab));
  assert.equal(calls, 1);
});

test('a host hook that echoes output straight back as input (a terminal in echo mode) works', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  const con: VirtioConsole = new VirtioConsole({ output: (b) => con.input(b) });
  drv.dev = new VirtioMmio(ram.mem, drv.irq, con);
  assert.ok(drv.negotiate(bit(VIRTIO_F_VERSION_1)));
  const rx = drv.setupQueue(0, 16, false);
  const tx = drv.setupQueue(1, 16, false);
  drv.driverOk();
  const inb = ram.alloc(64);
  const rxHead = rx.add([], [{ gpa: inb, len: 64 }]);
  rx.kick();
  const outb = ram.alloc(64);
  ram.put(outb, enc('ping'));
  ram.put(outb + 32, enc('pong'));
  tx.add([{ gpa: outb, len: 4 }], []);
  tx.add([{ gpa: outb + 32, len: 4 }], []);
  tx.kick();
  assert.equal(tx.takeUsed().length, 2, 'both transmit chains completed');
  assert.deepEqual(rx.takeUsed(), [{ id: rxHead, len: 4 }]);
  assert.equal(dec(ram.bytes(inb, 4)), 'ping');
  assert.equal(con.pendingInput, 4, '"pong" waits for the next receive buffer');
});
