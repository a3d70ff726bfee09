// SPDX-License-Identifier: GPL-2.0-only
// virtio-net end to end: two NICs, each with its own guest RAM and driver, on one software
// switch exchange frames; mergeable receive buffers; backlog while the guest has no buffers;
// link state as a configuration change; malformed transmit chains; save/restore.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EthernetSwitch, parseMac } from '../../net/switch.ts';
import { type DriverQueue, MmioDriver, TestRam } from './test-driver.ts';
import { bit, VIRTIO_F_VERSION_1, VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import { VIRTIO_NET_F_MAC, VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_STATUS, VIRTIO_NET_HDR_SIZE, VirtioNet } from './virtio-net.ts';

const V1 = bit(VIRTIO_F_VERSION_1);

interface Nic {
  ram: TestRam; drv: MmioDriver; t: VirtioMmio; net: VirtioNet; rx: DriverQueue; tx: DriverQueue;
  rxBufs: Map<number, number>; bufLen: number;
}

function nic(mac: string, opts: { mrg?: boolean; bufLen?: number; buffers?: number } = {}): Nic {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  const net = new VirtioNet({ mac: parseMac(mac)! });
  const t = new VirtioMmio(ram.mem, drv.irq, net);
  drv.dev = t;
  const want = V1 | bit(VIRTIO_NET_F_MAC) | bit(VIRTIO_NET_F_STATUS) | (opts.mrg ? bit(VIRTIO_NET_F_MRG_RXBUF) : 0n);
  assert.ok(drv.negotiate(want));
  const rx = drv.setupQueue(0, 64, false);
  const tx = drv.setupQueue(1, 64, false);
  drv.driverOk();
  const n: Nic = { ram, drv, t, net, rx, tx, rxBufs: new Map(), bufLen: opts.bufLen ?? 1526 };
  addRxBuffers(n, opts.buffers ?? 16);
  return n;
}

function addRxBuffers(n: Nic, count: number): void {
  for (let i = 0; i < count; i++) {
    const gpa = n.ram.alloc(n.bufLen, 2);
    n.rxBufs.set(n.rx.add([], [{ gpa, len: n.bufLen }]), gpa);
  }
  n.rx.kick();
}

function send(n: Nic, frame: Uint8Array): void {
  const b = n.ram.alloc(VIRTIO_NET_HDR_SIZE + frame.length);
  n.ram.put(b + VIRTIO_NET_HDR_SIZE, frame);
  n.tx.add([{ gpa: b, len: VIRTIO_NET_HDR_SIZE }, { gpa: b + VIRTIO_NET_HDR_SIZE, len: frame.length }], []);
  n.tx.kick();
  assert.deepEqual(n.tx.takeUsed().map((u) => u.len), [0]);
}

/** Received packets: the header's num_buffers and the frame reassembled from the used buffers. */
function received(n: Nic): { numBuffers: number; frame: Uint8Array }[] {
  const used = n.rx.takeUsed();
  const out: { numBuffers: number; frame: Uint8Array }[] = [];
  for (let i = 0; i < used.length;) {
    const first = n.rxBufs.get(used[i]!.id)!;
    const numBuffers = n.ram.r16(first + 10);
    const parts: number[] = [];
    for (let k = 0; k < numBuffers; k++, i++) {
      const u = used[i]!;
      parts.push(...n.ram.bytes(n.rxBufs.get(u.id)!, u.len));
    }
    assert.deepEqual(parts.slice(0, 10), Array(10).fill(0), 'flags, gso_type, hdr_len, gso_size, csum_* are 0');
    out.push({ numBuffers, frame: Uint8Array.from(parts.slice(VIRTIO_NET_HDR_SIZE)) });
  }
  return out;
}

function ethFrame(dst: string, src: string, len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len);
  for (let i = 14; i < len; i++) f[i] = (i + seed) & 0xff;
  f.set(parseMac(dst)!, 0);
  f.set(parseMac(src)!, 6);
  f[12] = 0x08;
  return f;
}

const MAC_A = '52:54:00:12:34:01', MAC_B = '52:54:00:12:34:02';

