// SPDX-License-Identifier: GPL-2.0-only
// The learning switch: flooding, learning, filtering, aging on a virtual clock, detach,
// runts, and re-entrant senders that cannot livelock it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EthernetSwitch, formatMac, macNumber, parseMac } from './switch.ts';

const BCAST = 'ff:ff:ff:ff:ff:ff';
function frame(dst: string, src: string, payload = 1): Uint8Array {
  const f = new Uint8Array(60);
  f.set(parseMac(dst)!, 0);
  f.set(parseMac(src)!, 6);
  f[12] = 0x08;
  f[14] = payload;
  return f;
}

function rig(opts = {}) {
  const sw = new EthernetSwitch(opts);
  const got: Uint8Array[][] = [[], [], []];
  const ports = got.map((g, i) => sw.attach((f) => g.push(f.slice()), `p${i}`));
  return { sw, got, ports };
}

const A = '52:54:00:00:00:0a', B = '52:54:00:00:00:0b', C = '52:54:00:00:00:0c';

test('broadcast floods to every port but the one it came from', () => {
  const { got, ports } = rig();
  ports[0]!.send(frame(BCAST, A));
  assert.deepEqual(got.map((g) => g.length), [0, 1, 1]);
});

test('sources are learned: unicast then goes to one port only; unknown unicast floods', () => {
  const { sw, got, ports } = rig();
  ports[1]!.send(frame(BCAST, B));
  assert.equal(sw.lookup(macNumber(parseMac(B)!))?.name, 'p1');
  ports[0]!.send(frame(B, A, 7));
  assert.deepEqual(got.map((g) => g.length), [1, 1, 1], 'B\'s broadcast reached p0 and p2; A->B only p1');
  assert.equal(got[1]![0]![14], 7);
  ports[0]!.send(frame(C, A));
  assert.deepEqual(got.map((g) => g.length), [1, 2, 2], 'unknown C floods');
});

test('a frame for a MAC on the ingress port is filtered', () => {
  const { got, ports } = rig();
  ports[0]!.send(frame(BCAST, A));
  ports[0]!.send(frame(A, B));
  assert.deepEqual(got.map((g) => g.length), [0, 1, 1]);
});

test('learned MACs age out (virtual clock)', () => {
  let now = 0;
  const { sw, got, ports } = rig({ now: () => now, agingMs: 1000 });
  ports[1]!.send(frame(BCAST, B));
  ports[0]!.send(frame(B, A));
  assert.deepEqual(got.map((g) => g.length), [1, 1, 1]);
  now = 1500;
  assert.equal(sw.lookup(macNumber(parseMac(B)!)), undefined);
  ports[0]!.send(frame(B, A));
  assert.deepEqual(got.map((g) => g.length), [1, 2, 2], 'aged out: flooded again');
});

test('the MAC table is bounded; the oldest entry goes first', () => {
  const { sw, ports } = rig({ maxEntries: 2 });
  for (const m of [A, B, C]) ports[0]!.send(frame(BCAST, m));
  assert.equal(sw.macCount, 2);
  assert.equal(sw.lookup(macNumber(parseMac(A)!)), undefined);
  assert.ok(sw.lookup(macNumber(parseMac(C)!)));
});

test('a detached port receives nothing more and its MACs are forgotten', () => {
  const { sw, got, ports } = rig();
  ports[2]!.send(frame(BCAST, C));
  ports[2]!.detach();
  assert.equal(sw.lookup(macNumber(parseMac(C)!)), undefined);
  ports[0]!.send(frame(BCAST, A));
  ports[2]!.send(frame(BCAST, C));
  assert.deepEqual(got.map((g) => g.length), [1, 2, 0]);
});

test('runts (shorter than an Ethernet header) and group source addresses', () => {
  const { sw, got, ports } = rig();
  ports[0]!.send(new Uint8Array(13));
  assert.equal(sw.dropped, 1);
  ports[0]!.send(frame(BCAST, '01:00:5e:00:00:01'));
  assert.equal(sw.macCount, 0, 'a multicast source is never learned');
  assert.deepEqual(got.map((g) => g.length), [0, 1, 1]);
});

test('two ports that echo every frame cannot recurse or livelock the switch', () => {
  const sw = new EthernetSwitch();
  let delivered = 0;
  const echo = (mine: string) => (f: Uint8Array) => {
    delivered++;
    const r = f.slice();
    r.set(f.subarray(6, 12), 0);
    r.set(parseMac(mine)!, 6);
    ports[mine === A ? 0 : 1]!.send(r);
  };
  const ports = [sw.attach(echo(A)), sw.attach(echo(B))];
  ports[0]!.send(frame(B, A));
  assert.ok(delivered > 100 && delivered <= 1100, `delivered ${delivered}`);
  assert.ok(sw.dropped > 0);
  // The switch is usable afterwards.
  const before = delivered;
  ports[1]!.send(frame(A, B));
  assert.ok(delivered > before);
});

test('MAC parsing and formatting', () => {
  assert.equal(formatMac(parseMac('52:54:00:AB:cd:01')!), '52:54:00:ab:cd:01');
  assert.equal(parseMac('52:54:00:ab:cd'), undefined);
  assert.equal(parseMac('52:54:00:ab:cd:zz'), undefined);
  assert.equal(macNumber(parseMac('ff:ff:ff:ff:ff:ff')!), 2 ** 48 - 1);
});
