// SPDX-License-Identifier: GPL-2.0-only
// Guest-driven ping-pong: two PV domains whose hand-assembled kernels enable the supervisor
// external interrupt and sleep in WFI; each upcall handler acknowledges the event the way
// docs/abi.md §6 prescribes (clear evtchn_upcall_pending, the selector, the pending bit),
// counts it, and sends on its port with event_channel_op. The bind's own notification starts
// the exchange; the core's scheduler runs both harts. Also: a masked port delivers no upcall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Domain } from '../domain/domain.ts';
import { A, DATA, li, makeHv, peek, peek64, poke, pvDomain } from '../hypercall/test-support.ts';
import { EVTCHNOP_send, SHINFO_EVTCHN_MASK, SHINFO_EVTCHN_PENDING } from '../public/event-channel.ts';
import { HYPERVISOR_event_channel_op, XEN_SBI_EID } from '../public/xen.ts';
import { attachEvtchnGnttab } from './attach.ts';

const SI = 0x7ff01000;
const PORT = DATA + 0x100; // struct evtchn_send { port } the handler passes
const COUNT = DATA + 0x200; // u64 upcalls handled
const BASE = 0x80000000;
const T0 = 5, T1 = 6, T2 = 7, T3 = 28, T4 = 29, T5 = 30, T6 = 31, A0 = 10, A1 = 11, A6 = 16, A7 = 17;

function kernel(): number[] {
  const handler = (): number[] => [
    ...li(T0, SI), A.sb(0, T0, 0), A.sd(0, T0, 8), // upcall_pending = 0, pending_sel = 0
    ...li(T2, PORT), A.lwu(T3, T2, 0),
    A.addi(T1, 0, 1), A.sll(T1, T1, T3), A.xori(T1, T1, -1), A.addi(T4, T0, SHINFO_EVTCHN_PENDING),
    A.amo(0x0c, 3, 0, T4, T1), // amoand.d: clear the port's pending bit (port < 64)
    ...li(T5, COUNT), A.ld(T6, T5, 0), A.addi(T6, T6, 1), A.sd(T6, T5, 0),
    ...li(A0, EVTCHNOP_send), A.addi(A1, T2, 0), ...li(A6, HYPERVISOR_event_channel_op), ...li(A7, XEN_SBI_EID), A.ecall(),
    A.sret(),
  ];
  const prologue = (h: number): number[] => [
    ...li(T0, h), A.csrrw(0, 0x105, T0), // stvec = handler
    ...li(T1, 1 << 9), A.csrrs(0, 0x104, T1), // sie.SEIE
    A.csrrsi(0, 0x100, 2), // sstatus.SIE
    A.wfi(), A.jal(0, -4),
  ];
  const len = prologue(BASE + 0x1000).length;
  return [...prologue(BASE + 4 * len), ...handler()];
}

const count = (d: Domain) => Number(peek64(d, COUNT));

test('two guests ping-pong through upcalls and event_channel_op sends', () => {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const a = pvDomain(hv, kernel()), b = pvDomain(hv, kernel());
  const ea = x.channels(a), eb = x.channels(b);
  const pa = ea.allocUnboundOp(x.view(a), a.domid, b.domid);
  const pb = eb.bindInterdomain(a.domid, pa); // pending on b at once: the exchange starts
  assert.ok(pa > 0 && pa < 64 && pb > 0 && pb < 64);
  poke(a, PORT, new Uint8Array(new Uint32Array([pa]).buffer));
  poke(b, PORT, new Uint8Array(new Uint32Array([pb]).buffer));
  for (let i = 0; i < 400 && count(a) < 50; i++) hv.run(4);
  assert.ok(count(a) >= 50, `a handled ${count(a)} upcalls`);
  assert.ok(Math.abs(count(a) - count(b)) <= 1, `strict alternation: a ${count(a)}, b ${count(b)}`);
  assert.equal(a.state, 'running');
  assert.equal(b.state, 'running');
});

test('a masked port is pending without an upcall; unmask delivers it to the guest handler', () => {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const a = pvDomain(hv, kernel()), b = pvDomain(hv, kernel());
  const ea = x.channels(a), eb = x.channels(b);
  const pa = ea.allocUnboundOp(x.view(a), a.domid, b.domid);
  // b masks its next port before binding: the bind's notification stays silent.
  const next = 3;
  poke(b, SI + SHINFO_EVTCHN_MASK, new Uint8Array(new BigUint64Array([1n << BigInt(next)]).buffer));
  const pb = eb.bindInterdomain(a.domid, pa);
  assert.equal(pb, next);
  poke(a, PORT, new Uint8Array(new Uint32Array([pa]).buffer));
  poke(b, PORT, new Uint8Array(new Uint32Array([pb]).buffer));
  hv.run(50);
  assert.equal(count(b), 0);
  assert.equal((peek(b, SI + SHINFO_EVTCHN_PENDING, 1)[0]! >> pb) & 1, 1, 'pending but masked');
  assert.equal(peek(b, SI, 1)[0], 0, 'no upcall');
  // EVTCHNOP_unmask clears the mask bit and redelivers (a guest that clears the bit itself
  // must redeliver itself, as Linux's evtchn_2l_unmask does for local ports).
  assert.equal(eb.unmask(pb), 0);
  assert.equal(peek(b, SI + SHINFO_EVTCHN_MASK, 1)[0], 0);
  for (let i = 0; i < 400 && count(a) < 10; i++) hv.run(4);
  assert.ok(count(b) >= 10 && count(a) >= 10, `a ${count(a)}, b ${count(b)}`);
});
