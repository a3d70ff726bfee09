// SPDX-License-Identifier: GPL-2.0-only
// xenconsoled's logic, free of I/O: one Console per domain with its recent history (replayed to
// a client that attaches), its attached clients, the log sink, and pending input. The host
// (src/host/xenconsoled.ts) supplies the sources (PV rings, HVM UARTs) and the files/sockets.
// Xen: tools/console/daemon/io.c (struct domain, buffer, handle_ring_read, log files)

/** Bytes of history kept per console and replayed on attach. */
export const HISTORY_BYTES = 65536;

export interface ConsoleClient {
  write(bytes: Uint8Array): void;
  /** The domain went away: the client is told and dropped. */
  closed(reason: string): void;
}

export interface ConsoleSource {
  /** Output the guest produced since the last call, or null. */
  read(): Uint8Array | null;
  /** Give input to the guest; returns bytes accepted (the rest is retried later). */
  write(bytes: Uint8Array): number;
}

export class Console {
  private hist = new Uint8Array(HISTORY_BYTES);
  private histLen = 0;
  private readonly clients = new Set<ConsoleClient>();
  private pendingIn: Uint8Array[] = [];

  constructor(readonly domid: number, readonly name: string, readonly source: ConsoleSource | null, private readonly log: (b: Uint8Array) => void) {}

  /** Output from the guest (ring drained, UART byte, console_io): history, log, clients. */
  output(b: Uint8Array): void {
    if (b.length === 0) return;
    if (b.length >= HISTORY_BYTES) {
      this.hist.set(b.subarray(b.length - HISTORY_BYTES));
      this.histLen = HISTORY_BYTES;
    } else {
      const keep = Math.min(this.histLen, HISTORY_BYTES - b.length);
      this.hist.copyWithin(0, this.histLen - keep, this.histLen);
      this.hist.set(b, keep);
      this.histLen = keep + b.length;
    }
    this.log(b);
    for (const c of this.clients) c.write(b);
  }

  history(): Uint8Array {
    return this.hist.slice(0, this.histLen);
  }

  attach(c: ConsoleClient, replay: boolean): () => void {
    if (replay && this.histLen > 0) c.write(this.history());
    this.clients.add(c);
    return () => void this.clients.delete(c);
  }
  get attached(): number {
    return this.clients.size;
  }

  /** Input from a client, queued until the guest's ring has room. */
  input(b: Uint8Array): void {
    if (b.length > 0) this.pendingIn.push(b);
    this.flushInput();
  }

  /** Drain the source and push queued input; true if anything moved. */
  poll(): boolean {
    let moved = false;
    const b = this.source?.read() ?? null;
    if (b !== null) {
      this.output(b);
      moved = true;
    }
    if (this.pendingIn.length > 0) moved = this.flushInput() || moved;
    return moved;
  }

  private flushInput(): boolean {
    if (this.source === null) {
      this.pendingIn = [];
      return false;
    }
    let moved = false;
    while (this.pendingIn.length > 0) {
      const head = this.pendingIn[0]!;
      const n = this.source.write(head);
      if (n > 0) moved = true;
      if (n < head.length) {
        this.pendingIn[0] = head.subarray(n);
        break;
      }
      this.pendingIn.shift();
    }
    return moved;
  }

  close(reason: string): void {
    for (const c of this.clients) c.closed(reason);
    this.clients.clear();
  }
}

/** The detach key of `xl console`: Ctrl-] (0x1d). */
export const DETACH_BYTE = 0x1d;
