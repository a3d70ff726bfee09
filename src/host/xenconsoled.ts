// SPDX-License-Identifier: GPL-2.0-only
// xenconsoled in the host daemon: a Console (toolstack/console) per domain, fed from its PV
// console ring (drained after every scheduling round, input pushed into in[] with an event) or
// its HVM device model's UART (transmitted bytes, input into the receive FIFO), and
// logged to <rundir>/console/guest-<name>.log (Xen: /var/log/xen/console/guest-<name>.log).
// Clients attach through the control socket (ctrl-server.ts).
import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { Console, type ConsoleSource } from '../toolstack/console/consoled.ts';
import { readOut, writeIn } from '../toolstack/console/ring.ts';
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import type { ConsoleInfo } from '../toolstack/ctrl/protocol.ts';

interface Entry {
  console: Console;
  fd: number;
  info: ConsoleInfo;
}

export class Xenconsoled {
  private readonly consoles = new Map<number, Entry>();

  constructor(private readonly ctrl: Ctrl, readonly logDir: string) {
    mkdirSync(logDir, { recursive: true });
  }

  /** A domain was created: open its log and start servicing its console. */
  add(domid: number): ConsoleInfo {
    const existing = this.consoles.get(domid);
    if (existing !== undefined) return existing.info;
    const d = this.ctrl.domain(domid);
    const ring = this.ctrl.consoleRing(domid);
    const logFile = join(this.logDir, `guest-${d.name}.log`);
    const fd = openSync(logFile, 'a', 0o640);
    let source: ConsoleSource | null = this.ctrl.consoleUart(domid);
    if (ring !== null) {
      source = {
        read: () => readOut(ring.page),
        write: (b) => {
          const n = writeIn(ring.page, b);
          if (n > 0) ring.notify();
          return n;
        },
      };
    }
    const info: ConsoleInfo = { domid, name: d.name, type: ring !== null ? 'xenconsole' : 'ioemu', logFile };
    if (ring !== null) {
      info.ringRef = ring.gfn;
      info.port = ring.port;
    }
    const console = new Console(domid, d.name, source, (b) => void writeSync(fd, b));
    this.consoles.set(domid, { console, fd, info });
    return info;
  }

  get(domid: number): { console: Console; info: ConsoleInfo } | undefined {
    return this.consoles.get(domid);
  }

  /** Drain every ring; true if any byte moved. */
  poll(): boolean {
    let moved = false;
    for (const e of this.consoles.values()) moved = e.console.poll() || moved;
    return moved;
  }

  /** The domain is gone: final drain already done by the caller; clients told, log closed. */
  remove(domid: number): void {
    const e = this.consoles.get(domid);
    if (e === undefined) return;
    e.console.close(`domain ${domid} destroyed`);
    closeSync(e.fd);
    this.consoles.delete(domid);
  }

  close(): void {
    for (const id of [...this.consoles.keys()]) this.remove(id);
  }
}
