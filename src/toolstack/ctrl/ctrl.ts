// SPDX-License-Identifier: GPL-2.0-only
// The control interface (libxc's role): the only toolstack code that reaches hypervisor
// internals. A thin typed surface over one Hypervisor: domain create/destroy/pause/unpause/
// shutdown, getinfo for `xl list`/`vcpu-list`, physinfo, the hypervisor console ring (dmesg),
// settime, and the console ring pages xenconsoled services. Errors are CtrlErrors (protocol.ts).
// Xen: tools/libxc/xc_domain.c, xc_misc.c (xc_physinfo, xc_readconsolering), xen/common/domctl.c
import type { HartClock } from '../../hardware/riscv/hart-api.ts';
import type { Domain } from '../../hypervisor/domain/domain.ts';
import type { DomainEvent } from '../../hypervisor/domain/hooks.ts';
import { virtDeviceModel } from '../../hypervisor/build/hvm-devices.ts';
import type { Ns16550a } from '../../hardware/devices/ns16550a.ts';
import { attachEvtchnGnttab, type EvtchnGnttab } from '../../hypervisor/event/attach.ts';
import { XEN_CAPABILITIES, XEN_EXTRAVERSION, XEN_MAJOR, XEN_MINOR } from '../../hypervisor/hypercall/xen-version.ts';
import { GUEST_MAGIC_BASE, MAGIC_CONSOLE, MAGIC_START_INFO, STI_CONSOLE_EVTCHN, STI_STORE_EVTCHN, STI_STORE_MFN } from '../../hypervisor/public/shared-info.ts';
import { RUNSTATE_blocked, RUNSTATE_offline, RUNSTATE_running } from '../../hypervisor/public/vcpu.ts';
import {
  SHUTDOWN_crash, SHUTDOWN_poweroff, SHUTDOWN_reboot, SHUTDOWN_soft_reset, SHUTDOWN_suspend, SHUTDOWN_watchdog,
} from '../../hypervisor/public/xen.ts';
import { Hypervisor } from '../../hypervisor/xen.ts';
import { SBI_HSM_STATE_STOPPED } from '../../hypervisor/vsbi/sbi-defs.ts';
import type { SchedulerOps } from '../../hypervisor/sched/ops.ts';
import { MAXMEM_SLACK_PAGES } from '../../hypervisor/domain/config.ts';
import type { SchedControl } from '../../hypervisor/sched/control.ts';
import { cpuTopoInfo, topologyCpus, type Topology } from '../../hypervisor/sched/sched-if.ts';
import { VcpuAffinity } from './ctrl-sched.ts';
import type { VirtioDevice } from '../../hardware/devices/virtio/virtio-device.ts';
import { NAME_RE, resolveBuild, formatUuid, type FileLoader, type ResolvedBuild } from './build-desc.ts';
import { CtrlError, type DomainInfo, type NumaInfo, type PhysInfo, type VcpuInfo } from './protocol.ts';

export const SHUTDOWN_NAMES: Record<string, number> = {
  poweroff: SHUTDOWN_poweroff, reboot: SHUTDOWN_reboot, suspend: SHUTDOWN_suspend,
  crash: SHUTDOWN_crash, watchdog: SHUTDOWN_watchdog, soft_reset: SHUTDOWN_soft_reset,
};
const reasonName = (r: number): string => Object.keys(SHUTDOWN_NAMES).find((k) => SHUTDOWN_NAMES[k] === r) ?? (r < 0 ? '' : `unknown(${r})`);

