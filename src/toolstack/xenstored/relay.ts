// SPDX-License-Identifier: GPL-2.0-only
// Ring relays: a domain's xenstore ring carried over a dom0 socket. xenstored runs in its own
// process and cannot touch guest memory; the host daemon (which owns guest memory and event
// channels, like Xen's privcmd/evtchn devices) pumps the guest's ring page to and from a
// socket connection that it first turns into the domain's connection with
// `CONTROL ring-relay <domid>`. From then on the core treats the connection exactly as the
// domain's ring (conn-type 0): domid, unprivileged, its target, relative paths, quotas,
// watches and @releaseDomain. Only a privileged (dom0) socket connection with no watches
// or transactions may be turned, only for an introduced domain; a previous ring connection of
// that domain is dropped (as re-INTRODUCE does). RELEASE drops the relay and so closes the
// socket. docs/design/xenstored.md "Ring relays".
import type { Connection } from './connection.ts';
import type { Xenstored } from './core.ts';
import { domainConn, parseDomid } from './domain-ops.ts';
import { XS_CONTROL, fail, latin1 } from './wire.ts';

export function ringRelay(core: Xenstored, conn: Connection, reqId: number, txId: number, args: string[]): void {
  if (args.length !== 1) fail('EINVAL');
  const domid = parseDomid(args[0]!);
  if (!conn.privileged || conn.readOnly || !core.isSocket(conn) || core.host.ringRelay === undefined) fail('EACCES');
  if (conn.nWatches !== 0 || conn.txs.size !== 0 || txId !== 0) fail('EBUSY');
  const d = core.domains.get(domid) ?? fail('ENOENT');
  const old = domainConn(core, domid);
  // Reply as dom0, then the connection is the domain's.
  core.reply(conn, XS_CONTROL, reqId, txId, latin1('OK', true));
  if (!core.host.ringRelay(conn, domid, d.evtchn)) { core.drop(conn, `ring relay for dom${domid} refused by the host`); return; }
  if (old !== undefined && old !== conn) core.drop(old, `replaced by a ring relay for dom${domid}`);
  conn.target = d.target;
}
