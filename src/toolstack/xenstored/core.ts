// SPDX-License-Identifier: GPL-2.0-only
// The xenstore daemon's core: request dispatch and the node operations (READ, WRITE, MKDIR, RM,
// DIRECTORY, DIRECTORY_PART, GET/SET_PERMS), watches and transactions. Domain operations are
// in domain-ops.ts, CONTROL in control.ts, the migration record in lu.ts.
// Spec: xen-digest §1.1-1.9; errors and reply payloads follow cxenstored (R47, HEAD for
// DIRECTORY_PART, EPERM and errno-from-parents). Pure TypeScript: transports are plugged in.
import { CONN_SOCKET, type Connection, type ConnectionSink } from './connection.ts';
import { runControl } from './control.ts';
import { atoiDomid, domainOp } from './domain-ops.ts';
import { DEFAULT_QUOTAS, DEFAULT_SOFT_QUOTAS, Domain, over, type Quotas, type SoftQuotas } from './domain.ts';
import { canonicalize, canonicalizeBytes, domainPath, parentOf } from './paths.ts';
import {
  PERM_OWNER, PERM_READ, PERM_WRITE, ROOT_PERMS, formatPerms, inheritPerms, parsePerm, permFor,
  type Perm, type Perms,
} from './perms.ts';
import { EMPTY, REC_C, REC_P, REC_V, Store, type NodeView, type Tree, type XsNode } from './store.ts';
import { Transaction } from './transaction.ts';
import { WatchTable } from './watch.ts';
import {
  HEADER_SIZE, XENSTORE_PAYLOAD_MAX, XENSTORE_REL_PATH_MAX, XS_CONTROL, XS_DIRECTORY, XS_DIRECTORY_PART, XS_ERROR,
  XS_GET_PERMS, XS_MKDIR, XS_READ, XS_RESET_WATCHES, XS_RM, XS_SET_PERMS, XS_TRANSACTION_END,
  XS_TRANSACTION_START, XS_TYPE_NAMES, XS_UNWATCH, XS_WATCH, XS_WRITE, XsErr, fail, fromLatin1,
  copyOf, latin1, nulIndex, oneArg, oneArgLength, splitStrings, wr32, type XsError,
} from './wire.ts';

/** What the process around the core provides (host layer). */
export interface XenstoredHost {
  log(line: string): void;
  /** Start a live update (CONTROL live-update -s); resolves with an error text or undefined. */
  liveUpdate?(core: Xenstored, conn: Connection, reqId: number, txId: number, opts: LiveUpdateOptions): Promise<string | undefined>;
  /** Map a domain's ring page and bind its event channel (INTRODUCE); undefined = no ring. */
  connectRing?(core: Xenstored, domid: number, gfn: bigint, evtchn: number): Connection | undefined;
  /** Make dom0's socket `conn` carry domain `domid`'s ring bytes (relay.ts); false if it cannot. */
  ringRelay?(conn: Connection, domid: number, evtchn: number): boolean;
}

export interface LiveUpdateOptions { binary?: string; cmdline?: string; force: boolean; timeout: number }

const OK = latin1('OK', true);

const READ_ONLY: Record<number, boolean> = {
  [XS_READ]: true, [XS_DIRECTORY]: true, [XS_DIRECTORY_PART]: true, [XS_GET_PERMS]: true, 10: true, 17: true,
};

/** The node-size quota: a record of `limit` bytes or more is refused (R47 `>=`); 0 = unlimited. */
function tooBig(limit: number, size: number): boolean {
  return limit !== 0 && size >= limit;
}

/** The NODE_DATA record-size rule of the node-size quota (R47: 12-byte header + perms + data). */
function nodeSize(value: Uint8Array, perms: Perms, children: readonly string[]): number {
  let c = 0;
  for (const k of children) c += k.length + 1;
  return 12 + 8 * perms.length + value.length + c;
}

export class Xenstored implements ConnectionSink {
  store = new Store();
  readonly watches = new WatchTable();
  readonly conns = new Map<number, Connection>();
  readonly domains = new Map<number, Domain>();
  readonly special = new Map<string, Perms>([['@introduceDomain', ROOT_PERMS], ['@releaseDomain', ROOT_PERMS]]);
  quotas: Quotas = { ...DEFAULT_QUOTAS };
  softQuotas: SoftQuotas = { ...DEFAULT_SOFT_QUOTAS };
  /** Domains over the soft memory quota (logged once until they are below it again). */
  private readonly overSoft = new Set<number>();
  nextConnId = 1;
  nextTxId = 1;
  /** Live update in progress: no request is processed. */
  frozen = false;
  trace = false;
  /** Bumped by every request that may change state (read-only requests do not). */
  changes = 0;
  lu: LiveUpdateOptions = { force: false, timeout: 60 };
  /** -K: a released domain's nodes are given to dom0 instead of deleted (HEAD keep_orphans). */
  keepOrphans = false;
  /** A live-update session was opened with `-f` (cxenstored: -s outside one is refused). */
  luSession = false;