export interface CtrlOptions {
  /** Machine memory in MiB. */
  memoryMiB: number;
  /** pCPUs reported by physinfo (the run loop is one thread until issue 7). */
  nrCpus: number;
  /** Their shape (physinfo, xl info -n); default: nrCpus in one socket, one node. Its CPU count is nrCpus. */
  topology?: Topology;
  timebase: HartClock;
  /** Wall time in ns since the epoch. */
  wall?: () => number;
  commandLine?: string;
  /** The host's scheduler over its pCPUs and cpupools (src/host/host-sched.ts); default: the core's round-robin. */
  scheduler?: SchedulerOps;
  /**
   * The control API over that scheduler's cpupools, when it has them (the host's HostSched):
   * affinities are then set on the pools the run loop schedules from. Without it, Ctrl keeps
   * its own Pool-0 that only records them.
   */
  schedControl?: SchedControl;
  /** Reads a host file for a build description's kernel/ramdisk paths. */
  loadFile: FileLoader;
  random: (n: number) => Uint8Array;
  hostName?: string;
  pid?: number;
  /**
   * The host's backends for an HVM domain's disks and vifs (files, switch ports: host I/O,
   * so supplied by the host): virtio devices for the device model's slots, in disks-then-vifs
   * order, and how to release them when the domain goes. Throw a one-line Error on bad input.
   */
  hvmDevices?: (b: ResolvedBuild) => HvmDevices;
}

export interface HvmDevices {
  devices: VirtioDevice[];
  dispose(): void;
}

/** XEN_DOMCTL_SENDTRIGGER_* names (libxl_trigger). */
export const TRIGGERS = ['power', 'sleep', 'nmi', 'init', 'reset', 's3resume'] as const;

/** What xenconsoled needs of a PV domain's console: the ring page and a way to kick the guest. */
export interface ConsoleRing {
  page: Uint8Array;
  gfn: number;
  port: number;
  notify(): void;
}

/** An HVM domain's emulated UART as xenconsoled sees it. */
export interface ConsoleUart {
  /** Bytes the guest transmitted since the last call, or null. */
  read(): Uint8Array | null;
  /** Feed received bytes; returns how many the UART's FIFO took. */
  write(b: Uint8Array): number;
}

/** What the toolstack writes to xenstore for a PV domain (start_info's store ring). */
export interface StoreRing {
  gfn: number;
  port: number;
}

/** The hypervisor console ring (Xen's conring, 16 KiB default; we keep 64 KiB). */
const DMESG_BYTES = 65536;

/**
 * XEN_SYSCTL_numainfo over `nodes` nodes: machine memory is one pool (not node-local yet), so
 * each node reports an equal share of it (the last takes the remainder); distances are Xen's
 * defaults without an ACPI SLIT: 10 to itself, 20 to any other node (arch numa.c __node_distance).
 */
export function numaInfo(nodes: number, frames: number, freeFrames: number): NumaInfo[] {
  const share = (n: number, i: number): number => Math.floor((i === nodes - 1 ? n - Math.floor(n / nodes) * (nodes - 1) : Math.floor(n / nodes)) / 256);
  return Array.from({ length: nodes }, (_, i) => ({
    memsizeMiB: share(frames, i), memfreeMiB: share(freeFrames, i),
    distances: Array.from({ length: nodes }, (_, j) => (i === j ? 10 : 20)),
  }));
}

export class Ctrl {
  readonly hv: Hypervisor;
  readonly eg: EvtchnGnttab;
  private readonly o: CtrlOptions;
  private readonly startNs: number;
  private dmesg = '';
  private readonly lineStart = new Map<number, boolean>();
  private readonly consolePorts = new Map<number, number>();
  /** HVM domains: the device model's UART and what it transmitted, not yet taken by xenconsoled. */
  private readonly uarts = new Map<number, { uart: Ns16550a; tx: number[] }>();
  readonly domainListeners: Array<(e: DomainEvent) => void> = [];
  /** vCPU affinities through the scheduler control API (ctrl-sched.ts). */
  readonly affinity: VcpuAffinity;
  /** Per domain: when it was created (hypervisor ns) and what to release when it goes. */
  private readonly started = new Map<number, number>();
  private readonly disposers = new Map<number, () => void>();
  /** Guest console_io output (per domain, raw), for xenconsoled's HVM/early path. */
  onConsoleIo: ((domid: number, bytes: Uint8Array) => void) | null = null;

