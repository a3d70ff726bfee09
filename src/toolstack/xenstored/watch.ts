// SPDX-License-Identifier: GPL-2.0-only
// Watches: registration per connection and event delivery. A change to P fires every watch on
// P or an ancestor of P (event path P); a recursive delete of P also fires every watch below P
// (event path = the watch's own path). Relative watches get relative event paths. Events go
// only to connections that may read the changed node. Spec: xen-digest §1.7 "Watches".
import { isAtOrBelow, parentOf } from './paths.ts';
import type { Perms } from './perms.ts';

export interface WatchOwner {
  /** Unique connection id (the migration record's conn-id). */
  readonly id: number;
  readonly domid: number;
  canRead(perms: Perms): boolean;
  sendEvent(path: string, token: string): void;
}

export interface Watch {
  readonly owner: WatchOwner;
  /** Absolute (or "@special") path. */
  readonly path: string;
  readonly token: string;
  /** Prefix stripped from event paths for a relative registration ("" for absolute). */
  readonly relPrefix: string;
  /** Registration order (set by add). */
  seq: number;
}

export class WatchTable {
  private readonly byPath = new Map<string, Watch[]>();
  private nWatches = 0;

  get count(): number { return this.nWatches; }

  find(owner: WatchOwner, path: string, token: string): Watch | undefined {
    return this.byPath.get(path)?.find((w) => w.owner === owner && w.token === token);
  }

  private nextSeq = 0;

  add(w: Omit<Watch, 'seq'> & { seq?: number }): void {
    (w as Watch).seq = this.nextSeq++;
    const l = this.byPath.get(w.path);
    if (l) l.push(w as Watch); else this.byPath.set(w.path, [w as Watch]);
    this.nWatches++;
  }

  remove(w: Watch): void {
    const l = this.byPath.get(w.path);
    if (!l) return;
    const i = l.indexOf(w);
    if (i < 0) return;
    l.splice(i, 1);
    if (l.length === 0) this.byPath.delete(w.path);
    this.nWatches--;
  }

  removeOwner(owner: WatchOwner): void {
    for (const [p, l] of this.byPath) {
      const keep = l.filter((w) => w.owner !== owner);
      this.nWatches -= l.length - keep.length;
      if (keep.length === 0) this.byPath.delete(p); else if (keep.length !== l.length) this.byPath.set(p, keep);
    }
  }

  ofOwner(owner: WatchOwner): Watch[] {
    const out: Watch[] = [];
    for (const l of this.byPath.values()) for (const w of l) if (w.owner === owner) out.push(w);
    return out;
  }

  static eventPath(w: Watch, path: string): string {
    return w.relPrefix && path.startsWith(w.relPrefix) ? path.slice(w.relPrefix.length) : path;
  }

  /**
   * Fire for a change of `path` (with the node's perms, or null for "@" special events).
   * Order as cxenstored: for a recursive delete the watches below go first (they fire as the
   * nodes go), then those on the path and its ancestors; within each, registration order.
   */
  fire(path: string, perms: Perms | null, recursive: boolean): void {
    if (this.nWatches === 0) return;
    const hits: Watch[] = [];
    if (path.charCodeAt(0) === 64) {
      const l = this.byPath.get(path);
      if (l) hits.push(...l);
    } else {
      for (let a = path; ; a = parentOf(a)) {
        const l = this.byPath.get(a);
        if (l) hits.push(...l);
        if (a === '/') break;
      }
    }
    if (recursive) {
      const below: Watch[] = [];
      for (const [p, l] of this.byPath) if (p !== path && p.charCodeAt(0) === 47 && isAtOrBelow(p, path)) below.push(...l);
      if (below.length > 1) below.sort((x, y) => x.seq - y.seq);
      for (const w of below) if (!perms || w.owner.canRead(perms)) w.owner.sendEvent(WatchTable.eventPath(w, w.path), w.token);
    }
    if (hits.length > 1) hits.sort((x, y) => x.seq - y.seq);
    for (const w of hits) if (!perms || w.owner.canRead(perms)) w.owner.sendEvent(WatchTable.eventPath(w, path), w.token);
  }
}
