// SPDX-License-Identifier: GPL-2.0-only
// Domain requests: INTRODUCE, RELEASE, GET_DOMAIN_PATH, IS_DOMAIN_INTRODUCED, RESUME and
// SET_TARGET, with the @introduceDomain/@releaseDomain events. Spec: xen-digest §1.3 and §1.7.
// Without a hypervisor (socket-only) an introduced domain has no ring connection; the host
// supplies one through XenstoredHost.connectRing once domains exist. RESTRICT (20) is ENOSYS,
// as in cxenstored.
import type { Connection } from './connection.ts';
import type { Xenstored } from './core.ts';
import { DOMID_FIRST_RESERVED, Domain } from './domain.ts';
import { childPath, domainPath } from './paths.ts';
import type { Perm, Perms } from './perms.ts';
import {
  XS_GET_DOMAIN_PATH, XS_INTRODUCE, XS_IS_DOMAIN_INTRODUCED, XS_RELEASE, XS_RESUME, XS_SET_TARGET,
  fail, latin1, oneArg, splitStrings,
} from './wire.ts';

const OK = latin1('OK', true);

export function parseDomid(s: string): number {
  if (!/^\d{1,5}$/.test(s)) fail('EINVAL');
  const d = Number(s);
  if (d > 0xffff) fail('EINVAL');
  return d;
}

/** C's atoi() as cxenstored uses it for domids: leading digits, anything else is 0. */
export function atoiDomid(s: string): number {
  const m = /^\s*([+-]?)(\d*)/.exec(s)!;
  const v = m[2] ? Number(m[2].slice(0, 10)) : 0;
  return (m[1] === '-' ? -v : v) >>> 0;
}

function args(p: Uint8Array, n: number): string[] {
  const { strs } = splitStrings(p);
  if (strs.length < n) fail('EINVAL');
  return strs;
}

/** dom0-only requests; not from the read-only socket (R47 allowed them there: see the design doc). */
function privileged(conn: Connection): void {
  if (!conn.privileged || conn.readOnly) fail('EACCES');
}

/** The ring connection of a domain, if any. */
export function domainConn(core: Xenstored, domid: number): Connection | undefined {
  for (const c of core.conns.values()) if (!core.isSocket(c) && c.domid === domid) return c;
  return undefined;
}

/** Fire @releaseDomain once for a domain that shut down or died (the host calls this). */
export function domainShutdown(core: Xenstored, domid: number): void {
  const d = core.domains.get(domid);
  if (!d || d.shutdown) return;
  d.shutdown = true;
  core.watches.fire('@releaseDomain', core.special.get('@releaseDomain')!, false);
}

/**
 * A domain released (RELEASE) or destroyed (the host reports it dying): its connection goes
 * with its watches (first, so it gets no events for its own nodes) and transactions, then
 * what it leaves in the store (HEAD domain.c destroy_domain -> domain_tree_remove): every
 * node it owns is deleted with everything below it, firing watches as RM does (-K keeps them,
 * given to dom0), and it is struck from every other node's permission list, the
 * @introduceDomain/@releaseDomain nodes' included. Then @releaseDomain fires.
 * (R47 only freed the connection; libxl removes /local/domain/<domid> itself, which the
 * toolstack still does: the home directory is dom0's.)
 */
export function destroyDomain(core: Xenstored, domid: number): void {
  core.domains.delete(domid);
  const c = domainConn(core, domid);
  if (c) core.drop(c, '');
  const store = core.store;
  const doomed: string[] = [];
  const rewrite: [string, Perms][] = [];
  const visit = (path: string): void => {
    const n = store.get(path)!;
    if (n.perms[0]!.id === domid && path !== '/' && !core.keepOrphans) { doomed.push(path); return; }
    const p = strikeDomain(n.perms, domid);
    if (p) rewrite.push([path, p]);
    for (const k of n.children) visit(childPath(path, k));
  };
  visit('/');
  for (const [path, p] of rewrite) store.setPerms(path, p);
  for (const path of doomed) {
    const perms = store.get(path)!.perms;
    store.remove(path);
    core.watches.fire(path, perms, true);
  }
  for (const [name, perms] of core.special) { const p = strikeDomain(perms, domid); if (p) core.special.set(name, p); }
  core.changes++;
  core.watches.fire('@releaseDomain', core.special.get('@releaseDomain')!, false);
}

