// SPDX-License-Identifier: GPL-2.0-only
// One domain's event-channel state as shared memory (issue 7), and the two operations a pCPU
// worker runs on it: EVTCHNOP_send and EVTCHNOP_unmask (xen/common/event_channel.c at 4.7,
// evtchn_send / evtchn_unmask). EventChannels (main thread) and the pCPU fast path
// (smp/fast-path.ts) call the same functions, so both answer with the same result and errno.
//
// Words (all Int32Array over SharedArrayBuffer; [HV] all of them):
//   ports  4 a port: state, notify vCPU, remote domid, remote port / VIRQ (event-channels.ts)
//   locks  4 a port: the port's ticket spinlock (Xen's struct evtchn.lock; tail, head, sleepers)
//   info   event_lock (ticket spinlock, 4 words) | valid ports | shared_info index | instance |
//          vCPU slots | vcpu_info int32 index per vCPU (-1: none)
//   priv   bitmaps of a domain without shared_info (dom0, the host process)
//
// Locks (Xen 4.7): d->event_lock serialises the operations that change ports (alloc, bind,
// close, reset, bind_vcpu, destruction); two domains' event locks are taken lower domid first.
// A port's own lock is taken by send (the *sender's* port: while it is held the port cannot be
// closed or rebound, so its peer stays valid) and by every state change of that port; two ports
// (bind_interdomain, close of an interdomain port) are locked in (domid, port) order, as Xen's
// double_evtchn_lock orders by address. Unmask takes no lock (it touches only the 2-level bits).
// Never is an event lock taken while a port lock is held.
import { EINVAL } from '../public/errno.ts';
import { EVTCHN_2L_NR_CHANNELS, SHINFO_SIZE } from '../public/event-channel.ts';
import { spinLockAt, spinUnlockAt } from '../smp/spinlock.ts';
import { setPending2lHow, unmask2l } from './two-level.ts';

export const ECS_FREE = 0;
export const ECS_RESERVED = 1;
export const ECS_UNBOUND = 2;
export const ECS_INTERDOMAIN = 3;
export const ECS_PIRQ = 4;
export const ECS_VIRQ = 5;
export const ECS_IPI = 6;

export const F_STATE = 0;
export const F_VCPU = 1; // notify_vcpu_id
export const F_RDOM = 2; // unbound: remote domid allowed to bind; interdomain: remote domid
export const F_RPORT = 3; // interdomain: remote port; virq: the virq number
export const STRIDE = 4;
/** Words of a port's lock in `locks`. */
export const LOCK_STRIDE = 4;

export const I_EVENT_LOCK = 0;
export const I_VALID = 4;
/** shared_info's int32 index in machine memory, or -1: the private bitmaps. */
export const I_SI = 5;
export const I_INSTANCE = 6;
export const I_NR_VI = 7;
export const I_VI = 8;
/** vCPUs whose vcpu_info the shared words describe (higher ids are left to the main thread). */
export const MAX_SHARED_VCPUS = 512;

/** A domain's shared event-channel words; structured-clonable (the arrays share their buffers). */
export interface EvtchnShared {
  readonly domid: number;
  readonly ports: Int32Array;
  readonly locks: Int32Array;
  readonly info: Int32Array;
  readonly priv: Int32Array;
}

export function allocEvtchnShared(domid: number, instance: number): EvtchnShared {
  const sab = (words: number): Int32Array => new Int32Array(new SharedArrayBuffer(words * 4));
  const s: EvtchnShared = {
    domid, ports: sab(EVTCHN_2L_NR_CHANNELS * STRIDE), locks: sab(EVTCHN_2L_NR_CHANNELS * LOCK_STRIDE),
    info: sab(I_VI + MAX_SHARED_VCPUS), priv: sab(SHINFO_SIZE >> 2),
  };
  s.info[I_SI] = -1;
  s.info[I_INSTANCE] = instance;
  s.info.fill(-1, I_VI);
  return s;
}

export function lockPort(s: EvtchnShared, port: number): void {
  spinLockAt(s.locks, port * LOCK_STRIDE);
}
export function unlockPort(s: EvtchnShared, port: number): void {
  spinUnlockAt(s.locks, port * LOCK_STRIDE);
}
/** double_evtchn_lock: two ports (maybe the same one) in (domid, port) order. */
export function lockPorts(a: EvtchnShared, ap: number, b: EvtchnShared, bp: number): void {
  if (a === b && ap === bp) return lockPort(a, ap);
  const aFirst = a.domid < b.domid || (a.domid === b.domid && ap < bp);
  if (aFirst) { lockPort(a, ap); lockPort(b, bp); } else { lockPort(b, bp); lockPort(a, ap); }
}
export function unlockPorts(a: EvtchnShared, ap: number, b: EvtchnShared, bp: number): void {
  unlockPort(a, ap);
  if (!(a === b && ap === bp)) unlockPort(b, bp);
}
export function eventLock(s: EvtchnShared): void {
  spinLockAt(s.info, I_EVENT_LOCK);
}
export function eventUnlock(s: EvtchnShared): void {
  spinUnlockAt(s.info, I_EVENT_LOCK);
}
/** Two domains' event locks, lower domid first (Xen orders by struct domain address). */
export function eventLock2(a: EvtchnShared, b: EvtchnShared): void {
  if (a === b) return eventLock(a);
  if (a.domid < b.domid) { eventLock(a); eventLock(b); } else { eventLock(b); eventLock(a); }
}
export function eventUnlock2(a: EvtchnShared, b: EvtchnShared): void {
  eventUnlock(a);
  if (a !== b) eventUnlock(b);
}

