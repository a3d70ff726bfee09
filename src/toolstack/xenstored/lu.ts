// SPDX-License-Identifier: GPL-2.0-only
// The xenstore migration record (docs/designs/xenstore-migration.md, xen-digest §1.12): dump
// and restore of the whole daemon state for live update. Header (big-endian): "xenstore",
// version 1, flags 0 (little-endian records). Records: type u32, len u32, body, zero padding
// to 8. Written: GLOBAL_DATA, GLOBAL_QUOTA_DATA, CONNECTION_DATA, WATCH_DATA,
// TRANSACTION_DATA, DOMAIN_DATA (domains without a ring), NODE_DATA (committed nodes parents
// first, "@" special nodes, then each transaction's nodes), END. Socket "fds" are the
// connection ids the host uses to hand the sockets over.
import { CONN_RING, CONN_SOCKET, type Connection } from './connection.ts';
import type { Xenstored } from './core.ts';
import { Domain, DOMID_INVALID, isQuotaName } from './domain.ts';
import { PERM_BOTH, permChar, type Perm, type Perms } from './perms.ts';
import { Store } from './store.ts';
import { Transaction } from './transaction.ts';
import { copyOf, fromLatin1, latin1 } from './wire.ts';

export const REC_END = 0;
export const REC_GLOBAL_DATA = 1;
export const REC_CONNECTION_DATA = 2;
export const REC_WATCH_DATA = 3;
export const REC_TRANSACTION_DATA = 4;
export const REC_NODE_DATA = 5;
export const REC_GLOBAL_QUOTA_DATA = 6;
export const REC_DOMAIN_DATA = 7;

const IDENT = latin1('xenstore');

class Writer {
  buf = new Uint8Array(1 << 16);
  dv = new DataView(this.buf.buffer);
  n = 0;
  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    nb.set(this.buf.subarray(0, this.n));
    this.buf = nb;
    this.dv = new DataView(nb.buffer);
  }
  u8(v: number): void { this.ensure(1); this.buf[this.n++] = v; }
  u16(v: number): void { this.ensure(2); this.dv.setUint16(this.n, v, true); this.n += 2; }
  u32(v: number): void { this.ensure(4); this.dv.setUint32(this.n, v >>> 0, true); this.n += 4; }
  i32(v: number): void { this.ensure(4); this.dv.setInt32(this.n, v, true); this.n += 4; }
  bytes(b: Uint8Array): void { this.ensure(b.length); this.buf.set(b, this.n); this.n += b.length; }
  str0(s: string): void { this.bytes(latin1(s, true)); }
  /** A record: body written by `f`, then padding to 8. */
  rec(type: number, f: () => void): void {
    this.u32(type);
    const lenAt = this.n;
    this.u32(0);
    const start = this.n;
    f();
    this.dv.setUint32(lenAt, this.n - start, true);
    while (this.n % 8) this.u8(0);
  }
  done(): Uint8Array { return this.buf.slice(0, this.n); }
}

function perms(w: Writer, ps: Perms): void {
  for (const p of ps) { w.u8(permChar(p.p).charCodeAt(0)); w.u8(0); w.u16(p.id); }
}

function node(w: Writer, connId: number, txId: number, path: string, access: number, value: Uint8Array, ps: Perms): void {
  w.rec(REC_NODE_DATA, () => {
    w.u32(connId); w.u32(txId);
    w.u16(path.length + 1); w.u16(value.length);
    w.u16(access); w.u16(ps.length);
    perms(w, ps);
    w.str0(path);
    w.bytes(value);
  });
}

export interface DumpOptions {
  /** Listening socket handle number for GLOBAL_DATA (-1 if none). */
  rwSocketFd: number;
  /** Extra bytes to queue on a connection after its pending output (the live-update reply). */
  extraOut?: Map<number, Uint8Array>;
}

