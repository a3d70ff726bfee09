// SPDX-License-Identifier: GPL-2.0-only
// The host daemon (dom0 = this process): the Hypervisor behind the control interface (Ctrl),
// xenstored in its own process, xenconsoled, the control socket, and the run loop that gives
// the pCPU to the scheduler between socket events. docs/design/dom0.md §1-§2.
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { CtrlError, type BuildDescription, type HostStatus, type Request } from '../toolstack/ctrl/protocol.ts';
import { CtrlServer, type CtrlConn } from './ctrl-server.ts';
import { HostDevices } from './host-devices.ts';
import { HostPcpus } from './host-pcpus.ts';
import { HostSched } from './host-sched.ts';
import { flatTopology } from './host-topology.ts';
import { topologyCpus, type Topology } from '../hypervisor/sched/sched-if.ts';
import { DomainMonitor } from './host-actions.ts';
import { HostDomctl } from './host-domctl.ts';
import { HvmBackends } from './hvm-backends.ts';
import { BridgeRegistry } from '../hardware/net/bridges.ts';
import { startXenstored, type XenstoredProcess } from './host-xenstore.ts';
import { Xenconsoled } from './xenconsoled.ts';

export interface HostOptions {
  runDir: string;
  nrCpus: number;
  /** Each pCPU on its own worker thread (host-pcpus.ts; `tsxen host` sets it unless --no-threads); false/absent: all pCPUs take turns on this thread. */
  threads?: boolean;
  /** The pCPUs' shape (host-topology.ts); default: nrCpus in one socket. */
  topology?: Topology;
  memoryMiB: number;
  /** Path of bin/xenstored, or null to run without xenstore. */
  xenstoredBin: string | null;
  commandLine?: string;
  log: (s: string) => void;
}

/** The board timebase: the host's monotonic clock at 10 MHz (QEMU virt's timebase-frequency). */
class HostClock {
  readonly frequency = 10_000_000;
  /** process.hrtime.bigint() at tick 0 (pCPU worker threads build the same clock from it). */
  readonly t0 = process.hrtime.bigint();
  now(): number {
    return Number((process.hrtime.bigint() - this.t0) / 100n);
  }
}

export const ctrlSocketPath = (runDir: string): string => join(runDir, 'ctrl.sock');
export const pidFilePath = (runDir: string): string => join(runDir, 'host.pid');

export class HostDaemon {
  readonly ctrl: Ctrl;
  readonly consoled: Xenconsoled;
  readonly devices: HostDevices;
  readonly sched: HostSched;
  /** The pCPU worker threads (--threads), or null. */
  readonly pcpus: HostPcpus | null = null;
  /** HVM domains' disk and vif backends (virtio-blk on raw files, virtio-net on host bridges). */
  readonly backends: HvmBackends;
  /** xl's monitor (the on_* actions) and domain.wait-death. */
  readonly monitor: DomainMonitor;
  private readonly domctl: HostDomctl;
  private server: CtrlServer;
  private xs: XenstoredProcess | null = null;
  private timer: NodeJS.Timeout | null = null;
  private immediate: NodeJS.Immediate | null = null;
  private stopping: Promise<void> | null = null;
  /** Resolves when the daemon has stopped (after host.stop or stop()). */
  readonly stopped: Promise<void>;
  private markStopped!: () => void;

