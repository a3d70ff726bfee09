// SPDX-License-Identifier: GPL-2.0-only
// PV networking through xl against a real host daemon: `xl network-attach` gives two PV guests
// a vif each on the host's software switch (bridge xenbr0) served by netback; their netfronts
// connect, the pinging guest's malformed tx requests fail one by one, and Ethernet frames go
// both ways (PING broadcast, PONG unicast back through the learning switch); `xl network-list`
// shows both in xl's layout; `xl network-detach` (by devid and by MAC) closes them through the
// xenbus states and both guests live on.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { startPvGuests, stopPvGuests, type PvGuests } from './pv-guest-harness.ts';
import type { XlHost } from './xl-harness.ts';

const NET_HEADER = 'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n';
let h: XlHost;
let dir: string;
let g: PvGuests;

before(() => ({ h, dir, g } = startPvGuests('net')));
after(() => stopPvGuests(h, dir));

test('network-attach two PV guests to one bridge, frames both ways, network-list, network-detach; both survive', async () => {
  assert.equal(h.xl('create', g.cfg('net-ping', 'test=net net_role=ping net_count=10 net_fuzz=1000')).code, 0);
  assert.equal(h.xl('create', g.cfg('net-pong', 'test=net net_role=pong net_count=10')).code, 0);
  const a = g.domid('net-ping'), b = g.domid('net-pong');
  await g.wait('net-ping', /netfront: waiting for a vif/);
  await g.wait('net-pong', /netfront: waiting for a vif/);

  let r = h.xl('network-attach', 'net-ping');
  assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
  r = h.xl('network-attach', 'net-pong', 'mac=00:16:3e:00:00:0b', 'bridge=xenbr0');
  assert.deepEqual([r.code, r.out, r.err], [0, '', '']);

  const tp = await g.wait('net-ping', /netfront: \d+\/10 pongs from/);
  assert.match(tp, /netfront: 5 bad tx requests refused one by one/);
  const f = /netfront: fuzz 1000 tx requests: (\d+) ok, (\d+) error, 0 bad answers/.exec(tp);
  assert.ok(f, tp);
  assert.ok(Number(f[1]) > 0 && Number(f[2]) > 0, f[0]);
  assert.match(tp, /netfront: 10\/10 pongs from 00:16:3e:00:00:0b/);
  const ma = /netfront: vif 0 connected: mac ([0-9a-f:]{17}), tx-ring-ref (\d+), rx-ring-ref (\d+), event-channel (\d+)/.exec(tp);
  assert.ok(ma, tp);
  assert.match(ma[1]!, /^00:16:3e:/); // xl's default MAC: Xen's OUI
  const tq = await g.wait('net-pong', /netfront: answered \d+ pings, the last PING 9/);
  const mb = /netfront: vif 0 connected: mac (00:16:3e:00:00:0b), tx-ring-ref (\d+), rx-ring-ref (\d+), event-channel (\d+)/.exec(tq);
  assert.ok(mb, tq);

  // xl network-list, byte for byte in 4.7's layout (the MAC abuts the handle column).
  const row = (m: RegExpExecArray, d: number): string =>
    sprintf('%-3d %-2d %s%6d %5d %6d %5d/%-11d %-30s\n', 0, 0, m[1]!, 0, 4, Number(m[4]), Number(m[2]), Number(m[3]), `/local/domain/0/backend/vif/${d}/0`);
  r = h.xl('network-list', 'net-ping', 'net-pong');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, NET_HEADER + row(ma, a) + row(mb, b));

  // Bad input: xl's messages and exit codes.
  r = h.xl('network-detach', 'net-ping', '3');
  assert.deepEqual([r.code, r.err], [1, 'Unknown device 3.\n']);
  r = h.xl('network-attach', 'net-ping', 'mac=01:00:5e:00:00:01');
  assert.equal(r.code, 1);
  assert.match(r.err, /multicast/);
  r = h.xl('network-attach', 'no-such-guest');
  assert.deepEqual([r.code, r.err], [1, 'no-such-guest is an invalid domain identifier (rc=-6)\n']);

  // Detach by devid and by MAC: both close cleanly, and the guests live on.
  assert.deepEqual(h.xl('network-detach', 'net-ping', '0').code, 0);
  assert.deepEqual(h.xl('network-detach', 'net-pong', '00:16:3e:00:00:0b').code, 0);
  for (const n of ['net-ping', 'net-pong']) {
    const t = await g.wait(n, /netfront: still alive after detach/);
    assert.match(t, /netfront: backend went 5 then (6|-1); frontend Closing, Closed; rings revoked/);
    assert.match(t, /netfront: detached cleanly/);
  }
  const log = g.hostLog();
  assert.match(log, new RegExp(`d${a}: vif 0 detached \\(clean; backend states 2 4 5 6; \\d+ frames sent, \\d+ received, \\d+ dropped, ${5 + Number(f[2])} errors\\)`));
  assert.match(log, new RegExp(`d${b}: vif 0 detached \\(clean; backend states 2 4 5 6; \\d+ frames sent, \\d+ received, \\d+ dropped, 0 errors\\)`));
  assert.equal(h.xl('network-list', 'net-ping').out, NET_HEADER);
  const l = h.xl('list');
  assert.match(l.out, /^net-ping +\d+ +16 +1 +[-rb]{2}----/m);
  assert.match(l.out, /^net-pong +\d+ +16 +1 +[-rb]{2}----/m);
  assert.equal(h.xl('destroy', 'net-ping').code, 0);
  assert.equal(h.xl('destroy', 'net-pong').code, 0);
});

test('vif= in the config: both guests on their own bridge at create, frames both ways', async () => {
  const vif = 'vif = [ "bridge=tsxenbr1" ]\n';
  assert.equal(h.xl('create', g.cfg('cfg-ping', 'test=net net_role=ping net_count=3', vif)).code, 0);
  assert.equal(h.xl('create', g.cfg('cfg-pong', 'test=net net_role=pong net_count=3', vif)).code, 0);
  await g.wait('cfg-ping', /netfront: 3\/3 pongs from 00:16:3e:/);
  await g.wait('cfg-pong', /netfront: answered \d+ pings, the last PING 2/);
  assert.match(g.hostLog(), /vif 0 \(vif\d+\.0, 00:16:3e:[0-9a-f:]+\) attached to bridge tsxenbr1/);
  assert.equal(h.xl('destroy', 'cfg-ping').code, 0);
  assert.equal(h.xl('destroy', 'cfg-pong').code, 0);
});