  /** The pCPUs' shape physinfo reports. */
  readonly topology: Topology;

  constructor(o: CtrlOptions) {
    this.o = o;
    this.topology = o.topology ?? { sockets: 1, coresPerSocket: o.nrCpus, threadsPerCore: 1, nodes: 1 };
    if (topologyCpus(this.topology) !== o.nrCpus) throw new Error(`topology of ${topologyCpus(this.topology)} CPUs for ${o.nrCpus} pCPUs`);
    const wall = o.wall;
    this.hv = new Hypervisor({
      frames: o.memoryMiB * 256,
      timebase: o.timebase,
      ...(wall !== undefined ? { wall } : {}),
      commandLine: o.commandLine ?? '',
      ...(o.scheduler !== undefined ? { scheduler: o.scheduler } : {}),
    });
    this.eg = attachEvtchnGnttab(this.hv);
    this.startNs = this.hv.clock.nowNs();
    this.affinity = new VcpuAffinity(o.nrCpus, () => this.hv.clock.nowNs(), o.schedControl);
    const dec = new TextDecoder();
    this.hv.onConsole = (d, bytes) => {
      this.log(d.domid, dec.decode(bytes));
      this.onConsoleIo?.(d.domid, bytes);
    };
    this.hv.eventHooks.push((e) => {
      if (e.kind === 'destroyed') {
        this.affinity.removeDomain(e.domid);
        this.started.delete(e.domid);
        this.disposers.get(e.domid)?.();
        this.disposers.delete(e.domid);
        this.consolePorts.delete(e.domid);
        this.uarts.delete(e.domid);
        this.lineStart.delete(e.domid);
      }
      for (const l of this.domainListeners) l(e);
    });
    this.log(-1, `Xen version ${XEN_MAJOR}.${XEN_MINOR}${XEN_EXTRAVERSION} (tsxen) on ${o.nrCpus} pCPU(s), ${o.memoryMiB} MiB\n`);
    this.log(-1, `Command line: ${o.commandLine ?? ''}\n`);
  }

  /** Append to the hypervisor console: "(XEN) " for the hypervisor, "(d<N>) " for guests. */
  private log(domid: number, text: string): void {
    const prefix = domid < 0 ? '(XEN) ' : `(d${domid}) `;
    let at = this.lineStart.get(domid) ?? true;
    let out = '';
    for (const ch of text) {
      if (at) out += prefix;
      out += ch;
      at = ch === '\n';
    }
    this.lineStart.set(domid, at);
    this.dmesg += out;
    if (this.dmesg.length > DMESG_BYTES) this.dmesg = this.dmesg.slice(this.dmesg.length - DMESG_BYTES);
  }
  xenLog(text: string): void {
    this.log(-1, text.endsWith('\n') ? text : text + '\n');
  }

  readDmesg(clear = false): string {
    const t = this.dmesg;
    if (clear) this.dmesg = '';
    return t;
  }

  // ─── domains ───────────────────────────────────────────────────────────────────────────
  domain(domid: unknown): Domain {
    if (typeof domid !== 'number' || !Number.isInteger(domid) || domid < 0) throw new CtrlError('EINVAL', `invalid domain id ${JSON.stringify(domid)}`);
    const d = this.hv.getDomain(domid);
    if (d === undefined) throw new CtrlError('ESRCH', `domain ${domid} does not exist`);
    return d;
  }
  /** A guest (not dom0). */
  private guest(domid: unknown, what: string): Domain {
    const d = this.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', `cannot ${what} Domain-0`);
    return d;
  }

  lookup(name: unknown): number {
    if (typeof name !== 'string') throw new CtrlError('EINVAL', 'name: need a string');
    if (name === 'Domain-0') return 0;
    for (const d of this.hv.domains.values()) if (d.domid !== 0 && d.name === name) return d.domid;
    throw new CtrlError('ESRCH', `domain '${name}' does not exist`);
  }