  constructor(readonly host: XenstoredHost) {}

  // ---- connections -------------------------------------------------------------------------

  attach(conn: Connection): void {
    conn.sink = this;
    this.conns.set(conn.id, conn);
    if (conn.id >= this.nextConnId) this.nextConnId = conn.id + 1;
  }

  newConnId(): number { return this.nextConnId++; }

  /** Forget a connection: its watches and transactions go with it. */
  drop(conn: Connection, reason: string): void {
    if (conn.closed) return;
    conn.closed = true;
    this.changes++;
    if (reason) this.host.log(`conn ${conn.id} (dom${conn.domid}): dropped: ${reason}`);
    this.watches.removeOwner(conn);
    conn.txs.clear();
    this.conns.delete(conn.id);
    conn.shutdown();
  }

  reset(conn: Connection): void {
    this.watches.removeOwner(conn);
    conn.nWatches = 0;
    conn.txs.clear();
  }

  /** Resume processing held-back input (after a live update was aborted, or a quota freed). */
  resumeAll(): void {
    for (const c of this.conns.values()) c.resume();
  }

  // ---- replies -----------------------------------------------------------------------------

  reply(conn: Connection, type: number, reqId: number, txId: number, payload: Uint8Array): void {
    if (payload.length > XENSTORE_PAYLOAD_MAX) { this.error(conn, reqId, txId, 'E2BIG'); return; }
    if (this.trace) this.host.log(`OUT conn ${conn.id} ${XS_TYPE_NAMES[type] ?? type} (${fromLatin1(payload).replace(/\0/g, ' ')})`);
    conn.transmitReply(type, reqId, txId, payload);
  }

  error(conn: Connection, reqId: number, txId: number, name: XsError): void {
    const p = latin1(name, true);
    const f = new Uint8Array(HEADER_SIZE + p.length);
    wr32(f, 0, XS_ERROR); wr32(f, 4, reqId); wr32(f, 8, txId); wr32(f, 12, p.length);
    f.set(p, HEADER_SIZE);
    if (this.trace) this.host.log(`OUT conn ${conn.id} ERROR (${name})`);
    conn.transmit(f);
  }

  // ---- dispatch ----------------------------------------------------------------------------

  process(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): boolean {
    if (this.frozen || conn.closed) return false;
    if (!conn.privileged && this.quotas.outstanding !== 0 && conn.outstanding() >= this.quotas.outstanding) return false;
    if (txId !== 0 || !READ_ONLY[type]) this.changes++;
    if (this.trace) this.host.log(`IN  conn ${conn.id} ${XS_TYPE_NAMES[type] ?? type} (${fromLatin1(p).replace(/\0/g, ' ')})`);
    try {
      this.dispatch(conn, type, reqId, txId, p);
    } catch (e) {
      if (e instanceof XsErr) this.error(conn, reqId, txId, e.name);
      else {
        this.host.log(`internal error on ${XS_TYPE_NAMES[type] ?? type}: ${e instanceof Error ? e.stack : String(e)}`);
        this.error(conn, reqId, txId, 'EIO');
      }
    }
    return true;
  }

  private tree(conn: Connection, txId: number): Tree {
    if (txId === 0) return this.store;
    return conn.txs.get(txId) ?? fail('ENOENT');
  }

