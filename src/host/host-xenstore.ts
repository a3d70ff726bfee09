// SPDX-License-Identifier: GPL-2.0-only
// The host's xenstored: our bin/xenstored spawned in its own process on <rundir>/xenstored/socket
// (ready when the socket accepts), and the host's dom0 client connection to it, used to write
// the nodes libxl writes for a new domain and to INTRODUCE/RELEASE domains (xen-digest §1.11).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { encodeFrame, FrameReader, XS_INTRODUCE, XS_RELEASE, XS_WRITE } from '../toolstack/xenstored/wire.ts';

const XS_DIRECTORY = 1;
const XS_WATCH = 4;
const XS_UNWATCH = 5;
const XS_WATCH_EVENT = 15;
const XS_RM = 13;
const XS_SET_PERMS = 14;
const XS_ERROR = 16;

export class XenstoreClient {
  private reqId = 1;
  private readonly waiting = new Map<number, { ok: (s: string) => void; fail: (e: Error) => void }>();
  private readonly reader: FrameReader;
  private readonly watches = new Map<string, (path: string) => void>();
  private nextToken = 1;

  private constructor(private readonly sock: Socket) {
    this.reader = new FrameReader((type, reqId, _tx, payload) => {
      if (type === XS_WATCH_EVENT) {
        const [path, token] = Buffer.from(payload).toString('latin1').split('\0');
        this.watches.get(token ?? '')?.(path ?? '');
        return;
      }
      const w = this.waiting.get(reqId);
      if (w === undefined) return;
      this.waiting.delete(reqId);
      const s = Buffer.from(payload).toString('latin1');
      if (type === XS_ERROR) w.fail(new Error(`xenstored: ${s.replace(/\0$/, '')}`));
      else w.ok(s);
    });
    sock.on('data', (b: Buffer) => void this.reader.push(new Uint8Array(b.buffer, b.byteOffset, b.length)));
    sock.on('close', () => {
      for (const w of this.waiting.values()) w.fail(new Error('xenstored closed the connection'));
      this.waiting.clear();
    });
    sock.on('error', () => {});
  }

  static connect(path: string): Promise<XenstoreClient> {
    return new Promise((ok, fail) => {
      const s = connect(path);
      s.once('connect', () => ok(new XenstoreClient(s)));
      s.once('error', fail);
    });
  }

  request(type: number, ...args: string[]): Promise<string> {
    const id = this.reqId++;
    const payload = Buffer.from(args.join('\0') + (type === XS_WRITE ? '' : '\0'), 'latin1');
    return new Promise((ok, fail) => {
      // A xenstored that stops answering must not hang the host: fail the request after 10 s.
      const t = setTimeout(() => {
        this.waiting.delete(id);
        fail(new Error(`xenstored did not answer request type ${type} within 10 s`));
      }, 10_000);
      this.waiting.set(id, { ok: (v) => (clearTimeout(t), ok(v)), fail: (e) => (clearTimeout(t), fail(e)) });
      this.sock.write(encodeFrame(type, id, 0, new Uint8Array(payload)));
    });
  }
  write(path: string, value: string): Promise<string> {
    return this.request(XS_WRITE, path, value);
  }
  /** perms like ['n0', 'r5'] */
  setPerms(path: string, perms: string[]): Promise<string> {
    return this.request(XS_SET_PERMS, path, ...perms);
  }
  /** The value, or null when the node does not exist. */
  async read(path: string): Promise<string | null> {
    try {
      return await this.request(2 /* XS_READ */, path);
    } catch (e) {
      if (e instanceof Error && /ENOENT/.test(e.message)) return null;
      throw e;
    }
  }
  /** Children of `path` ([] when it does not exist). */
  async directory(path: string): Promise<string[]> {
    try {
      return (await this.request(XS_DIRECTORY, path)).split('\0').filter((x) => x !== '');
    } catch (e) {
      if (e instanceof Error && /ENOENT/.test(e.message)) return [];
      throw e;
    }
  }
  /** WATCH `path`: `fire(path)` on the initial event and each change; resolves to the UNWATCH. */
  async watch(path: string, fire: (path: string) => void): Promise<() => Promise<void>> {
    const token = `tsxen-host-${this.nextToken++}`;
    this.watches.set(token, fire);
    try {
      await this.request(XS_WATCH, path, token);
    } catch (e) {
      this.watches.delete(token);
      throw e;
    }
    return async () => {
      this.watches.delete(token);
      await this.request(XS_UNWATCH, path, token).catch(() => {});
    };
  }
  rm(path: string): Promise<string> {
    return this.request(XS_RM, path);
  }
  introduce(domid: number, gfn: number, port: number): Promise<string> {
    return this.request(XS_INTRODUCE, String(domid), String(gfn), String(port));
  }
  release(domid: number): Promise<string> {
    return this.request(XS_RELEASE, String(domid));
  }
  close(): void {
    this.sock.destroy();
  }
}

export interface XenstoredProcess {
  child: ChildProcess;
  socket: string;
  client: XenstoreClient;
  stop(): Promise<void>;
}

/** Spawn `xenstored` on <runDir>/xenstored/socket, logging to <runDir>/xenstored.log; resolves once it accepts. */
export async function startXenstored(runDir: string, xenstoredBin: string, timeoutMs = 30_000): Promise<XenstoredProcess> {
  const dir = join(runDir, 'xenstored');
  mkdirSync(dir, { recursive: true });
  const socket = join(dir, 'socket');
  const log = openSync(join(runDir, 'xenstored.log'), 'a');
  const child = spawn(process.execPath, [xenstoredBin, '--socket', socket, '-F', join(dir, 'pid')], {
    stdio: ['ignore', log, log],
    env: { ...process.env, TSXEN_NO_REBUILD: '1' },
  });
  let exited: string | null = null;
  const exit = new Promise<void>((res) => child.once('exit', (code, sig) => { exited = `exited (${sig ?? code})`; res(); }));
  const end = Date.now() + timeoutMs;
  let client: XenstoreClient | null = null;
  while (client === null) {
    if (exited !== null) throw new Error(`xenstored ${exited} before it was ready (see ${join(runDir, 'xenstored.log')})`);
    if (Date.now() > end) {
      child.kill('SIGTERM');
      throw new Error(`xenstored not ready after ${timeoutMs} ms`);
    }
    if (existsSync(socket)) client = await XenstoreClient.connect(socket).catch(() => null);
    if (client === null) await new Promise((r) => setTimeout(r, 50));
  }
  return {
    child,
    socket,
    client,
    async stop() {
      client.close();
      // The daemon may have handed over to another process (live update): stop the pid it wrote too.
      const pidFile = join(dir, 'pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8')) : NaN;
      if (Number.isInteger(pid) && pid > 0 && pid !== child.pid) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch { /* already gone */ }
      }
      if (exited === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exit;
        clearTimeout(t);
      }
    },
  };
}