  /** libxl_domain_rename: names stay unique; Domain-0 keeps its name. */
  rename(domid: unknown, name: unknown): void {
    const d = this.guest(domid, 'rename');
    if (typeof name !== 'string' || !NAME_RE.test(name) || /^\d+$/.test(name))
      throw new CtrlError('EINVAL', `invalid domain name ${JSON.stringify(name)}`, 'name');
    for (const o of this.hv.domains.values())
      if (o !== d && o.domid !== 0 && o.name === name) throw new CtrlError('EEXIST', `domain with name "${name}" already exists`, 'name');
    if (name === 'Domain-0') throw new CtrlError('EEXIST', 'domain with name "Domain-0" already exists', 'name');
    d.config!.name = name;
  }

  /** XEN_DOMCTL_max_mem (xl mem-max): max_pages = KiB / 4 plus libxl's slack, as at create. */
  setMaxMem(domid: unknown, kib: unknown): void {
    const d = this.guest(domid, 'set maxmem of');
    if (typeof kib !== 'number' || !Number.isInteger(kib) || kib < 0 || kib > 65536 * 1024) throw new CtrlError('EINVAL', `invalid maxmem ${JSON.stringify(kib)} KiB`, 'maxMemKiB');
    this.hv.setMaxPages(d, Math.ceil(kib / 4) + MAXMEM_SLACK_PAGES);
  }

  create(desc: unknown): Domain {
    const b = resolveBuild(desc, this.o.loadFile, this.o.random);
    for (const d of this.hv.domains.values())
      if (d.domid !== 0 && d.name === b.name) throw new CtrlError('EEXIST', `domain with name "${b.name}" already exists`, 'name');
    let hvmDevs: HvmDevices | null = null;
    if (b.type === 'hvm' && (b.disks.length > 0 || b.vifs.length > 0)) {
      if (this.o.hvmDevices === undefined) throw new CtrlError('EINVAL', 'invalid build description: disks: this host has no device backends', 'disks');
      try {
        hvmDevs = this.o.hvmDevices(b);
      } catch (e) {
        throw new CtrlError('EINVAL', `invalid build description: ${e instanceof Error ? e.message : String(e)}`, 'disks');
      }
    }
    let d: Domain;
    try {
      // HVM: the virt board's devices as the device model (dom0's job, like QEMU on Xen),
      // with the host's virtio backends in its virtio-mmio slots.
      const deviceModel = (dom: Domain) => {
        const tx: number[] = [];
        const dm = virtDeviceModel(dom, { uartTx: (byte) => void tx.push(byte), virtio: hvmDevs?.devices ?? [] });
        this.uarts.set(dom.domid, { uart: dm.uart, tx });
        return dm;
      };
      d = this.hv.createDomain({
        type: b.type, name: b.name, memoryMiB: b.memory, maxMemoryMiB: b.maxmem, vcpus: b.vcpus, maxVcpus: b.maxvcpus,
        kernel: b.kernel, cmdline: b.cmdline, ...(b.ramdisk !== undefined ? { ramdisk: b.ramdisk } : {}),
      }, b.type === 'hvm' ? { deviceModel } : {});
    } catch (e) {
      hvmDevs?.dispose();
      const m = e instanceof Error ? e.message : String(e);
      if (e instanceof Error && e.name === 'DomainConfigError') throw new CtrlError('EINVAL', `invalid build description: ${m}`, (e as Error & { field: string }).field);
      if (/out of memory/.test(m)) throw new CtrlError('ENOMEM', `cannot create domain "${b.name}": ${m}`);
      throw new CtrlError('EINVAL', `cannot build domain "${b.name}": ${m}`, 'kernel');
    }
    d.handle.set(b.uuid);
    this.started.set(d.domid, this.hv.clock.nowNs());
    if (hvmDevs !== null) this.disposers.set(d.domid, () => hvmDevs.dispose());
    this.affinity.addDomain(d.domid, d.vcpus.length);
    try {
      b.vcpuAffinity.forEach((a, i) => this.affinity.pin(d.domid, d.vcpus.length, i, a.hard, a.soft));
    } catch (e) {
      this.hv.destroyDomain(d);
      const m = e instanceof Error ? e.message : String(e);
      throw new CtrlError('EINVAL', `invalid build description: vcpuAffinity: ${m}`, 'vcpuAffinity');
    }
    if (b.paused) this.hv.pauseDomain(d);
    this.log(-1, `d${d.domid}: created "${b.name}" (${b.type}, ${b.memory} MiB, ${b.vcpus} vCPU(s))\n`);
    return d;
  }