  private dispatch(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    switch (type) {
      case XS_READ: {
        const t = this.tree(conn, txId);
        const n = this.getNode(conn, t, canonicalizeBytes(p, 0, oneArgLength(p), conn.domid), PERM_READ, REC_V);
        this.reply(conn, type, reqId, txId, n.value);
        return;
      }
      case XS_WRITE: return this.doWrite(conn, type, reqId, txId, p);
      case XS_MKDIR: return this.doMkdir(conn, type, reqId, txId, p);
      case XS_RM: return this.doRm(conn, type, reqId, txId, p);
      case XS_DIRECTORY: {
        const t = this.tree(conn, txId);
        const n = this.getNode(conn, t, canonicalize(oneArg(p), conn.domid), PERM_READ, REC_C);
        let len = 0;
        for (const c of n.children) len += c.length + 1;
        if (len > XENSTORE_PAYLOAD_MAX) fail('E2BIG');
        const out = new Uint8Array(len);
        let o = 0;
        for (const c of n.children) { for (let i = 0; i < c.length; i++) out[o++] = c.charCodeAt(i); out[o++] = 0; }
        this.reply(conn, type, reqId, txId, out);
        return;
      }
      case XS_DIRECTORY_PART: return this.doDirectoryPart(conn, type, reqId, txId, p);
      case XS_GET_PERMS: return this.doGetPerms(conn, type, reqId, txId, p);
      case XS_SET_PERMS: return this.doSetPerms(conn, type, reqId, txId, p);
      case XS_WATCH: return this.doWatch(conn, type, reqId, txId, p);
      case XS_UNWATCH: return this.doUnwatch(conn, type, reqId, txId, p);
      case XS_TRANSACTION_START: return this.doTransactionStart(conn, type, reqId, txId, p);
      case XS_TRANSACTION_END: return this.doTransactionEnd(conn, type, reqId, txId, p);
      case XS_RESET_WATCHES:
        this.reset(conn);
        this.reply(conn, type, reqId, txId, OK);
        return;
      case XS_CONTROL: return runControl(this, conn, reqId, txId, p);
      default:
        if (domainOp(this, conn, type, reqId, txId, p)) return;
        fail('ENOSYS');
    }
  }

  // ---- node helpers ------------------------------------------------------------------------

  /** get_node(): the node if the connection has `perm` on it; else ENOENT/EACCES (errno_from_parents). */
  getNode(conn: Connection, t: Tree, path: string, perm: number, rec: number): NodeView {
    const n = t.get(path, rec | REC_P);
    if (n) {
      if ((permFor(conn, n.perms) & perm) !== perm) fail('EACCES');
      return n;
    }
    this.missing(conn, t, path, perm);
  }

  /** A missing node: EACCES if the nearest existing ancestor denies `perm`, else ENOENT. */
  private missing(conn: Connection, t: Tree, path: string, perm: number): never {
    for (let a = parentOf(path); ; a = parentOf(a)) {
      const n = t.get(a, REC_P);
      if (n) fail((permFor(conn, n.perms) & perm) === perm ? 'ENOENT' : 'EACCES');
      if (a === '/') fail('ENOENT');
    }
  }

  /**
   * The memory quota for a change of `delta` bytes to `owner`'s nodes (unprivileged writers):
   * past the hard limit ENOMEM; crossing the soft one is logged once each way (4.17
   * domain_memory_add / domain_chk_quota).
   */
  private memoryCheck(owner: number, delta: number): void {
    const used = this.store.memory[owner]! + delta;
    if (this.quotas.memory !== 0 && used > this.quotas.memory) fail('ENOMEM');
    const soft = this.softQuotas.memory;
    if (soft !== 0 && used >= soft) {
      if (!this.overSoft.has(owner)) { this.overSoft.add(owner); this.host.log(`Domain ${owner} exceeds soft memory quota`); }
    } else if (this.overSoft.delete(owner)) this.host.log(`Domain ${owner} below soft memory quota again`);
  }

  private checkTxSize(conn: Connection, t: Tree): void {
    if (t instanceof Transaction && !conn.privileged && over(this.quotas['transaction-nodes'], t.size)) fail('ENOSPC');
  }

  /** Create `path` and any missing parents (write permission on the nearest existing one). */
  private createNode(conn: Connection, t: Tree, path: string, value: Uint8Array): void {
    const missing: string[] = [path];
    let a = parentOf(path);
    let anc: NodeView | undefined;
    for (;;) {
      anc = t.get(a, REC_P);
      if (anc) break;
      missing.push(a);
      a = parentOf(a);
    }
    if ((permFor(conn, anc.perms) & PERM_WRITE) === 0) fail('EACCES');
    const perms = inheritPerms(anc.perms, conn);
    if (!conn.privileged) {
      if (over(this.quotas.nodes, t.ownedBy(perms[0]!.id) + missing.length)) fail('ENOSPC');
      if (tooBig(this.quotas['node-size'], nodeSize(value, perms, []))) fail('ENOSPC');
      let mem = value.length;
      for (const m of missing) mem += 12 + 8 * perms.length + m.length + (m.length - m.lastIndexOf('/'));
      this.memoryCheck(perms[0]!.id, mem);
    }
    for (let i = missing.length - 1; i >= 0; i--) t.create(missing[i]!, i === 0 ? value : EMPTY, perms);
    this.checkTxSize(conn, t);
  }

