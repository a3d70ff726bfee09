// SPDX-License-Identifier: GPL-2.0-only
// virtio-rng: the entropy device. Spec: virtio-1.2 §5.4 "Entropy Device". One request queue;
// every device-writable buffer the driver supplies is filled from an entropy function that the
// host passes in (crypto.getRandomValues in host/; a seeded generator in tests).
// No feature bits and no configuration space exist for this device type.

import { type VirtioContext, type VirtioDevice, VIRTIO_ID_RNG } from './virtio-device.ts';
import { chainWrite, DescChain, POP_CHAIN } from './virtqueue.ts';

export const VIRTIO_RNG_QUEUE_SIZE = 64;
/** Most bytes given per request: bounds the work one notification can cause. */
const MAX_PER_REQUEST = 64 * 1024;

export interface VirtioRngOptions {
  /** Fill `buf` with random bytes (called with at most 65536 bytes, the Web Crypto limit). */
  readonly entropy: (buf: Uint8Array) => void;
}

export class VirtioRng implements VirtioDevice {
  readonly name = 'virtio-rng';
  readonly deviceId = VIRTIO_ID_RNG;
  readonly deviceFeatures = 0n;
  readonly queueMaxSizes = [VIRTIO_RNG_QUEUE_SIZE];
  private ctx!: VirtioContext;
  private readonly chain = new DescChain(VIRTIO_RNG_QUEUE_SIZE);
  private readonly pool = new Uint8Array(MAX_PER_REQUEST);

  constructor(private readonly opts: VirtioRngOptions) {}

  attach(ctx: VirtioContext): void { this.ctx = ctx; }
  readConfig(): number { return 0; }
  writeConfig(): void {}
  activate(): void {}
  reset(): void {}

  /** Spec: virtio-1.2 §5.4.6 "Device Operation": fill each buffer, used len = bytes written. */
  queueNotify(q: number): void {
    const vq = this.ctx.queues[q]!;
    let any = false;
    while (vq.pop(this.chain) === POP_CHAIN) {
      const n = Math.min(this.chain.writableLen, MAX_PER_REQUEST);
      const buf = this.pool.subarray(0, n);
      this.opts.entropy(buf);
      const written = chainWrite(this.ctx.mem, this.chain, 0, buf, 0, n);
      if (written < 0) {
        this.ctx.needsReset();
        return;
      }
      if (!vq.pushUsed(this.chain.head, written)) return;
      any = true;
    }
    if (any) this.ctx.notifyUsed(q);
  }

  save(): unknown { return { version: 1 }; }
  restore(state: unknown): boolean {
    return (state as { version?: unknown } | null)?.version === 1;
  }
}
