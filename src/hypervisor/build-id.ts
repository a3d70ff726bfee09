// SPDX-License-Identifier: GPL-2.0-only
// The hypervisor's build id (XENVER_build_id; Xen uses the ELF NT_GNU_BUILD_ID note of its
// image): the SHA-1 of the source tree that scripts/build.mjs (sourceBuildId) computes at
// build time and bundles as the TSXEN_BUILD_ID define. Unbundled runs (tsx, tests) have none
// unless the host passes one to the Hypervisor; xen_version then answers -ENODATA, as Xen
// does without a build id.

declare const TSXEN_BUILD_ID: string | undefined;

/** The bundled build id as 20 bytes, or an empty array when not bundled. */
export function bundledBuildId(): Uint8Array {
  const hex = typeof TSXEN_BUILD_ID === 'string' ? TSXEN_BUILD_ID : '';
  if (!/^[0-9a-f]{40}$/.test(hex)) return new Uint8Array(0);
  const out = new Uint8Array(20);
  for (let i = 0; i < 20; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}
