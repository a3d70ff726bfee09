// SPDX-License-Identifier: GPL-2.0-only
// qtest-style PLIC tests: drive the registers and the input wires, watch the context outputs.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Plic, plicHartContexts, PLIC_CONTEXT_BASE, PLIC_CONTEXT_STRIDE, PLIC_ENABLE_BASE,
  PLIC_ENABLE_STRIDE, PLIC_PENDING_BASE } from './plic.ts';

/** An output wire that remembers its level and how often it changed. */
function wire() {
  const w = { level: false, edges: 0, set(l: boolean) { if (l !== w.level) w.edges++; w.level = l; } };
  return w;
}

function virtPlic(harts = 2, modes: 'MS' | 'S' = 'MS') {
  const contexts = plicHartContexts(harts, modes);
  const outs = contexts.map(() => wire());
  const plic = new Plic({ numSources: 96, maxPriority: 7, contexts, outputs: outs });
  const prio = (id: number, p: number) => plic.write(4 * id, 4, p);
  const enable = (ctx: number, id: number, on = true) => {
    const off = PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * ctx + 4 * (id >> 5);
    const cur = plic.read(off, 4);
    plic.write(off, 4, on ? cur | (1 << (id & 31)) : cur & ~(1 << (id & 31)));
  };
  const threshold = (ctx: number, t: number) => plic.write(PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx, 4, t);
  const claim = (ctx: number) => plic.read(PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx + 4, 4);
  const complete = (ctx: number, id: number) => plic.write(PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * ctx + 4, 4, id);
  const pending = (id: number) => (plic.read(PLIC_PENDING_BASE + 4 * (id >> 5), 4) >>> (id & 31)) & 1;
  return { plic, outs, prio, enable, threshold, claim, complete, pending };
}

test('QEMU virt layout: context 2h is hart h M-mode, 2h+1 its S-mode; region ends after the last context', () => {
  const { plic } = virtPlic(2);
  assert.equal(plic.contextOf(0, 'M'), 0);
  assert.equal(plic.contextOf(0, 'S'), 1);
  assert.equal(plic.contextOf(1, 'M'), 2);
  assert.equal(plic.contextOf(1, 'S'), 3);
  assert.equal(plic.regionSize, 0x20_0000 + 4 * 0x1000);
  const s = virtPlic(2, 'S').plic;
  assert.equal(s.contextOf(1, 'S'), 1);
  assert.equal(s.contextOf(1, 'M'), -1);
});

test('a raised source with priority > threshold and enabled drives only its context', () => {
  const t = virtPlic();
  t.prio(10, 1);
  t.enable(1, 10);
  t.plic.source(10).set(true);
  assert.equal(t.pending(10), 1);
  assert.deepEqual(t.outs.map((o) => o.level), [false, true, false, false]);
  // Threshold equal to the priority masks it (Spec: "less than or equal to threshold").
  t.threshold(1, 1);
  assert.equal(t.outs[1].level, false);
  t.threshold(1, 0);
  assert.equal(t.outs[1].level, true);
  // Priority 0 means never interrupt.
  t.prio(10, 0);
  assert.equal(t.outs[1].level, false);
});

test('claim returns the highest priority, ties to the lowest id, clears pending; 0 when none', () => {
  const t = virtPlic();
  for (const [id, p] of [[5, 2], [7, 3], [3, 3]] as const) {
    t.prio(id, p);
    t.enable(1, id);
    t.plic.source(id).set(true);
  }
  assert.equal(t.claim(1), 3); // priority 3, lower id than 7
  assert.equal(t.pending(3), 0);
  assert.equal(t.claim(1), 7);
  assert.equal(t.claim(1), 5);
  assert.equal(t.claim(1), 0);
  assert.equal(t.outs[1].level, false);
});

test('claim is not affected by the threshold (Spec: "the claim operation is not affected by the setting of the priority threshold register")', () => {
  const t = virtPlic();
  t.prio(9, 2);
  t.enable(1, 9);
  t.threshold(1, 7);
  t.plic.source(9).set(true);
  assert.equal(t.outs[1].level, false);
  assert.equal(t.claim(1), 9);
});

test('level gateway: one request until completion; completion re-arms while the level is still high', () => {
  const t = virtPlic();
  t.prio(1, 1);
  t.enable(1, 1);
  const src = t.plic.source(1);
  src.set(true);
  assert.equal(t.claim(1), 1);
  // Still asserted but in flight: no new request, output low.
  src.set(true);
  assert.equal(t.pending(1), 0);
  assert.equal(t.outs[1].level, false);
  t.complete(1, 1);
  assert.equal(t.pending(1), 1, 'still asserted at completion: a new request');
  assert.equal(t.outs[1].level, true);
  assert.equal(t.claim(1), 1);
  src.set(false);
  t.complete(1, 1);
  assert.equal(t.pending(1), 0, 'deasserted at completion: nothing new');
  assert.equal(t.outs[1].level, false);
});