export function dumpState(core: Xenstored, opts: DumpOptions): Uint8Array {
  const w = new Writer();
  w.bytes(IDENT);
  w.dv.setUint32(w.n, 1, false); w.n += 4;  // version (big-endian)
  w.dv.setUint32(w.n, 0, false); w.n += 4;  // flags: little-endian records
  w.rec(REC_GLOBAL_DATA, () => { w.i32(opts.rwSocketFd); w.i32(-1); });
  const qn = Object.keys(core.quotas) as (keyof typeof core.quotas)[];
  // Soft quotas carry HEAD's "soft-" prefix.
  w.rec(REC_GLOBAL_QUOTA_DATA, () => {
    w.u16(qn.length + 1); w.u16(0);
    for (const q of qn) w.u32(core.quotas[q]);
    w.u32(core.softQuotas.memory);
    for (const q of qn) w.str0(q);
    w.str0('soft-memory');
  });
  const conns = [...core.conns.values()];
  for (const c of conns) {
    const spec = c.spec();
    const inData = c.reader.pending();
    const extra = opts.extraOut?.get(c.id);
    let out = c.pendingOutput();
    if (extra) { const o = new Uint8Array(out.length + extra.length); o.set(out); o.set(extra, out.length); out = o; }
    if (inData.length > 0xffff) throw new Error(`connection ${c.id}: ${inData.length} unprocessed bytes do not fit in-data-len`);
    w.rec(REC_CONNECTION_DATA, () => {
      w.u32(c.id); w.u16(c.kind); w.u16(0);
      if (c.kind === CONN_RING) { w.u16(c.domid); w.u16(c.target >= 0 ? c.target : DOMID_INVALID); w.u32(spec.evtchn ?? 0); }
      else { w.i32(spec.fd ?? -1); w.u32(c.readOnly ? 1 : 0); } // pad: bit 0 = read-only socket (ours)
      w.u16(inData.length); w.u16(0); w.u32(out.length);
      w.bytes(inData); w.bytes(out);
    });
  }
  for (const c of conns) {
    for (const wt of core.watches.ofOwner(c)) {
      const raw = wt.relPrefix ? wt.path.slice(wt.relPrefix.length) : wt.path;
      w.rec(REC_WATCH_DATA, () => { w.u32(c.id); w.u16(raw.length + 1); w.u16(wt.token.length + 1); w.str0(raw); w.str0(wt.token); });
    }
    for (const id of c.txs.keys()) w.rec(REC_TRANSACTION_DATA, () => { w.u32(c.id); w.u32(id); });
  }
  for (const d of core.domains.values()) {
    w.rec(REC_DOMAIN_DATA, () => { w.u16(d.domid); w.u16(0); w.u32(0); });
  }
  for (const [path, n] of core.store.walk()) node(w, 0, 0, path, 0, n.value, n.perms);
  for (const [path, ps] of core.special) node(w, 0, 0, path, 0, new Uint8Array(0), ps);
  for (const c of conns) {
    for (const tx of c.txs.values()) {
      for (const e of tx.dumpNodes()) node(w, c.id, tx.id, e.path, e.access, e.value, e.perms);
    }
  }
  w.rec(REC_END, () => {});
  return w.done();
}

/** What restore needs from the host: a transport for each connection record. */
export interface RestoreHost {
  /** A socket connection for conn-id (its socket handed over), or undefined if it is gone. */
  socket(connId: number, fd: number): Connection | undefined;
  /** A ring connection for a domain (re-mapped through grant entry 1), or undefined. */
  ring?(connId: number, domid: number, evtchn: number): Connection | undefined;
}

export class RestoreError extends Error {}

