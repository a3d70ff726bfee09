// SPDX-License-Identifier: GPL-2.0-only
// The client side of the control socket (docs/design/dom0.md §3), used by `tsxen host --stop/
// --status`, the tests and `xl`: typed calls with request ids, CtrlClientErrors carrying the
// host's code/message/field, a one-line NoHostError when nothing listens, and console attach
// (raw bytes both ways after the attach reply; Ctrl-] detaches, as in `xl console`).
import { connect, type Socket } from 'node:net';
import type { ConsoleInfo, CtrlErrorBody, ErrorCode, Method, Methods, Response } from '../toolstack/ctrl/protocol.ts';
import { DETACH_BYTE } from '../toolstack/console/consoled.ts';

export class NoHostError extends Error {
  constructor(readonly socketPath: string) {
    super(`no tsxen host running at ${socketPath} (start one with \`tsxen host\`)`);
    this.name = 'NoHostError';
  }
}

export class CtrlClientError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;
  constructor(body: CtrlErrorBody) {
    super(body.message);
    this.name = 'CtrlClientError';
    this.code = body.code;
    this.field = body.field;
  }
}

export class CtrlClient {
  private nextId = 1;
  private buf = '';
  private readonly waiting = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
  private closedErr: Error | null = null;
  /** Set while a console is attached: raw output goes here instead of the line parser. */
  private raw: ((b: Buffer) => void) | null = null;

  private constructor(private readonly sock: Socket, readonly socketPath: string) {
    sock.on('data', (b: Buffer) => this.onData(b));
    const end = (e?: Error): void => {
      this.closedErr ??= e ?? new Error(`tsxen host at ${socketPath} closed the connection`);
      for (const w of this.waiting.values()) w.fail(this.closedErr);
      this.waiting.clear();
    };
    sock.on('error', end);
    sock.on('close', () => end());
  }

  /** Connect; rejects with NoHostError when no host listens at `socketPath`. */
  static connect(socketPath: string): Promise<CtrlClient> {
    return new Promise((resolve, reject) => {
      const s = connect(socketPath);
      s.once('connect', () => {
        s.removeAllListeners('error');
        resolve(new CtrlClient(s, socketPath));
      });
      s.once('error', (e: NodeJS.ErrnoException) => {
        reject(e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? new NoHostError(socketPath) : e);
      });
    });
  }

  private onData(b: Buffer): void {
    if (this.raw !== null) return this.raw(b);
    this.buf += b.toString('utf8');
    let nl: number;
    while (this.raw === null && (nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 1);
      const r = JSON.parse(line) as Response;
      const w = this.waiting.get(r.id);
      if (w === undefined) continue;
      this.waiting.delete(r.id);
      if (r.ok) w.ok(r.result);
      else w.fail(new CtrlClientError(r.error));
    }
  }

  call<M extends Method>(method: M, params: Methods[M][0]): Promise<Methods[M][1]> {
    if (this.closedErr !== null) return Promise.reject(this.closedErr);
    const id = this.nextId++;
    return new Promise((ok, fail) => {
      this.waiting.set(id, { ok: ok as (v: unknown) => void, fail });
      this.sock.write(JSON.stringify({ id, method, params }) + '\n');
    });
  }

  /** Send one raw line (tests of malformed requests); resolves with the parsed reply line. */
  rawRequest(line: string): Promise<Response> {
    return new Promise((ok) => {
      const prev = this.raw;
      let acc = '';
      this.raw = (b) => {
        acc += b.toString('utf8');
        const nl = acc.indexOf('\n');
        if (nl >= 0) {
          this.raw = prev;
          ok(JSON.parse(acc.slice(0, nl)) as Response);
        }
      };
      this.sock.write(line.endsWith('\n') ? line : line + '\n');
    });
  }

  /**
   * Attach to a domain's console: `out` gets its recent history then live output; `input()`
   * sends keystrokes; Ctrl-] in the input detaches. Resolves with the console info and a handle.
   */
  async attachConsole(domid: number, out: (b: Uint8Array) => void, o: { history?: boolean } = {}): Promise<ConsoleAttachment> {
    const id = this.nextId++;
    const info = await new Promise<ConsoleInfo>((ok, fail) => {
      let acc = Buffer.alloc(0);
      this.raw = (b) => {
        acc = Buffer.concat([acc, b]);
        const nl = acc.indexOf(10);
        if (nl < 0) return;
        const r = JSON.parse(acc.subarray(0, nl).toString('utf8')) as Response<'console.attach'>;
        if (!r.ok) {
          this.raw = null;
          fail(new CtrlClientError(r.error));
          return;
        }
        this.raw = (d) => out(d);
        ok(r.result);
        if (acc.length > nl + 1) out(acc.subarray(nl + 1));
      };
      this.sock.write(JSON.stringify({ id, method: 'console.attach', params: { domid, history: o.history ?? true } }) + '\n');
    });
    let detached = false;
    const closed = new Promise<string>((res) => {
      this.sock.once('close', () => res(detached ? 'detached' : 'closed by the host'));
    });
    return {
      info,
      closed,
      input: (b: Uint8Array): boolean => {
        const k = b.indexOf(DETACH_BYTE);
        if (k >= 0) {
          if (k > 0) this.sock.write(b.subarray(0, k));
          detached = true;
          this.sock.end();
          return false;
        }
        this.sock.write(b);
        return true;
      },
      detach: () => {
        detached = true;
        this.sock.end();
      },
    };
  }

  close(): void {
    this.sock.end();
    this.sock.destroy();
  }
}

export interface ConsoleAttachment {
  info: ConsoleInfo;
  /** Resolves when the console ends ('detached', or the host closed it: the domain went away). */
  closed: Promise<string>;
  /** Keystrokes for the guest; false once Ctrl-] detached. */
  input(b: Uint8Array): boolean;
  detach(): void;
}

/** One call on a fresh connection. */
export async function ctrlCall<M extends Method>(socketPath: string, method: M, params: Methods[M][0]): Promise<Methods[M][1]> {
  const c = await CtrlClient.connect(socketPath);
  try {
    return await c.call(method, params);
  } finally {
    c.close();
  }
}
