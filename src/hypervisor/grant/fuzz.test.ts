// SPDX-License-Identifier: GPL-2.0-only
// Hostile arguments for event_channel_op and grant_table_op: 200,000 random operations (random
// sub-ops, ports, refs, domids, frames, host addresses, counts, lengths, offsets and handles,
// with hostile granters rewriting their entries in between) from two real domains through the
// registered handlers. Proves: no host exception, only 0 or a negated errno, per-element
// statuses are GNTST codes, an uninvolved domain's frames never change, every p2m grant entry
// is backed by a pin, and after both domains are destroyed every frame they used is free again.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Domain } from '../domain/domain.ts';
import { attachEvtchnGnttab } from '../event/attach.ts';
import { HcArgs } from '../hypercall/table.ts';
import { DATA, makeHv, peek, poke, pvDomain } from '../hypercall/test-support.ts';
import type { FramePool } from '../mm/frame-pool.ts';
import { P2M_GRANT_RO, P2M_GRANT_RW } from '../mm/p2m.ts';
import { ERRNO_NAMES } from '../public/errno.ts';
import { DOMID_SELF, HYPERVISOR_event_channel_op, HYPERVISOR_grant_table_op } from '../public/xen.ts';
import { GNTTAB_MAGIC_GFN } from './grant-table.ts';

const OPS = Number(process.env.TSXEN_GNT_FUZZ_OPS ?? 200_000);
const SEED = Number(process.env.TSXEN_GNT_FUZZ_SEED ?? 0x6e7f00d);

function hashFrame(pool: FramePool, f: number): number {
  const w = new Int32Array(pool.memory, f * 4096, 1024);
  let h = 0x811c9dc5 | 0;
  for (let i = 0; i < 1024; i++) h = Math.imul(h ^ w[i]!, 0x01000193);
  return h;
}