/**
 * port_is_valid. A plain read: the valid range only grows, and a send racing with the bind
 * that grows it may see either answer, as in Xen (the words a send acts on are read under the
 * port lock, whose acquire orders them after the main thread's publish).
 */
export function portValid(s: EvtchnShared, port: number): boolean {
  return Number.isInteger(port) && port >= 0 && port < s.info[I_VALID]!;
}

/** A send or unmask the caller's thread cannot complete (the peer or its vcpu_info is not in its view): nothing was changed. */
export const NOT_HERE = 1;

// What a delivery did, in `out` (Int32Array(4)): target domid, vCPU, port, and how.
export const OUT_DOMID = 0, OUT_VCPU = 1, OUT_PORT = 2, OUT_HOW = 3;
/** out[OUT_HOW]: nothing to notify / the port turned pending / and the vCPU's upcall was raised. */
export const HOW_NONE = 0, HOW_PENDING = 1, HOW_UPCALL = 2;
/** out[OUT_HOW] bit: the port was already pending (the main thread still tells dom0's backends). */
export const HOW_AGAIN = 4;

/**
 * evtchn_port_set_pending on the target's bitmaps and vcpu_info (the published words). `strict`
 * (a worker): a guest vCPU without a published vcpu_info, or a guest without shared_info, is
 * NOT_HERE (the main thread decides); dom0 (the host process) always uses its private bitmaps.
 */
function deliver(t: EvtchnShared, vcpu: number, port: number, pool: Int32Array, strict: boolean, out: Int32Array): number {
  // Plain reads: published (Atomics.store) before the port was bound or under a later lock hand-over.
  const info = t.info, si = info[I_SI]!;
  const vi = vcpu >= 0 && vcpu < info[I_NR_VI]! ? info[I_VI + vcpu]! : -1;
  if (strict && t.domid !== 0 && (vi < 0 || si < 0)) return NOT_HERE;
  const how = si < 0 ? setPending2lHow(t.priv, 0, vi, port) : setPending2lHow(pool, si, vi, port);
  out[OUT_DOMID] = t.domid;
  out[OUT_VCPU] = vcpu;
  out[OUT_PORT] = port;
  out[OUT_HOW] = how === 0 ? HOW_AGAIN : how;
  return 0;
}

/**
 * evtchn_send on the sender's port `lport` of `ld`, under that port's lock. `peer(domid)` is
 * the peer's shared words in this thread's view (undefined: NOT_HERE). Returns 0, -EINVAL
 * (Xen's errno for an invalid, free, reserved, VIRQ or PIRQ port) or NOT_HERE; out[OUT_HOW]
 * says what to notify (HOW_NONE if nothing was delivered).
 */
export function evtchnSend(ld: EvtchnShared, lport: number, peer: (domid: number) => EvtchnShared | undefined, pool: Int32Array, strict: boolean, out: Int32Array): number {
  out[OUT_HOW] = HOW_NONE;
  if (!portValid(ld, lport)) return -EINVAL;
  const b = lport * STRIDE, ports = ld.ports;
  let rc = -EINVAL; // free, reserved, VIRQ, PIRQ
  lockPort(ld, lport); // nothing below throws: no try/finally on the hot path
  const state = ports[b + F_STATE]!;
  if (state === ECS_INTERDOMAIN) {
    const rd = peer(ports[b + F_RDOM]!);
    const rport = ports[b + F_RPORT]!;
    rc = rd === undefined ? NOT_HERE : deliver(rd, rd.ports[rport * STRIDE + F_VCPU]!, rport, pool, strict, out);
  } else if (state === ECS_IPI) rc = deliver(ld, ports[b + F_VCPU]!, lport, pool, strict, out);
  else if (state === ECS_UNBOUND) rc = 0; // silently drop the notification
  unlockPort(ld, lport);
  return rc;
}

/**
 * evtchn_unmask (2-level): no lock, as in Xen 4.7. Returns 0, -EINVAL (invalid port) or
 * NOT_HERE; out[OUT_HOW] is HOW_UPCALL when the port was pending and its vCPU's upcall raised.
 */
export function evtchnUnmask(d: EvtchnShared, port: number, pool: Int32Array, strict: boolean, out: Int32Array): number {
  out[OUT_HOW] = HOW_NONE;
  if (!portValid(d, port)) return -EINVAL;
  const info = d.info, si = info[I_SI]!;
  const vcpu = d.ports[port * STRIDE + F_VCPU]!;
  const vi = vcpu < info[I_NR_VI]! ? info[I_VI + vcpu]! : -1;
  if (strict && d.domid !== 0 && (vi < 0 || si < 0)) return NOT_HERE;
  const up = si < 0 ? unmask2l(d.priv, 0, vi, port) : unmask2l(pool, si, vi, port);
  if (up) {
    out[OUT_DOMID] = d.domid;
    out[OUT_VCPU] = vcpu;
    out[OUT_PORT] = port;
    out[OUT_HOW] = HOW_UPCALL;
  }
  return 0;
}
