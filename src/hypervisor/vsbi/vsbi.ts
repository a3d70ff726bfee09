// SPDX-License-Identifier: GPL-2.0-only
// Entry point of the hypervisor's SBI for guests: createVsbi() builds a Vsbi with every standard
// extension tsxen provides (BASE, TIME, IPI, RFENCE, HSM, SRST, DBCN; SUSP and the Xen hypercall
// EID when the platform supports them) and a minimal PMU (cycle, instret). Not provided: the v0.1 legacy
// extensions, CPPC, NACL, STA. See docs/design/vsbi.md.

import { Vsbi } from './core.ts';
import { baseExtension } from './base.ts';
import { dbcnExtension } from './dbcn.ts';
import { hsmExtension } from './hsm.ts';
import { ipiExtension } from './ipi.ts';
import { pmuExtension } from './pmu.ts';
import { rfenceExtension } from './rfence.ts';
import { srstExtension } from './srst.ts';
import { suspExtension } from './susp.ts';
import { timeExtension } from './time.ts';
import { xenExtension } from './xen.ts';
import type { VsbiPlatform } from './platform.ts';

export { Vsbi, VsbiCall, SbiRegistry, VsbiRegistrationError, VsbiStateError, VSBI_STATE_VERSION, type SbiExtension, type VsbiState } from './core.ts';
export { hartPlatform, hartView, HartPlatformOps, type HartPlatformExtras } from './hart-view.ts';
export type { VsbiConsole, VsbiHart, VsbiPlatform } from './platform.ts';
export * from './outcome.ts';
export { HartStates } from './hart-states.ts';

export interface VsbiOptions {
  /** The hart that starts STARTED at the kernel entry (default 0); all others start STOPPED. */
  bootHart?: number;
  /** Shared memory for the HSM states (HartStates.wordsFor(hartCount) words), for multi-threaded owners. */
  hsmBuffer?: Int32Array;
}

export function createVsbi(platform: VsbiPlatform, options: VsbiOptions = {}): Vsbi {
  const v = new Vsbi(platform, options);
  v.register(baseExtension(v));
  v.register(timeExtension(v));
  v.register(ipiExtension(v));
  v.register(rfenceExtension(v));
  v.register(hsmExtension(v));
  v.register(srstExtension(v));
  v.register(dbcnExtension(v));
  v.register(pmuExtension(v));
  if (platform.systemSuspend !== undefined) v.register(suspExtension(v));
  const hc = platform.hypercall;
  if (hc !== undefined) v.register(xenExtension((call) => hc.call(platform, call)));
  return v;
}
