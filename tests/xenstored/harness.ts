// SPDX-License-Identifier: GPL-2.0-only
// Test helpers for xenstored: an in-memory connection for the pure core, a raw socket client
// speaking the wire protocol, and a launcher for the real daemon process on a temp socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Connection, CONN_SOCKET } from '../../src/toolstack/xenstored/connection.ts';
import { Xenstored } from '../../src/toolstack/xenstored/core.ts';
import { HEADER_SIZE, rd32 } from '../../src/toolstack/xenstored/wire.ts';

export const ROOT = join(import.meta.dirname, '..', '..');

export interface Frame { type: number; reqId: number; txId: number; payload: Buffer }

export function frame(type: number, reqId: number, txId: number, payload: string | Uint8Array): Buffer {
  const p = typeof payload === 'string' ? Buffer.from(payload, 'latin1') : Buffer.from(payload);
  const h = Buffer.alloc(HEADER_SIZE);
  h.writeUInt32LE(type, 0); h.writeUInt32LE(reqId, 4); h.writeUInt32LE(txId, 8); h.writeUInt32LE(p.length, 12);
  return Buffer.concat([h, p]);
}

export function parseFrames(b: Uint8Array): Frame[] {
  const out: Frame[] = [];
  let o = 0;
  while (b.length - o >= HEADER_SIZE) {
    const len = rd32(b, o + 12);
    if (b.length - o < HEADER_SIZE + len) break;
    out.push({ type: rd32(b, o), reqId: rd32(b, o + 4), txId: rd32(b, o + 8), payload: Buffer.from(b.subarray(o + 16, o + 16 + len)) });
    o += HEADER_SIZE + len;
  }
  return out;
}

/** A connection whose transport is an array: for driving the core directly. */
export class MemConn extends Connection {
  frames: Frame[] = [];
  constructor(core: Xenstored, domid = 0, privileged = domid === 0) {
    super(core.newConnId(), CONN_SOCKET, domid, privileged);
    core.attach(this);
  }
  transmit(f: Uint8Array): void { this.frames.push(...parseFrames(f)); }
  pendingOutput(): Uint8Array { return new Uint8Array(0); }
  outstanding(): number { return 0; }
  shutdown(): void {}
  spec(): { fd: number } { return { fd: this.id }; }
  take(): Frame[] { const f = this.frames; this.frames = []; return f; }
  /** Send one request; returns the frames it produced (reply last unless events follow). */
  req(type: number, payload: string | Uint8Array, txId = 0, reqId = 7): Frame[] {
    this.feed(frame(type, reqId, txId, payload));
    return this.take();
  }
  /** The reply payload as text, or "ERROR:<name>". */
  ask(type: number, payload: string | Uint8Array, txId = 0): string {
    const r = this.req(type, payload, txId).filter((f) => f.type !== 15);
    if (r.length !== 1) throw new Error(`expected one reply, got ${r.length}`);
    const f = r[0]!;
    return (f.type === 16 ? 'ERROR:' : '') + f.payload.toString('latin1');
  }
}

export function newCore(): { core: Xenstored; logs: string[] } {
  const logs: string[] = [];
  return { core: new Xenstored({ log: (l) => logs.push(l) }), logs };
}

/** A raw socket client: one request at a time, events collected. */
export class SockClient {
  private buf = Buffer.alloc(0);
  private waiters: ((f: Frame) => void)[] = [];
  events: Frame[] = [];
  onEvent?: (f: Frame) => void;
  closed = false;
  private constructor(readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      const fs = parseFrames(this.buf);
      let used = 0;
      for (const f of fs) used += HEADER_SIZE + f.payload.length;
      this.buf = this.buf.subarray(used);
      for (const f of fs) {
        if (f.type === 15) { this.events.push(f); this.onEvent?.(f); } else this.waiters.shift()?.(f);
      }
    });
    sock.on('close', () => { this.closed = true; });
    sock.on('error', () => {});
  }
  static connect(path: string): Promise<SockClient> {
    return new Promise((res, rej) => {
      const s = net.connect(path, () => res(new SockClient(s)));
      s.once('error', rej);
    });
  }
  /** One request; a reply that does not come within 20 s fails the test instead of hanging it. */
  req(type: number, payload: string | Uint8Array, txId = 0, reqId = 0): Promise<Frame> {
    return new Promise((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no reply to type ${type} ${JSON.stringify(String(payload).slice(0, 40))} within 20 s`)), 20_000);
      this.waiters.push((f) => { clearTimeout(t); res(f); });
      this.sock.write(frame(type, reqId, txId, payload));
    });
  }
  async ask(type: number, payload: string | Uint8Array, txId = 0): Promise<string> {
    const f = await this.req(type, payload, txId);
    return (f.type === 16 ? 'ERROR:' : '') + f.payload.toString('latin1');
  }
  close(): void { this.sock.destroy(); }
}

export interface Daemon { dir: string; path: string; proc: ChildProcess; log: () => string; stop(): Promise<void> }

/** Start the real daemon (through tsx) on a fresh temp socket. */
export async function startDaemon(args: string[] = []): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), 'xsd-'));
  const path = join(dir, 'socket');
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/host/xenstored-main.ts'), '--socket', path, '-F', join(dir, 'pid'), ...args],
    { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  proc.stdout!.on('data', (d) => { log += d; });
  proc.stderr!.on('data', (d) => { log += d; });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => { const c = net.connect(path, () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (ok) break;
    if (proc.exitCode !== null) throw new Error(`xenstored exited: ${log}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    dir, path, proc, log: () => log,
    async stop() {
      const { readFileSync } = await import('node:fs');
      let pid = proc.pid!;
      try { pid = Number(readFileSync(join(dir, 'pid'), 'utf8')); } catch { /* none */ }
      try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ }
      if (pid !== proc.pid) try { process.kill(proc.pid!, 'SIGTERM'); } catch { /* gone */ }
      for (let i = 0; i < 100; i++) {
        try { process.kill(pid, 0); } catch { return; }
        await new Promise((r) => setTimeout(r, 20));
      }
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    },
  };
}