  constructor(private readonly o: HostOptions) {
    const boot: string[] = [];
    const clock = new HostClock();
    const topology = o.topology ?? flatTopology(o.nrCpus);
    this.sched = new HostSched(topology, o.commandLine ?? '', (s) => boot.push(s));
    // One set of bridges for HVM NICs and PV vifs: a guest of either kind on xenbr0 reaches the other.
    this.backends = new HvmBackends((n) => new Uint8Array(randomBytes(n)), () => this.poke(), new BridgeRegistry());
    this.ctrl = new Ctrl({ scheduler: this.sched.ops, schedControl: this.sched.control,
      hvmDevices: (b) => this.backends.build(b),
      memoryMiB: o.memoryMiB, nrCpus: topologyCpus(topology), topology, timebase: clock, wall: () => Date.now() * 1e6,
      commandLine: o.commandLine ?? '', loadFile: (p) => new Uint8Array(readFileSync(resolve(p))),
      random: (n) => new Uint8Array(randomBytes(n)), hostName: hostname(), pid: process.pid,
    });
    this.sched.attach(this.ctrl.hv);
    if (o.threads === true) {
      // TSXEN_PCPU_FAST=0 / TSXEN_PCPU_SBI_FAST=0: every hypercall / SBI call on this thread (diagnostics).
      this.pcpus = new HostPcpus(this.ctrl.hv, this.sched, clock.t0, { fast: process.env.TSXEN_PCPU_FAST !== '0', sbiFast: process.env.TSXEN_PCPU_SBI_FAST !== '0' });
      boot.push(`pCPUs 0-${topologyCpus(topology) - 1} on worker threads`);
    } else boot.push(`pCPUs 0-${topologyCpus(topology) - 1} taking turns on one thread (--no-threads)`);
    for (const s of boot) this.ctrl.xenLog(s);
    this.consoled = new Xenconsoled(this.ctrl, join(o.runDir, 'console'));
    this.devices = new HostDevices(this.ctrl, o.log, () => this.poke(), this.backends.bridges);
    this.server = new CtrlServer(ctrlSocketPath(o.runDir), (r, c) => this.dispatch(r, c), o.log);
    this.stopped = new Promise((r) => (this.markStopped = r));
    this.domctl = new HostDomctl(this.ctrl, () => this.xs?.client);
    this.monitor = new DomainMonitor({
      ctrl: this.ctrl, log: o.log, dumpDir: join(o.runDir, 'dump'),
      create: (desc) => {
        if (this.stopping !== null) return Promise.reject(new Error('the host is stopping'));
        return this.createDomain(desc);
      },
      destroy: (domid) => { this.consoled.poll(); this.ctrl.destroy(domid); },
      rename: (domid, name) => this.rename(domid, name),
    });
    this.ctrl.domainListeners.push((e) => {
      if (e.kind === 'destroyed') {
        this.consoled.remove(e.domid);
        void this.xs?.client.release(e.domid).catch(() => {});
        void this.xs?.client.rm(`/local/domain/${e.domid}`).catch(() => {});
      } else if (e.kind === 'crashed') this.o.log(`d${e.domid} crashed: ${e.why}`);
      else if (e.kind === 'shutdown') this.o.log(`d${e.domid} shut down (reason ${e.reason})`);
    });
  }

  async start(): Promise<void> {
    const o = this.o;
    if (o.xenstoredBin !== null) {
      this.xs = await startXenstored(o.runDir, o.xenstoredBin);
      await this.xs.client.write('/local/domain/0/name', 'Domain-0');
      await this.xs.client.write('/local/domain/0/domid', '0');
      o.log(`xenstored ready on ${this.xs.socket} (pid ${this.xs.child.pid})`);
      this.devices.setXenstore(this.xs.client, this.xs.socket);
      this.xs.child.once('exit', (code, sig) => {
        if (this.stopping === null) o.log(`xenstored exited unexpectedly (${sig ?? code})`);
      });
    }
    await this.server.listen();
    writeFileSync(pidFilePath(o.runDir), `${process.pid}\n`);
    this.ctrl.xenLog(`dom0: control socket ${this.server.path}`);
    this.schedule(0);
  }

  // ─── the run loop: the host's pCPUs in turn on this thread (host-sched.ts) ──────────────
  private schedule(delayMs: number): void {
    if (this.stopping !== null) return;
    if (delayMs <= 0) this.immediate = setImmediate(() => this.loop());
    else this.timer = setTimeout(() => this.loop(), delayMs);
  }

  private loop(): void {
    if (this.pcpus !== null) return this.loopThreaded(this.pcpus);
    this.timer = null;
    this.immediate = null;
    const hv = this.ctrl.hv;
    const end = performance.now() + 20; // then let the sockets in
    let idle = false;
    while (performance.now() < end) {
      const r = this.sched.run(4);
      const backends = this.devices.poll();
      this.consoled.poll();
      if (r === 'idle' && !backends) {
        idle = true;
        break;
      }
    }
    this.consoled.poll();
    if (!idle) return this.schedule(0);
    const next = hv.nextWakeNs();
    const waitMs = next === Infinity ? 10 : Math.max(0, Math.min(10, (next - hv.clock.nowNs()) / 1e6));
    this.schedule(waitMs < 0.05 ? 0 : waitMs);
  }

