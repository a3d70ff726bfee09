// SPDX-License-Identifier: GPL-2.0-only
// dom0's PV device side in the host daemon: the xenstore ring relay of every PV domain
// (xenstore-relay.ts: the guest reaches the host's xenstored, which runs in its own process),
// and the vbd devices behind `xl block-attach/-detach/-list`: libxl's part (the xenstore nodes
// of device-layout.ts, the hotplug step that opens the raw image, the removal handshake with
// its 10 s timeout, LIBXL_DESTROY_TIMEOUT) and blkback (src/toolstack/backends/blkback.ts)
// over src/host/block-file.ts; the same for vifs behind `xl network-*`: netback
// (src/toolstack/backends/netback.ts) on the host's software switch, one learning switch per
// bridge name (xenbr0 by default). Control methods: docs/design/dom0.md §3, docs/design/pv-backends.md.
import { randomBytes } from 'node:crypto';
import { BridgeRegistry } from '../hardware/net/bridges.ts';
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { Dom0Dev } from '../toolstack/ctrl/dom0-dev.ts';
import { CtrlError, type NicInfo, type VbdInfo } from '../toolstack/ctrl/protocol.ts';
import { Blkback } from '../toolstack/backends/blkback.ts';
import { Netback } from '../toolstack/backends/netback.ts';
import type { XenbusBackend } from '../toolstack/backends/xenbus-backend.ts';
import { defaultMac, removePaths, vbdNodes, vifNodes, type DeviceNodes } from '../toolstack/light/device-layout.ts';
import { DiskSpecError, parseDiskSpec } from '../toolstack/xl/disk-spec.ts';
import { VifSpecError, parseVifSpec } from '../toolstack/xl/vif-spec.ts';
import { BlockFile, BlockFileError } from './block-file.ts';
import type { XenstoreClient } from './host-xenstore.ts';
import { StoreRelay } from './xenstore-relay.ts';

/** libxl's LIBXL_DESTROY_TIMEOUT: how long a device removal waits for the backend to close. */
export const DEVICE_REMOVE_TIMEOUT_MS = 10_000;

/** One PV device of a domain: its backend driver, its nodes and what closes after it. */
interface PvDevice { kind: 'vbd' | 'vif'; domid: number; devid: number; bb: XenbusBackend; dev: DeviceNodes; close(): void; describe(): string }

export class HostDevices {
  readonly dev: Dom0Dev;
  private xs: XenstoreClient | null = null;
  private xsSocket = '';
  readonly relays = new Map<number, StoreRelay>();
  private readonly devices = new Map<string, PvDevice>();

