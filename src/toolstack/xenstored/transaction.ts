// SPDX-License-Identifier: GPL-2.0-only
// Transactions: a private overlay over the committed store plus a record of every generation
// the transaction's result depends on. Commit fails with EAGAIN only on a real conflict.
//
// The rule (HEAD cxenstored's idea, finer grained): each node carries vgen (value), pgen
// (perms/existence) and cgen (children). A transaction records the generation of each part
// it *used* the first time it used it: READ records vgen+pgen, GET_PERMS and every permission
// check pgen, DIRECTORY cgen+pgen, a lookup of a missing node "absent" (-1). At commit all
// records are compared with the store; any difference -> EAGAIN, otherwise the overlay's
// writes are applied in one step (deletions first, then creations/updates, parents first).
// Worked example: T reads /a (vgen 7) and writes /b; another client writes /c (gen 9):
// /a still has vgen 7 -> commit succeeds. Another client writes /a (vgen 10) -> EAGAIN.
// Two blind writes to one node do not conflict (last commit wins), nor does adding a sibling.
// R47 cxenstored instead fails a commit if *any* write happened anywhere since START.
import { childPath, leafOf, parentOf } from './paths.ts';
import type { Perms } from './perms.ts';
import { EMPTY, REC_C, REC_V, type NodeView, type Store, type Tree } from './store.ts';

const W_VALUE = 1;
const W_PERMS = 2;

interface TxEntry {
  deleted: boolean;
  /** W_VALUE/W_PERMS: parts the transaction set itself. */
  wrote: number;
  /** Created by the transaction: nothing of the store's subtree below it is visible. */
  fresh: boolean;
  value: Uint8Array;
  perms: Perms;
  /** Children as the transaction sees them, once it changed them (else the store's). */
  children: string[] | null;
  /** The store's cgen when `children` was copied (-1: none). */
  baseCgen: number;
}

/** One change applied at commit, for firing watches. */
export interface Change { path: string; perms: Perms; recursive: boolean }

const ABSENT = -1;

/** NODE_DATA access bits: read, written, and (tsxen extension, ignored by other readers) the
 * children list was read, so restore re-records exactly the dependencies the transaction had. */
export const ACCESS_READ = 1;
export const ACCESS_WRITTEN = 2;
export const ACCESS_CHILDREN = 4;

function depth(p: string): number {
  let d = 0;
  for (let i = 0; i < p.length; i++) if (p.charCodeAt(i) === 47) d++;
  return p === '/' ? 0 : d;
}

export class Transaction implements Tree {
  readonly entries = new Map<string, TxEntry>();
  readonly readV = new Map<string, number>();
  readonly readP = new Map<string, number>();
  readonly readC = new Map<string, number>();
  private readonly ownedDelta = new Map<number, number>();

  constructor(private readonly store: Store, readonly id: number) {}

  /** Accessed nodes (the transaction-nodes quota). */
  get size(): number { return this.entries.size + this.readP.size; }

  private note(m: Map<string, number>, path: string, g: number): void {
    if (!m.has(path)) m.set(path, g);
  }

  private hiddenByAncestor(path: string): boolean {
    for (let a = path; a !== '/';) {
      a = parentOf(a);
      const e = this.entries.get(a);
      if (e && (e.deleted || e.fresh)) return true;
    }
    return false;
  }

  get(path: string, rec: number): NodeView | undefined {
    const e = this.entries.get(path);
    const n = this.store.get(path);
    if (e) {
      if (e.deleted) return undefined;
      if (e.fresh) return { value: e.value, perms: e.perms, children: e.children ?? [] };
      // Parts the transaction did not set come from the store and are recorded.
      if (!(e.wrote & W_VALUE) && rec & REC_V) this.note(this.readV, path, n ? n.vgen : ABSENT);
      if (!(e.wrote & W_PERMS)) this.note(this.readP, path, n ? n.pgen : ABSENT);
      if (rec & REC_C) this.note(this.readC, path, e.children ? e.baseCgen : n ? n.cgen : ABSENT);
      if (!n) return undefined;
      return {
        value: e.wrote & W_VALUE ? e.value : n.value,
        perms: e.wrote & W_PERMS ? e.perms : n.perms,
        children: e.children ?? n.children,
      };
    }
    if (this.hiddenByAncestor(path)) return undefined;
    this.note(this.readP, path, n ? n.pgen : ABSENT);
    if (n) {
      if (rec & REC_V) this.note(this.readV, path, n.vgen);
      if (rec & REC_C) this.note(this.readC, path, n.cgen);
    }
    return n;
  }