function plug(sw: EthernetSwitch, n: Nic, name: string) {
  const port = sw.attach((f) => n.net.receive(f), name);
  n.net.link = port;
  return port;
}

test('configuration space: the MAC and STATUS (link up)', () => {
  const a = nic(MAC_A);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((i) => a.drv.config8(i)), [...parseMac(MAC_A)!]);
  assert.equal(a.drv.config16(6), 1);
});

for (const mrg of [false, true]) {
  test(`two NICs on one switch exchange frames (MRG_RXBUF ${mrg ? 'on' : 'off'})`, () => {
    const sw = new EthernetSwitch();
    const a = nic(MAC_A, { mrg }), b = nic(MAC_B, { mrg });
    plug(sw, a, 'a');
    plug(sw, b, 'b');
    const hello = ethFrame('ff:ff:ff:ff:ff:ff', MAC_A, 60, 1);
    send(a, hello);
    assert.equal(b.drv.irqLevel, true);
    assert.equal(b.drv.ackInterrupt(), 1);
    assert.deepEqual(received(b), [{ numBuffers: 1, frame: hello }]);
    const reply = ethFrame(MAC_A, MAC_B, 1514, 2);
    send(b, reply);
    assert.deepEqual(received(a), [{ numBuffers: 1, frame: reply }]);
    assert.equal(received(b).length, 0, 'no echo to the sender');
    assert.equal(a.net.stats.rxFrames + b.net.stats.rxFrames, 2);
    assert.ok(sw.lookup(0x525400123401) && sw.lookup(0x525400123402), 'both MACs learned');
    assert.ok(a.ram.guardsIntact() && b.ram.guardsIntact());
  });
}

test('MRG_RXBUF: a packet spreads over small buffers, all but the last filled completely', () => {
  const a = nic(MAC_A, { mrg: true, bufLen: 256, buffers: 8 });
  const f = ethFrame(MAC_A, MAC_B, 1000, 3);
  assert.equal(a.net.receive(f), true);
  const used = a.rx.takeUsed();
  assert.deepEqual(used.map((u) => u.len), [256, 256, 256, 244]);
  // Re-read through the helper with the same used entries.
  const first = a.rxBufs.get(used[0]!.id)!;
  assert.equal(a.ram.r16(first + 10), 4, 'num_buffers');
  const data = used.flatMap((u) => [...a.ram.bytes(a.rxBufs.get(u.id)!, u.len)]).slice(VIRTIO_NET_HDR_SIZE);
  assert.deepEqual(Uint8Array.from(data), f);
});

test('without MRG_RXBUF a frame larger than the buffer is dropped and the buffer kept', () => {
  const a = nic(MAC_A, { bufLen: 600, buffers: 2 });
  assert.equal(a.net.receive(ethFrame(MAC_A, MAC_B, 1000, 0)), true);
  assert.equal(a.net.stats.rxDropped, 1);
  assert.equal(a.rx.takeUsed().length, 0);
  const small = ethFrame(MAC_A, MAC_B, 500, 4);
  a.net.receive(small);
  assert.deepEqual(received(a), [{ numBuffers: 1, frame: small }]);
});

test('frames wait in a backlog until the guest adds receive buffers', () => {
  const a = nic(MAC_A, { buffers: 0 });
  const f1 = ethFrame(MAC_A, MAC_B, 64, 5), f2 = ethFrame(MAC_A, MAC_B, 70, 6);
  a.net.receive(f1);
  a.net.receive(f2);
  assert.equal(a.rx.takeUsed().length, 0);
  addRxBuffers(a, 1);
  assert.deepEqual(received(a).map((p) => p.frame), [f1]);
  addRxBuffers(a, 4);
  assert.deepEqual(received(a).map((p) => p.frame), [f2]);
});

