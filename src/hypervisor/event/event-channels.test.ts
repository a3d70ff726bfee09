// SPDX-License-Identifier: GPL-2.0-only
// Event channels through the real core: PV domains built by the Hypervisor, hypercalls made by
// their harts (ecall → vSBI → the registered event_channel_op), and delivery checked by reading
// shared_info bytes exactly as the guest would (docs/abi.md §5-§6).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Domain } from '../domain/domain.ts';
import { DATA, hypercall, makeHv, peek, peek64, poke, pvDomain } from '../hypercall/test-support.ts';
import { EEXIST, EFAULT, EINVAL, ENOENT, ENOSPC, ENOSYS, EPERM, ESRCH } from '../public/errno.ts';
import * as E from '../public/event-channel.ts';
import { DOMID_SELF, HYPERVISOR_event_channel_op, VIRQ_CONSOLE, VIRQ_TIMER } from '../public/xen.ts';
import { attachEvtchnGnttab } from './attach.ts';

const SI = 0x7ff01000; // shared_info GPA (docs/abi.md §4)
const SEIP = 1 << 9;

function setup(n = 2, vcpus = 1) {
  const { hv } = makeHv();
  const x = attachEvtchnGnttab(hv);
  const doms: Domain[] = [];
  for (let i = 0; i < n; i++) doms.push(pvDomain(hv, undefined, { vcpus }));
  return { hv, x, doms };
}

/** Write `fields` (offset → [bytes, value]) at DATA, make the call from vCPU 0, return rc and the struct read back. */
function op(d: Domain, cmd: number, size: number, fields: Array<[number, 2 | 4, number]>, at = DATA): { rc: number; dv: DataView } {
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  for (const [o, w, v] of fields) (w === 2 ? dv.setUint16(o, v, true) : dv.setUint32(o, v >>> 0, true));
  if (at === DATA) poke(d, DATA, b);
  const rc = Number(hypercall(d.vcpus[0]!, HYPERVISOR_event_channel_op, cmd, at));
  const back = at === DATA ? peek(d, DATA, size) : new Uint8Array(size);
  return { rc, dv: new DataView(back.buffer) };
}
const allocUnbound = (d: Domain, dom: number, remote: number) => {
  const r = op(d, E.EVTCHNOP_alloc_unbound, 8, [[0, 2, dom], [2, 2, remote]]);
  return r.rc < 0 ? r.rc : r.dv.getUint32(4, true);
};
const bindInterdomain = (d: Domain, rdom: number, rport: number) => {
  const r = op(d, E.EVTCHNOP_bind_interdomain, 12, [[0, 2, rdom], [4, 4, rport]]);
  return r.rc < 0 ? r.rc : r.dv.getUint32(8, true);
};
const bindVirq = (d: Domain, virq: number, vcpu: number) => {
  const r = op(d, E.EVTCHNOP_bind_virq, 12, [[0, 4, virq], [4, 4, vcpu]]);
  return r.rc < 0 ? r.rc : r.dv.getUint32(8, true);
};
const portOp = (d: Domain, cmd: number, port: number) => op(d, cmd, 4, [[0, 4, port]]).rc;
const status = (d: Domain, dom: number, port: number) => {
  const r = op(d, E.EVTCHNOP_status, 24, [[0, 2, dom], [4, 4, port]]);
  return { rc: r.rc, status: r.dv.getUint32(8, true), vcpu: r.dv.getUint32(12, true), u16: r.dv.getUint16(16, true), u32: r.dv.getUint32(16, true), port: r.dv.getUint32(20, true) };
};

// What the guest sees (docs/abi.md §5): bytes of shared_info and vcpu_info 0.
const pendingBit = (d: Domain, p: number) => ((peek(d, SI + E.SHINFO_EVTCHN_PENDING + (p >> 3), 1)[0]! >> (p & 7)) & 1) === 1;
const upcall = (d: Domain) => peek(d, SI + E.VCPUINFO_UPCALL_PENDING, 1)[0]!;
const sel = (d: Domain) => peek64(d, SI + E.VCPUINFO_PENDING_SEL);
const mask = (d: Domain, p: number, on: boolean) => {
  const a = SI + E.SHINFO_EVTCHN_MASK + (p >> 3), b = peek(d, a, 1)[0]!;
  poke(d, a, [on ? b | (1 << (p & 7)) : b & ~(1 << (p & 7))]);
};
/** The guest's upcall handler, done by hand: clear upcall, take the selector, clear the pending words it names. */
function drain(d: Domain): number[] {
  poke(d, SI + E.VCPUINFO_UPCALL_PENDING, [0]);
  const s = sel(d);
  poke(d, SI + E.VCPUINFO_PENDING_SEL, new Uint8Array(8));
  const got: number[] = [];
  for (let w = 0; w < 64; w++) {
    if (((s >> BigInt(w)) & 1n) === 0n) continue;
    const word = peek64(d, SI + E.SHINFO_EVTCHN_PENDING + 8 * w), m = peek64(d, SI + E.SHINFO_EVTCHN_MASK + 8 * w);
    for (let b = 0; b < 64; b++) if ((((word & ~m) >> BigInt(b)) & 1n) === 1n) got.push(w * 64 + b);
    poke(d, SI + E.SHINFO_EVTCHN_PENDING + 8 * w, new Uint8Array(new BigUint64Array([word & m]).buffer));
  }
  d.vcpus[0]!.syncUpcall();
  return got;
}
const seip = (d: Domain) => (d.vcpus[0]!.hart.mipValue() & SEIP) !== 0;