  destroy(domid: unknown): void {
    const d = this.guest(domid, 'destroy');
    this.hv.destroyDomain(d);
    this.log(-1, `d${d.domid}: destroyed\n`);
  }
  pause(domid: unknown): void {
    this.hv.pauseDomain(this.guest(domid, 'pause'));
  }
  unpause(domid: unknown): void {
    const d = this.guest(domid, 'unpause');
    if (!this.hv.unpauseDomain(d)) throw new CtrlError('EINVAL', `domain ${d.domid} is not paused`);
  }
  shutdown(domid: unknown, reason: unknown): void {
    const d = this.guest(domid, 'shut down');
    if (typeof reason !== 'string' || !Object.hasOwn(SHUTDOWN_NAMES, reason))
      throw new CtrlError('EINVAL', `invalid shutdown reason ${JSON.stringify(reason)} (one of ${Object.keys(SHUTDOWN_NAMES).join(', ')})`);
    this.hv.shutdownDomain(d, SHUTDOWN_NAMES[reason]!);
  }

  setWallclock(sec: unknown, nsec: unknown = 0): void {
    if (typeof sec !== 'number' || !Number.isInteger(sec) || sec < 0) throw new CtrlError('EINVAL', 'sec: need a non-negative integer');
    if (typeof nsec !== 'number' || !Number.isInteger(nsec) || nsec < 0 || nsec > 999999999) throw new CtrlError('EINVAL', 'nsec: need 0 to 999999999');
    this.hv.setWallclock(sec, nsec);
  }

  // ─── information ───────────────────────────────────────────────────────────────────────
  private vcpuTimeNs(d: Domain, i: number): number {
    const v = d.vcpus[i]!;
    let t = v.runstateTime[RUNSTATE_running]!;
    if (v.runstate === RUNSTATE_running) t += d.systemTimeNs() - v.stateEntryNs;
    return t;
  }

  info(d: Domain): DomainInfo {
    const dom0 = d.domid === 0;
    const online = d.vcpus.filter((v) => v.runstate !== RUNSTATE_offline);
    const blocked = online.length > 0 && online.every((v) => v.runstate === RUNSTATE_blocked);
    const crashed = d.state === 'shutdown' && d.shutdownCode === SHUTDOWN_crash;
    const shutdown = d.state === 'shutdown' && !crashed;
    const paused = d.pauseCount > 0;
    const dying = d.state === 'dying';
    const running = !dom0 && d.state === 'running' && !paused && online.length > 0 && !blocked;
    const di = dom0 ? null : this.hv.domainInfo(d); // XEN_DOMCTL_getdomaininfo
    const cpu = di?.cpuTimeNs ?? 0;
    const flag = (b: boolean, c: string): string => (b ? c : '-');
    const info: DomainInfo = {
      domid: d.domid,
      name: dom0 ? 'Domain-0' : d.name,
      uuid: formatUuid(d.handle),
      type: dom0 ? 'dom0' : d.isPv ? 'pv' : 'hvm',
      memKiB: d.totPages * 4,
      maxMemKiB: d.maxPages * 4,
      vcpus: dom0 ? this.o.nrCpus : d.vcpus.length,
      vcpusOnline: di?.vcpusOnline ?? this.o.nrCpus,
      running: running || dom0,
      blocked,
      paused,
      shutdown,
      crashed,
      dying,
      shutdownReason: d.state === 'shutdown' ? d.shutdownCode : -1,
      shutdownReasonName: d.state === 'shutdown' ? reasonName(d.shutdownCode) : '',
      cpuTimeSec: cpu / 1e9,
      state: flag(running || dom0, 'r') + flag(blocked, 'b') + flag(paused, 'p') + flag(shutdown, 's') + flag(crashed, 'c') + flag(dying, 'd'),
      uptimeSec: this.uptimeSec(d.domid),
    };
    if (d.crashReason !== '') info.crashWhy = d.crashReason;
    return info;
  }

