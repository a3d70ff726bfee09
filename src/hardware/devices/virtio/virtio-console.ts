// SPDX-License-Identifier: GPL-2.0-only
// virtio-console with a single port (Linux's /dev/hvc0). Spec: virtio-1.2 §5.3 "Console
// Device". The host side is two hooks: output() receives what the guest writes, input()
// queues bytes for the guest (bounded; excess is dropped and counted). Offers SIZE (cols and
// rows, changed by resize()) and EMERG_WRITE (emerg_wr works even before DRIVER_OK).
// Leaves out: MULTIPORT and its control queues.

import { bit, ConfigSpace, type VirtioContext, type VirtioDevice, VIRTIO_ID_CONSOLE } from './virtio-device.ts';
import { chainRead, chainWrite, DescChain, POP_CHAIN } from './virtqueue.ts';

// Spec: virtio-1.2 §5.3.3 "Feature bits".
export const VIRTIO_CONSOLE_F_SIZE = 0;
export const VIRTIO_CONSOLE_F_EMERG_WRITE = 2;
// struct virtio_console_config (Spec: virtio-1.2 §5.3.4 "Device configuration layout").
const CFG_COLS = 0;
const CFG_ROWS = 2;
const CFG_MAX_NR_PORTS = 4;
const CFG_EMERG_WR = 8;
const CFG_SIZE = 12;

export const VIRTIO_CONSOLE_QUEUE_SIZE = 128;
const RX_QUEUE = 0;
const TX_QUEUE = 1;
/** Host input kept while the guest has no receive buffers. */
const INPUT_CAPACITY = 64 * 1024;
const OUT_CHUNK = 4096;

export interface VirtioConsoleOptions {
  /** Bytes the guest wrote; valid only during the call (copy to keep). */
  readonly output: (bytes: Uint8Array) => void;
  readonly cols?: number;
  readonly rows?: number;
}

export class VirtioConsole implements VirtioDevice {
  readonly name = 'virtio-console';
  readonly deviceId = VIRTIO_ID_CONSOLE;
  readonly deviceFeatures = bit(VIRTIO_CONSOLE_F_SIZE) | bit(VIRTIO_CONSOLE_F_EMERG_WRITE);
  readonly queueMaxSizes = [VIRTIO_CONSOLE_QUEUE_SIZE, VIRTIO_CONSOLE_QUEUE_SIZE];
  /** Host input bytes dropped because the buffer was full. */
  inputDropped = 0;
  private ctx!: VirtioContext;
  private readonly config = new ConfigSpace(CFG_SIZE);
  // One chain per queue: a host hook called while transmitting may feed input back in.
  private readonly txChain = new DescChain(VIRTIO_CONSOLE_QUEUE_SIZE);
  private readonly rxChain = new DescChain(VIRTIO_CONSOLE_QUEUE_SIZE);
  private readonly outBuf = new Uint8Array(OUT_CHUNK);
  private readonly emerg = new Uint8Array(1);
  // Pending host input: a ring of INPUT_CAPACITY bytes.
  private readonly inRing = new Uint8Array(INPUT_CAPACITY);
  private inHead = 0;
  private inLen = 0;

  constructor(private readonly opts: VirtioConsoleOptions) {
    this.config.write(CFG_COLS, 2, opts.cols ?? 80);
    this.config.write(CFG_ROWS, 2, opts.rows ?? 25);
    this.config.write(CFG_MAX_NR_PORTS, 4, 1);
  }

  attach(ctx: VirtioContext): void { this.ctx = ctx; }
  readConfig(offset: number, size: number): number {
    return offset === CFG_EMERG_WR ? 0 : this.config.read(offset, size);
  }

  /** emerg_wr: "a write to this field ... the device outputs the byte" (early, before DRIVER_OK). */
  writeConfig(offset: number, size: number, value: number): void {
    if (offset !== CFG_EMERG_WR || size !== 4) return;
    this.emerg[0] = value & 0xff;
    this.opts.output(this.emerg);
  }

