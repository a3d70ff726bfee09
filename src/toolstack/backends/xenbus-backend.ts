// SPDX-License-Identifier: GPL-2.0-only
// The xenbus side every backend driver shares (Linux drivers/xen/xenbus/xenbus_probe_backend.c
// and each driver's frontend_changed): publish the device, go to InitWait, watch the
// frontend's `state`; when the frontend is Initialised (or Connected) map its rings and bind
// its event channel (the driver's part), Connected; follow it to Closing; on its Closed
// unmap, unbind, Closed. Plus the toolstack's removal handshake. States and diagrams:
// xen/include/public/io/xenbus.h, io/blkif.h "STATE DIAGRAMS"; xen-digest §9.6.
import type { Dom0Dev } from '../ctrl/dom0-dev.ts';
import { XenbusState } from '../light/device-layout.ts';

/** The xenstore operations a backend driver uses (dom0's connection). */
export interface BackendXs {
  read(path: string): Promise<string | null>;
  write(path: string, value: string): Promise<unknown>;
  /** Watch `path`; `fire` runs on the initial event and every change. Returns the unwatch. */
  watch(path: string, fire: () => void): Promise<() => Promise<void>>;
}

export interface BackendOptions {
  domid: number;
  devid: number;
  backendPath: string;
  frontendPath: string;
  xs: BackendXs;
  dev: Pick<Dom0Dev, 'bind' | 'mapGrant'>;
  log(line: string): void;
}

export abstract class XenbusBackend {
  state: number = XenbusState.Initialising;
  /** Every state this backend published, in order (logs, tests). */
  readonly states: number[] = [];
  private stopped = false;
  private unwatch: (() => Promise<void>) | null = null;
  private busy: Promise<void> = Promise.resolve();

  constructor(protected readonly o: BackendOptions) {}

  /** Write the backend's feature and property nodes (before InitWait). */
  protected abstract publish(): Promise<void>;
  /** Read the frontend's ring refs and channel, map and bind; an error text refuses the connection. */
  protected abstract connectRings(): Promise<string | null>;
  /** Unmap and unbind (idempotent). */
  protected abstract disconnect(): void;

  protected async setState(s: number): Promise<void> {
    this.state = s;
    this.states.push(s);
    await this.o.xs.write(`${this.o.backendPath}/state`, String(s));
  }

  /** Publish, InitWait, then follow the frontend's state node. */
  async start(): Promise<void> {
    await this.publish();
    await this.setState(XenbusState.InitWait);
    this.unwatch = await this.o.xs.watch(`${this.o.frontendPath}/state`, () => {
      this.busy = this.busy.then(() => this.frontendChanged()).catch((e: unknown) => this.o.log(`${this.o.backendPath}: ${e instanceof Error ? e.message : String(e)}`));
    });
  }

  /** A frontend node as an integer in [min, max], or an error text naming it. */
  protected async readInt(node: string, min: number, max: number): Promise<number | string> {
    const v = await this.o.xs.read(`${this.o.frontendPath}/${node}`);
    const n = v !== null && /^\d+$/.test(v) ? Number(v) : NaN;
    return Number.isInteger(n) && n >= min && n <= max ? n : `bad ${node} ${JSON.stringify(v)}`;
  }

  /** The driver found the frontend broken (a hostile ring): stop serving it and go Closing. */
  protected halt(why: string): void {
    this.o.log(`${this.o.backendPath}: ${why}; ring halted`);
    this.disconnect();
    this.busy = this.busy.then(() => this.setState(XenbusState.Closing)).catch(() => {});
  }

  /** The driver's frontend_changed(). */
  private async frontendChanged(): Promise<void> {
    if (this.stopped) return;
    const v = await this.o.xs.read(`${this.o.frontendPath}/state`);
    const fe = v === null ? XenbusState.Unknown : Number(v);
    switch (fe) {
      case XenbusState.Initialised:
      case XenbusState.Connected:
        if (this.state === XenbusState.InitWait) {
          const err = await this.connectRings().catch((e: unknown) => (e instanceof Error ? e.message : String(e)));
          if (err !== null) {
            this.disconnect();
            this.o.log(`${this.o.backendPath}: ${err}`);
            await this.o.xs.write(`${this.o.backendPath}/error`, err);
            await this.setState(XenbusState.Closing);
            return;
          }
          await this.setState(XenbusState.Connected);
          this.o.log(`${this.o.backendPath}: connected`);
          this.connected();
        }
        break;
      case XenbusState.Closing:
        if (this.state !== XenbusState.Closed && this.state !== XenbusState.Closing) await this.setState(XenbusState.Closing);
        break;
      case XenbusState.Closed:
      case XenbusState.Unknown:
        this.disconnect();
        if (this.state !== XenbusState.Closed) await this.setState(XenbusState.Closed);
        break;
      case XenbusState.Initialising:
        // A frontend restarting after Closed: offer the device again if the toolstack still wants it.
        if (this.state === XenbusState.Closed && (await this.o.xs.read(`${this.o.backendPath}/online`)) === '1') await this.setState(XenbusState.InitWait);
        break;
    }
  }

  /** After Connected was published: serve what the frontend queued meanwhile. */
  protected connected(): void {}

  /**
   * The toolstack's removal (libxl__initiate_device_remove): backend online=0 and state Closing;
   * then wait, up to `timeoutMs`, for the frontend to close and this backend to reach Closed.
   * Resolves true if it did (a clean detach), false on timeout (the caller forces it).
   */
  async remove(timeoutMs: number): Promise<boolean> {
    await this.o.xs.write(`${this.o.backendPath}/online`, '0');
    if (this.state !== XenbusState.Closed) await this.setState(XenbusState.Closing);
    const end = Date.now() + timeoutMs;
    while (this.state !== XenbusState.Closed) {
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    await this.busy;
    return true;
  }

  /** Tear down for good (device removed or domain gone). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.disconnect();
    await this.unwatch?.().catch(() => {});
    this.unwatch = null;
  }
}