  private uptimeSec(domid: number): number {
    return (this.hv.clock.nowNs() - (this.started.get(domid) ?? this.startNs)) / 1e9;
  }

  list(domid?: unknown): DomainInfo[] {
    if (domid !== undefined) return [this.info(this.domain(domid))];
    return [...this.hv.domains.values()].sort((a, b) => a.domid - b.domid).map((d) => this.info(d));
  }

  vcpus(domid?: unknown): VcpuInfo[] {
    const doms = domid !== undefined ? [this.domain(domid)] : [...this.hv.domains.values()].sort((a, b) => a.domid - b.domid);
    const out: VcpuInfo[] = [];
    for (const d of doms) {
      if (d.domid === 0) continue; // dom0 is the host process: no vCPUs of its own
      const aff = this.affinity.strings(d.domid);
      const at = this.affinity.placement(d.domid);
      d.vcpus.forEach((v, i) => {
        // online = not _VPF_down: the hart is not HSM-stopped (a paused domain's vCPUs stay online).
        const online = d.vsbi?.harts.status(i) !== SBI_HSM_STATE_STOPPED;
        const blocked = v.runstate === RUNSTATE_blocked;
        // With the host's scheduler, running is "on a pCPU now" (v->is_running) and cpu is that pCPU
        // or the last one (v->processor); Ctrl alone runs every vCPU on pCPU 0.
        const p = at?.[i];
        const running = online && !blocked && d.pauseCount === 0 && d.state === 'running' && (p === undefined || p.running);
        out.push({
          domid: d.domid, name: d.name, vcpu: i, cpu: online ? (p?.cpu ?? 0) : -1, online, running, blocked,
          state: (running ? 'r' : '-') + (blocked ? 'b' : '-') + (online ? '-' : 'p'),
          cpuTimeSec: this.vcpuTimeNs(d, i) / 1e9, affinityHard: aff[i]?.hard ?? 'all', affinitySoft: aff[i]?.soft ?? 'all',
        });
      });
    }
    return out;
  }

  /** XEN_DOMCTL_setvcpuaffinity (ctrl-sched.ts). */
  pin(domid: unknown, vcpu: unknown, hard: unknown, soft: unknown): void {
    const d = this.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', 'Domain-0 has no vCPUs of its own (it is the host process)');
    this.affinity.pin(d.domid, d.vcpus.length, vcpu, hard, soft);
  }

  /** XEN_DOMCTL_sendtrigger: power/reset are the device model's board power and reset (HVM). */
  trigger(domid: unknown, trigger: unknown, vcpu: unknown = 0): void {
    const d = this.guest(domid, 'send a trigger to');
    if (typeof trigger !== 'string' || !(TRIGGERS as readonly string[]).includes(trigger))
      throw new CtrlError('EINVAL', `invalid trigger ${JSON.stringify(trigger)} (one of ${TRIGGERS.join(', ')})`, 'trigger');
    if (typeof vcpu !== 'number' || !Number.isInteger(vcpu) || vcpu < 0 || vcpu >= d.vcpus.length)
      throw new CtrlError('EINVAL', `d${d.domid} has no vCPU ${JSON.stringify(vcpu)}`, 'vcpu');
    if (trigger === 'power' || trigger === 'reset') {
      if (d.isPv) throw new CtrlError('EINVAL', `trigger ${trigger}: d${d.domid} is a PV domain (no device model)`);
      // The virt board has no power button: the event is the board's power (or reset) line.
      this.log(-1, `d${d.domid}: ${trigger} trigger\n`);
      this.hv.shutdownDomain(d, trigger === 'power' ? SHUTDOWN_poweroff : SHUTDOWN_reboot);
      return;
    }
    throw new CtrlError('ENOSYS', `trigger ${trigger}: not available on RISC-V guests`);
  }

