// SPDX-License-Identifier: GPL-2.0-only
// A pCPU worker reading a domain's p2m through a P2mView while the main thread changes it
// (src/hypervisor/mm/p2m-share.test.ts). It knows the main thread's whole list of operations
// in advance, so it knows every entry each gfn ever has. Between checkpoints it looks up
// random gfns and checks that each answer comes from one entry that was really written
// (never an mfn with rights or a type it never had); at a checkpoint (the main thread waits)
// it checks that it sees exactly the map the operations so far produced. Not a test.
import { parentPort, workerData } from 'node:worker_threads';
import { ACCESS_R, ACCESS_W, ACCESS_X, PHYS_FAULT, PHYS_MMIO } from '../../src/hardware/riscv/hart-api.ts';
import { P2M_INVALID, P2M_MMIO_EMUL, TYPE_RIGHTS, type P2mShare } from '../../src/hypervisor/mm/p2m.ts';
import { P2mView, entryAccess, entryMfn, entryType } from '../../src/hypervisor/mm/p2m-view.ts';

/** [op, gfn, mfn, type, access]: op 0 = set, 1 = setAccess (access only), 2 = clear (gfn only). */
export type P2mOp = [op: number, gfn: number, mfn: number, type: number, access: number];
export const OP_SET = 0, OP_ACCESS = 1, OP_CLEAR = 2;
/** Control words: checkpoint number (main), its acknowledgement (worker), stop, lookup batches done. */
export const CTL_EPOCH = 0, CTL_ACK = 1, CTL_STOP = 2, CTL_BATCHES = 3;

export interface P2mViewJob {
  share: P2mShare; memory: SharedArrayBuffer; ctl: Int32Array;
  /** hot: hammer one gfn that the main thread flips between two entries (hotStates) as fast as it can. */
  mode?: 'ops' | 'hot';
  hotGfn?: number;
  hotStates?: Array<{ type: number; access: number; mfn: number }>;
  ops: P2mOp[];
  /** Operations applied before checkpoint k: ops.slice(0, checkpoints[k]) (checkpoint 0 = before the run). */
  checkpoints: number[];
  gfns: number[];
}
export interface P2mViewResult { lookups: number; checked: number; bad: string[]; leaves: number; mmio: number; mapped: number; seen?: number[] }

interface State { type: number; access: number; mfn: number }
const key = (s: State) => (s.mfn + 1) * 64 + s.access * 8 + s.type;
const INVALID: State = { type: P2M_INVALID, access: 0, mfn: -1 };

/** One operation on a model map, as P2m does it. */
function apply(m: Map<number, State>, [op, gfn, mfn, type, access]: P2mOp): void {
  if (op === OP_SET) m.set(gfn, type === P2M_INVALID ? INVALID : { type, access: access & 7, mfn: mfn < 0 ? -1 : mfn });
  else if (op === OP_CLEAR) m.set(gfn, INVALID);
  else { const s = m.get(gfn); if (s !== undefined && s.type !== P2M_INVALID) m.set(gfn, { ...s, access: access & 7 }); }
}
/** What lookup() must answer for an entry (P2m.lookup's semantics, written out here). */
function expect(s: State, acc: number): number {
  if (s.type === P2M_MMIO_EMUL) return PHYS_MMIO;
  return (TYPE_RIGHTS[s.type]! & s.access & acc) !== 0 ? s.mfn * 4096 : PHYS_FAULT;
}

/**
 * Hot mode: only whole entries may be seen (one of hotStates, or invalid); a writer that
 * stored the mfn and the rights in two steps would show an mfn with the other entry's rights.
 */
function hot(job: P2mViewJob): void {
  const view = new P2mView(job.share, job.memory, { read: () => 0, write: () => {} });
  const g = job.hotGfn!, states = job.hotStates!, ctl = job.ctl;
  const res: P2mViewResult = { lookups: 0, checked: 0, bad: [], leaves: 0, mmio: 0, mapped: 0, seen: states.map(() => 0) };
  const ok = new Map<number, Set<number>>(ACC_KINDS.map((acc) => [acc, new Set([PHYS_FAULT, ...states.map((s) => expect(s, acc))])]));
  const keys = [key(INVALID), ...states.map(key)];
  parentPort!.postMessage('ready');
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    for (let k = 0; k < 256; k++) {
      for (const acc of ACC_KINDS) {
        const r = view.lookup(g, acc);
        if (!ok.get(acc)!.has(r) && res.bad.length < 20) res.bad.push(`lookup(${g}, ${acc}) = ${r}: neither entry gives that`);
        if (r >= 0) res.seen![states.findIndex((s) => s.mfn * 4096 === r)]!++;
      }
      const e = view.entryOf(g);
      const kk = key({ type: entryType(e), access: entryType(e) === P2M_INVALID ? 0 : entryAccess(e), mfn: entryMfn(e) });
      if (!keys.includes(kk) && res.bad.length < 20) res.bad.push(`entryOf(${g}): type ${entryType(e)} access ${entryAccess(e)} mfn ${entryMfn(e)} was never written`);
      res.lookups += 3;
    }
    Atomics.add(ctl, CTL_BATCHES, 1);
  }
  parentPort!.postMessage(res);
}
const ACC_KINDS = [ACCESS_R, ACCESS_W, ACCESS_X];

