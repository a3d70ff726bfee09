// SPDX-License-Identifier: GPL-2.0-only
// The libxl device layout (src/toolstack/light/device-layout.ts) against xen-digest §9.6/§9.7:
// vbd/vif frontend and backend nodes, permissions, /libxl mirrors, teardown, XenBus transitions.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseDiskSpec } from '../../src/toolstack/xl/disk-spec.ts';
import { parseVifSpec } from '../../src/toolstack/xl/vif-spec.ts';
import { defaultMac, removePaths, removeStart, vbdNodes, vifNodes, XenbusState as S, xenbusTransitionOk } from '../../src/toolstack/light/device-layout.ts';

test('vbd nodes: backend and frontend dirs, perms, state=1, virtual-device number, /libxl mirror', () => {
  const d = parseDiskSpec('format=raw, vdev=xvdb, access=ro, target=/srv/disk.img');
  const n = vbdNodes(3, d);
  assert.equal(n.frontend, '/local/domain/3/device/vbd/51728');
  assert.equal(n.backend, '/local/domain/0/backend/vbd/3/51728');
  const m = new Map(n.nodes.map((x) => [x.path, x]));
  assert.deepEqual(m.get(n.backend)?.perms, ['n0', 'r3']);
  assert.deepEqual(m.get(n.frontend)?.perms, ['n3', 'r0']);
  const v = (p: string): string | undefined => m.get(p)?.value;
  assert.equal(v(`${n.backend}/frontend`), n.frontend);
  assert.equal(v(`${n.backend}/frontend-id`), '3');
  assert.equal(v(`${n.backend}/online`), '1');
  assert.equal(v(`${n.backend}/state`), '1');
  assert.equal(v(`${n.backend}/params`), '/srv/disk.img');
  assert.equal(v(`${n.backend}/mode`), 'r');
  assert.equal(v(`${n.backend}/dev`), 'xvdb');
  assert.equal(v(`${n.frontend}/backend`), n.backend);
  assert.equal(v(`${n.frontend}/backend-id`), '0');
  assert.equal(v(`${n.frontend}/state`), '1');
  assert.equal(v(`${n.frontend}/virtual-device`), '51728');
  assert.equal(v('/libxl/3/device/vbd/51728/backend'), n.backend);
  // Parents are written before children (xenstored creates missing parents, but perms must come first).
  const order = n.nodes.map((x) => x.path);
  assert.ok(order.indexOf(n.backend) < order.indexOf(`${n.backend}/state`));
});

test('vif nodes: handle, mac, vifname default vif<domid>.<devid>', () => {
  const vif = parseVifSpec('mac=00:16:3e:00:00:01, bridge=xenbr0', 0);
  const n = vifNodes(5, vif, vif.mac!);
  const m = new Map(n.nodes.map((x) => [x.path, x.value]));
  assert.equal(m.get(`${n.backend}/vifname`), 'vif5.0');
  assert.equal(m.get(`${n.backend}/bridge`), 'xenbr0');
  assert.equal(m.get(`${n.frontend}/mac`), '00:16:3e:00:00:01');
  assert.equal(m.get(`${n.frontend}/handle`), '0');
  assert.match(defaultMac(() => new Uint8Array([1, 0xab, 255])), /^00:16:3e:01:ab:ff$/);
});

test('teardown: online=0 and Closing first, then the three dirs removed', () => {
  const n = vbdNodes(2, parseDiskSpec('/dev/null,raw,xvda,rw'));
  assert.deepEqual(removeStart(n), [{ path: `${n.backend}/online`, value: '0' }, { path: `${n.backend}/state`, value: '5' }]);
  assert.deepEqual(removePaths(2, 'vbd', 51712, n), [n.frontend, n.backend, '/libxl/2/device/vbd/51712']);
});

test('XenBus transitions: the handshake, skips, teardown and reconnect; nothing backwards', () => {
  const ok: Array<[number, number]> = [[S.Initialising, S.InitWait], [S.InitWait, S.Initialised], [S.Initialised, S.Connected],
    [S.Initialising, S.Connected], [S.Connected, S.Closing], [S.Closing, S.Closed], [S.Closed, S.Initialising],
    [S.Connected, S.Reconfiguring], [S.Reconfiguring, S.Reconfigured], [S.Reconfigured, S.Connected], [S.InitWait, S.Closed]];
  for (const [a, b] of ok) assert.ok(xenbusTransitionOk(a, b), `${a} -> ${b}`);
  const bad: Array<[number, number]> = [[S.Connected, S.Initialised], [S.Closing, S.Connected], [S.Closed, S.Closing],
    [S.Initialised, S.InitWait], [S.Unknown, S.Connected], [S.Connected, 9]];
  for (const [a, b] of bad) assert.ok(!xenbusTransitionOk(a, b), `${a} -> ${b}`);
});
