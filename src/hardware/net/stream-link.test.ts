// SPDX-License-Identifier: GPL-2.0-only
// Two switches joined by a stream link (as two hosts over TCP): frames cross in both
// directions whatever the chunking, the framing is QEMU's (32-bit big-endian length), and a
// stream carrying an impossible length is refused.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamLink, STREAM_MAX_FRAME } from './stream-link.ts';
import { EthernetSwitch, parseMac } from './switch.ts';

function frame(dst: string, src: string, len: number, seed: number): Uint8Array {
  const f = new Uint8Array(len).map((_, i) => (i * 3 + seed) & 0xff);
  f.set(parseMac(dst)!, 0);
  f.set(parseMac(src)!, 6);
  return f;
}

/** Two switches, each with one station, joined by links whose streams are delivered in `piece`-byte chunks. */
function joined(piece: number) {
  const swA = new EthernetSwitch(), swB = new EthernetSwitch();
  const wireAB: number[] = [], wireBA: number[] = [];
  const linkA = new StreamLink(swA, (b) => wireAB.push(...b), 'to-b');
  const linkB = new StreamLink(swB, (b) => wireBA.push(...b), 'to-a');
  const pump = () => {
    for (const [wire, link] of [[wireAB, linkB], [wireBA, linkA]] as const) {
      while (wire.length) assert.ok(link.receive(Uint8Array.from(wire.splice(0, piece))));
    }
  };
  const gotA: Uint8Array[] = [], gotB: Uint8Array[] = [];
  const a = swA.attach((f) => gotA.push(f.slice()), 'a');
  const b = swB.attach((f) => gotB.push(f.slice()), 'b');
  return { a, b, gotA, gotB, pump, wireAB, linkA, linkB };
}

for (const piece of [1, 7, 4096]) {
  test(`frames cross two switches over a stream delivered in ${piece}-byte pieces`, () => {
    const { a, b, gotA, gotB, pump } = joined(piece);
    const f1 = frame('ff:ff:ff:ff:ff:ff', '52:54:00:00:00:0a', 60, 1);
    const f2 = frame('52:54:00:00:00:0a', '52:54:00:00:00:0b', 1514, 2);
    const f3 = frame('52:54:00:00:00:0b', '52:54:00:00:00:0a', 9000, 3);
    a.send(f1);
    pump();
    b.send(f2);
    pump();
    a.send(f3);
    pump();
    assert.deepEqual(gotB, [f1, f3]);
    assert.deepEqual(gotA, [f2]);
  });
}

test('the framing is a 32-bit big-endian length, then the frame (QEMU socket netdev)', () => {
  const { a, wireAB } = joined(1);
  a.send(frame('ff:ff:ff:ff:ff:ff', '52:54:00:00:00:0a', 0x123, 0));
  assert.deepEqual(wireAB.slice(0, 4), [0, 0, 1, 0x23]);
  assert.equal(wireAB.length, 4 + 0x123);
});

test('an impossible length is refused and the link leaves the switch', () => {
  for (const len of [0, STREAM_MAX_FRAME + 1, 0xffffffff]) {
    const sw = new EthernetSwitch();
    const got: Uint8Array[] = [];
    const link = new StreamLink(sw, (b) => got.push(b.slice()));
    assert.equal(link.receive(Uint8Array.of(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff)), false);
    assert.match(link.error ?? '', /bad frame length/);
    assert.equal(link.receive(new Uint8Array(10)), false);
    sw.attach(() => {}).send(frame('ff:ff:ff:ff:ff:ff', '52:54:00:00:00:01', 60, 0));
    assert.equal(got.length, 0, 'detached: nothing more is written to the stream');
  }
});