  /** Fire watches for a change (outside transactions: at once; inside: at commit). */
  private changed(t: Tree, path: string, recursive: boolean, perms?: Perms): void {
    if (t !== this.store || this.watches.count === 0) return;
    this.watches.fire(path, perms ?? this.store.get(path)!.perms, recursive);
  }

  // ---- operations --------------------------------------------------------------------------

  private doWrite(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    const nul = nulIndex(p);
    if (nul < 0) fail('EINVAL');
    const path = canonicalizeBytes(p, 0, nul, conn.domid);
    const value = copyOf(p, nul + 1, p.length); // never a view: transports reuse their buffers
    const n = t.get(path, REC_P);
    if (n) {
      if ((permFor(conn, n.perms) & PERM_WRITE) === 0) fail('EACCES');
      if (!conn.privileged) {
        if (tooBig(this.quotas['node-size'], nodeSize(value, n.perms, n.children))) fail('ENOSPC');
        this.memoryCheck(n.perms[0]!.id, value.length - n.value.length);
      }
      if (t === this.store) this.store.setNodeValue(n as XsNode, value); // the node in hand: no second lookup
      else t.setValue(path, value);
      this.checkTxSize(conn, t);
    } else {
      this.createNode(conn, t, path, value);
    }
    this.changed(t, path, false);
    this.reply(conn, type, reqId, txId, OK);
  }

  private doMkdir(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    const path = canonicalize(oneArg(p), conn.domid);
    const n = t.get(path, REC_P);
    if (n) {
      if ((permFor(conn, n.perms) & PERM_WRITE) === 0) fail('EACCES');
    } else {
      this.createNode(conn, t, path, EMPTY);
      this.changed(t, path, false);
    }
    this.reply(conn, type, reqId, txId, OK);
  }

  private doRm(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    const path = canonicalize(oneArg(p), conn.domid);
    const n = t.get(path, REC_P);
    if (!n) {
      // Not there: fine if the parent exists (and may be known to exist).
      try { this.missing(conn, t, path, PERM_WRITE); } catch (e) {
        if (e instanceof XsErr && e.name === 'ENOENT' && t.get(parentOf(path), REC_P)) { this.reply(conn, type, reqId, txId, OK); return; }
        throw e;
      }
    }
    if ((permFor(conn, n!.perms) & PERM_WRITE) === 0) fail('EACCES');
    if (path === '/') fail('EINVAL');
    const perms = n!.perms;
    t.remove(path);
    this.checkTxSize(conn, t);
    this.changed(t, path, true, perms);
    this.reply(conn, type, reqId, txId, OK);
  }

  private doDirectoryPart(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    const { strs } = splitStrings(p);
    if (strs.length !== 2) fail('EINVAL');
    const path = canonicalize(strs[0]!, conn.domid);
    const n = this.getNode(conn, t, path, PERM_READ, REC_C);
    const off = atoiDomid(strs[1]!) | 0; // cxenstored: atoi()
    // The generation identifies this children list; clients restart when it changes.
    const sn = this.store.get(path);
    const gen = latin1(String(sn?.cgen ?? 0), true);
    let all = '';
    for (const c of n.children) all += c + '\0';
    const max = XENSTORE_PAYLOAD_MAX - gen.length - 1;
    let end = off;
    if (off < all.length) {
      for (;;) {
        const nx = all.indexOf('\0', end) + 1;
        if (nx - off > max) break;
        end = nx;
        if (end >= all.length) break;
      }
    }
    const body = off < all.length ? all.slice(off, end) : '';
    const done = off >= all.length || end >= all.length;
    const out = new Uint8Array(gen.length + body.length + (done ? 1 : 0));
    out.set(gen);
    out.set(latin1(body), gen.length);
    this.reply(conn, type, reqId, txId, out);
  }

  private doGetPerms(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    // cxenstored 4.17 refuses "@" names here (SET_PERMS takes them).
    const perms = this.getNode(conn, t, canonicalize(oneArg(p), conn.domid), PERM_READ, 0).perms;
    this.reply(conn, type, reqId, txId, latin1(formatPerms(perms)));
  }

