// SPDX-License-Identifier: GPL-2.0-only
// Step-by-step progress display of the asset builder on stderr: "assets: [2/7] what ... 1.2 s".
// On a terminal a step's result is written on the same line; otherwise each event is a line.

export interface ProgressSink { write(s: string): unknown; isTTY?: boolean }

export class Progress {
  private n = 0;
  private open = false;
  constructor(private readonly total: number, private readonly sink: ProgressSink | undefined, private readonly prefix = 'assets') {}

  /** Starts a step; the returned function ends it with an optional result note. */
  step(what: string): (note?: string) => void {
    this.n++;
    const t0 = Date.now();
    const head = `${this.prefix}: [${Math.min(this.n, this.total)}/${this.total}] ${what}`;
    if (this.sink?.isTTY) { this.sink.write(`${head} ...`); this.open = true; }
    return (note?: string) => {
      const tail = `${note ? `${note}, ` : ''}${((Date.now() - t0) / 1000).toFixed(1)} s`;
      if (!this.sink) return;
      if (this.open) { this.sink.write(` ${tail}\n`); this.open = false; }
      else this.sink.write(`${head}: ${tail}\n`);
    };
  }

  /** Ends a step left open on a terminal (before an error message is printed). */
  abort(): void {
    if (this.open && this.sink) { this.sink.write(' failed\n'); this.open = false; }
  }

  /** A free-standing note (warnings, cache hits). */
  note(msg: string): void {
    if (!this.sink) return;
    if (this.open) { this.sink.write('\n'); this.open = false; }
    this.sink.write(`${this.prefix}: ${msg}\n`);
  }
}
