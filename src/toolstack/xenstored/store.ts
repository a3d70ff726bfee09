// SPDX-License-Identifier: GPL-2.0-only
// The committed node tree: path -> node (value, perms, ordered children) plus the per-owner
// node counts the quotas use. Every change bumps a global generation; each node keeps three:
// vgen (value), pgen (perms and existence) and cgen (children list), which transactions
// compare at commit (see transaction.ts). Spec: xen-digest §1.5 "Paths and values".
import { childPath, leafOf, parentOf } from './paths.ts';
import { ROOT_PERMS, type Perms } from './perms.ts';

export const EMPTY = new Uint8Array(0);

export class XsNode {
  constructor(
    public value: Uint8Array,
    public perms: Perms,
    public children: string[],
    public vgen: number,
    public pgen: number,
    public cgen: number,
  ) {}
}

/** Read-only view of a node as seen by one connection (committed, or through a transaction). */
export interface NodeView {
  readonly value: Uint8Array;
  readonly perms: Perms;
  readonly children: readonly string[];
}

/** Which parts of a node a lookup depends on (recorded by transactions; ignored by the store). */
export const REC_V = 1;
export const REC_P = 2;
export const REC_C = 4;

/** The operations requests run against: the store itself, or a transaction over it. */
export interface Tree {
  get(path: string, rec: number): NodeView | undefined;
  /** Create `path` (its parent exists in this view). */
  create(path: string, value: Uint8Array, perms: Perms): void;
  setValue(path: string, value: Uint8Array): void;
  setPerms(path: string, perms: Perms): void;
  /** Delete `path` and everything below it. */
  remove(path: string): void;
  /** Nodes `owner` owns as this view sees them (for the nodes quota). */
  ownedBy(owner: number): number;
}

/**
 * The memory a node costs its owner (4.17 xenstored_core.c: the tdb record plus its key):
 * 12-byte header, 8 per permission, the value, each child name plus NUL, and the path.
 */
export function nodeMemory(path: string, n: NodeView): number {
  let c = 0;
  for (const k of n.children) c += k.length + 1;
  return 12 + 8 * n.perms.length + n.value.length + c + path.length;
}

export class Store implements Tree {
  readonly nodes = new Map<string, XsNode>();
  private readonly owned = new Map<number, number>();
  /** Bytes of node memory per owner domid (the memory quota), kept up to date by every change. */
  readonly memory = new Float64Array(0x10000);
  generation = 1;

  constructor(empty = false) {
    if (empty) return;
    this.nodes.set('/', new XsNode(EMPTY, ROOT_PERMS, [], 0, 0, 0));
    this.memory[0] += 12 + 8 + 1;
    this.count(0, 1);
    this.create('/tool', EMPTY, ROOT_PERMS);
    this.create('/tool/xenstored', EMPTY, ROOT_PERMS);
  }

  private count(owner: number, d: number): void {
    this.owned.set(owner, (this.owned.get(owner) ?? 0) + d);
  }
  ownedBy(owner: number): number { return this.owned.get(owner) ?? 0; }

  get(path: string, _rec = 0): XsNode | undefined { return this.nodes.get(path); }

  create(path: string, value: Uint8Array, perms: Perms): void {
    const parent = this.nodes.get(parentOf(path))!;
    const g = ++this.generation;
    const leaf = leafOf(path);
    parent.children.push(leaf);
    parent.cgen = g;
    this.memory[parent.perms[0]!.id] += leaf.length + 1;
    this.nodes.set(path, new XsNode(value, perms, [], g, g, g));
    this.memory[perms[0]!.id] += 12 + 8 * perms.length + value.length + path.length;
    this.count(perms[0]!.id, 1);
  }

  setValue(path: string, value: Uint8Array): void {
    this.setNodeValue(this.nodes.get(path)!, value);
  }

  /** setValue() of a node already looked up in this store. */
  setNodeValue(n: XsNode, value: Uint8Array): void {
    this.memory[n.perms[0]!.id] += value.length - n.value.length;
    n.value = value;
    n.vgen = ++this.generation;
  }

