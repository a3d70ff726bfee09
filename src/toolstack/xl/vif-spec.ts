// SPDX-License-Identifier: GPL-2.0-only
// The xl network (vif) specification (Xen docs/misc/xl-network-configuration.markdown):
// comma-separated key=value items, all optional; the device id is the list index.

export interface VifSpec {
  devid: number;
  mac?: string;
  bridge: string;
  type?: 'ioemu' | 'vif';
  model?: string;
  vifname?: string;
  script: string;
  ip?: string;
  backend: string;
  gatewaydev?: string;
  /** Bytes per interval and the interval in microseconds, from rate=. */
  rate?: { bytesPerInterval: number; intervalUs: number };
}

export class VifSpecError extends Error {
  constructor(readonly spec: string, detail: string) {
    super(`invalid vif specification '${spec}': ${detail}`);
    this.name = 'VifSpecError';
  }
}

const RATE_UNITS: Record<string, number> = { B: 1, KB: 1e3, MB: 1e6, GB: 1e9, b: 1 / 8, Kb: 1e3 / 8, Mb: 1e6 / 8, Gb: 1e9 / 8 };
const INTERVAL_UNITS: Record<string, number> = { us: 1, ms: 1e3, s: 1e6 };

export function parseVifSpec(spec: string, devid: number): VifSpec {
  const err = (d: string): never => { throw new VifSpecError(spec, d); };
  const v: VifSpec = { devid, bridge: 'xenbr0', script: 'vif-bridge', backend: '0' };
  for (const item of spec.split(',')) {
    const t = item.trim();
    if (t === '') continue;
    const eq = t.indexOf('=');
    if (eq < 0) err(`'${t}' is not key=value`);
    const k = t.slice(0, eq);
    const val = t.slice(eq + 1);
    switch (k) {
      case 'mac':
        if (!/^([0-9a-fA-F]{2}:){5}[0-9a-fA-F]{2}$/.test(val)) err(`bad MAC address '${val}'`);
        if (parseInt(val.slice(0, 2), 16) & 1) err(`MAC address '${val}' is a multicast address`);
        v.mac = val.toLowerCase();
        break;
      case 'bridge': v.bridge = val; break;
      case 'type': if (val !== 'ioemu' && val !== 'vif') err(`unknown type '${val}'`); v.type = val as 'ioemu' | 'vif'; break;
      case 'model': v.model = val; break;
      case 'vifname': v.vifname = val; break;
      case 'script': v.script = val; break;
      case 'ip': v.ip = val; break;
      case 'backend': v.backend = val; break;
      case 'gatewaydev': case 'netdev': v.gatewaydev = val; break;
      case 'rate': {
        const m = /^([0-9]+)(B|KB|MB|GB|b|Kb|Mb|Gb)\/s(?:@([0-9]+)(us|ms|s))?$/.exec(val);
        if (!m) err(`bad rate '${val}' (e.g. 10Mb/s@20ms)`);
        const intervalUs = m![3] === undefined ? 50_000 : Number(m![3]) * INTERVAL_UNITS[m![4]];
        const bytesPerSec = Number(m![1]) * RATE_UNITS[m![2]];
        if (intervalUs === 0) err('rate interval must not be zero');
        v.rate = { bytesPerInterval: Math.ceil((bytesPerSec * intervalUs) / 1e6), intervalUs };
        break;
      }
      case 'accel': case 'forwarddev': break;
      default: err(`unknown key '${k}'`);
    }
  }
  return v;
}