  private doSetPerms(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const t = this.tree(conn, txId);
    const { strs } = splitStrings(p); // bytes after the last NUL are ignored, as in cxenstored
    if (strs.length < 2) fail('EINVAL');
    const path = canonicalize(strs[0]!, conn.domid, true);
    const perms: Perm[] = strs.slice(1).map(parsePerm);
    if (!conn.privileged && over(this.quotas.permissions, perms.length)) fail('ENOSPC');
    if (path.charCodeAt(0) === 64) {
      const cur = this.special.get(path) ?? fail('ENOENT');
      if ((permFor(conn, cur) & (PERM_WRITE | PERM_OWNER)) !== (PERM_WRITE | PERM_OWNER)) fail('EACCES');
      if (!conn.privileged && perms[0]!.id !== cur[0]!.id) fail('EPERM');
      this.special.set(path, perms);
      this.reply(conn, type, reqId, txId, OK);
      return;
    }
    const n = t.get(path, REC_P);
    if (!n) this.missing(conn, t, path, PERM_WRITE);
    if ((permFor(conn, n.perms) & (PERM_WRITE | PERM_OWNER)) !== (PERM_WRITE | PERM_OWNER)) fail('EACCES');
    if (!conn.privileged) {
      if (perms[0]!.id !== n.perms[0]!.id) fail('EPERM');
      if (tooBig(this.quotas['node-size'], nodeSize(n.value, perms, n.children))) fail('ENOSPC');
      this.memoryCheck(n.perms[0]!.id, 8 * (perms.length - n.perms.length));
    }
    t.setPerms(path, perms);
    this.checkTxSize(conn, t);
    this.changed(t, path, false, perms);
    this.reply(conn, type, reqId, txId, OK);
  }

  private doWatch(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const { strs } = splitStrings(p);
    if (strs.length !== 2) fail('EINVAL'); // a depth (HEAD's WATCHDEPTH) is EINVAL, as in R47
    const raw = strs[0]!;
    // R47 do_watch: an "@" name is any string of at most XENSTORE_REL_PATH_MAX characters.
    if (raw.charCodeAt(0) === 64 && raw.length > XENSTORE_REL_PATH_MAX) fail('EINVAL');
    const path = raw.charCodeAt(0) === 64 ? raw : canonicalize(raw, conn.domid);
    const token = strs[1]!;
    if (this.watches.find(conn, path, token)) fail('EEXIST');
    if (!conn.privileged && this.quotas.watches !== 0 && conn.nWatches >= this.quotas.watches) fail('E2BIG');
    const relPrefix = raw.charCodeAt(0) === 47 || raw.charCodeAt(0) === 64 ? '' : domainPath(conn.domid) + '/';
    const w = { owner: conn, path, token, relPrefix, seq: 0 };
    this.watches.add(w);
    conn.nWatches++;
    this.reply(conn, type, reqId, txId, OK);
    conn.sendEvent(WatchTable.eventPath(w, path), token);
  }

  private doUnwatch(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const { strs } = splitStrings(p);
    if (strs.length !== 2) fail('EINVAL');
    // R47 do_unwatch: canonicalize() without validation; no such watch is ENOENT.
    const raw = strs[0]!;
    const c0 = raw.charCodeAt(0);
    const path = c0 === 47 || c0 === 64 ? raw : domainPath(conn.domid) + '/' + raw;
    const w = this.watches.find(conn, path, strs[1]!) ?? fail('ENOENT');
    this.watches.remove(w);
    conn.nWatches--;
    this.reply(conn, type, reqId, txId, OK);
  }

  private doTransactionStart(conn: Connection, type: number, reqId: number, txId: number, _p: Uint8Array): void {
    if (txId !== 0) fail(conn.txs.has(txId) ? 'EBUSY' : 'ENOENT');
    if (!conn.privileged && this.quotas.transactions !== 0 && conn.txs.size >= this.quotas.transactions) fail('ENOSPC');
    let id: number;
    do {
      id = this.nextTxId;
      this.nextTxId = (this.nextTxId + 1) >>> 0 || 1;
    } while (conn.txs.has(id));
    conn.txs.set(id, new Transaction(this.store, id));
    this.reply(conn, type, reqId, txId, latin1(String(id), true));
  }

  private doTransactionEnd(conn: Connection, type: number, reqId: number, txId: number, p: Uint8Array): void {
    const tx = conn.txs.get(txId) ?? fail('ENOENT');
    const arg = oneArg(p);
    if (arg !== 'T' && arg !== 'F') fail('EINVAL');
    conn.txs.delete(txId);
    if (arg === 'T') {
      if (!tx.valid()) fail('EAGAIN');
      for (const c of tx.apply()) this.watches.fire(c.path, c.perms, c.recursive);
    }
    this.reply(conn, type, reqId, txId, OK);
  }

  // ---- used by domain-ops, control and lu ----------------------------------------------------

  isSocket(conn: Connection): boolean { return conn.kind === CONN_SOCKET; }
}