test(`gnttab/evtchn fuzz: ${OPS} hostile operations`, () => {
  const { hv } = makeHv(8192);
  const x = attachEvtchnGnttab(hv);
  const c = pvDomain(hv); // uninvolved
  const cFrames: Array<[number, number]> = [];
  c.p2m.forEach((_g, mfn) => hv.pool.bytes.fill(0xc5, mfn * 4096 + 3000, mfn * 4096 + 4096));
  for (let f = 1; f < hv.pool.nrFrames; f++) if (hv.pool.owner[f] === c.domid) cFrames.push([f, hashFrame(hv.pool, f)]);
  const freeBefore = hv.pool.freeFrames;
  const a = pvDomain(hv, undefined, { vcpus: 2 });
  const b = pvDomain(hv);
  const doms = [a, b];

  let s = SEED >>> 0;
  const rnd = (): number => {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5; s >>>= 0;
    return s;
  };
  const pick = <T>(xs: T[]): T => xs[rnd() % xs.length]!;
  const domids = [0, a.domid, b.domid, c.domid, DOMID_SELF, 999, 0xffff, 0x7ff2];
  const u32s = (): number =>
    pick([0, 1, 2, 3, 7, 8, 9, 10, 511, 512, 1023, 1024, 4095, 4096, 0xffffffff, 0x80000000, rnd(), rnd() & 0xffff, rnd() & 31, a.domid | (b.domid << 16), pick(domids)]);
  const addrs = (): number => pick([0x80000000, 0x80100000, 0x80180000, 0x801ff000, 0x90000000 + (rnd() % 8) * 4096, GNTTAB_MAGIC_GFN * 4096, 0x7ff01000, 0, 0xfff, rnd() * 4096, 2 ** 52]);

  // Some real state to hit success paths: tables, grants both ways, an interdomain channel.
  for (const d of doms) d.gnttab!.frameMfn(1, false);
  const entry = (d: Domain, ref: number, to: number, gpa: number, flags: number) => {
    const e = new DataView(new ArrayBuffer(8));
    e.setUint16(0, flags, true); e.setUint16(2, to, true); e.setUint32(4, Math.floor(gpa / 4096), true);
    hv.pool.bytes.set(new Uint8Array(e.buffer), d.p2m.mfnOf(GNTTAB_MAGIC_GFN) * 4096 + ref * 8);
  };
  x.grants.get(a.domid)!.setup(2);
  x.grants.get(b.domid)!.setup(2);
  for (let ref = 0; ref < 16; ref++) {
    entry(a, ref, b.domid, 0x80180000 + (ref % 2) * 4096, ref % 3 === 0 ? 5 : 1);
    entry(b, ref, a.domid, 0x80180000 + (ref % 2) * 4096, ref % 3 === 0 ? 5 : 1);
  }

  const argsOf = new HcArgs();
  const dataOff = new Map(doms.map((d) => [d, d.p2m.mfnOf(DATA / 4096) * 4096] as const));
  /** Successful elements per grant op (map 0, unmap 1, copy 5) and successful evtchn calls: the fuzz must reach them. */
  const okays = new Map<string, number>();
  const bump = (k: string) => okays.set(k, (okays.get(k) ?? 0) + 1);
  const known = new Set([0, ...ERRNO_NAMES.keys()].map((e) => -e));
  for (let i = 0; i < OPS; i++) {
    const d = pick(doms), other = d === a ? b : a;
    // Hostile granters rewrite entries 0..15 now and then.
    if (rnd() % 8 === 0) entry(d, rnd() % 16, pick([other.domid, d.domid, c.domid, rnd() & 0xffff]), pick([0x80180000, 0x80100000, 0x7ff01000, rnd() * 4096]), rnd() & 0x1ff);
    // The argument area: random words, with addresses and domids in likely places.
    const buf = new DataView(new ArrayBuffer(160));
    for (let o = 0; o < 160; o += 4) buf.setUint32(o, u32s(), true);
    if (rnd() % 2 === 0) for (const o of [0, 24, 56, 88]) buf.setBigUint64(o, BigInt(addrs()), true);
    if (rnd() % 2 === 0) for (const o of [16, 48, 80]) buf.setUint16(o, pick(domids), true);
    // A quarter of the grant ops are nearly well-formed, so the success paths run under the same hostility.
    const plausible = rnd() % 4 === 0;
    let cmd = rnd() % 16 === 0 ? rnd() : rnd() % 14;
    if (plausible) {
      cmd = pick([0, 0, 1, 5]);
      for (let k = 0; k < 3; k++) {
        if (cmd === 0) {
          buf.setBigUint64(32 * k, BigInt(0x90000000 + (rnd() % 8) * 4096), true);
          buf.setUint32(32 * k + 8, pick([2, 2, 6, 3, 10]), true);
          buf.setUint32(32 * k + 12, rnd() % 18, true);
          buf.setUint16(32 * k + 16, pick([other.domid, other.domid, d.domid, c.domid]), true);
        } else if (cmd === 1) {
          buf.setBigUint64(24 * k, BigInt(0x90000000 + (rnd() % 8) * 4096), true);
          buf.setBigUint64(24 * k + 8, 0n, true);
          buf.setUint32(24 * k + 16, rnd() % 10, true);
        } else {
          const sideAt = (o: number, gref: boolean) => {
            if (gref) buf.setUint32(o, rnd() % 18, true);
            else buf.setBigUint64(o, BigInt(pick([0x80100, 0x80180, 0x801ff, 0x7ff04, 0x80300])), true);
            buf.setUint16(o + 8, gref ? pick([other.domid, c.domid, DOMID_SELF]) : pick([DOMID_SELF, DOMID_SELF, other.domid]), true);
            buf.setUint16(o + 10, rnd() % 4200, true);
          };
          const fl = rnd() % 4;
          sideAt(40 * k, (fl & 1) !== 0);
          sideAt(40 * k + 16, (fl & 2) !== 0);
          buf.setUint16(40 * k + 32, pick([1, 8, 64, 512, 4096, rnd() & 0xffff]), true);
          buf.setUint16(40 * k + 34, fl, true);
        }
      }
    }
    hv.pool.bytes.set(new Uint8Array(buf.buffer), dataOff.get(d)!);
    const grantOp = plausible || rnd() % 2 === 0;
    const handle = !plausible && rnd() % 16 === 0 ? addrs() : DATA;
    const count = plausible ? 1 + (rnd() % 3) : rnd() % 32 === 0 ? rnd() : rnd() % 4;
    argsOf.setNum(0, cmd >>> 0).setNum(1, handle).setNum(2, count >>> 0);
    if (!plausible && rnd() % 64 === 0) argsOf.set(1, rnd() | 0, rnd() | 0); // a 64-bit handle
    const v = d.vcpus[0]!;
    const rc = hv.hypercalls.dispatch(v, grantOp ? HYPERVISOR_grant_table_op : HYPERVISOR_event_channel_op, 0, argsOf);
    assert.ok(Number.isInteger(rc) && known.has(rc), `op ${i}: ${grantOp ? 'gnttab' : 'evtchn'} cmd ${cmd} returned ${rc}`);
    if (!grantOp && rc === 0) bump(`evtchn ${cmd}`);
    if (grantOp && rc === 0 && ((cmd >>> 0) <= 1 || cmd === 5) && handle === DATA && count >= 1 && count <= 3) {
      const out = new DataView(peek(d, DATA, 120).buffer);
      const size = cmd === 0 ? 32 : cmd === 1 ? 24 : 40, st = cmd === 0 ? 18 : cmd === 1 ? 20 : 36;
      for (let k = 0; k < count; k++) {
        const code = out.getInt16(k * size + st, true);
        assert.ok(code <= 0 && code >= -12, `op ${i}: GNTST ${code}`);
        if (code === 0) bump(`gnttab ${cmd}`);
      }
    }
  }
  for (const k of ['gnttab 0', 'gnttab 1', 'gnttab 5', 'evtchn 3', 'evtchn 4', 'evtchn 6', 'evtchn 1']) assert.ok((okays.get(k) ?? 0) > 0, `the fuzz never succeeded at ${k}: ${[...okays]}`);
  // Every grant entry in a p2m is backed by a pinned frame of the granter (or a zombie).
  for (const d of doms) {
    d.p2m.forEach((_g, mfn, t) => {
      if (t === P2M_GRANT_RW || t === P2M_GRANT_RO) assert.ok(x.grants.framePins[mfn]! > 0, `d${d.domid}: grant mapping of unpinned frame ${mfn}`);
    });
  }
  for (const [f, h] of cFrames) {
    assert.equal(hv.pool.owner[f], c.domid);
    assert.equal(hashFrame(hv.pool, f), h, `uninvolved frame ${f} changed`);
  }
  hv.destroyDomain(a);
  hv.destroyDomain(b);
  assert.equal(x.grants.zombieCount, 0);
  assert.equal(hv.pool.freeFrames, freeBefore, 'every frame a and b used is free again');
});