  physinfo(): PhysInfo {
    const pool = this.hv.pool;
    const t = this.topology;
    return {
      nrCpus: this.o.nrCpus, nrNodes: t.nodes, coresPerSocket: t.coresPerSocket, threadsPerCore: t.threadsPerCore,
      cpuTopology: Array.from({ length: this.o.nrCpus }, (_, c) => cpuTopoInfo(t, c)),
      numaInfo: numaInfo(t.nodes, pool.nrFrames, pool.freeFrames),
      cpuMhz: Math.round(this.hv.clock.timebase.frequency / 1e6),
      totalMemoryMiB: Math.floor(pool.nrFrames / 256), freeMemoryMiB: Math.floor(pool.freeFrames / 256),
      xenMajor: XEN_MAJOR, xenMinor: XEN_MINOR, xenExtra: XEN_EXTRAVERSION, xenCaps: XEN_CAPABILITIES.trim(),
      xenCommandline: this.hv.commandLine, buildId: Array.from(this.hv.buildId, (b) => b.toString(16).padStart(2, '0')).join(''),
      uptimeSec: (this.hv.clock.nowNs() - this.startNs) / 1e9, hostName: this.o.hostName ?? 'tsxen', pid: this.o.pid ?? 0,
    };
  }

  // ─── rings for xenconsoled and xenstore ────────────────────────────────────────────────
  private startInfo(d: Domain): number {
    const mfn = d.p2m.mfnOf(GUEST_MAGIC_BASE / 4096 + MAGIC_START_INFO);
    return mfn < 0 ? -1 : mfn * 4096;
  }

  /** A PV domain's console ring page (public/io/console.h), or null (HVM, or gone). */
  consoleRing(domid: number): ConsoleRing | null {
    const d = this.hv.getDomain(domid);
    if (d === undefined || !d.isPv || d.state === 'destroyed') return null;
    const gfn = GUEST_MAGIC_BASE / 4096 + MAGIC_CONSOLE;
    const mfn = d.p2m.mfnOf(gfn);
    const si = this.startInfo(d);
    if (mfn < 0 || si < 0) return null;
    const port = this.hv.pool.view.getUint32(si + STI_CONSOLE_EVTCHN, true);
    return {
      page: this.hv.pool.bytes.subarray(mfn * 4096, mfn * 4096 + 4096),
      gfn,
      port,
      notify: () => {
        let local = this.consolePorts.get(domid);
        if (local === undefined) {
          local = this.eg.channels(this.hv.dom0).bindInterdomain(domid, port);
          if (local < 0) return;
          this.consolePorts.set(domid, local);
        }
        this.eg.channels(this.hv.dom0).send(local);
      },
    };
  }

  /** An HVM domain's UART (the device model's ns16550a), or null. */
  consoleUart(domid: number): ConsoleUart | null {
    const u = this.uarts.get(domid);
    if (u === undefined) return null;
    return {
      read: () => {
        if (u.tx.length === 0) return null;
        const b = Uint8Array.from(u.tx);
        u.tx.length = 0;
        return b;
      },
      write: (b) => {
        let n = 0;
        while (n < b.length && u.uart.receive(b[n]!)) n++;
        return n;
      },
    };
  }

  /** start_info's xenstore ring of a PV domain (for INTRODUCE), or null. */
  storeRing(domid: number): StoreRing | null {
    const d = this.hv.getDomain(domid);
    if (d === undefined || !d.isPv) return null;
    const si = this.startInfo(d);
    if (si < 0) return null;
    const dv = this.hv.pool.view;
    return { gfn: dv.getUint32(si + STI_STORE_MFN, true), port: dv.getUint32(si + STI_STORE_EVTCHN, true) };
  }
}
