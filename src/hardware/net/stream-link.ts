// SPDX-License-Identifier: GPL-2.0-only
// A switch port carried over a byte stream (a TCP connection between two tsxen hosts, or to
// QEMU's `-netdev stream`/`-netdev socket`): every frame is a 32-bit big-endian length followed
// by the frame, the framing QEMU's socket netdev uses. The stream itself belongs to host/;
// this side only encodes, reassembles and bounds. Leaves out: QEMU's UDP/multicast modes.

import type { EthernetSwitch, SwitchPort } from './switch.ts';

const LEN_SIZE = 4;
/** Largest frame accepted from the stream (QEMU's NET_BUFSIZE: 4096 + 65536). */
export const STREAM_MAX_FRAME = 4096 + 65536;

export class StreamLink {
  readonly port: SwitchPort;
  /** Why the stream was refused, once receive() returned false. */
  error: string | undefined;
  private readonly buf = new Uint8Array(LEN_SIZE + STREAM_MAX_FRAME);
  private have = 0;
  private need = LEN_SIZE;
  private readonly header = new Uint8Array(LEN_SIZE);

  /**
   * Attach to `sw`; frames the switch sends to this port go to `write` (length, then frame).
   * `write` must consume or copy the bytes before returning.
   */
  constructor(sw: EthernetSwitch, private readonly write: (bytes: Uint8Array) => void, name = 'stream') {
    this.port = sw.attach((frame) => this.encode(frame), name);
  }

  private encode(frame: Uint8Array): void {
    const n = frame.length;
    this.header[0] = n >>> 24;
    this.header[1] = (n >>> 16) & 0xff;
    this.header[2] = (n >>> 8) & 0xff;
    this.header[3] = n & 0xff;
    this.write(this.header);
    this.write(frame);
  }

  /**
   * Bytes from the stream, in pieces of any size. Complete frames go into the switch. Returns
   * false, and stops accepting, on a length no frame can have (the caller closes the stream).
   */
  receive(chunk: Uint8Array): boolean {
    if (this.error) return false;
    let off = 0;
    while (off < chunk.length) {
      const n = Math.min(this.need - this.have, chunk.length - off);
      this.buf.set(chunk.subarray(off, off + n), this.have);
      this.have += n;
      off += n;
      if (this.have < this.need) break;
      if (this.need === LEN_SIZE) {
        const len = ((this.buf[0]! << 24) >>> 0) + (this.buf[1]! << 16) + (this.buf[2]! << 8) + this.buf[3]!;
        if (len === 0 || len > STREAM_MAX_FRAME) {
          this.error = `bad frame length ${len} (1..${STREAM_MAX_FRAME})`;
          this.port.detach();
          return false;
        }
        this.need = LEN_SIZE + len;
      } else {
        this.port.send(this.buf.subarray(LEN_SIZE, this.need));
        this.have = 0;
        this.need = LEN_SIZE;
      }
    }
    return true;
  }

  /** The stream ended: leave the switch. */
  close(): void {
    this.port.detach();
  }
}
