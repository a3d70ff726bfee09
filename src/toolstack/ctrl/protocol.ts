// SPDX-License-Identifier: GPL-2.0-only
// The control protocol between the toolstack (xl, tests) and the host daemon: the libxc/libxl
// boundary as JSON lines over the host's Unix socket (docs/design/dom0.md §3). Pure types and
// codecs: every request and reply type, the typed errors, and the frame codec.
// Xen: tools/libxc/include/xenctrl.h (xc_dominfo_t, xc_physinfo_t, xc_vcpuinfo_t)
import { SCHED_METHODS, type SchedMethods } from './sched-protocol.ts';

/** The build description the host turns into a domain (a parsed xl.cfg's hypervisor part). */
export interface BuildDescription {
  name: string;
  type: 'pv' | 'hvm';
  /** MiB */
  memory: number;
  maxmem?: number;
  vcpus?: number;
  maxvcpus?: number;
  /** Host path (resolved by the host, relative to its cwd) or inline base64 bytes. */
  kernel: FileRef;
  ramdisk?: FileRef;
  cmdline?: string;
  /** 8-4-4-4-12 hex; generated when absent. */
  uuid?: string;
  /** Create paused (xl create -p). */
  paused?: boolean;
  /** HVM: disks (xl disk spec, parsed), each a virtio-blk device behind a virtio-mmio slot. */
  disks?: DiskDesc[];
  /** HVM: network interfaces, each a virtio-net device on the host's switch named by bridge. */
  vifs?: VifDesc[];
  /**
   * The on_* actions the host carries out when the domain shuts down (xl's monitor, in the
   * host: docs/design/dom0.md §5). Absent: no monitor (xl create -e); the domain stays shut down.
   */
  actions?: ShutdownActions;
  /**
   * false: the actions are the domain's configuration (`xl list -l` prints them) but nothing
   * carries them out (xl create -e). Default true.
   */
  monitor?: boolean;
  /**
   * Per-vCPU hard and soft affinity set at build (xl.cfg cpus= / cpus_soft=; libxl's b_info
   * vcpu_hard_affinity/vcpu_soft_affinity): pCPU lists, null = all. vCPUs past the list are unpinned.
   */
  vcpuAffinity?: Array<{ hard: number[] | null; soft: number[] | null }>;
}
export type FileRef = string | { path: string } | { base64: string };

/** One disk= entry as the host needs it (xl-disk-configuration.txt). */
export interface DiskDesc {
  /** Raw image path on the host (relative to the host's cwd). */
  target: string;
  format: 'raw';
  vdev: string;
  access: 'ro' | 'rw';
}

/** One vif= entry (xl-network-configuration.markdown). */
export interface VifDesc {
  /** xx:xx:xx:xx:xx:xx; generated (00:16:3e + random) when absent, as libxl does. */
  mac?: string;
  /** The host switch the NIC is cabled to (created on first use). */
  bridge: string;
}

/** xl.cfg(5) actions (Xen 4.7 libxl_action_on_shutdown). */
export type Action = 'destroy' | 'restart' | 'rename-restart' | 'preserve' | 'coredump-destroy' | 'coredump-restart' | 'soft-reset';
export const ACTIONS: readonly Action[] = ['destroy', 'restart', 'rename-restart', 'preserve', 'coredump-destroy', 'coredump-restart', 'soft-reset'];
export interface ShutdownActions {
  onPoweroff: Action;
  onReboot: Action;
  onWatchdog: Action;
  onCrash: Action;
  onSoftReset: Action;
}

/** One row of `xl list` / xc_domain_getinfo. */
export interface DomainInfo {
  domid: number;
  name: string;
  uuid: string;
  type: 'pv' | 'hvm' | 'dom0';
  /** KiB currently owned (tot_pages * 4). */
  memKiB: number;
  maxMemKiB: number;
  vcpus: number;
  vcpusOnline: number;
  /** r b p s c d flags of `xl list`. */
  running: boolean;
  blocked: boolean;
  paused: boolean;
  shutdown: boolean;
  crashed: boolean;
  dying: boolean;
  /** SHUTDOWN_* code once shut down, else -1; and its name ('poweroff', ...). */
  shutdownReason: number;
  shutdownReasonName: string;
  /** Sum of the vCPUs' running time, seconds. */
  cpuTimeSec: number;
  /** `rbpscd` with '-' for unset flags, as `xl list` prints it. */
  state: string;
  crashWhy?: string;
  /** Seconds since the domain was created (xl uptime; Domain-0: since the host started). */
  uptimeSec: number;
  /** The on_* actions it was created with (BuildDescription.actions), when it had any. */
  actions?: ShutdownActions;
}