/** Restores a dump into a fresh core. Returns per-connection pending output to send first. */
export function restoreState(core: Xenstored, data: Uint8Array, host: RestoreHost): Map<Connection, Uint8Array> {
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  if (data.length < 16 || fromLatin1(data, 0, 8) !== 'xenstore') throw new RestoreError('not a xenstore migration stream');
  const version = dv.getUint32(8, false);
  const flags = dv.getUint32(12, false);
  if (version < 1 || version > 2) throw new RestoreError(`unsupported version ${version}`);
  const le = (flags & 1) === 0;
  const u16 = (o: number): number => dv.getUint16(o, le);
  const u32 = (o: number): number => dv.getUint32(o, le);
  const i32 = (o: number): number => dv.getInt32(o, le);
  const store = new Store(true);
  core.store = store;
  core.frozen = true; // the host sends pending output first, then unfreezes
  core.special.clear();
  const byId = new Map<number, Connection>();
  const pendingOut = new Map<Connection, Uint8Array>();
  const missing = new Set<number>();
  let off = 16;
  let ended = false;
  const readPerms = (o: number, n: number): Perm[] => {
    const ps: Perm[] = [];
    for (let i = 0; i < n; i++) {
      const c = String.fromCharCode(data[o + 4 * i]!);
      const p = 'nrwb'.indexOf(c);
      if (p < 0) throw new RestoreError(`bad perm '${c}'`);
      ps.push({ id: u16(o + 4 * i + 2), p: p & PERM_BOTH });
    }
    return ps;
  };
  while (!ended) {
    if (off + 8 > data.length) throw new RestoreError('truncated stream');
    const type = u32(off);
    const len = u32(off + 4);
    const b = off + 8;
    if (b + len > data.length) throw new RestoreError('truncated record');
    switch (type) {
      case REC_END: ended = true; break;
      case REC_GLOBAL_DATA: break;
      case REC_GLOBAL_QUOTA_DATA: {
        const n = u16(b) + u16(b + 2);
        const names = fromLatin1(data, b + 4 + 4 * n, b + len).split('\0');
        for (let i = 0; i < n; i++) {
          const q = names[i]!;
          if (isQuotaName(q)) core.quotas[q] = u32(b + 4 + 4 * i);
          else if (q === 'soft-memory') core.softQuotas.memory = u32(b + 4 + 4 * i);
        }
        break;
      }
      case REC_CONNECTION_DATA: {
        const id = u32(b);
        const kind = u16(b + 4);
        const inLen = u16(b + 16);
        const outLen = u32(b + 20);
        let c: Connection | undefined;
        if (kind === CONN_SOCKET) {
          c = host.socket(id, i32(b + 8));
          if (c) c.readOnly = (u32(b + 12) & 1) !== 0;
        }
        else {
          const domid = u16(b + 8);
          const tdomid = u16(b + 10);
          c = host.ring?.(id, domid, u32(b + 12));
          if (c && tdomid !== DOMID_INVALID) c.target = tdomid;
        }
        if (!c) { missing.add(id); break; }
        c.id = id;
        core.attach(c);
        byId.set(id, c);
        if (outLen) pendingOut.set(c, copyOf(data, b + 24 + inLen, b + 24 + inLen + outLen));
        if (inLen) c.reader.push(copyOf(data, b + 24, b + 24 + inLen));
        break;
      }
      case REC_WATCH_DATA: {
        const c = byId.get(u32(b));
        if (!c) break;
        const wl = u16(b + 4);
        const tl = u16(b + 6);
        const raw = fromLatin1(data, b + 8, b + 8 + wl - 1);
        const token = fromLatin1(data, b + 8 + wl, b + 8 + wl + tl - 1);
        const abs = raw.charCodeAt(0) === 47 || raw.charCodeAt(0) === 64;
        const relPrefix = abs ? '' : `/local/domain/${c.domid}/`;
        core.watches.add({ owner: c, path: abs ? raw : relPrefix + raw, token, relPrefix });
        c.nWatches++;
        break;
      }
      case REC_TRANSACTION_DATA: {
        const c = byId.get(u32(b));
        const id = u32(b + 4);
        if (c) c.txs.set(id, new Transaction(store, id));
        if (id >= core.nextTxId) core.nextTxId = id + 1;
        break;
      }
      case REC_DOMAIN_DATA: {
        const domid = u16(b);
        if (!core.domains.has(domid)) core.domains.set(domid, new Domain(domid, 0n, 0));
        break;
      }
      case REC_NODE_DATA: {
        const connId = u32(b);
        const txId = u32(b + 4);
        const pl = u16(b + 8);
        const vl = u16(b + 10);
        const access = u16(b + 12);
        const pc = u16(b + 14);
        const ps = readPerms(b + 16, pc);
        const po = b + 16 + 4 * pc;
        const path = fromLatin1(data, po, po + pl - 1);
        const value = copyOf(data, po + pl, po + pl + vl);
        if (connId === 0) {
          if (path.charCodeAt(0) === 64) core.special.set(path, ps);
          else store.restoreNode(path, value, ps);
        } else {
          const tx = byId.get(connId)?.txs.get(txId);
          if (tx) tx.restoreNode(path, access, value, ps);
        }
        break;
      }
      default:
        break; // unknown records are skipped
    }
    off = b + len + ((8 - (len % 8)) % 8);
  }
  if (!store.get('/')) throw new RestoreError('no root node');
  for (const sp of ['@introduceDomain', '@releaseDomain']) if (!core.special.has(sp)) core.special.set(sp, [{ id: 0, p: 0 }]);
  // Ring connections' domains are introduced.
  for (const c of byId.values()) {
    if (c.kind === CONN_RING && !core.domains.has(c.domid)) {
      const d = new Domain(c.domid, 0n, (c.spec().evtchn ?? 0));
      d.target = c.target;
      core.domains.set(c.domid, d);
    }
  }
  return pendingOut;
}