  private own(owner: number, d: number): void {
    this.ownedDelta.set(owner, (this.ownedDelta.get(owner) ?? 0) + d);
  }
  ownedBy(owner: number): number { return this.store.ownedBy(owner) + (this.ownedDelta.get(owner) ?? 0); }

  /** The entry for an existing node in this view, created on first change. */
  private entryFor(path: string): TxEntry {
    let e = this.entries.get(path);
    if (!e) {
      const n = this.store.get(path)!;
      e = { deleted: false, wrote: 0, fresh: false, value: n.value, perms: n.perms, children: null, baseCgen: ABSENT };
      this.entries.set(path, e);
    }
    return e;
  }

  private childrenOf(path: string): string[] {
    const e = this.entryFor(path);
    if (!e.children) {
      const n = this.store.get(path);
      e.children = n ? [...n.children] : [];
      e.baseCgen = n ? n.cgen : ABSENT;
    }
    return e.children;
  }

  create(path: string, value: Uint8Array, perms: Perms): void {
    this.childrenOf(parentOf(path)).push(leafOf(path));
    const old = this.entries.get(path);
    const e: TxEntry = { deleted: false, wrote: W_VALUE | W_PERMS, fresh: true, value, perms, children: [], baseCgen: ABSENT };
    if (old) this.entries.delete(path); // keep insertion order meaningful: re-add at the end
    this.entries.set(path, e);
    this.own(perms[0]!.id, 1);
  }

  setValue(path: string, value: Uint8Array): void {
    const e = this.entryFor(path);
    e.value = value;
    e.wrote |= W_VALUE;
  }

  setPerms(path: string, perms: Perms): void {
    const e = this.entryFor(path);
    const before = this.get(path, 0)!.perms;
    if (before[0]!.id !== perms[0]!.id) { this.own(before[0]!.id, -1); this.own(perms[0]!.id, 1); }
    e.perms = perms;
    e.wrote |= W_PERMS;
  }

  remove(path: string): void {
    const kids = this.childrenOf(parentOf(path));
    const i = kids.indexOf(leafOf(path));
    if (i >= 0) kids.splice(i, 1);
    this.markDeleted(path);
  }

  private markDeleted(path: string): void {
    const v = this.get(path, 0);
    if (!v) return;
    const kids = [...v.children];
    this.own(v.perms[0]!.id, -1);
    const e = this.entries.get(path);
    if (e) this.entries.delete(path);
    this.entries.set(path, { deleted: true, wrote: 0, fresh: false, value: EMPTY, perms: v.perms, children: null, baseCgen: ABSENT });
    for (const c of kids) this.markDeleted(childPath(path, c));
  }

  /** True if every recorded generation still matches the store. */
  valid(): boolean {
    const s = this.store;
    for (const [p, g] of this.readP) { const n = s.get(p); if ((n ? n.pgen : ABSENT) !== g) return false; }
    for (const [p, g] of this.readV) { const n = s.get(p); if ((n ? n.vgen : ABSENT) !== g) return false; }
    for (const [p, g] of this.readC) { const n = s.get(p); if ((n ? n.cgen : ABSENT) !== g) return false; }
    return true;
  }