  /** @param bridges  the host's software bridges by name, shared with the HVM NICs (hvm-backends.ts) */
  constructor(private readonly ctrl: Ctrl, private readonly log: (s: string) => void, private readonly wake: () => void,
    readonly bridges: BridgeRegistry = new BridgeRegistry()) {
    this.dev = new Dom0Dev(ctrl);
    this.dev.onError = (e) => log(`PV backend error (ignored): ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
    ctrl.domainListeners.push((e) => { if (e.kind === 'destroyed') this.domainGone(e.domid); });
  }

  setXenstore(client: XenstoreClient, socket: string): void {
    this.xs = client;
    this.xsSocket = socket;
  }

  /** Between scheduling slices: run the backends and relays whose event channels fired. */
  poll(): boolean {
    return this.dev.poll();
  }

  /** After INTRODUCE: relay the domain's xenstore ring to xenstored. */
  async domainCreated(domid: number): Promise<void> {
    if (this.xs === null) return;
    const sp = this.dev.storePage(domid);
    if (sp === null) return;
    const relay = new StoreRelay({ socketPath: this.xsSocket, domid, page: sp.page, log: this.log, wake: this.wake });
    relay.port = this.dev.bind(domid, sp.port, () => relay.onEvent());
    this.relays.set(domid, relay);
    await relay.open();
  }

  private domainGone(domid: number): void {
    this.relays.get(domid)?.close();
    this.relays.delete(domid);
    for (const [k, v] of this.devices) {
      if (v.domid !== domid) continue;
      this.devices.delete(k);
      void v.bb.stop().catch(() => {}).finally(() => v.close());
      // libxl__devices_destroy: the backend's nodes go with the domain.
      void this.xs?.rm(v.dev.backend).catch(() => {});
      void this.xs?.rm(`/libxl/${domid}`).catch(() => {});
    }
  }

  /** The ctrl methods of this module, or undefined for others. */
  dispatch(method: string, p: Record<string, unknown>): Promise<unknown> | undefined {
    switch (method) {
      case 'device.block-attach': return this.blockAttach(p.domid, p.spec);
      case 'device.block-detach': return this.detach('vbd', p.domid, p.devid, p.force === true);
      case 'device.block-list': return this.blockList(p.domid);
      case 'device.network-attach': return this.networkAttach(p.domid, p.spec);
      case 'device.network-detach': return this.detach('vif', p.domid, p.devid, p.force === true);
      case 'device.network-list': return this.networkList(p.domid);
      default: return undefined;
    }
  }

  private xsOrFail(): XenstoreClient {
    if (this.xs === null) throw new CtrlError('ENOSYS', 'this host runs without xenstored: no PV devices');
    return this.xs;
  }

  /** libxl_device_disk_add for a running PV domain: nodes, hotplug (open the image), blkback to InitWait. */
  private async blockAttach(domid: unknown, spec: unknown): Promise<{ devid: number; frontend: string; backend: string }> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', 'block-attach: Domain-0 has no blkfront');
    if (!d.isPv) throw new CtrlError('EINVAL', `block-attach: domain ${d.domid} is not a PV domain (HVM disks are virtio devices)`);
    if (typeof spec !== 'string') throw new CtrlError('EINVAL', 'spec: need a disk specification string', 'spec');
    let disk;
    try {
      disk = parseDiskSpec(spec);
    } catch (e) {
      if (e instanceof DiskSpecError) throw new CtrlError('EINVAL', e.message, 'spec');
      throw e;
    }
    if (disk.format !== 'raw') throw new CtrlError('EINVAL', `disk ${disk.target}: format ${disk.format} is not supported (raw images only)`, 'spec');
    if (disk.backendtype !== undefined && disk.backendtype !== 'phy') throw new CtrlError('EINVAL', `disk ${disk.target}: backendtype ${disk.backendtype} is not supported (blkback only)`, 'spec');
    if (disk.backend !== '0' && disk.backend !== 'Domain-0') throw new CtrlError('EINVAL', `disk ${disk.target}: backend domain ${disk.backend} is not supported (dom0 only)`, 'spec');
    const key = `vbd/${d.domid}/${disk.devid}`;
    if (this.devices.has(key) || (await xs.read(`/libxl/${d.domid}/device/vbd/${disk.devid}/backend`)) !== null)
      throw new CtrlError('EEXIST', `vbd ${disk.vdev} (${disk.devid}) already exists for domain ${d.domid}`, 'spec');
    let file: BlockFile;
    try {
      file = BlockFile.open(disk.target, { readOnly: disk.access === 'ro' || disk.devtype === 'cdrom' });
    } catch (e) {
      if (e instanceof BlockFileError) throw new CtrlError('EINVAL', e.message, 'spec');
      throw e;
    }
    const dev = vbdNodes(d.domid, disk);
    const bb = new Blkback({
      domid: d.domid, devid: disk.devid, backendPath: dev.backend, frontendPath: dev.frontend, disk: file,
      cdrom: disk.devtype === 'cdrom', dev: this.dev, log: this.log,
      xs: { read: (p) => xs.read(p), write: (p, v) => xs.write(p, v), watch: (p, f) => xs.watch(p, f) },
    });
    await this.add(key, {
      kind: 'vbd', domid: d.domid, devid: disk.devid, bb, dev, close: () => file.close(),
      describe: () => `${bb.stats.reads} reads, ${bb.stats.writes} writes, ${bb.stats.flushes} flushes, ${bb.stats.errors} errors`,
    });
    this.log(`d${d.domid}: vbd ${disk.devid} (${disk.vdev}) attached: ${disk.target} ${disk.access}`);
    return { devid: disk.devid, frontend: dev.frontend, backend: dev.backend };
  }

  /** libxl__device_*_add's common part: the nodes, the hotplug script's `hotplug-status`, the backend to InitWait. */
  private async add(key: string, v: PvDevice): Promise<void> {
    const xs = this.xsOrFail();
    this.devices.set(key, v);
    try {
      for (const n of v.dev.nodes) {
        await xs.write(n.path, n.value);
        if (n.perms) await xs.setPerms(n.path, n.perms);
      }
      await xs.write(`${v.dev.backend}/hotplug-status`, 'connected');
      await v.bb.start();
    } catch (e) {
      this.devices.delete(key);
      await v.bb.stop();
      v.close();
      for (const p of removePaths(v.domid, v.kind, v.devid, v.dev)) await xs.rm(p).catch(() => {});
      throw new CtrlError('EIO', `${v.kind} ${v.devid}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  /** libxl_device_{disk,nic}_remove: Closing, wait for Closed (or time out and force), remove the nodes. */
  private async detach(kind: 'vbd' | 'vif', domid: unknown, devid: unknown, force: boolean): Promise<{ clean: boolean; backendStates: number[] }> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    if (typeof devid !== 'number' || !Number.isInteger(devid) || devid < 0) throw new CtrlError('EINVAL', `invalid devid ${JSON.stringify(devid)}`, 'devid');
    const key = `${kind}/${d.domid}/${devid}`;
    const v = this.devices.get(key);
    if (v === undefined) throw new CtrlError('ENOENT', `domain ${d.domid} has no ${kind} ${devid}`, 'devid');
    const alive = d.state === 'running';
    const clean = !force && alive ? await v.bb.remove(DEVICE_REMOVE_TIMEOUT_MS) : false;
    if (!clean) this.log(`d${d.domid}: ${kind} ${devid}: ${force ? 'forced removal' : alive ? 'frontend did not close in time; forcing' : 'domain not running; forcing'}`);
    this.devices.delete(key);
    await v.bb.stop();
    v.close();
    for (const p of removePaths(d.domid, kind, devid, v.dev)) await xs.rm(p).catch(() => {});
    this.log(`d${d.domid}: ${kind} ${devid} detached (${clean ? 'clean' : 'forced'}; backend states ${v.bb.states.join(' ')}; ${v.describe()})`);
    return { clean, backendStates: [...v.bb.states] };
  }

  /** libxl_device_disk_list + libxl_device_disk_getinfo, read back from xenstore. */
  private async blockList(domid: unknown): Promise<VbdInfo[]> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    const rows: VbdInfo[] = [];
    const ids = (await xs.directory(`/libxl/${d.domid}/device/vbd`)).map(Number).filter(Number.isInteger).sort((a, b) => a - b);
    const num = (s: string | null): number => (s === null || !/^\d+$/.test(s) ? -1 : Number(s));
    for (const devid of ids) {
      const bePath = await xs.read(`/libxl/${d.domid}/device/vbd/${devid}/backend`);
      if (bePath === null) continue;
      const fe = `/local/domain/${d.domid}/device/vbd/${devid}`;
      rows.push({
        devid, backendId: num(/^\/local\/domain\/(\d+)\//.exec(bePath)?.[1] ?? null), frontendId: d.domid,
        state: num(await xs.read(`${fe}/state`)), evtch: num(await xs.read(`${fe}/event-channel`)),
        ringRef: num(await xs.read(`${fe}/ring-ref`)), bePath,
      });
    }
    return rows;
  }

  /** libxl_device_nic_add for a running PV domain: the next devid, a MAC, the nodes, netback on the bridge. */
  private async networkAttach(domid: unknown, spec: unknown): Promise<{ devid: number; mac: string; frontend: string; backend: string }> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    if (d.domid === 0) throw new CtrlError('EINVAL', 'network-attach: Domain-0 has no netfront');
    if (!d.isPv) throw new CtrlError('EINVAL', `network-attach: domain ${d.domid} is not a PV domain (HVM NICs are virtio devices)`);
    if (typeof spec !== 'string') throw new CtrlError('EINVAL', 'spec: need a vif specification string', 'spec');
    // libxl__device_nextid: one more than the highest devid the domain has.
    let devid = 0;
    for (const id of await xs.directory(`/libxl/${d.domid}/device/vif`)) if (/^\d+$/.test(id)) devid = Math.max(devid, Number(id) + 1);
    for (const v of this.devices.values()) if (v.kind === 'vif' && v.domid === d.domid) devid = Math.max(devid, v.devid + 1);
    let vif;
    try {
      vif = parseVifSpec(spec, devid);
    } catch (e) {
      if (e instanceof VifSpecError) throw new CtrlError('EINVAL', e.message, 'spec');
      throw e;
    }
    if (vif.backend !== '0' && vif.backend !== 'Domain-0') throw new CtrlError('EINVAL', `vif: backend domain ${vif.backend} is not supported (dom0 only)`, 'spec');
    if (vif.type === 'ioemu') throw new CtrlError('EINVAL', 'vif: type=ioemu is an HVM emulated NIC; PV domains get type=vif', 'spec');
    const mac = vif.mac ?? defaultMac((n) => new Uint8Array(randomBytes(n)));
    const dev = vifNodes(d.domid, vif, mac);
    const bridge = this.bridges.get(vif.bridge);
    const name = vif.vifname ?? `vif${d.domid}.${devid}`;
    const bb = new Netback({
      domid: d.domid, devid, backendPath: dev.backend, frontendPath: dev.frontend, mac, dev: this.dev, log: this.log,
      xs: { read: (p) => xs.read(p), write: (p, v) => xs.write(p, v), watch: (p, f) => xs.watch(p, f) },
      plug: (deliver) => bridge.attach(deliver, name),
    });
    await this.add(`vif/${d.domid}/${devid}`, {
      kind: 'vif', domid: d.domid, devid, bb, dev, close: () => {},
      describe: () => `${bb.stats.txFrames} frames sent, ${bb.stats.rxFrames} received, ${bb.stats.rxDropped} dropped, ${bb.stats.txErrors + bb.stats.rxErrors} errors`,
    });
    this.log(`d${d.domid}: vif ${devid} (${name}, ${mac}) attached to bridge ${vif.bridge}`);
    return { devid, mac, frontend: dev.frontend, backend: dev.backend };
  }

