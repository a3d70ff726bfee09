// SPDX-License-Identifier: GPL-2.0-only
// The libxl layer's device part: the xenstore nodes libxl 4.7 writes to add a vbd or vif
// (frontend, backend and /libxl mirror paths, with their permissions; xen-digest §9.7), the
// teardown writes, and the XenBus state machine (public/io/xenbus.h; §9.6) as a transition
// check the toolstack applies to every state a side publishes. Pure: the host writes the nodes.
import type { DiskSpec } from '../xl/disk-spec.ts';
import type { VifSpec } from '../xl/vif-spec.ts';

export const XenbusState = {
  Unknown: 0, Initialising: 1, InitWait: 2, Initialised: 3, Connected: 4, Closing: 5, Closed: 6, Reconfiguring: 7, Reconfigured: 8,
} as const;
export type XenbusStateNum = (typeof XenbusState)[keyof typeof XenbusState];
export const XENBUS_STATE_NAMES = Object.keys(XenbusState) as ReadonlyArray<keyof typeof XenbusState>;

/** One xenstore write: path, value, and (for directories that need them) permissions in xs order. */
export interface XsNode { path: string; value: string; perms?: string[] }

export interface DeviceNodes { frontend: string; backend: string; nodes: XsNode[] }

const S = XenbusState;

/**
 * Allowed moves for either side (the blkif/netif diagrams): forward through the handshake,
 * InitWait/Initialised may be skipped, any state may go to Closing/Closed, Closed may restart at
 * Initialising (reconnect), Connected ↔ Reconfiguring → Reconfigured → Connected.
 */
export function xenbusTransitionOk(from: number, to: number): boolean {
  if (from === to) return true;
  if (to === S.Closing || to === S.Closed) return from !== S.Closed || to === S.Closed;
  switch (from) {
    case S.Unknown: return to === S.Initialising;
    case S.Initialising: return to === S.InitWait || to === S.Initialised || to === S.Connected;
    case S.InitWait: return to === S.Initialised || to === S.Connected;
    case S.Initialised: return to === S.Connected;
    case S.Connected: return to === S.Reconfiguring;
    case S.Reconfiguring: return to === S.Reconfigured;
    case S.Reconfigured: return to === S.Connected;
    case S.Closing: return false;
    case S.Closed: return to === S.Initialising || to === S.InitWait;
    default: return false;
  }
}

function device(kind: string, domid: number, devid: number, backendDomid: number,
  front: Record<string, string>, back: Record<string, string>): DeviceNodes {
  const frontend = `/local/domain/${domid}/device/${kind}/${devid}`;
  const backend = `/local/domain/${backendDomid}/backend/${kind}/${domid}/${devid}`;
  const nodes: XsNode[] = [
    // libxl: backend dir owned by the backend domain, readable by the frontend; and the reverse.
    { path: backend, value: '', perms: [`n${backendDomid}`, `r${domid}`] },
    { path: frontend, value: '', perms: [`n${domid}`, `r${backendDomid}`] },
    ...Object.entries({ frontend, 'frontend-id': String(domid), online: '1', state: String(S.Initialising), ...back })
      .map(([k, v]) => ({ path: `${backend}/${k}`, value: v })),
    ...Object.entries({ backend, 'backend-id': String(backendDomid), state: String(S.Initialising), ...front })
      .map(([k, v]) => ({ path: `${frontend}/${k}`, value: v })),
    { path: `/libxl/${domid}/device/${kind}/${devid}/frontend`, value: frontend },
    { path: `/libxl/${domid}/device/${kind}/${devid}/backend`, value: backend },
  ];
  return { frontend, backend, nodes };
}

/** libxl__device_disk_add's nodes for a vbd served by kernel-style blkback ('phy'/'file' target). */
export function vbdNodes(domid: number, d: DiskSpec, backendDomid = 0): DeviceNodes {
  const type = d.backendtype === 'qdisk' ? 'qdisk' : 'phy';
  return device('vbd', domid, d.devid, backendDomid, {
    'virtual-device': String(d.devid), 'device-type': d.devtype,
  }, {
    params: d.target, script: d.script ?? '/etc/xen/scripts/block', type, mode: d.access === 'rw' ? 'w' : 'r',
    'device-type': d.devtype, removable: d.devtype === 'cdrom' ? '1' : '0', bootable: '1', dev: d.vdev,
    ...(d.discard !== undefined ? { 'discard-enable': d.discard ? '1' : '0' } : {}),
    ...(d.directIoSafe ? { 'direct-io-safe': '1' } : {}),
  });
}

/** libxl__device_nic_add's nodes for a vif (backend interface vif<domid>.<devid>). */
export function vifNodes(domid: number, v: VifSpec, mac: string, backendDomid = 0): DeviceNodes {
  return device('vif', domid, v.devid, backendDomid, { handle: String(v.devid), mac }, {
    script: v.script, mac, handle: String(v.devid), type: v.type ?? 'vif', bridge: v.bridge,
    vifname: v.vifname ?? `vif${domid}.${v.devid}`,
    ...(v.ip !== undefined ? { ip: v.ip } : {}), ...(v.gatewaydev !== undefined ? { gatewaydev: v.gatewaydev } : {}),
    ...(v.rate !== undefined ? { rate: `${v.rate.bytesPerInterval},${v.rate.intervalUs}` } : {}),
  });
}

/** Teardown step 1 (libxl__initiate_device_remove): backend online=0, state=Closing. */
export function removeStart(dev: Pick<DeviceNodes, 'backend'>): XsNode[] {
  return [{ path: `${dev.backend}/online`, value: '0' }, { path: `${dev.backend}/state`, value: String(S.Closing) }];
}

/** The paths removed once the backend reached Closed (or at once with --force). */
export function removePaths(domid: number, kind: string, devid: number, dev: Pick<DeviceNodes, 'frontend' | 'backend'>): string[] {
  return [dev.frontend, dev.backend, `/libxl/${domid}/device/${kind}/${devid}`];
}

/** xl's default MAC for a vif without mac=: 00:16:3e (Xen's OUI) and three random bytes. */
export function defaultMac(random: (n: number) => Uint8Array): string {
  const r = random(3);
  return ['00', '16', '3e', ...[...r].map((b) => b.toString(16).padStart(2, '0'))].join(':');
}
