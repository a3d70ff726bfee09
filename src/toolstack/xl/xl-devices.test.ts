// SPDX-License-Identifier: GPL-2.0-only
// The disk and vif specs xl hands the host are the parsed ones written back: parsing them
// again gives the same device (with the image path resolved against xl's directory).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDiskSpec } from './disk-spec.ts';
import { parseVifSpec } from './vif-spec.ts';
import { diskSpecString, vifSpecString } from './xl-devices.ts';

test('diskSpecString round-trips every form the parser takes, resolving the target', () => {
  const resolve = (p: string): string => (p.startsWith('/') ? p : `/home/u/${p}`);
  for (const spec of [
    'disk.img,raw,xvdb,rw', '/srv/a.img,,xvdc', 'format=raw, vdev=xvdd, access=ro, target=/srv/with,comma.img',
    'vdev=hdc,devtype=cdrom,target=cd.iso', 'raw:/srv/b.img,xvde,w', 'phy:/dev/vg/x,xvdf,r', 'vdev=xvdg,backendtype=phy,discard,target=x.img',
    'script=block-iscsi,vdev=xvdh,direct-io-safe,target=iqn.x', 'd.img,raw,xvdi,rw,no-discard',
  ]) {
    const d = parseDiskSpec(spec);
    const again = parseDiskSpec(diskSpecString(d, resolve));
    assert.deepEqual(again, { ...d, target: resolve(d.target) }, spec);
  }
});

test('vifSpecString round-trips mac, bridge, names and the rate', () => {
  for (const spec of ['', 'mac=00:16:3e:01:02:03,bridge=br1', 'type=vif,vifname=v1,ip=10.0.0.2,script=vif-route,gatewaydev=eth0',
    'rate=10Mb/s@20ms', 'rate=100KB/s', 'model=e1000,backend=0']) {
    const v = parseVifSpec(spec, 3);
    assert.deepEqual(parseVifSpec(vifSpecString(v), 3), v, spec);
  }
});
