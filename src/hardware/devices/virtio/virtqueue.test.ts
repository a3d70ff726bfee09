// SPDX-License-Identifier: GPL-2.0-only
// Split virtqueue: chain parsing, indirect descriptors, event-index suppression both ways,
// index wrap-around, and hostile rings (each hostile case breaks the queue, never throws,
// never reaches outside RAM), ending with a seeded fuzz run through the transport.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DriverQueue, MmioDriver, RAM_BASE, TestRam } from './test-driver.ts';
import { bit, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_VERSION_1, VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import { VirtioRng } from './virtio-rng.ts';
import {
  chainRead, chainWrite, DescChain, POP_BROKEN, POP_CHAIN, POP_EMPTY, Virtqueue,
  VIRTQ_DESC_F_INDIRECT, VIRTQ_DESC_F_NEXT, VIRTQ_DESC_F_WRITE,
} from './virtqueue.ts';

const N = VIRTQ_DESC_F_NEXT;
const W = VIRTQ_DESC_F_WRITE;
const I = VIRTQ_DESC_F_INDIRECT;

/** A device-side Virtqueue and a driver-side DriverQueue over the same rings. */
function setup(size = 8, opts: { indirect?: boolean; eventIdx?: boolean } = {}) {
  const ram = new TestRam();
  const dq = new DriverQueue(new MmioDriver(ram), 0, size, opts.eventIdx ?? false);
  const vq = new Virtqueue(ram.mem, 16);
  let brokenCalls = 0;
  vq.onBroken = () => brokenCalls++;
  vq.size = size;
  vq.desc = dq.desc;
  vq.driver = dq.avail;
  vq.device = dq.used;
  vq.indirect = opts.indirect ?? false;
  vq.eventIdx = opts.eventIdx ?? false;
  assert.equal(vq.enable(), true);
  return { ram, dq, vq, chain: new DescChain(16), broken: () => brokenCalls };
}

test('a chain of readable then writable descriptors is flattened, and chainRead/chainWrite span segments', () => {
  const { ram, dq, vq, chain } = setup();
  const a = ram.alloc(3), b = ram.alloc(5), c = ram.alloc(4), d = ram.alloc(4);
  ram.put(a, Uint8Array.of(1, 2, 3));
  ram.put(b, Uint8Array.of(4, 5, 6, 7, 8));
  const head = dq.add([{ gpa: a, len: 3 }, { gpa: b, len: 5 }], [{ gpa: c, len: 4 }, { gpa: d, len: 4 }]);
  assert.equal(vq.pop(chain), POP_CHAIN);
  assert.equal(chain.head, head);
  assert.equal(chain.count, 4);
  assert.equal(chain.firstWritable, 2);
  assert.equal(chain.readableLen, 8);
  assert.equal(chain.writableLen, 8);
  const got = new Uint8Array(6);
  assert.equal(chainRead(ram.mem, chain, 1, got, 0, 6), 6);
  assert.deepEqual([...got], [2, 3, 4, 5, 6, 7]);
  assert.equal(chainWrite(ram.mem, chain, 2, Uint8Array.of(9, 9, 9, 9), 0, 4), 4);
  assert.deepEqual([...ram.bytes(c, 4)], [0, 0, 9, 9]);
  assert.deepEqual([...ram.bytes(d, 4)], [9, 9, 0, 0]);
  assert.equal(vq.pop(chain), POP_EMPTY);
});

test('indirect descriptors are followed, including after a direct prefix', () => {
  const { ram, dq, vq, chain } = setup(8, { indirect: true });
  const buf = ram.alloc(64);
  dq.add([{ gpa: buf, len: 16 }], [{ gpa: buf + 16, len: 48 }], true);
  assert.equal(vq.pop(chain), POP_CHAIN);
  assert.equal(chain.count, 2);
  assert.equal(chain.writableLen, 48);
  // "The device MUST handle the case of zero or more normal chained descriptors followed by
  // a single descriptor with flags&VIRTQ_DESC_F_INDIRECT" (virtio-1.2 §2.7.5.3.2).
  const table = ram.alloc(32);
  dq.writeDesc(table, 0, buf + 8, 8, W | N, 1);
  dq.writeDesc(table, 1, buf + 32, 8, W, 0);
  dq.writeDesc(dq.desc, 5, buf, 8, N, 6);
  dq.writeDesc(dq.desc, 6, table, 32, I | W, 0); // the WRITE flag here "MUST" be ignored
  dq.publish(5);
  assert.equal(vq.pop(chain), POP_CHAIN);
  assert.equal(chain.count, 3);
  assert.equal(chain.readableLen, 8);
  assert.equal(chain.writableLen, 16);
});

test('an indirect table need not be aligned, even across discontiguous pages', () => {
  for (const scramble of [false, true]) {
    const ram = new TestRam(1 << 16, scramble);
    const dq = new DriverQueue(new MmioDriver(ram), 0, 8, false);
    const vq = new Virtqueue(ram.mem, 16);
    vq.size = 8; vq.desc = dq.desc; vq.driver = dq.avail; vq.device = dq.used; vq.indirect = true;
    assert.ok(vq.enable());
    const table = RAM_BASE + 3 * 4096 - 24; // entry 1 straddles the page boundary
    const b = ram.alloc(64);
    dq.writeDesc(table, 0, b, 8, N, 1);
    dq.writeDesc(table, 1, b + 8, 24, W | N, 2);
    dq.writeDesc(table, 2, b + 32, 4, W, 0);
    dq.writeDesc(dq.desc, 0, table, 48, I, 0);
    dq.publish(0);
    const c = new DescChain(16);
    assert.equal(vq.pop(c), POP_CHAIN, `scramble ${scramble}`);
    assert.deepEqual([c.count, c.readableLen, c.writableLen, c.addr[1]], [3, 8, 28, b + 8]);
  }
});

/** Each hostile chain breaks the queue exactly once and leaves RAM's guards intact. */
function expectBroken(build: (s: ReturnType<typeof setup>) => void, opts?: { indirect?: boolean }) {
  const s = setup(8, opts);
  build(s);
  assert.equal(s.vq.pop(s.chain), POP_BROKEN);
  assert.equal(s.broken(), 1);
  assert.equal(s.vq.pop(s.chain), POP_EMPTY, 'a broken queue does nothing more');
  assert.equal(s.broken(), 1);
  assert.ok(s.ram.guardsIntact());
}

test('hostile: head or next index out of range', () => {
  expectBroken(({ dq }) => dq.publish(8));
  expectBroken(({ dq, ram }) => {
    dq.writeDesc(dq.desc, 0, ram.alloc(8), 8, N, 9);
    dq.publish(0);
  });
});

test('hostile: a chain that loops', () => {
  expectBroken(({ dq, ram }) => {
    const b = ram.alloc(8);
    dq.writeDesc(dq.desc, 0, b, 8, N, 1);
    dq.writeDesc(dq.desc, 1, b, 8, N, 0);
    dq.publish(0);
  });
});

test('hostile: indirect without the feature, inside indirect, with NEXT, or of a bad length', () => {
  expectBroken(({ dq, ram }) => dq.add([{ gpa: ram.alloc(8), len: 8 }], [], true));
  // "The driver MUST NOT set the VIRTQ_DESC_F_INDIRECT flag within an indirect descriptor".
  expectBroken(({ dq, ram }) => {
    const inner = ram.alloc(16), outer = ram.alloc(16);
    dq.writeDesc(inner, 0, ram.alloc(8), 8, 0, 0);
    dq.writeDesc(outer, 0, inner, 16, I, 0);
    dq.writeDesc(dq.desc, 0, outer, 16, I, 0);
    dq.publish(0);
  }, { indirect: true });
  // "A driver MUST NOT set both VIRTQ_DESC_F_INDIRECT and VIRTQ_DESC_F_NEXT in flags".
  expectBroken(({ dq, ram }) => {
    const t = ram.alloc(16);
    dq.writeDesc(t, 0, ram.alloc(8), 8, 0, 0);
    dq.writeDesc(dq.desc, 0, t, 16, I | N, 1);
    dq.writeDesc(dq.desc, 1, ram.alloc(8), 8, 0, 0);
    dq.publish(0);
  }, { indirect: true });
  for (const len of [0, 24, 16 * 9]) {
    expectBroken(({ dq, ram }) => {
      dq.writeDesc(dq.desc, 0, ram.alloc(16 * 9), len, I, 0);
      dq.publish(0);
    }, { indirect: true });
  }
  // An indirect table whose own next points outside it.
  expectBroken(({ dq, ram }) => {
    const t = ram.alloc(32);
    dq.writeDesc(t, 0, ram.alloc(8), 8, N, 2);
    dq.writeDesc(dq.desc, 0, t, 32, I, 0);
    dq.publish(0);
  }, { indirect: true });
});

test('hostile: a readable descriptor after a writable one', () => {
  expectBroken(({ dq, ram }) => {
    dq.writeDesc(dq.desc, 0, ram.alloc(8), 8, W | N, 1);
    dq.writeDesc(dq.desc, 1, ram.alloc(8), 8, 0, 0);
    dq.publish(0);
  });
});

test('hostile: lengths adding up past 2^32, buffers outside RAM or in read-only memory', () => {
  expectBroken(({ dq }) => {
    dq.writeDesc(dq.desc, 0, RAM_BASE, 0xffffffff, N, 1);
    dq.writeDesc(dq.desc, 1, RAM_BASE, 0xffffffff, 0, 0);
    dq.publish(0);
  });
  expectBroken(({ dq }) => dq.add([{ gpa: RAM_BASE + (1 << 20) - 4, len: 8 }], []));
  expectBroken(({ dq }) => dq.add([{ gpa: 2 ** 52, len: 8 }], []));
  expectBroken(({ dq }) => {
    dq.writeDesc(dq.desc, 0, 0, 8, 0, 0);
    dq.publish(0);
  });
  expectBroken(({ dq, ram }) => {
    const b = ram.alloc(4096, 4096);
    ram.readOnlyPages.add(b / 4096);
    dq.add([], [{ gpa: b, len: 16 }]);
  });
});

test('hostile: avail idx moving by more than the queue size', () => {
  expectBroken(({ dq }) => dq.setAvailIdx(9));
  expectBroken(({ dq }) => dq.setAvailIdx(0xffff));
});

test('16-bit indexes wrap: 70000 requests through a 4-entry queue', () => {
  const { ram, dq, vq, chain } = setup(4);
  const b = ram.alloc(8);
  for (let i = 0; i < 70000; i++) {
    const head = dq.add([], [{ gpa: b, len: 8 }]);
    assert.equal(vq.pop(chain), POP_CHAIN);
    assert.equal(vq.pushUsed(head, 8), true);
    const used = dq.takeUsed();
    if (used.length !== 1 || used[0]!.id !== head) assert.fail(`iteration ${i}: ${JSON.stringify(used)}`);
  }
  assert.equal(ram.r16(dq.used + 2), 70000 & 0xffff);
});

test('used buffer notifications without EVENT_IDX follow VIRTQ_AVAIL_F_NO_INTERRUPT', () => {
  const { ram, dq, vq, chain } = setup();
  const h = dq.add([], [{ gpa: ram.alloc(8), len: 8 }]);
  vq.pop(chain);
  vq.pushUsed(h, 0);
  assert.equal(vq.needsNotify(), true);
  dq.setAvailFlags(1);
  assert.equal(vq.needsNotify(), false);
});

test('EVENT_IDX: the device interrupts only when used idx passes used_event, and publishes avail_event', () => {
  const { ram, dq, vq, chain } = setup(8, { eventIdx: true });
  const b = ram.alloc(8);
  const heads = [0, 1, 2, 3].map(() => dq.add([], [{ gpa: b, len: 8 }]));
  dq.setUsedEvent(2); // interrupt me when the third buffer (used idx 3) is used
  const decisions: boolean[] = [];
  for (const h of heads) {
    assert.equal(vq.pop(chain), POP_CHAIN);
    vq.pushUsed(h, 8);
    decisions.push(vq.needsNotify());
  }
  // The first decision after reset always notifies (no previous signal to compare with).
  assert.deepEqual(decisions, [true, false, true, false]);
  assert.equal(vq.needsNotify(), false, 'nothing new since the last decision');
  // avail_event (after the used ring) tells the driver to notify when it adds buffer #4.
  assert.equal(ram.r16(dq.used + 4 + 8 * 8), 4);
});

test('EVENT_IDX from the driver side: a kick is sent only when avail idx passes avail_event', () => {
  const ram = new TestRam();
  const drv = new MmioDriver(ram);
  let n = 0;
  const t = new VirtioMmio(ram.mem, drv.irq, new VirtioRng({ entropy: (b) => b.fill(n++) }));
  drv.dev = t;
  assert.ok(drv.negotiate(bit(VIRTIO_F_VERSION_1) | bit(VIRTIO_F_RING_EVENT_IDX)));
  const q = drv.setupQueue(0, 8, true);
  drv.driverOk();
  const b = ram.alloc(8);
  q.add([], [{ gpa: b, len: 8 }]);
  assert.equal(q.kick(), true);
  assert.equal(q.takeUsed().length, 1);
  q.add([], [{ gpa: b, len: 8 }]);
  q.add([], [{ gpa: b, len: 8 }]);
  assert.equal(q.kick(), true, 'avail_event = 1: the driver must notify for buffer #1');
  assert.equal(q.takeUsed().length, 2);
  assert.equal(q.notifications, 2);
});

/** xorshift32: a seeded generator so a failing fuzz run can be replayed. */
function rng32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

test('fuzz: random rings, descriptors and register writes never throw and never touch memory outside RAM', () => {
  const seed = 0xc0ffee;
  const rnd = rng32(seed);
  const ram = new TestRam(1 << 16);
  const drv = new MmioDriver(ram);
  const t = new VirtioMmio(ram.mem, drv.irq, new VirtioRng({ entropy: (b) => b.fill(0x5a) }));
  drv.dev = t;
  const interesting = [0, 1, 2, 3, 4, 5, 6, 7, 8, 15, 16, 0xffff, 0xffffffff, 0x8000_0000, 0x8000_fff0, 0x8000_0ff8];
  const pick = () => (rnd() & 3) === 0 ? interesting[rnd() % interesting.length]! : rnd();
  let needsReset = 0, used = 0;
  for (let iter = 0; iter < 3000; iter++) {
    try {
      const features = bit(VIRTIO_F_VERSION_1) | (rnd() & 1 ? bit(VIRTIO_F_INDIRECT_DESC) : 0n) | (rnd() & 1 ? bit(VIRTIO_F_RING_EVENT_IDX) : 0n);
      drv.negotiate(features);
      const size = 1 << (rnd() % 4);
      const q = drv.setupQueue(0, size, false);
      drv.driverOk();
      // Garbage over the descriptor table, the available ring and some buffers; often pointing
      // descriptors at RAM so that chains get deep before something is wrong.
      for (let i = 0; i < size; i++) {
        const addr = rnd() & 1 ? 0x8000_0000 + (rnd() % (1 << 16)) : pick() + pick() * 2 ** (rnd() % 24);
        q.writeDesc(q.desc, i, addr, rnd() & 1 ? rnd() % 64 : pick(), rnd() & 7, rnd() & 1 ? rnd() % (size + 1) : pick() & 0xffff);
      }
      for (let i = 0; i < 4 + 2 * size; i++) ram.w16(q.avail + 2 * i, rnd() & 1 ? rnd() % (size + 1) : pick() & 0xffff);
      for (let k = 0; k < 3; k++) drv.write(R.VIRTIO_MMIO_QUEUE_NOTIFY, 0);
      // Random register traffic, including queue registers after DRIVER_OK.
      for (let k = 0; k < 4; k++) t.write((rnd() % 0x110) & ~3, 4, pick());
      if (drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET) needsReset++;
      used += ram.r16(q.used + 2);
      drv.write(R.VIRTIO_MMIO_STATUS, 0);
      ram.resetAlloc();
    } catch (e) {
      assert.fail(`seed ${seed} iteration ${iter}: ${(e as Error).stack}`);
    }
    assert.ok(ram.guardsIntact(), `seed ${seed} iteration ${iter}: wrote outside RAM`);
  }
  // The run must have exercised both outcomes, or it proves nothing.
  assert.ok(needsReset > 300, `needsReset ${needsReset}`);
  assert.ok(used > 100, `used ${used}`);
});

test('restore refuses a queue record it cannot trust (bad version, size, addresses)', () => {
  const { vq } = setup();
  const good = vq.save();
  assert.equal(vq.restore(good), true);
  for (const bad of [{ ...good, version: 2 }, { ...good, size: 6 }, { ...good, size: 32 }, { ...good, desc: -16 }, { ...good, device: 0.5 }]) {
    assert.equal(vq.restore(bad as typeof good), false, JSON.stringify(bad));
    assert.equal(vq.ready, false, 'left reset');
  }
});