  /** Applies the overlay to the store (call after `valid()`); returns the changes made. */
  apply(): Change[] {
    const s = this.store;
    const changes: Change[] = [];
    const dels: string[] = [];
    const writes: string[] = [];
    for (const [p, e] of this.entries) {
      if (e.deleted || e.fresh) dels.push(p);
      if (!e.deleted && e.wrote) writes.push(p);
    }
    dels.sort((a, b) => depth(a) - depth(b));
    for (const p of dels) {
      const n = s.get(p);
      if (n && p !== '/') { changes.push({ path: p, perms: n.perms, recursive: true }); s.remove(p); }
    }
    writes.sort((a, b) => depth(a) - depth(b));
    for (const p of writes) {
      const e = this.entries.get(p)!;
      if (e.fresh) s.create(p, e.value, e.perms);
      else {
        if (!s.get(p)) continue;
        if (e.wrote & W_VALUE) s.setValue(p, e.value);
        if (e.wrote & W_PERMS) s.setPerms(p, e.perms);
      }
      changes.push({ path: p, perms: s.get(p)!.perms, recursive: false });
    }
    return changes;
  }

  /**
   * The transaction as migration NODE_DATA items (xen-digest §1.12): reads (access 1) with the
   * node as read, writes (access 2) parents first, deletions (value and perms empty). A read
   * that is already stale is written so that it cannot match on restore.
   */
  dumpNodes(): { path: string; access: number; value: Uint8Array; perms: Perms }[] {
    const s = this.store;
    const out: { path: string; access: number; value: Uint8Array; perms: Perms }[] = [];
    const readPaths = new Set([...this.readP.keys(), ...this.readV.keys(), ...this.readC.keys()]);
    for (const p of readPaths) {
      const n = s.get(p);
      const ok = (n ? n.pgen : ABSENT) === (this.readP.get(p) ?? (n ? n.pgen : ABSENT)) &&
        (n ? n.vgen : ABSENT) === (this.readV.get(p) ?? (n ? n.vgen : ABSENT)) &&
        (n ? n.cgen : ABSENT) === (this.readC.get(p) ?? (n ? n.cgen : ABSENT));
      const access = ACCESS_READ | (this.readC.has(p) ? ACCESS_CHILDREN : 0);
      if (ok) out.push({ path: p, access, value: n ? n.value : EMPTY, perms: n ? n.perms : [] });
      else if (n) { const v = new Uint8Array(n.value.length + 1); v.set(n.value); out.push({ path: p, access, value: v, perms: n.perms }); }
      else out.push({ path: p, access, value: EMPTY, perms: [{ id: 0, p: 0 }] });
    }
    const dels: string[] = [];
    const writes: string[] = [];
    for (const [p, e] of this.entries) {
      if ((e.deleted || e.fresh) && s.get(p)) {
        if (!this.entries.get(parentOf(p))?.deleted || p === '/') dels.push(p);
      }
      if (!e.deleted && e.wrote) writes.push(p);
    }
    dels.sort((a, b) => depth(a) - depth(b));
    for (const p of dels) out.push({ path: p, access: 0, value: EMPTY, perms: [] });
    writes.sort((a, b) => depth(a) - depth(b));
    for (const p of writes) {
      const e = this.entries.get(p)!;
      const v = this.get(p, 0)!;
      out.push({ path: p, access: 2, value: v.value, perms: v.perms });
      void e;
    }
    return out;
  }

  /** Restores one NODE_DATA item of a pending transaction (in dump order). */
  restoreNode(path: string, access: number, value: Uint8Array, perms: Perms): void {
    const s = this.store;
    if (access & 2) {
      if (this.get(path, 0)) {
        this.setValue(path, value);
        this.setPerms(path, perms);
      } else this.create(path, value, perms);
      return;
    }
    if (access & 1) {
      const n = s.get(path);
      let same: boolean;
      if (!n) same = perms.length === 0;
      else {
        same = perms.length === n.perms.length && value.length === n.value.length &&
          perms.every((q, i) => q.id === n.perms[i]!.id && q.p === n.perms[i]!.p) &&
          value.every((b, i) => b === n.value[i]);
      }
      const g = same ? (n ? undefined : ABSENT) : -2;
      this.note(this.readP, path, g ?? n!.pgen);
      if (n) {
        this.note(this.readV, path, same ? n.vgen : -2);
        if (access & ACCESS_CHILDREN) this.note(this.readC, path, same ? n.cgen : -2);
      }
      return;
    }
    // Deleted in the transaction.
    if (this.get(path, 0)) this.remove(path);
  }
}
