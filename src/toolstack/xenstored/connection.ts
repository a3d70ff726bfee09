// SPDX-License-Identifier: GPL-2.0-only
// A client connection, independent of its transport. The core feeds it bytes and it queues
// whole frames for its transport: a Unix socket (src/host/xenstored-socket.ts) or a domain's
// ring page plus event channel (ring.ts). Socket connections are dom0 and privileged.
// Spec: xen-digest §1.1 (framing), §1.12 CONNECTION_DATA (conn-type 0 ring, 1 socket).
import { PERM_READ, permFor, type Perms, type Principal } from './perms.ts';
import type { Transaction } from './transaction.ts';
import type { WatchOwner } from './watch.ts';
import { FrameReader, HEADER_SIZE, latin1, wr32, XS_WATCH_EVENT } from './wire.ts';

export const CONN_RING = 0;
export const CONN_SOCKET = 1;

/** What a connection needs from the daemon (implemented by Xenstored in core.ts). */
export interface ConnectionSink {
  process(conn: Connection, type: number, reqId: number, txId: number, payload: Uint8Array): boolean;
  drop(conn: Connection, reason: string): void;
  /** Forget the connection's watches and transactions (ring reconnect). */
  reset(conn: Connection): void;
}

export abstract class Connection implements WatchOwner, Principal {
  domid: number;
  target = -1;
  privileged: boolean;
  /** A connection on the read-only socket (socket_ro): perm checks never grant WRITE. */
  readOnly = false;
  readonly txs = new Map<number, Transaction>();
  nWatches = 0;
  closed = false;
  /** Set by the core when attached. */
  sink: ConnectionSink | null = null;
  readonly reader: FrameReader;

  /** CONN_RING or CONN_SOCKET; a dom0 socket becomes CONN_RING when made a ring relay (relay.ts). */
  constructor(public id: number, public kind: number, domid: number, privileged: boolean) {
    this.domid = domid;
    this.privileged = privileged;
    this.reader = new FrameReader((t, r, x, p) => this.sink!.process(this, t, r, x, p));
  }

  /** Queue one whole frame for the client. */
  abstract transmit(frame: Uint8Array): void;
  /** Queue a reply frame (header fields plus payload); transports may encode it in place. */
  transmitReply(type: number, reqId: number, txId: number, payload: Uint8Array): void {
    const f = new Uint8Array(HEADER_SIZE + payload.length);
    wr32(f, 0, type); wr32(f, 4, reqId); wr32(f, 8, txId); wr32(f, 12, payload.length);
    f.set(payload, HEADER_SIZE);
    this.transmit(f);
  }
  /** Bytes queued for the client and not yet handed to the transport (migration out-data). */
  abstract pendingOutput(): Uint8Array;
  /** Replies waiting to be consumed (the outstanding-requests quota). */
  abstract outstanding(): number;
  /** Tear down the transport (after the core has forgotten the connection). */
  abstract shutdown(): void;
  /** The conn-spec of the migration record. */
  abstract spec(): { fd?: number; domid?: number; tdomid?: number; evtchn?: number };

  /** Bytes from the transport. A bad frame header drops the connection. */
  feed(chunk: Uint8Array): void {
    if (this.closed) return;
    if (!this.reader.push(chunk)) this.sink?.drop(this, 'payload longer than XENSTORE_PAYLOAD_MAX');
  }

  /** Re-run frames that were held back (stalled or frozen). */
  resume(): void {
    if (!this.closed && this.reader.pendingLength > 0) this.feed(new Uint8Array(0));
  }

  canRead(perms: Perms): boolean {
    return (permFor(this, perms) & PERM_READ) !== 0;
  }

  sendEvent(path: string, token: string): void {
    const plen = path.length + token.length + 2;
    const f = new Uint8Array(HEADER_SIZE + plen);
    wr32(f, 0, XS_WATCH_EVENT);
    wr32(f, 12, plen);
    f.set(latin1(path), HEADER_SIZE);
    f.set(latin1(token), HEADER_SIZE + path.length + 1);
    this.transmit(f);
  }
}
