// SPDX-License-Identifier: GPL-2.0-only
// Domains known to xenstored (INTRODUCE/RELEASE/RESUME/SET_TARGET) and the per-domain quotas.
// Spec: xen-digest §1.9 "Quotas": Xen's defaults (nodes 1000, watches 128, transactions 10,
// node-size 2048, outstanding requests 20, node-permissions 5, transaction-nodes 1024,
// memory 2.5 MiB hard and 2 MiB soft as in 4.17/HEAD),
// applied to unprivileged domains only; R47's -E/-S/-W/-t flags and HEAD's -Q name=value.

export interface Quotas {
  nodes: number;
  watches: number;
  transactions: number;
  'node-size': number;
  outstanding: number;
  permissions: number;
  'transaction-nodes': number;
  /** Node memory per domain in bytes, hard limit: a change past it is ENOMEM (4.17). */
  memory: number;
}

/** Soft quotas (4.17 `-q`, CONTROL quota-soft): passing one is logged, nothing refused. */
export interface SoftQuotas { memory: number }
export const DEFAULT_SOFT_QUOTAS: Readonly<SoftQuotas> = Object.freeze({ memory: 2 * 1024 * 1024 });

export const DEFAULT_QUOTAS: Readonly<Quotas> = Object.freeze({
  nodes: 1000,
  watches: 128,
  transactions: 10,
  'node-size': 2048,
  outstanding: 20,
  permissions: 5,
  'transaction-nodes': 1024,
  memory: 2 * 1024 * 1024 + 512 * 1024,
});

export const QUOTA_NAMES = Object.keys(DEFAULT_QUOTAS) as (keyof Quotas)[];

export const QUOTA_HELP: Record<keyof Quotas, string> = {
  nodes: 'Nodes per domain',
  watches: 'Watches per domain',
  transactions: 'Transactions per domain',
  'node-size': 'Max. size of a node',
  outstanding: 'Outstanding requests per domain',
  permissions: 'Max. number of permissions per node',
  'transaction-nodes': 'Max. number of accessed nodes per transaction',
  memory: 'Total Xenstore memory per domain (error level)',
};

export function isQuotaName(s: string): s is keyof Quotas {
  return Object.prototype.hasOwnProperty.call(DEFAULT_QUOTAS, s);
}

/** Parses "name=value" (HEAD's -Q); 0 means unlimited. Returns an error text or undefined. */
export function setQuota(q: Quotas, spec: string): string | undefined {
  const m = /^([a-z-]+)=(\d+)$/.exec(spec);
  if (!m || !isQuotaName(m[1]!)) return `bad quota '${spec}' (names: ${QUOTA_NAMES.join(', ')})`;
  q[m[1]] = Number(m[2]);
  return undefined;
}

/** A quota limit: 0 = unlimited. */
export function over(limit: number, value: number): boolean {
  return limit !== 0 && value > limit;
}

export const DOMID_FIRST_RESERVED = 0x7ff0;
export const DOMID_INVALID = 0x7ff4;

export class Domain {
  /** SET_TARGET's target, or -1. */
  target = -1;
  /** Shut down (or dying) and @releaseDomain already fired; RESUME re-arms. */
  shutdown = false;
  constructor(readonly domid: number, public gfn: bigint, public evtchn: number) {}
}
