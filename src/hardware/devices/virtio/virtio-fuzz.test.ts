// SPDX-License-Identifier: GPL-2.0-only
// Seeded fuzzing of every virtio device behind the transport: well-formed requests with random
// contents, the same with one field corrupted, and pure garbage rings, plus random register
// writes and host-side traffic (frames, console input). The device must never throw, never
// write outside guest RAM, and must actually complete requests (so the run means something).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EthernetSwitch } from '../../net/switch.ts';
import { type Buf, type DriverQueue, MmioDriver, TestRam } from './test-driver.ts';
import { RamBlockBackend, VirtioBlk } from './virtio-blk.ts';
import { VirtioConsole } from './virtio-console.ts';
import { bit, type VirtioDevice, VIRTIO_F_INDIRECT_DESC, VIRTIO_F_RING_EVENT_IDX, VIRTIO_F_RING_RESET, VIRTIO_F_VERSION_1, VIRTIO_STATUS_DEVICE_NEEDS_RESET } from './virtio-device.ts';
import * as R from './virtio-mmio.ts';
import { VirtioMmio } from './virtio-mmio.ts';
import { VirtioNet } from './virtio-net.ts';
import { VirtioRng } from './virtio-rng.ts';

function rng32(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13; s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5; s >>>= 0;
    return s;
  };
}

const RAM_SIZE = 1 << 17;
const devices: Record<string, () => { dev: VirtioDevice; host?: (rnd: () => number) => void }> = {
  blk: () => ({ dev: new VirtioBlk({ backend: new RamBlockBackend(64 * 1024) }) }),
  rng: () => ({ dev: new VirtioRng({ entropy: (b) => b.fill(0x77) }) }),
  console: () => {
    const dev = new VirtioConsole({ output: () => {} });
    return { dev, host: (rnd) => dev.input(new Uint8Array(rnd() % 300).fill(0x41)) };
  },
  net: () => {
    const sw = new EthernetSwitch();
    const dev = new VirtioNet({ mac: Uint8Array.of(0x52, 0x54, 0, 0, 0, 1) });
    const port = sw.attach((f) => dev.receive(f));
    dev.link = port;
    const peer = sw.attach(() => {});
    return {
      dev,
      host: (rnd) => {
        const f = new Uint8Array(rnd() & 1 ? 14 + (rnd() % 200) : rnd() % 2000);
        for (let i = 0; i < f.length; i += 7) f[i] = rnd();
        f[0] = 0xff; // broadcast, so it reaches the NIC
        peer.send(f);
      },
    };
  },
};

for (const [name, make] of Object.entries(devices)) {
  test(`fuzz ${name}: hostile rings and requests never throw, never write outside RAM`, () => {
    const seed = 0x5eed0000 + name.length;
    const rnd = rng32(seed);
    const ram = new TestRam(RAM_SIZE);
    const drv = new MmioDriver(ram);
    const { dev, host } = make();
    const t = new VirtioMmio(ram.mem, drv.irq, dev);
    drv.dev = t;
    const nq = dev.queueMaxSizes.length;
    const interesting = [0, 1, 2, 4, 8, 11, 12, 16, 511, 512, 4096, 0xffff, 0xffffffff, 0x8000_0000, 0x8000_0000 + RAM_SIZE - 8];
    const pick = () => ((rnd() & 3) === 0 ? interesting[rnd() % interesting.length]! : rnd());
    let completed = 0, resets = 0;
    for (let iter = 0; iter < 600; iter++) {
      try {
        const features = bit(VIRTIO_F_VERSION_1) | (dev.deviceFeatures & BigInt(rnd() | 0) & 0xffffffn) |
          (rnd() & 1 ? bit(VIRTIO_F_INDIRECT_DESC) : 0n) | (rnd() & 1 ? bit(VIRTIO_F_RING_EVENT_IDX) : 0n) |
          (rnd() & 1 ? bit(VIRTIO_F_RING_RESET) : 0n);
        if (!drv.negotiate(features)) assert.fail('a valid subset of the offered features was refused');
        const queues: DriverQueue[] = [];
        for (let q = 0; q < nq; q++) queues.push(drv.setupQueue(q, 1 << (1 + (rnd() % 4)), (features & bit(VIRTIO_F_RING_EVENT_IDX)) !== 0n));
        drv.driverOk();
        for (let round = 0; round < 6; round++) {
          const q = queues[rnd() % nq]!;
          const mode = rnd() % 3;
          if (mode < 2) {
            // A well-formed chain with random contents; mode 1 then corrupts one descriptor field.
            const segs = 1 + (rnd() % 4);
            const out: Buf[] = [], inb: Buf[] = [];
            for (let s = 0; s < segs; s++) {
              const len = rnd() & 1 ? 16 : rnd() % 700;
              const gpa = ram.alloc(len + 1, 8);
              for (let i = 0; i < len; i += 4) ram.w8(gpa + i, rnd() & 1 ? rnd() % 16 : rnd());
              (s === 0 || rnd() & 1 ? out : inb).push({ gpa, len });
            }
            if (out.length && rnd() & 1) inb.push({ gpa: ram.alloc(1), len: 1 });
            try {
              q.add(out, inb, (features & bit(VIRTIO_F_INDIRECT_DESC)) !== 0n && (rnd() & 1) === 1);
            } catch {
              continue; // the test driver ran out of descriptors
            }
            if (mode === 1) {
              const d = q.desc + 16 * (rnd() % q.size);
              const field = rnd() % 4;
              if (field === 0) ram.w64(d, pick() * 2 ** (rnd() % 20));
              else if (field === 1) ram.w32(d + 8, pick());
              else if (field === 2) ram.w16(d + 12, rnd() & 7);
              else ram.w16(d + 14, pick() & 0xffff);
            }
          } else {
            for (let i = 0; i < q.size; i++) q.writeDesc(q.desc, i, pick() + (rnd() & 1 ? 0x8000_0000 : 0), pick(), rnd() & 7, pick() & 0xffff);
            q.setAvailIdx(ram.r16(q.avail + 2) + (rnd() % (q.size + 2)));
          }
          drv.write(R.VIRTIO_MMIO_QUEUE_NOTIFY, q.index);
          host?.(rnd);
          if (rnd() % 8 === 0) t.write((rnd() % 0x110) & ~3, 4, pick());
          if (rnd() % 16 === 0) t.write(R.VIRTIO_MMIO_CONFIG + (rnd() % 16), 1 << (rnd() % 3), pick());
          for (const dq of queues) completed += dq.takeUsed().length;
          drv.ackInterrupt();
        }
        if (drv.status() & VIRTIO_STATUS_DEVICE_NEEDS_RESET) resets++;
        drv.write(R.VIRTIO_MMIO_STATUS, 0);
        ram.resetAlloc();
      } catch (e) {
        assert.fail(`${name} seed ${seed.toString(16)} iteration ${iter}: ${(e as Error).stack}`);
      }
      if (!ram.guardsIntact()) assert.fail(`${name} seed ${seed.toString(16)} iteration ${iter}: wrote outside RAM`);
    }
    assert.ok(completed > 300, `${name}: only ${completed} requests completed`);
    assert.ok(resets > 50, `${name}: only ${resets} rounds hit DEVICE_NEEDS_RESET`);
  });
}