  /** libxl_device_nic_list + libxl_device_nic_getinfo, read back from xenstore. */
  private async networkList(domid: unknown): Promise<NicInfo[]> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    const rows: NicInfo[] = [];
    const ids = (await xs.directory(`/libxl/${d.domid}/device/vif`)).filter((x) => /^\d+$/.test(x)).map(Number).sort((a, b) => a - b);
    const num = (s: string | null): number => (s === null || !/^\d+$/.test(s) ? -1 : Number(s));
    for (const devid of ids) {
      const bePath = await xs.read(`/libxl/${d.domid}/device/vif/${devid}/backend`);
      if (bePath === null) continue;
      const fe = `/local/domain/${d.domid}/device/vif/${devid}`;
      rows.push({
        devid, backendId: num(/^\/local\/domain\/(\d+)\//.exec(bePath)?.[1] ?? null), mac: (await xs.read(`${bePath}/mac`)) ?? '00:00:00:00:00:00',
        state: num(await xs.read(`${fe}/state`)), evtch: num(await xs.read(`${fe}/event-channel`)),
        txRef: num(await xs.read(`${fe}/tx-ring-ref`)), rxRef: num(await xs.read(`${fe}/rx-ring-ref`)), bePath,
      });
    }
    return rows;
  }

  /** Host stop: every relay and backend goes. */
  close(): void {
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
    for (const v of this.devices.values()) { void v.bb.stop().catch(() => {}); v.close(); }
    this.devices.clear();
  }
}
