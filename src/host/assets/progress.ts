// SPDX-License-Identifier: GPL-2.0-only
// Step-by-step progress display of the asset builder on stderr: "assets: [2/7] what: result, 1.2 s".
// On a terminal a step's line is shown while it runs, with live status (bytes downloaded),
// and completed in place; otherwise each finished step is one line (logs stay clean).

export interface ProgressSink { write(s: string): unknown; isTTY?: boolean }

export class Progress {
  private n = 0;
  private openHead: string | undefined;   // the running step's line, on a terminal
  constructor(private readonly total: number, private readonly sink: ProgressSink | undefined, private readonly prefix = 'assets') {}

  /** Starts a step; the returned function ends it with an optional result note. */
  step(what: string): (note?: string) => void {
    this.n++;
    const t0 = Date.now();
    const head = `${this.prefix}: [${Math.min(this.n, this.total)}/${this.total}] ${what}`;
    if (this.sink?.isTTY) { this.sink.write(`${head} ...`); this.openHead = head; }
    return (note?: string) => {
      const tail = `${note ? `${note}, ` : ''}${((Date.now() - t0) / 1000).toFixed(1)} s`;
      if (!this.sink) return;
      if (this.openHead === head) { this.sink.write(`\r\x1b[K${head}: ${tail}\n`); this.openHead = undefined; }
      else this.sink.write(`${head}: ${tail}\n`);
    };
  }

  /** Live status of the running step (terminal only), e.g. "45.1/107.4 MiB". */
  status(text: string): void {
    if (this.sink && this.openHead) this.sink.write(`\r\x1b[K${this.openHead} ... ${text}`);
  }

  /** Ends a step left open on a terminal (before an error message is printed). */
  abort(): void {
    if (this.openHead && this.sink) { this.sink.write(' failed\n'); this.openHead = undefined; }
  }

  /** A free-standing note (warnings, cache hits). */
  note(msg: string): void {
    if (!this.sink) return;
    if (this.openHead) { this.sink.write('\n'); this.openHead = undefined; }
    this.sink.write(`${this.prefix}: ${msg}\n`);
  }
}