/** One row of `xl vcpu-list`. */
export interface VcpuInfo {
  domid: number;
  name: string;
  vcpu: number;
  /** pCPU running it now or last, -1 when offline (xl prints '-'). */
  cpu: number;
  online: boolean;
  running: boolean;
  blocked: boolean;
  /** xl's state column: 'r--', '-b-', '--p', ... */
  state: string;
  cpuTimeSec: number;
  /** Hard and soft affinity as xl prints them ('all' or a cpu list). */
  affinityHard: string;
  affinitySoft: string;
}

/** A pCPU's place (XEN_SYSCTL_cputopoinfo, libxl_cputopology): core within its socket. */
export interface CpuTopology { core: number; socket: number; node: number }
/** A NUMA node (XEN_SYSCTL_numainfo, libxl_numainfo): memory in MiB, SLIT distances to every node. */
export interface NumaInfo { memsizeMiB: number; memfreeMiB: number; distances: number[] }

/** `xl info`'s hypervisor part (xc_physinfo + xen_version; cputopoinfo and numainfo for -n). */
export interface PhysInfo {
  nrCpus: number;
  nrNodes: number;
  coresPerSocket: number;
  threadsPerCore: number;
  /** Row i is pCPU i. */
  cpuTopology: CpuTopology[];
  /** Row i is node i. */
  numaInfo: NumaInfo[];
  cpuMhz: number;
  totalMemoryMiB: number;
  freeMemoryMiB: number;
  xenMajor: number;
  xenMinor: number;
  xenExtra: string;
  xenCaps: string;
  xenCommandline: string;
  buildId: string;
  /** Seconds since the host started. */
  uptimeSec: number;
  hostName: string;
  pid: number;
}

export interface HostStatus {
  pid: number;
  runDir: string;
  ctrlSocket: string;
  xenstoredSocket: string | null;
  consoleDir: string;
  domains: number;
}

/** Every request: method name → [params, result]. */
export interface Methods extends SchedMethods {
  'host.status': [Record<string, never>, HostStatus];
  'host.stop': [Record<string, never>, { stopping: true }];
  'domain.create': [BuildDescription, { domid: number; name: string; uuid: string }];
  'domain.destroy': [{ domid: number }, Record<string, never>];
  'domain.pause': [{ domid: number }, Record<string, never>];
  'domain.unpause': [{ domid: number }, Record<string, never>];
  'domain.shutdown': [{ domid: number; reason: string }, Record<string, never>];
  'domain.list': [{ domid?: number }, DomainInfo[]];
  'domain.lookup': [{ name: string }, { domid: number }];
  'domain.rename': [{ domid: number; name: string }, Record<string, never>];
  /** XEN_DOMCTL_max_mem: the domain's max_pages from KiB (xl mem-max). */
  'domain.set-maxmem': [{ domid: number; maxMemKiB: number }, Record<string, never>];
  'vcpu.list': [{ domid?: number }, VcpuInfo[]];
  /**
   * XEN_DOMCTL_setvcpuaffinity (xl vcpu-pin): vcpu -1 = every vCPU; hard/soft a pCPU list,
   * null to leave it unchanged. Invalid masks fail with EINVAL and change nothing.
   */
  'vcpu.pin': [{ domid: number; vcpu: number; hard: number[] | null; soft: number[] | null }, Record<string, never>];
  /** libxl_set_vcpuonline (xl vcpu-set): ~/cpu/N/availability online for N < count. */
  'vcpu.set-online': [{ domid: number; count: number }, Record<string, never>];
  /** libxl_set_memory_target (xl mem-set): ~/memory/target and max_pages. */
  'domain.set-target': [{ domid: number; targetKiB: number }, Record<string, never>];
  /**
   * libxl__domain_pvcontrol (xl shutdown/reboot): write ~/control/shutdown. EOPNOTSUPP
   * (libxl's ERROR_NOPARAVIRT) for an HVM guest without PV drivers.
   */
  'domain.pvcontrol': [{ domid: number; command: 'poweroff' | 'reboot' | 'suspend' | 'halt' }, Record<string, never>];
  /** XEN_DOMCTL_sendtrigger (xl trigger; shutdown/reboot -F). */
  'domain.trigger': [{ domid: number; trigger: string; vcpu?: number }, Record<string, never>];
  /** libxl_send_sysrq: write ~/control/sysrq. */
  'domain.sysrq': [{ domid: number; key: string }, Record<string, never>];
  /**
   * libxl_evenable_domain_death: resolves when the domain shuts down (its reason) or is gone
   * (xl shutdown -w, create -F).
   */
  'domain.wait-death': [{ domid: number }, { event: 'shutdown'; reason: number } | { event: 'death' }];
  'host.physinfo': [Record<string, never>, PhysInfo];
  'host.dmesg': [{ clear?: boolean }, { text: string }];
  'host.set-wallclock': [{ sec: number; nsec?: number }, Record<string, never>];
  'console.info': [{ domid: number }, ConsoleInfo];
  /** Switches the connection to console mode (docs/design/dom0.md §4). */
  'console.attach': [{ domid: number; history?: boolean }, ConsoleInfo];
  /** PV devices (src/host/host-devices.ts): spec is an xl disk spec; rows as `xl block-list` prints them. */
  'device.block-attach': [{ domid: number; spec: string }, { devid: number; frontend: string; backend: string }];
  'device.block-detach': [{ domid: number; devid: number; force?: boolean }, { clean: boolean; backendStates: number[] }];
  'device.block-list': [{ domid: number }, VbdInfo[]];
  /** spec: an xl vif spec (mac=, bridge=, ...); the host picks the next devid and, without mac=, a 00:16:3e MAC. */
  'device.network-attach': [{ domid: number; spec: string }, { devid: number; mac: string; frontend: string; backend: string }];
  'device.network-detach': [{ domid: number; devid: number; force?: boolean }, { clean: boolean; backendStates: number[] }];
  'device.network-list': [{ domid: number }, NicInfo[]];
}
export type Method = keyof Methods;