test('interdomain: alloc_unbound, bind (local port pending at once), ping-pong, mask/unmask, close', () => {
  const { doms: [a, b] } = setup();
  const pa = allocUnbound(a!, DOMID_SELF, b!.domid);
  assert.ok(pa > 0);
  let s = status(a!, DOMID_SELF, pa);
  assert.deepEqual([s.rc, s.status, s.u16, s.vcpu], [0, E.EVTCHNSTAT_unbound, b!.domid, 0]);
  drain(b!);
  assert.equal(upcall(b!), 0);
  assert.equal(seip(b!), false);

  const pb = bindInterdomain(b!, a!.domid, pa);
  assert.ok(pb > 0);
  // Bind sets the new local port pending (sends to the unbound port were dropped).
  assert.ok(pendingBit(b!, pb));
  assert.equal(upcall(b!), 1);
  assert.equal((sel(b!) >> BigInt(pb >> 6)) & 1n, 1n);
  assert.ok(seip(b!), 'SEIP follows evtchn_upcall_pending');
  assert.deepEqual(drain(b!), [pb]);
  assert.equal(seip(b!), false);
  s = status(a!, DOMID_SELF, pa);
  assert.deepEqual([s.status, s.u16, s.port], [E.EVTCHNSTAT_interdomain, b!.domid, pb]);
  s = status(b!, DOMID_SELF, pb);
  assert.deepEqual([s.status, s.u16, s.port], [E.EVTCHNSTAT_interdomain, a!.domid, pa]);

  // Ping-pong.
  for (let i = 0; i < 3; i++) {
    assert.equal(portOp(a!, E.EVTCHNOP_send, pa), 0);
    assert.deepEqual(drain(b!), [pb]);
    assert.deepEqual(drain(a!), []);
    assert.equal(portOp(b!, E.EVTCHNOP_send, pb), 0);
    assert.deepEqual(drain(a!), [pa]);
  }
  // A second send while pending raises nothing new.
  portOp(a!, E.EVTCHNOP_send, pa);
  poke(b!, SI, [0]);
  portOp(a!, E.EVTCHNOP_send, pa);
  assert.equal(upcall(b!), 0, 'already pending: no new upcall');
  drain(b!);

  // Masked: pending is set, selector and upcall are not; unmask re-delivers.
  mask(b!, pb, true);
  portOp(a!, E.EVTCHNOP_send, pa);
  assert.ok(pendingBit(b!, pb));
  assert.equal(upcall(b!), 0);
  assert.equal(sel(b!), 0n);
  assert.equal(portOp(b!, E.EVTCHNOP_unmask, pb), 0);
  assert.equal(upcall(b!), 1);
  assert.ok(seip(b!));
  assert.deepEqual(drain(b!), [pb]);
  assert.equal(portOp(b!, E.EVTCHNOP_unmask, pb), 0, 'unmask of an unmasked port is fine');
  assert.equal(upcall(b!), 0);

  // Close one end: the peer goes back to unbound (for the closer), sends on it are dropped.
  assert.equal(portOp(a!, E.EVTCHNOP_close, pa), 0);
  s = status(b!, DOMID_SELF, pb);
  assert.deepEqual([s.status, s.u16], [E.EVTCHNSTAT_unbound, a!.domid]);
  assert.equal(status(a!, DOMID_SELF, pa).status, E.EVTCHNSTAT_closed);
  assert.equal(portOp(b!, E.EVTCHNOP_send, pb), 0, 'unbound: silently dropped');
  assert.deepEqual(drain(a!), []);
  assert.equal(portOp(a!, E.EVTCHNOP_send, pa), -EINVAL, 'closed');
  assert.equal(portOp(a!, E.EVTCHNOP_close, pa), -EINVAL);
  // a can bind b's now-unbound port again.
  const pa2 = bindInterdomain(a!, b!.domid, pb);
  assert.ok(pa2 > 0);
  assert.equal(portOp(b!, E.EVTCHNOP_send, pb), 0);
  assert.ok(drain(a!).includes(pa2));
});

