// SPDX-License-Identifier: GPL-2.0-only
// dom0's PV device side in the host daemon: the xenstore ring relay of every PV domain
// (xenstore-relay.ts: the guest reaches the host's xenstored, which runs in its own process),
// and the vbd devices behind `xl block-attach/-detach/-list`: libxl's part (the xenstore nodes
// of device-layout.ts, the hotplug step that opens the raw image, the removal handshake with
// its 10 s timeout, LIBXL_DESTROY_TIMEOUT) and blkback (src/toolstack/backends/blkback.ts)
// over src/host/block-file.ts. Control methods: docs/design/dom0.md §3, docs/design/pv-backends.md.
import type { Ctrl } from '../toolstack/ctrl/ctrl.ts';
import { Dom0Dev } from '../toolstack/ctrl/dom0-dev.ts';
import { CtrlError, type VbdInfo } from '../toolstack/ctrl/protocol.ts';
import { Blkback } from '../toolstack/backends/blkback.ts';
import { removePaths, vbdNodes, type DeviceNodes } from '../toolstack/light/device-layout.ts';
import { DiskSpecError, parseDiskSpec } from '../toolstack/xl/disk-spec.ts';
import { BlockFile, BlockFileError } from './block-file.ts';
import type { XenstoreClient } from './host-xenstore.ts';
import { StoreRelay } from './xenstore-relay.ts';

/** libxl's LIBXL_DESTROY_TIMEOUT: how long a device removal waits for the backend to close. */
export const DEVICE_REMOVE_TIMEOUT_MS = 10_000;

interface Vbd { domid: number; devid: number; bb: Blkback; file: BlockFile; dev: DeviceNodes }

export class HostDevices {
  readonly dev: Dom0Dev;
  private xs: XenstoreClient | null = null;
  private xsSocket = '';
  readonly relays = new Map<number, StoreRelay>();
  private readonly vbds = new Map<string, Vbd>();

  constructor(private readonly ctrl: Ctrl, private readonly log: (s: string) => void, private readonly wake: () => void) {
    this.dev = new Dom0Dev(ctrl);
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
    for (const [k, v] of this.vbds) {
      if (v.domid !== domid) continue;
      this.vbds.delete(k);
      void v.bb.stop().finally(() => v.file.close());
      // libxl__devices_destroy: the backend's nodes go with the domain.
      void this.xs?.rm(v.dev.backend).catch(() => {});
      void this.xs?.rm(`/libxl/${domid}`).catch(() => {});
    }
  }

  /** The ctrl methods of this module, or undefined for others. */
  dispatch(method: string, p: Record<string, unknown>): Promise<unknown> | undefined {
    switch (method) {
      case 'device.block-attach': return this.blockAttach(p.domid, p.spec);
      case 'device.block-detach': return this.blockDetach(p.domid, p.devid, p.force === true);
      case 'device.block-list': return this.blockList(p.domid);
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
    const key = `${d.domid}/${disk.devid}`;
    if (this.vbds.has(key) || (await xs.read(`/libxl/${d.domid}/device/vbd/${disk.devid}/backend`)) !== null)
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
    this.vbds.set(key, { domid: d.domid, devid: disk.devid, bb, file, dev });
    try {
      for (const n of dev.nodes) {
        await xs.write(n.path, n.value);
        if (n.perms) await xs.setPerms(n.path, n.perms);
      }
      await xs.write(`${dev.backend}/hotplug-status`, 'connected'); // the block script's part
      await bb.start();
    } catch (e) {
      this.vbds.delete(key);
      await bb.stop();
      file.close();
      for (const p of removePaths(d.domid, 'vbd', disk.devid, dev)) await xs.rm(p).catch(() => {});
      throw new CtrlError('EIO', `block-attach: ${e instanceof Error ? e.message : String(e)}`);
    }
    this.log(`d${d.domid}: vbd ${disk.devid} (${disk.vdev}) attached: ${disk.target} ${disk.access}`);
    return { devid: disk.devid, frontend: dev.frontend, backend: dev.backend };
  }

  /** libxl_device_disk_remove: Closing, wait for Closed (or time out and force), remove the nodes. */
  private async blockDetach(domid: unknown, devid: unknown, force: boolean): Promise<{ clean: boolean; backendStates: number[] }> {
    const xs = this.xsOrFail();
    const d = this.ctrl.domain(domid);
    if (typeof devid !== 'number' || !Number.isInteger(devid) || devid < 0) throw new CtrlError('EINVAL', `invalid devid ${JSON.stringify(devid)}`, 'devid');
    const key = `${d.domid}/${devid}`;
    const v = this.vbds.get(key);
    if (v === undefined) throw new CtrlError('ENOENT', `domain ${d.domid} has no vbd ${devid}`, 'devid');
    const alive = d.state === 'running';
    const clean = !force && alive ? await v.bb.remove(DEVICE_REMOVE_TIMEOUT_MS) : false;
    if (!clean) this.log(`d${d.domid}: vbd ${devid}: ${force ? 'forced removal' : alive ? 'frontend did not close in time; forcing' : 'domain not running; forcing'}`);
    this.vbds.delete(key);
    await v.bb.stop();
    v.file.close();
    for (const p of removePaths(d.domid, 'vbd', devid, v.dev)) await xs.rm(p).catch(() => {});
    this.log(`d${d.domid}: vbd ${devid} detached (${clean ? 'clean' : 'forced'}; backend states ${v.bb.states.join(' ')}; ` +
      `${v.bb.stats.reads} reads, ${v.bb.stats.writes} writes, ${v.bb.stats.flushes} flushes, ${v.bb.stats.errors} errors)`);
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

  /** Host stop: every relay and backend goes. */
  close(): void {
    for (const r of this.relays.values()) r.close();
    this.relays.clear();
    for (const v of this.vbds.values()) { void v.bb.stop(); v.file.close(); }
    this.vbds.clear();
  }
}
