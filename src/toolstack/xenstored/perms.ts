// SPDX-License-Identifier: GPL-2.0-only
// Node permissions: the "n0 r5 b7" lists of SET_PERMS/GET_PERMS and the access rule.
// Spec: xen-4.7 docs/misc/xenstore.txt "Permissions" (xen-digest §1.6): entry 0 names the owner
// and the default for unlisted domains; the owner, dom0 and privileged connections get full
// access; a SET_TARGET domain acts as its target. [HEAD] DOMID_ANY and stale flags are left out.
import { fail } from './wire.ts';

export const PERM_NONE = 0;
export const PERM_READ = 1;
export const PERM_WRITE = 2;
export const PERM_BOTH = 3;
export const PERM_OWNER = 4;

export interface Perm { readonly id: number; readonly p: number }
export type Perms = readonly Perm[];

const CHAR_OF = ['n', 'r', 'w', 'b'];
export const DOMID_MAX = 0xffff;

export function permChar(p: number): string { return CHAR_OF[p & 3]!; }

/** Parses one "<c><domid>" string; throws EINVAL. */
export function parsePerm(s: string): Perm {
  if (s.length < 2) fail('EINVAL');
  const p = CHAR_OF.indexOf(s[0]!);
  if (p < 0) fail('EINVAL');
  let id = 0;
  for (let i = 1; i < s.length; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) fail('EINVAL');
    id = id * 10 + c;
    if (id > DOMID_MAX) fail('EINVAL');
  }
  return { id, p };
}

export function formatPerms(perms: Perms): string {
  let s = '';
  for (const e of perms) s += permChar(e.p) + e.id + '\0';
  return s;
}

/** Who is asking: a connection's identity for permission purposes. */
export interface Principal {
  readonly domid: number;
  /** SET_TARGET's target domid, or -1. */
  readonly target: number;
  readonly privileged: boolean;
  /** Read-only socket connection: WRITE is masked off every result (R47 perm_for_conn, !can_write). */
  readonly readOnly?: boolean;
}

/** perm_for_conn: the access bits (READ|WRITE|OWNER) a principal has on a node. */
export function permFor(who: Principal, perms: Perms): number {
  return who.readOnly ? permOf(who, perms) & ~PERM_WRITE : permOf(who, perms);
}

function permOf(who: Principal, perms: Perms): number {
  if (who.privileged) return PERM_BOTH | PERM_OWNER;
  const owner = perms[0]!.id;
  if (owner === who.domid || (who.target >= 0 && owner === who.target)) return PERM_BOTH | PERM_OWNER;
  for (let i = 1; i < perms.length; i++) {
    const e = perms[i]!;
    if (e.id === who.domid || (who.target >= 0 && e.id === who.target)) return e.p;
  }
  return perms[0]!.p;
}

export const ROOT_PERMS: Perms = Object.freeze([{ id: 0, p: PERM_NONE }]);

/** Perms a new node inherits: the parent's, with an unprivileged creator as the owner. */
export function inheritPerms(parent: Perms, creator: Principal): Perms {
  if (creator.privileged || parent[0]!.id === creator.domid) return parent;
  const out: Perm[] = [{ id: creator.domid, p: parent[0]!.p }];
  for (let i = 1; i < parent.length; i++) out.push(parent[i]!);
  return out;
}