test('interdomain errors: ESRCH, EINVAL for wrong state/peer/range, EPERM for a guest naming another domain', () => {
  const { doms: [a, b, c] } = setup(3);
  const pa = allocUnbound(a!, DOMID_SELF, b!.domid);
  assert.equal(allocUnbound(a!, b!.domid, a!.domid), -EPERM, 'only the privileged allocate in another domain');
  assert.equal(allocUnbound(a!, 999, a!.domid), -ESRCH);
  assert.equal(bindInterdomain(b!, 999, pa), -ESRCH);
  assert.equal(bindInterdomain(c!, a!.domid, pa), -EINVAL, 'the port accepts b only');
  assert.equal(bindInterdomain(b!, a!.domid, 4095), -EINVAL, 'beyond the valid ports');
  assert.equal(bindInterdomain(b!, a!.domid, 0), -EINVAL, 'port 0 is reserved');
  assert.equal(bindInterdomain(b!, a!.domid, 0xffffffff), -EINVAL);
  const pb = bindInterdomain(b!, a!.domid, pa);
  assert.ok(pb > 0);
  assert.equal(bindInterdomain(b!, a!.domid, pa), -EINVAL, 'no longer unbound');
  // Loopback to oneself is allowed, as in Xen.
  const l1 = allocUnbound(c!, DOMID_SELF, DOMID_SELF);
  const l2 = bindInterdomain(c!, DOMID_SELF, l1);
  assert.ok(l2 > 0 && l2 !== l1);
  drain(c!);
  portOp(c!, E.EVTCHNOP_send, l1);
  assert.deepEqual(drain(c!), [l2]);
  // Status of another domain's port: EPERM for a guest, fine for the toolstack's view.
  assert.equal(status(c!, a!.domid, pa).rc, -EPERM);
  assert.equal(status(c!, 999, 1).rc, -ESRCH);
  assert.equal(status(c!, DOMID_SELF, 5000).rc, -EINVAL);
  // Sub-ops that are not provided, and bad handles.
  assert.equal(portOp(a!, E.EVTCHNOP_init_control, 0), -ENOSYS);
  assert.equal(portOp(a!, 99, 0), -ENOSYS);
  assert.equal(op(a!, E.EVTCHNOP_bind_pirq, 12, [[0, 4, 1]]).rc, -EINVAL, 'no pirqs');
  assert.equal(op(a!, E.EVTCHNOP_send, 4, [], 0x1000).rc, -EFAULT, 'unmapped handle');
  assert.equal(op(a!, E.EVTCHNOP_alloc_unbound, 8, [], 0x7fef_f000).rc, -EFAULT);
});