/** One vbd as libxl_device_disk_getinfo reads it back from xenstore (-1: node absent). */
export interface VbdInfo { devid: number; backendId: number; frontendId: number; state: number; evtch: number; ringRef: number; bePath: string }
/** One vif as libxl_device_nic_getinfo reads it back (-1: node absent). */
export interface NicInfo { devid: number; backendId: number; mac: string; state: number; evtch: number; txRef: number; rxRef: number; bePath: string }
export const METHODS: ReadonlyArray<Method> = [
  'host.status', 'host.stop', 'domain.create', 'domain.destroy', 'domain.pause', 'domain.unpause',
  'domain.shutdown', 'domain.list', 'domain.lookup', 'domain.rename', 'domain.set-maxmem', 'vcpu.list', 'host.physinfo', 'host.dmesg',
  'host.set-wallclock', 'console.info', 'console.attach', 'device.block-attach', 'device.block-detach', 'device.block-list',
  'device.network-attach', 'device.network-detach', 'device.network-list',
  'vcpu.pin', 'vcpu.set-online', 'domain.set-target', 'domain.pvcontrol', 'domain.trigger', 'domain.sysrq', 'domain.wait-death', ...SCHED_METHODS,
];

export interface ConsoleInfo {
  domid: number;
  name: string;
  /** 'xenconsole' (PV ring) or 'ioemu' (HVM UART), as in xenstore's console/type. */
  type: 'xenconsole' | 'ioemu';
  logFile: string;
  /** PV: the ring's GFN and event channel. */
  ringRef?: number;
  port?: number;
}

export interface Request<M extends Method = Method> {
  id: number;
  method: M;
  params: Methods[M][0];
}

/** Error codes: Xen errno names where one fits. */
export type ErrorCode = 'EINVAL' | 'ESRCH' | 'ENOMEM' | 'EEXIST' | 'ENOSYS' | 'EBUSY' | 'ENOENT' | 'EPROTO' | 'EIO' | 'EPERM' | 'ENODEV' | 'EOPNOTSUPP';

export interface CtrlErrorBody {
  code: ErrorCode;
  message: string;
  /** For a bad build description: the field at fault. */
  field?: string;
}

export type Response<M extends Method = Method> =
  | { id: number; ok: true; result: Methods[M][1] }
  | { id: number; ok: false; error: CtrlErrorBody };

export class CtrlError extends Error {
  constructor(readonly code: ErrorCode, message: string, readonly field?: string) {
    super(message);
    this.name = 'CtrlError';
  }
  toBody(): CtrlErrorBody {
    return this.field === undefined ? { code: this.code, message: this.message } : { code: this.code, message: this.message, field: this.field };
  }
}

/** Largest accepted request line (a base64 kernel of 48 MiB fits). */
export const MAX_LINE_BYTES = 64 * 1024 * 1024;

/** Parse one request line; a CtrlError (EPROTO) names what is wrong. */
export function parseRequest(line: string): Request {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    throw new CtrlError('EPROTO', 'request is not JSON');
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) throw new CtrlError('EPROTO', 'request is not a JSON object');
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'number' || !Number.isInteger(o.id)) throw new CtrlError('EPROTO', 'request id: need an integer');
  if (typeof o.method !== 'string' || !(METHODS as readonly string[]).includes(o.method))
    throw new CtrlError('ENOSYS', `unknown method ${JSON.stringify(o.method)}`);
  const params = o.params ?? {};
  if (params === null || typeof params !== 'object' || Array.isArray(params)) throw new CtrlError('EPROTO', 'params: need a JSON object');
  return { id: o.id, method: o.method as Method, params: params as Request['params'] };
}