  setPerms(path: string, perms: Perms): void {
    const n = this.nodes.get(path)!;
    if (n.perms[0]!.id !== perms[0]!.id) { this.count(n.perms[0]!.id, -1); this.count(perms[0]!.id, 1); }
    this.memory[n.perms[0]!.id] -= nodeMemory(path, n);
    n.perms = perms;
    this.memory[perms[0]!.id] += nodeMemory(path, n);
    n.pgen = ++this.generation;
  }

  remove(path: string): void {
    const n = this.nodes.get(path);
    if (!n || path === '/') return;
    const parent = this.nodes.get(parentOf(path))!;
    const leaf = leafOf(path);
    const i = parent.children.indexOf(leaf);
    if (i >= 0) { parent.children.splice(i, 1); this.memory[parent.perms[0]!.id] -= leaf.length + 1; }
    parent.cgen = ++this.generation;
    this.drop(path, n);
  }

  private drop(path: string, n: XsNode): void {
    for (const c of n.children) {
      const cp = childPath(path, c);
      const cn = this.nodes.get(cp);
      if (cn) this.drop(cp, cn);
    }
    this.nodes.delete(path);
    this.memory[n.perms[0]!.id] -= nodeMemory(path, n);
    this.count(n.perms[0]!.id, -1);
  }

  /** Restore-time insertion (parents first): keeps the given children order by appending. */
  restoreNode(path: string, value: Uint8Array, perms: Perms): void {
    const g = ++this.generation;
    const old = this.nodes.get(path);
    if (old) {
      if (old.perms[0]!.id !== perms[0]!.id) { this.count(old.perms[0]!.id, -1); this.count(perms[0]!.id, 1); }
      this.memory[old.perms[0]!.id] -= nodeMemory(path, old);
      old.value = value; old.perms = perms; old.vgen = old.pgen = g;
      this.memory[perms[0]!.id] += nodeMemory(path, old);
      return;
    }
    if (path !== '/') {
      const parent = this.nodes.get(parentOf(path));
      if (!parent) throw new Error(`restore: ${path} comes before its parent`);
      const leaf = leafOf(path);
      parent.children.push(leaf);
      parent.cgen = g;
      this.memory[parent.perms[0]!.id] += leaf.length + 1;
    }
    this.nodes.set(path, new XsNode(value, perms, [], g, g, g));
    this.memory[perms[0]!.id] += 12 + 8 * perms.length + value.length + path.length;
    this.count(perms[0]!.id, 1);
  }

  /** Depth-first walk in children order (the dump and `xenstore-ls` order). */
  *walk(path = '/'): Generator<[string, XsNode]> {
    const n = this.nodes.get(path);
    if (!n) return;
    yield [path, n];
    for (const c of n.children) yield* this.walk(childPath(path, c));
  }

  /** The CONTROL `check` consistency check: returns the problems found (none = consistent). */
  check(): string[] {
    const bad: string[] = [];
    const counts = new Map<number, number>();
    for (const [p, n] of this.nodes) {
      counts.set(n.perms[0]!.id, (counts.get(n.perms[0]!.id) ?? 0) + 1);
      if (p !== '/') {
        const parent = this.nodes.get(parentOf(p));
        if (!parent) bad.push(`${p}: no parent`);
        else if (!parent.children.includes(leafOf(p))) bad.push(`${p}: not listed by its parent`);
      }
      for (const c of n.children) if (!this.nodes.has(childPath(p, c))) bad.push(`${p}: lists missing child ${c}`);
      if (n.perms.length === 0) bad.push(`${p}: no permissions`);
    }
    for (const [d, c] of counts) if (this.ownedBy(d) !== c) bad.push(`domain ${d}: counted ${this.ownedBy(d)} nodes, owns ${c}`);
    const mem = new Map<number, number>();
    for (const [p, n] of this.nodes) mem.set(n.perms[0]!.id, (mem.get(n.perms[0]!.id) ?? 0) + nodeMemory(p, n));
    for (const [d, m] of mem) if (this.memory[d] !== m) bad.push(`domain ${d}: counted ${this.memory[d]} bytes of nodes, uses ${m}`);
    return bad;
  }
}