/** `perms` without `domid` (as owner it becomes dom0), or undefined if it is not there. */
function strikeDomain(perms: Perms, domid: number): Perms | undefined {
  if (!perms.some((e) => e.id === domid)) return undefined;
  const out: Perm[] = [perms[0]!.id === domid ? { id: 0, p: perms[0]!.p } : perms[0]!];
  for (let i = 1; i < perms.length; i++) if (perms[i]!.id !== domid) out.push(perms[i]!);
  return out;
}

export function domainOp(core: Xenstored, conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): boolean {
  switch (type) {
    case XS_INTRODUCE: {
      privileged(conn);
      const [ds, gs, es] = args(p, 3) as [string, string, string];
      const domid = parseDomid(ds);
      if (domid >= DOMID_FIRST_RESERVED || !/^-?\d+$/.test(gs) || !/^\d+$/.test(es)) fail('EINVAL');
      const gfn = BigInt(gs);
      const evtchn = Number(es);
      const old = core.domains.get(domid);
      if (old) {
        // Re-introduction with the same page re-binds the event channel (resume after kexec).
        if (old.gfn !== gfn) fail('EINVAL');
        old.evtchn = evtchn;
        const c = domainConn(core, domid);
        if (c) core.drop(c, '');
        if (core.host.connectRing) {
          const nc = core.host.connectRing(core, domid, gfn, evtchn) ?? fail('EINVAL');
          nc.target = old.target;
          core.attach(nc);
        }
        core.reply(conn, type, reqId, txId, OK);
        return true;
      }
      const d = new Domain(domid, gfn, evtchn);
      if (core.host.connectRing) {
        const c = core.host.connectRing(core, domid, gfn, evtchn) ?? fail('EINVAL');
        core.attach(c);
      }
      core.domains.set(domid, d);
      core.watches.fire('@introduceDomain', core.special.get('@introduceDomain')!, false);
      core.reply(conn, type, reqId, txId, OK);
      return true;
    }
    case XS_RELEASE: {
      privileged(conn);
      const domid = parseDomid(args(p, 1)[0]!);
      if (domid === 0) fail('EINVAL');
      if (!core.domains.has(domid)) fail('ENOENT');
      destroyDomain(core, domid);
      core.reply(conn, type, reqId, txId, OK);
      return true;
    }
    case XS_GET_DOMAIN_PATH: {
      const domid = atoiDomid(oneArg(p));
      core.reply(conn, type, reqId, txId, latin1(domainPath(domid), true));
      return true;
    }
    case XS_IS_DOMAIN_INTRODUCED: {
      const domid = atoiDomid(oneArg(p));
      core.reply(conn, type, reqId, txId, latin1(domid === 0 || core.domains.has(domid) ? 'T' : 'F', true));
      return true;
    }
    case XS_RESUME: {
      privileged(conn);
      const d = core.domains.get(parseDomid(args(p, 1)[0]!)) ?? fail('ENOENT');
      d.shutdown = false;
      core.reply(conn, type, reqId, txId, OK);
      return true;
    }
    case XS_SET_TARGET: {
      privileged(conn);
      const [ds, ts] = args(p, 2) as [string, string];
      const d = core.domains.get(parseDomid(ds)) ?? fail('ENOENT');
      d.target = parseDomid(ts);
      const c = domainConn(core, d.domid);
      if (c) c.target = d.target;
      core.reply(conn, type, reqId, txId, OK);
      return true;
    }
    default:
      return false;
  }
}