if (parentPort !== null && (workerData as P2mViewJob).mode === 'hot') hot(workerData as P2mViewJob);
else if (parentPort !== null) {
  const job = workerData as P2mViewJob;
  const { ctl, ops, gfns } = job;
  const view = new P2mView(job.share, job.memory, { read: () => 0, write: () => {} });
  // Every entry each gfn ever has (the invalid one included), and what each lets lookup() return.
  const ever = new Map<number, Set<number>>(gfns.map((g) => [g, new Set([key(INVALID)])]));
  const answers = new Map<number, Set<number>>(gfns.map((g) => [g, new Set([PHYS_FAULT])]));
  const model = new Map<number, State>();
  for (const op of ops) {
    apply(model, op);
    const s = model.get(op[1])!;
    ever.get(op[1])!.add(key(s));
    for (const acc of [ACCESS_R, ACCESS_W, ACCESS_X]) answers.get(op[1])!.add(expect(s, acc));
  }
  const res: P2mViewResult = { lookups: 0, checked: 0, bad: [], leaves: 0, mmio: 0, mapped: 0 };
  const fail = (msg: string) => { if (res.bad.length < 20) res.bad.push(msg); };
  const checkpoint = (n: number) => { // the exact map after ops[0..n)
    const m = new Map<number, State>();
    for (let i = 0; i < n; i++) apply(m, ops[i]!);
    for (const g of gfns) {
      const s = m.get(g) ?? INVALID;
      const e = view.entryOf(g);
      if (entryType(e) !== s.type || (s.type !== P2M_INVALID && (entryAccess(e) !== s.access || entryMfn(e) !== s.mfn)))
        fail(`checkpoint after ${n} ops: gfn ${g} entry type ${entryType(e)} access ${entryAccess(e)} mfn ${entryMfn(e)}, expected ${JSON.stringify(s)}`);
      for (const acc of [ACCESS_R, ACCESS_W, ACCESS_X]) {
        const r = view.lookup(g, acc), x = expect(s, acc);
        if (r !== x) fail(`checkpoint after ${n} ops: lookup(${g}, ${acc}) = ${r}, expected ${x}`);
        res.checked++;
      }
    }
  };
  let epoch = -1, seed = 0x9e3779b9;
  const rnd = (n: number) => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) % n);
  parentPort.postMessage('ready');
  while (Atomics.load(ctl, CTL_STOP) === 0) {
    const ep = Atomics.load(ctl, CTL_EPOCH);
    if (ep !== epoch) {
      epoch = ep;
      checkpoint(job.checkpoints[ep]!);
      Atomics.store(ctl, CTL_ACK, ep);
      Atomics.notify(ctl, CTL_ACK);
      continue;
    }
    for (let k = 0; k < 64; k++) { // concurrent with the main thread's changes
      const g = gfns[rnd(gfns.length)]!, acc = 1 << rnd(3);
      const r = view.lookup(g, acc);
      if (!answers.get(g)!.has(r)) fail(`lookup(${g}, ${acc}) = ${r}: no entry gfn ${g} ever had gives that`);
      if (r === PHYS_MMIO) res.mmio++;
      else if (r >= 0) res.mapped++;
      const e = view.entryOf(g);
      const s = { type: entryType(e), access: entryType(e) === P2M_INVALID ? 0 : entryAccess(e), mfn: entryMfn(e) };
      if (!ever.get(g)!.has(key(s))) fail(`entryOf(${g}) = type ${s.type} access ${s.access} mfn ${s.mfn}: never written`);
      res.lookups++;
    }
    Atomics.add(ctl, CTL_BATCHES, 1);
    Atomics.notify(ctl, CTL_BATCHES);
  }
  res.leaves = view.leafCount;
  parentPort.postMessage(res);
}