  /**
   * With pCPU threads (host-pcpus.ts): this thread handles exits, MMIO calls, timers and the
   * schedulers' decisions while the workers run guests; it sleeps on the doorbell (bounded by the
   * next timer and slice end) and lets the sockets in every 10 ms.
   */
  private loopThreaded(t: HostPcpus): void {
    this.timer = null;
    this.immediate = null;
    this.idleWait = false;
    const hv = this.ctrl.hv;
    const end = performance.now() + 10;
    let seen = 0;
    for (;;) {
      if (t.failure !== null) {
        this.o.log(`pCPU thread failed: ${t.failure}`);
        void this.stop();
        return;
      }
      seen = t.doorbell();
      const busy = t.service();
      const backends = this.devices.poll();
      this.consoled.poll();
      if (!busy && !backends) break;
      if (performance.now() >= end) return this.schedule(0);
      if (backends) continue;
      const next = hv.nextWakeNs();
      const timerMs = next === Infinity ? 1 : (next - hv.clock.nowNs()) / 1e6;
      t.waitDoorbell(seen, Math.max(0, Math.min(1, timerMs, t.nextSliceEndMs())));
    }
    // No pCPU busy: sleep on Node's event loop until a worker rings (a kick from a fast path: an
    // event for a blocked vCPU), a request pokes, or the next timer. A ring since `seen` (read
    // before the last pass) ends the wait at once.
    if (this.stopping !== null) return;
    const next = hv.nextWakeNs();
    const waitMs = next === Infinity ? 10 : Math.max(0, Math.min(10, (next - hv.clock.nowNs()) / 1e6));
    this.idleWait = true;
    void t.whenDoorbell(seen, waitMs).then(() => {
      if (this.idleWait) this.schedule(0);
    });
  }

  /** The threaded loop sleeps on the doorbell (loopThreaded). */
  private idleWait = false;