  activate(): void { this.fillReceive(); }
  reset(): void {}

  /** The terminal changed size: a configuration change the driver sees (VIRTIO_CONSOLE_F_SIZE). */
  resize(cols: number, rows: number): void {
    this.config.write(CFG_COLS, 2, cols);
    this.config.write(CFG_ROWS, 2, rows);
    this.ctx?.configChanged();
  }

  /** Queue host input (keyboard) for the guest. */
  input(bytes: Uint8Array): void {
    for (let i = 0; i < bytes.length; i++) {
      if (this.inLen === INPUT_CAPACITY) {
        this.inputDropped += bytes.length - i;
        break;
      }
      this.inRing[(this.inHead + this.inLen) % INPUT_CAPACITY] = bytes[i]!;
      this.inLen++;
    }
    this.fillReceive();
  }

  /** Host input bytes not yet taken by the guest. */
  get pendingInput(): number {
    return this.inLen;
  }

  queueNotify(q: number): void {
    if (q === TX_QUEUE) this.transmit();
    else if (q === RX_QUEUE) this.fillReceive();
  }

  /** Spec: virtio-1.2 §5.3.6 "Device Operation": transmitq buffers go to the host, used len 0. */
  private transmit(): void {
    const vq = this.ctx.queues[TX_QUEUE]!;
    let any = false;
    while (vq.pop(this.txChain) === POP_CHAIN) {
      for (let pos = 0; pos < this.txChain.readableLen; pos += OUT_CHUNK) {
        const n = chainRead(this.ctx.mem, this.txChain, pos, this.outBuf, 0, Math.min(OUT_CHUNK, this.txChain.readableLen - pos));
        if (n < 0) {
          this.ctx.needsReset();
          return;
        }
        this.opts.output(this.outBuf.subarray(0, n));
      }
      if (!vq.pushUsed(this.txChain.head, 0)) return;
      any = true;
    }
    if (any) this.ctx.notifyUsed(TX_QUEUE);
  }

  /** Move pending input into receiveq buffers, as much as each buffer holds. */
  private fillReceive(): void {
    const ctx = this.ctx;
    const vq = ctx?.queues[RX_QUEUE];
    if (!vq || !ctx.running || this.inLen === 0) return;
    let any = false;
    while (this.inLen > 0 && vq.pop(this.rxChain) === POP_CHAIN) {
      const want = Math.min(this.inLen, this.rxChain.writableLen);
      // The ring may wrap: at most two contiguous pieces.
      const first = Math.min(want, INPUT_CAPACITY - this.inHead);
      if (chainWrite(ctx.mem, this.rxChain, 0, this.inRing, this.inHead, first) !== first ||
          (want > first && chainWrite(ctx.mem, this.rxChain, first, this.inRing, 0, want - first) !== want - first)) {
        ctx.needsReset();
        return;
      }
      if (!vq.pushUsed(this.rxChain.head, want)) return;
      any = true;
      this.inHead = (this.inHead + want) % INPUT_CAPACITY;
      this.inLen -= want;
    }
    if (any) ctx.notifyUsed(RX_QUEUE);
  }

  save(): unknown {
    const pending: number[] = [];
    for (let i = 0; i < this.inLen; i++) pending.push(this.inRing[(this.inHead + i) % INPUT_CAPACITY]!);
    return { version: 1, cols: this.config.read(CFG_COLS, 2), rows: this.config.read(CFG_ROWS, 2), pending };
  }

  restore(state: unknown): boolean {
    const s = state as { version?: unknown; cols?: unknown; rows?: unknown; pending?: unknown } | null;
    if (s?.version !== 1 || !Array.isArray(s.pending) || s.pending.length > INPUT_CAPACITY) return false;
    this.config.write(CFG_COLS, 2, Number(s.cols));
    this.config.write(CFG_ROWS, 2, Number(s.rows));
    this.inHead = 0;
    this.inLen = s.pending.length;
    for (let i = 0; i < this.inLen; i++) this.inRing[i] = Number(s.pending[i]) & 0xff;
    return true;
  }
}
