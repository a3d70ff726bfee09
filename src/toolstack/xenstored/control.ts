// SPDX-License-Identifier: GPL-2.0-only
// CONTROL (alias DEBUG) sub-commands: help, log, print, check, quota, quota-soft, memreport,
// live-update.
// Spec: xen-digest §1.3 and §1.12 (HEAD's command set and live-update flags -f/-c/-s/-t/-F/-a).
// Dom0 only. Replies are NUL-terminated text; `live-update -s` is answered by the new process
// (its reply travels in the migration record's pending output, as in HEAD).
import type { Connection } from './connection.ts';
import type { Xenstored } from './core.ts';
import { QUOTA_HELP, isQuotaName } from './domain.ts';
import { atoiDomid } from './domain-ops.ts';
import { ringRelay } from './relay.ts';
import { XS_CONTROL, fail, latin1, splitStrings } from './wire.ts';

// The layout of cxenstored 4.17's help and quota replies ("name\targs" lines; "%-17s: %8d").
const HELP = 'check\t\nlog\ton|off\nlive-update\t[-c <cmdline>] [-F] [-t <timeout>] <file>\n' +
  '    Default timeout is 60 seconds.\nmemreport\t[<file>]\nprint\t<string>\n' +
  'quota\t[set <name> <val>|<domid>]\nquota-soft\t[set <name> <val>]\nhelp\t\n';

const QUOTA_ORDER = ['nodes', 'watches', 'transactions', 'outstanding', 'transaction-nodes', 'memory', 'node-size', 'path-max', 'permissions'] as const;
const SOFT_HELP = { memory: 'Total Xenstore memory per domain (warning level)' };

function text(core: Xenstored, conn: Connection, reqId: number, txId: number, s: string): void {
  core.reply(conn, XS_CONTROL, reqId, txId, latin1(s, true));
}

export function runControl(core: Xenstored, conn: Connection, reqId: number, txId: number, p: Uint8Array): void {
  if (!conn.privileged || conn.readOnly) fail('EACCES');
  const { strs } = splitStrings(p);
  if (strs.length === 0) fail('EINVAL');
  const [cmd, ...args] = strs as [string, ...string[]];
  switch (cmd) {
    case 'help':
      return text(core, conn, reqId, txId, HELP);
    case 'log':
      if (args[0] === 'on') core.trace = true;
      else if (args[0] === 'off') core.trace = false;
      else fail('EINVAL');
      return text(core, conn, reqId, txId, 'OK');
    case 'print':
      if (args.length < 1) fail('EINVAL');
      core.host.log(args.join(' '));
      return text(core, conn, reqId, txId, 'OK');
    case 'check': {
      if (args.length) fail('EINVAL');
      const bad = core.store.check();
      for (const b of bad) core.host.log(`check: ${b}`);
      return text(core, conn, reqId, txId, bad.length === 0 ? 'OK' : `${bad.length} inconsistencies:\n${bad.join('\n')}\n`);
    }
    case 'memreport': {
      let bytes = 0;
      for (const [path, n] of core.store.nodes) bytes += path.length + n.value.length + 8 * n.perms.length;
      return text(core, conn, reqId, txId,
        `nodes: ${core.store.nodes.size}\nnode bytes: ${bytes}\nconnections: ${core.conns.size}\nwatches: ${core.watches.count}\ndomains: ${core.domains.size}\n`);
    }
    case 'quota': {
      if (args.length === 0) {
        let s = 'Quota settings:\n';
        for (const q of QUOTA_ORDER) {
          const [v, h] = q === 'path-max' ? [2048, 'Max. length of a node path'] : [core.quotas[q], QUOTA_HELP[q]];
          s += `${q.padEnd(17)}: ${String(v).padStart(8)} ${h}\n`;
        }
        return text(core, conn, reqId, txId, s);
      }
      if (args[0] === 'set') {
        const [, name, val] = args;
        if (!name || !isQuotaName(name) || !val || !/^\d+$/.test(val)) fail('EINVAL');
        core.quotas[name] = Number(val);
        return text(core, conn, reqId, txId, 'OK');
      }
      const domid = atoiDomid(args[0]!);
      let watches = 0, txs = 0, outstanding = 0;
      for (const c of core.conns.values()) {
        if (c.domid === domid) { watches += c.nWatches; txs += c.txs.size; outstanding += c.outstanding(); }
      }
      const row = (k: string, v: number): string => `${k.padEnd(16)}: ${String(v).padStart(8)}\n`;
      return text(core, conn, reqId, txId, `Domain ${domid}:\n` + row('nodes', core.store.ownedBy(domid)) +
        row('watches', watches) + row('transactions', txs) + row('outstanding', outstanding) +
        row('memory', core.store.memory[domid & 0xffff]!));
    }
    case 'quota-soft': {
      if (args.length === 0) {
        return text(core, conn, reqId, txId, `Quota settings:\n${'memory'.padEnd(17)}: ${String(core.softQuotas.memory).padStart(8)} ${SOFT_HELP.memory}\n`);
      }
      const [set, name, val] = args;
      if (set !== 'set' || name !== 'memory' || !val || !/^\d+$/.test(val)) fail('EINVAL');
      core.softQuotas.memory = Number(val);
      return text(core, conn, reqId, txId, 'OK');
    }
    case 'live-update':
      return liveUpdate(core, conn, reqId, txId, args);
    case 'ring-relay':
      return ringRelay(core, conn, reqId, txId, args);
    default:
      fail('EINVAL');
  }
}

function liveUpdate(core: Xenstored, conn: Connection, reqId: number, txId: number, args: string[]): void {
  if (args.length === 0) fail('EINVAL');
  let start = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === '-f') { core.lu = { force: false, timeout: 60, binary: args[++i] ?? fail('EINVAL') }; core.luSession = true; }
    else if (a === '-c') { if (!core.luSession) return text(core, conn, reqId, txId, 'Not in live-update session.'); core.lu.cmdline = args[++i] ?? fail('EINVAL'); }
    else if (a === '-t') { const t = args[++i]; if (!t || !/^\d+$/.test(t)) fail('EINVAL'); core.lu.timeout = Number(t); }
    else if (a === '-F') core.lu.force = true;
    else if (a === '-s') start = true;
    else if (a === '-a') { core.lu = { force: false, timeout: 60 }; core.luSession = false; return text(core, conn, reqId, txId, 'OK'); }
    else if (a === '-b' || a === '-d') return text(core, conn, reqId, txId, 'Binary upload is for a xenstore stub domain; use -f <file>');
    else fail('EINVAL');
  }
  if (!start) return text(core, conn, reqId, txId, 'OK');
  if (!core.luSession) return text(core, conn, reqId, txId, 'Not in live-update session.');
  const host = core.host;
  if (!host.liveUpdate) return text(core, conn, reqId, txId, 'Live update not supported by this host');
  core.frozen = true;
  const opts = { ...core.lu };
  host.liveUpdate(core, conn, reqId, txId, opts).then((err) => {
    if (err === undefined) return;
    core.frozen = false;
    if (!conn.closed) text(core, conn, reqId, txId, err);
    core.resumeAll();
  }, (e: unknown) => {
    core.frozen = false;
    if (!conn.closed) text(core, conn, reqId, txId, `live-update failed: ${e instanceof Error ? e.message : String(e)}`);
    core.resumeAll();
  });
}