  /** Kick the loop now (a request may have made a vCPU runnable). */
  private poke(): void {
    if (this.idleWait) {
      this.idleWait = false;
      this.schedule(0);
      return;
    }
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
      this.schedule(0);
    }
  }

  // ─── requests ──────────────────────────────────────────────────────────────────────────
  status(): HostStatus {
    return {
      pid: process.pid, runDir: this.o.runDir, ctrlSocket: this.server.path, xenstoredSocket: this.xs?.socket ?? null,
      consoleDir: this.consoled.logDir, domains: this.ctrl.hv.domains.size,
    };
  }

  private async created(domid: number, uuid: string): Promise<void> {
    const info = this.consoled.add(domid);
    const xs = this.xs?.client;
    if (xs === undefined) return;
    const d = this.ctrl.domain(domid);
    const home = `/local/domain/${domid}`;
    const vm = `/vm/${uuid}`;
    const w: Array<[string, string]> = [
      [`${vm}/uuid`, uuid], [`${vm}/name`, d.name], [`${vm}/start_time`, (Date.now() / 1000).toFixed(2)],
      [`${home}/vm`, vm], [`${home}/name`, d.name], [`${home}/domid`, String(domid)],
      [`${home}/memory/static-max`, String(d.maxPages * 4)], [`${home}/memory/target`, String(d.totPages * 4)],
      [`${home}/console/type`, info.type === 'xenconsole' ? 'xenconsoled' : 'ioemu'],
      [`${home}/console/limit`, '1048576'], [`${home}/console/tty`, `${info.logFile}`],
    ];
    if (info.ringRef !== undefined) w.push([`${home}/console/ring-ref`, String(info.ringRef)], [`${home}/console/port`, String(info.port)]);
    for (let i = 0; i < d.vcpus.length; i++) w.push([`${home}/cpu/${i}/availability`, i < (d.config?.vcpus ?? 1) ? 'online' : 'offline']);
    // libxl__domain_make: the home first, readable by the domain, so the nodes below inherit that.
    await xs.write(home, '');
    await xs.setPerms(home, ['n0', `r${domid}`]);
    for (const [p, v] of w) await xs.write(p, v);
    await xs.setPerms(vm, ['n0']);
    await xs.setPerms(home, ['n0', `r${domid}`]);
    for (const sub of ['control', 'data', 'device', 'drivers', 'feature', 'attr', 'error']) {
      await xs.write(`${home}/${sub}`, '');
      await xs.setPerms(`${home}/${sub}`, [`n${domid}`]);
    }
    const store = this.ctrl.storeRing(domid);
    if (store !== null) await xs.introduce(domid, store.gfn, store.port);
    await this.devices.domainCreated(domid);
  }

  /** domain.create: build, then console and xenstore; a failed xenstore setup destroys it again. */
  private async createDomain(desc: BuildDescription): Promise<{ domid: number; name: string; uuid: string }> {
    const c = this.ctrl;
    const d = c.create(desc);
    const uuid = c.info(d).uuid;
    // Watched from the start: the guest may shut down while xenstore is being written.
    if (desc.actions !== undefined) this.monitor.watch(d.domid, { ...desc, uuid });
    this.poke();
    try {
      await this.created(d.domid, uuid);
    } catch (e) {
      if (c.hv.getDomain(d.domid) === d) c.destroy(d.domid);
      throw new CtrlError('EIO', `domain "${d.name}": xenstore setup failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    // Gone meanwhile (an on_* action): drop what was written after its destruction's cleanup.
    if (c.hv.getDomain(d.domid) !== d) {
      await this.xs?.client.rm(`/local/domain/${d.domid}`).catch(() => {});
    }
    return { domid: d.domid, name: d.name, uuid };
  }

  private async rename(domid: unknown, name: unknown): Promise<void> {
    const c = this.ctrl;
    c.rename(domid, name);
    const xs = this.xs?.client;
    if (xs === undefined) return;
    const id = domid as number;
    await xs.write(`/local/domain/${id}/name`, name as string);
    await xs.write(`/vm/${c.info(c.domain(id)).uuid}/name`, name as string);
  }

  private dispatch(req: Request, conn: CtrlConn): unknown {
    const c = this.ctrl;
    const p = req.params as Record<string, unknown>;
    switch (req.method) {
      case 'host.status': return this.status();
      case 'host.stop':
        setImmediate(() => void this.stop());
        return { stopping: true };
      case 'host.physinfo': return c.physinfo();
      case 'host.dmesg': return { text: c.readDmesg(p.clear === true) };
      case 'host.set-wallclock': c.setWallclock(p.sec, p.nsec ?? 0); return {};
      case 'domain.create': return this.createDomain(req.params as BuildDescription);
      case 'domain.destroy': this.consoled.poll(); c.destroy(p.domid); return {};
      case 'domain.pause': c.pause(p.domid); return {};
      case 'domain.unpause': c.unpause(p.domid); this.poke(); return {};
      case 'domain.shutdown': c.shutdown(p.domid, p.reason); return {};
      case 'domain.list': return c.list(p.domid).map((d) => {
        const actions = this.monitor.actionsOf(d.domid);
        return actions === undefined ? d : { ...d, actions };
      });
      case 'domain.lookup': return { domid: c.lookup(p.name) };
      case 'domain.rename': return this.rename(p.domid, p.name).then(() => ({}));
      case 'domain.set-maxmem': c.setMaxMem(p.domid, p.maxMemKiB); return {};
      case 'vcpu.list': return c.vcpus(p.domid);
      case 'vcpu.pin': c.pin(p.domid, p.vcpu, p.hard, p.soft); return {};
      case 'vcpu.set-online': return this.domctl.setOnline(p.domid, p.count).then(() => ({}));
      case 'domain.set-target': return this.domctl.setTarget(p.domid, p.targetKiB).then(() => ({}));
      case 'domain.pvcontrol': return this.domctl.pvcontrol(p.domid, p.command).then(() => ({}));
      case 'domain.sysrq': return this.domctl.sysrq(p.domid, p.key).then(() => ({}));
      case 'domain.trigger': c.trigger(p.domid, p.trigger, p.vcpu ?? 0); this.poke(); return {};
      case 'domain.wait-death': return this.monitor.waitDeath(c.domain(p.domid).domid);
      case 'console.info':
      case 'console.attach': {
        const d = c.domain(p.domid);
        const e = this.consoled.get(d.domid);
        if (e === undefined) throw new CtrlError('ENOENT', `domain ${d.domid} has no console`);
        if (req.method === 'console.info') return e.info;
        // Reply first, then raw bytes: history (if asked) and live output.
        conn.sock.write(JSON.stringify({ id: req.id, ok: true, result: e.info }) + '\n');
        const detach = e.console.attach({ write: (b) => void conn.sock.write(b), closed: () => void conn.sock.end() }, p.history !== false);
        conn.goRaw((b) => { e.console.input(new Uint8Array(b)); this.poke(); }, detach);
        return new Promise(() => {}); // the reply was sent above
      }
    }
    const dev = this.devices.dispatch(req.method, p);
    if (dev !== undefined) return dev;
    const r = this.sched.dispatch(req.method, req.params);
    if (r !== undefined) {
      this.poke();
      return r;
    }
    throw new CtrlError('ENOSYS', `method ${req.method} not implemented`);
  }

  /** Destroy every domain, stop xenstored, remove the sockets and the pid file. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      if (this.timer !== null) clearTimeout(this.timer);
      if (this.immediate !== null) clearImmediate(this.immediate);
      this.consoled.poll();
      for (const d of [...this.ctrl.hv.domains.values()]) if (d.domid !== 0) this.ctrl.hv.destroyDomain(d);
      this.pcpus?.stop();
      this.consoled.close();
      this.devices.close();
      await this.server.close();
      if (this.xs !== null) await this.xs.stop();
      const pf = pidFilePath(this.o.runDir);
      if (existsSync(pf)) unlinkSync(pf);
      this.o.log('host stopped');
      this.markStopped();
    })();
    return this.stopping;
  }
}