test('link down: STATUS changes with a configuration interrupt and new ConfigGeneration; frames are dropped', () => {
  const sw = new EthernetSwitch();
  const a = nic(MAC_A), b = nic(MAC_B);
  plug(sw, a, 'a');
  plug(sw, b, 'b');
  const gen = a.drv.read(R.VIRTIO_MMIO_CONFIG_GENERATION);
  a.net.setLinkUp(false);
  assert.equal(a.drv.config16(6), 0);
  assert.notEqual(a.drv.read(R.VIRTIO_MMIO_CONFIG_GENERATION), gen);
  assert.equal(a.drv.ackInterrupt(), R.VIRTIO_MMIO_INT_CONFIG);
  send(a, ethFrame(MAC_B, MAC_A, 60, 0));
  assert.equal(received(b).length, 0);
  assert.equal(a.net.stats.txDropped, 1);
  a.net.setLinkUp(true);
  send(a, ethFrame(MAC_B, MAC_A, 60, 0));
  assert.equal(received(b).length, 1);
});

test('a transmit chain too short for header + Ethernet header is dropped, still returned', () => {
  const sw = new EthernetSwitch();
  const a = nic(MAC_A), b = nic(MAC_B);
  plug(sw, a, 'a');
  plug(sw, b, 'b');
  const g = a.ram.alloc(20);
  a.tx.add([{ gpa: g, len: 20 }], []);
  a.tx.kick();
  assert.equal(a.tx.takeUsed().length, 1);
  assert.equal(a.net.stats.txDropped, 1);
  assert.equal(received(b).length, 0);
});

test('a receive buffer smaller than the header (MRG_RXBUF) needs reset', () => {
  const a = nic(MAC_A, { mrg: true, bufLen: 8, buffers: 2 });
  a.net.receive(ethFrame(MAC_A, MAC_B, 60, 0));
  assert.ok(a.drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET);
  assert.ok(a.ram.guardsIntact());
  // The whole device stops, not just the queue at fault: transmit consumes nothing either.
  const g = a.ram.alloc(80);
  a.tx.add([{ gpa: g, len: 80 }], []);
  a.tx.kick();
  assert.deepEqual(a.tx.takeUsed(), []);
});

test('save/restore: a restored NIC keeps its MAC and rings and carries on', () => {
  const sw = new EthernetSwitch();
  const a = nic(MAC_A), b = nic(MAC_B);
  plug(sw, a, 'a');
  const portB = plug(sw, b, 'b');
  send(a, ethFrame(MAC_B, MAC_A, 60, 1));
  assert.equal(received(b).length, 1);
  const state = JSON.parse(JSON.stringify(b.t.save()));
  portB.detach();
  const net2 = new VirtioNet({ mac: parseMac('52:54:00:00:00:99')! });
  const t2 = new VirtioMmio(b.ram.mem, b.drv.irq, net2);
  assert.equal(t2.restore(state), true);
  assert.deepEqual(net2.mac, parseMac(MAC_B));
  b.drv.dev = t2;
  b.t = t2;
  b.net = net2;
  plug(sw, b, 'b2');
  const f = ethFrame(MAC_B, MAC_A, 80, 9);
  send(a, f);
  assert.deepEqual(received(b).map((p) => p.frame), [f]);
});

test('without MRG_RXBUF a receive buffer smaller than the header only costs the packet', () => {
  const a = nic(MAC_A, { bufLen: 8, buffers: 1 });
  assert.equal(a.net.receive(ethFrame(MAC_A, MAC_B, 60, 0)), true);
  assert.equal(a.net.stats.rxDropped, 1);
  assert.equal(a.drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET, 0);
  assert.deepEqual(a.rx.takeUsed(), []);
});

test('a NIC whose driver is not running drops frames instead of hoarding them', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  const net = new VirtioNet({ mac: parseMac(MAC_A)! });
  drv.dev = new VirtioMmio(ram.mem, drv.irq, net);
  assert.equal(net.receive(ethFrame(MAC_A, MAC_B, 60, 0)), false);
  assert.ok(drv.negotiate(V1));
  drv.setupQueue(0, 8, false);
  assert.equal(net.receive(ethFrame(MAC_A, MAC_B, 60, 0)), false, 'FEATURES_OK is not DRIVER_OK');
  assert.equal(net.stats.rxDropped, 2);
  drv.driverOk();
  assert.equal(net.receive(ethFrame(MAC_A, MAC_B, 60, 0)), true, 'running: kept until buffers come');
});
