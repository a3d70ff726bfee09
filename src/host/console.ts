// SPDX-License-Identifier: GPL-2.0-only
// A guest's serial console on the host terminal, as `xl console` and `qemu -nographic` give it:
// stdin goes to the guest byte for byte (raw mode on a TTY, so Ctrl-C, Ctrl-Z and arrows reach
// the guest's shell), the guest's output goes to stdout in batches, and Ctrl-] (0x1d) leaves.
// The terminal's mode is restored however the run ends: a normal return, an exception, process
// exit, or SIGTERM/SIGHUP/SIGINT/SIGQUIT (which end the run with 128 + the signal number).
// Piped stdin works for scripts: the bytes are delivered in order and end-of-input leaves the
// guest running (it decides when to power off).
import { constants } from 'node:os';

export interface ConsoleStreams {
  readonly stdin: NodeJS.ReadStream;
  readonly stdout: NodeJS.WriteStream;
}

/** The escape byte: Ctrl-] as in telnet and `xl console`. */
export const CONSOLE_ESCAPE = 0x1d;

const SIGNALS = ['SIGTERM', 'SIGHUP', 'SIGINT', 'SIGQUIT'] as const;

export class TerminalConsole {
  /** Set once the user pressed Ctrl-] or a signal arrived: the exit status to use. */
  quitStatus: number | null = null;
  private readonly buf = new Uint8Array(16384);
  private n = 0;
  private raw = false;
  private started = false;
  private readonly onData = (d: Buffer): void => this.feed(d);
  private readonly onExit = (): void => this.restore();
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    this.quitStatus = 128 + (constants.signals[sig] ?? 15);
    this.restore();
    this.wake();
  };
  private readonly onOutError = (): void => { /* EPIPE: the reader went away; keep running */ };
  private waiters: (() => void)[] = [];

  constructor(private readonly io: ConsoleStreams, private readonly deliver: (bytes: Uint8Array) => void) {}

  start(): void {
    if (this.started) return;
    this.started = true;
    const { stdin, stdout } = this.io;
    if (stdin.isTTY === true) {
      stdin.setRawMode(true);
      this.raw = true;
    }
    stdin.on('data', this.onData);
    stdin.resume();
    stdout.on('error', this.onOutError);
    process.on('exit', this.onExit);
    for (const s of SIGNALS) process.on(s, this.onSignal);
  }

  /** Host bytes: everything up to Ctrl-] goes to the guest. */
  feed(chunk: Uint8Array): void {
    const esc = chunk.indexOf(CONSOLE_ESCAPE);
    const part = esc < 0 ? chunk : chunk.subarray(0, esc);
    if (part.length > 0) this.deliver(part);
    if (esc >= 0) {
      this.quitStatus ??= 0;
      this.wake();
    }
  }

  /** One byte of guest output (batched; flush() writes). */
  put(byte: number): void {
    if (this.n === this.buf.length) this.flush();
    this.buf[this.n++] = byte;
  }

  flush(): void {
    if (this.n === 0) return;
    const out = this.buf.slice(0, this.n);
    this.n = 0;
    try {
      this.io.stdout.write(out);
    } catch { /* a closed stdout must not stop the guest */ }
  }

  /** A promise that settles when the user quits or a signal arrives. */
  whenQuit(): Promise<void> {
    if (this.quitStatus !== null) return Promise.resolve();
    return new Promise((res) => this.waiters.push(res));
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Put the terminal back (idempotent, synchronous: safe in an 'exit' handler). */
  restore(): void {
    if (this.raw) {
      this.raw = false;
      try { this.io.stdin.setRawMode(false); } catch { /* the TTY is gone */ }
    }
  }

  /** Flush, restore the terminal and detach every listener. */
  stop(): void {
    this.flush();
    this.restore();
    if (!this.started) return;
    this.started = false;
    const { stdin, stdout } = this.io;
    stdin.off('data', this.onData);
    stdin.pause();
    stdout.off('error', this.onOutError);
    process.off('exit', this.onExit);
    for (const s of SIGNALS) process.off(s, this.onSignal);
  }
}