test('a forwarded request stays pending when the level drops (Spec: "The gateway does not have the facility to retract an interrupt request once forwarded")', () => {
  const t = virtPlic();
  t.prio(2, 1);
  t.enable(1, 2);
  t.plic.source(2).set(true);
  t.plic.source(2).set(false);
  assert.equal(t.pending(2), 1);
  assert.equal(t.claim(1), 2);
});

test('completion for a source not enabled for the target is silently ignored', () => {
  const t = virtPlic();
  t.prio(4, 1);
  t.enable(1, 4);
  const src = t.plic.source(4);
  src.set(true);
  assert.equal(t.claim(1), 4);
  t.complete(3, 4); // hart 1's S context does not enable source 4
  assert.equal(t.pending(4), 0);
  t.enable(1, 4, false);
  t.complete(1, 4); // no longer enabled: ignored as well
  t.enable(1, 4, true);
  assert.equal(t.pending(4), 0, 'gateway still waiting for completion');
  t.complete(1, 4);
  assert.equal(t.pending(4), 1);
});

test('two contexts: each sees only what it enables; one claim serves the source', () => {
  const t = virtPlic();
  t.prio(10, 1);
  t.enable(1, 10);
  t.enable(3, 10);
  t.plic.source(10).set(true);
  assert.equal(t.outs[1].level && t.outs[3].level, true);
  assert.equal(t.claim(3), 10);
  assert.equal(t.claim(1), 0);
  assert.equal(t.outs[1].level || t.outs[3].level, false);
});

test('registers are WARL and hostile accesses are harmless', () => {
  const t = virtPlic();
  t.plic.write(4 * 10, 4, 0xffff_ffff);
  assert.equal(t.plic.read(4 * 10, 4), 7, 'priority keeps 3 bits');
  t.plic.write(0, 4, 5);
  assert.equal(t.plic.read(0, 4), 0, 'source 0 does not exist');
  t.plic.write(PLIC_ENABLE_BASE, 4, 0xffff_ffff);
  assert.equal(t.plic.read(PLIC_ENABLE_BASE, 4), 0xffff_fffe, 'bit 0 hardwired to 0');
  t.plic.write(PLIC_ENABLE_BASE + 8, 4, 0xffff_ffff);
  assert.equal(t.plic.read(PLIC_ENABLE_BASE + 8, 4), 0xffff_ffff, 'ids 64..95 exist');
  t.plic.write(PLIC_ENABLE_BASE + 12, 4, 0xffff_ffff);
  assert.equal(t.plic.read(PLIC_ENABLE_BASE + 12, 4), 0, 'ids >= 96 do not');
  t.plic.write(PLIC_PENDING_BASE, 4, 0xffff_ffff);
  assert.equal(t.plic.read(PLIC_PENDING_BASE, 4), 0, 'pending bits are read-only');
  t.plic.write(PLIC_CONTEXT_BASE, 4, 0xffff_ffff);
  assert.equal(t.plic.read(PLIC_CONTEXT_BASE, 4), 7, 'threshold keeps 3 bits');
  // Contexts that do not exist, odd sizes and offsets, garbage completions: nothing happens.
  const before = JSON.stringify(t.plic.saveState());
  for (const off of [PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * 4, PLIC_CONTEXT_BASE + PLIC_CONTEXT_STRIDE * 4 + 4,
    PLIC_ENABLE_BASE + PLIC_ENABLE_STRIDE * 4, 0x3ff_fffc, 0x1_0000_0000, -4, 2]) {
    assert.equal(t.plic.read(off, 4), 0);
    t.plic.write(off, 4, 0xffff_ffff);
  }
  t.plic.write(PLIC_CONTEXT_BASE + 4, 4, 0xffff_ffff);
  t.plic.write(PLIC_CONTEXT_BASE + 4, 4, 96);
  t.plic.write(4 * 10, 1, 0);
  t.plic.write(4 * 10 + 1, 4, 0);
  assert.equal(t.plic.read(4 * 10, 2), 0);
  assert.equal(JSON.stringify(t.plic.saveState()), before);
  assert.throws(() => t.plic.source(0), RangeError);
  assert.throws(() => t.plic.source(96), RangeError);
});

test('save and restore carry pending, in-flight and enable state', () => {
  const a = virtPlic();
  a.prio(10, 3);
  a.enable(1, 10);
  a.plic.source(10).set(true);
  a.prio(11, 2);
  a.enable(1, 11);
  a.plic.source(11).set(true);
  assert.equal(a.claim(1), 10);
  const b = virtPlic();
  assert.equal(b.plic.restoreState(a.plic.saveState()), true);
  assert.equal(b.outs[1].level, true);
  assert.equal(b.claim(1), 11);
  b.complete(1, 10);
  assert.equal(b.claim(1), 10, 'the in-flight source completed and, still high, re-requested');
  assert.equal(virtPlic(1).plic.restoreState(a.plic.saveState()), false);
});