test('VIRQs: per-vCPU and global, EEXIST, bind_vcpu rules, delivery through the core', () => {
  const { hv, x, doms: [a] } = setup(1, 2);
  assert.equal(bindVirq(a!, 24, 0), -EINVAL, 'NR_VIRQS');
  assert.equal(bindVirq(a!, VIRQ_CONSOLE, 1), -EINVAL, 'global VIRQs bind on vCPU 0');
  assert.equal(bindVirq(a!, VIRQ_TIMER, 7), -ENOENT);
  const pt = bindVirq(a!, VIRQ_TIMER, 0);
  assert.ok(pt > 0);
  assert.equal(bindVirq(a!, VIRQ_TIMER, 0), -EEXIST);
  const pt1 = bindVirq(a!, VIRQ_TIMER, 1);
  assert.ok(pt1 > 0 && pt1 !== pt, 'per-vCPU: vCPU 1 has its own');
  let s = status(a!, DOMID_SELF, pt1);
  assert.deepEqual([s.status, s.vcpu, s.u32], [E.EVTCHNSTAT_virq, 1, VIRQ_TIMER]);
  drain(a!);
  a!.sendVirq(a!.vcpus[0]!, VIRQ_TIMER); // what the core's singleshot timer does
  assert.deepEqual(drain(a!), [pt]);
  // vCPU 1 has no vcpu_info yet: the port turns pending, no upcall anywhere.
  a!.sendVirq(a!.vcpus[1]!, VIRQ_TIMER);
  assert.ok(pendingBit(a!, pt1));
  assert.equal(upcall(a!), 0);
  // bind_vcpu: per-vCPU VIRQs cannot move, global ones can; ENOENT for a vCPU that does not exist.
  assert.equal(op(a!, E.EVTCHNOP_bind_vcpu, 8, [[0, 4, pt], [4, 4, 1]]).rc, -EINVAL);
  const pc = bindVirq(a!, VIRQ_CONSOLE, 0);
  assert.equal(op(a!, E.EVTCHNOP_bind_vcpu, 8, [[0, 4, pc], [4, 4, 1]]).rc, 0);
  assert.equal(status(a!, DOMID_SELF, pc).vcpu, 1);
  assert.equal(op(a!, E.EVTCHNOP_bind_vcpu, 8, [[0, 4, pc], [4, 4, 2]]).rc, -ENOENT);
  assert.equal(op(a!, E.EVTCHNOP_bind_vcpu, 8, [[0, 4, 4000], [4, 4, 0]]).rc, -EINVAL);
  x.channels(a!).sendGlobalVirq(VIRQ_CONSOLE);
  assert.ok(pendingBit(a!, pc));
  // IPI: bind, send to oneself, status, bind_vcpu refused.
  const r = op(a!, E.EVTCHNOP_bind_ipi, 8, [[0, 4, 0]]);
  const pi = r.dv.getUint32(4, true);
  assert.equal(r.rc, 0);
  assert.equal(op(a!, E.EVTCHNOP_bind_ipi, 8, [[0, 4, 9]]).rc, -ENOENT);
  drain(a!);
  assert.equal(portOp(a!, E.EVTCHNOP_send, pi), 0);
  // vCPU 0's handler scans the whole word: vCPU 1's pending ports (no vcpu_info there) show up too.
  assert.deepEqual(drain(a!), [pt1, pc, pi].sort((p, q) => p - q));
  assert.equal(status(a!, DOMID_SELF, pi).status, E.EVTCHNSTAT_ipi);
  assert.equal(op(a!, E.EVTCHNOP_bind_vcpu, 8, [[0, 4, pi], [4, 4, 1]]).rc, -EINVAL);
  assert.equal(portOp(a!, E.EVTCHNOP_send, pt), -EINVAL, 'a VIRQ port cannot be sent on');
  // Closing a VIRQ port unbinds the VIRQ: it can be bound again.
  assert.equal(portOp(a!, E.EVTCHNOP_close, pt), 0);
  assert.ok(bindVirq(a!, VIRQ_TIMER, 0) > 0);
  void hv;
});

test('max_event_channels: ports 1..1023 only, then ENOSPC; reset by the domain frees them', () => {
  const { doms: [a, b] } = setup();
  let n = 0, last = 0;
  for (;;) {
    const p = allocUnbound(a!, DOMID_SELF, b!.domid);
    if (p < 0) {
      assert.equal(p, -ENOSPC);
      break;
    }
    n++;
    last = p;
  }
  assert.equal(last, E.DEFAULT_MAX_EVENT_CHANNELS);
  const used = [1, 2].filter((p) => status(a!, DOMID_SELF, p).status !== E.EVTCHNSTAT_closed).length; // the builder's store/console ports
  assert.equal(n + used, E.DEFAULT_MAX_EVENT_CHANNELS);
  assert.equal(op(b!, E.EVTCHNOP_reset, 2, [[0, 2, a!.domid]]).rc, -EPERM);
  assert.equal(op(a!, E.EVTCHNOP_reset, 2, [[0, 2, DOMID_SELF]]).rc, 0);
  assert.equal(status(a!, DOMID_SELF, last).status, E.EVTCHNSTAT_closed);
  assert.equal(allocUnbound(a!, DOMID_SELF, b!.domid), 1);
});

test('the toolstack (dom0) allocates in a guest; destroying a domain returns its peers to unbound', () => {
  const { hv, x, doms: [a, b] } = setup();
  const ec0 = x.channels(hv.dom0);
  const p = ec0.allocUnboundOp(x.view(hv.dom0), a!.domid, b!.domid);
  assert.ok(p > 0, 'privileged: alloc_unbound in another domain');
  const pb = bindInterdomain(b!, a!.domid, p);
  assert.ok(pb > 0);
  // Dom0 (the host process) has no vcpu_info: its backends hear events through onPending.
  const heard: number[] = [];
  const p0 = ec0.allocUnbound(a!.domid);
  ec0.onPending = (port) => heard.push(port);
  const pa = bindInterdomain(a!, 0, p0);
  portOp(a!, E.EVTCHNOP_send, pa);
  assert.deepEqual(heard, [p0]);
  assert.ok(ec0.isPending(p0));
  hv.destroyDomain(a!);
  assert.equal(status(b!, DOMID_SELF, pb).status, E.EVTCHNSTAT_unbound);
  assert.equal(ec0.status(p0) instanceof Object && (ec0.status(p0) as { status: number }).status, E.EVTCHNSTAT_unbound);
  assert.equal(x.events.get(a!.domid), undefined);
});
