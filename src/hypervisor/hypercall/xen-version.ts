// SPDX-License-Identifier: GPL-2.0-only
// HYPERVISOR_xen_version (17). Permissions follow Xen 4.7's default (dummy) XSM policy:
// version, platform_parameters, get_features, extraversion, compile_info, capabilities,
// changeset, pagesize and guest_handle for everyone; commandline and build_id only for a
// privileged domain (a guest gets "<denied>" for the commandline and -EPERM for the build id).
// Xen: xen/common/kernel.c (do_xen_version), xen/include/xsm/dummy.h (xsm_xen_version)
import type { Vcpu } from '../domain/vcpu.ts';
import { EFAULT, EINVAL, ENOBUFS, ENODATA, ENOSYS, EPERM } from '../public/errno.ts';
import * as V from '../public/version.ts';
import type { HcArgs } from './table.ts';

/** The Xen version tsxen reports: the 4.7 interface it implements. */
export const XEN_MAJOR = 4;
export const XEN_MINOR = 7;
export const XEN_EXTRAVERSION = '-tsxen';
export const XEN_CAPABILITIES = 'xen-3.0-riscv64 ';
export const XEN_CHANGESET = 'tsxen';
const DENIED = '<denied>';
const enc = new TextEncoder();

function cstr(s: string, size: number): Uint8Array {
  const b = new Uint8Array(size);
  b.set(enc.encode(s).subarray(0, size - 1));
  return b;
}

export function doXenVersion(v: Vcpu, a: HcArgs): number {
  const d = v.domain, hv = d.hv, g = v.guest;
  const cmdHi = a.hi(0), cmd = a.lo(0);
  const hLo = a.lo(1), hHi = a.hi(1);
  if (cmdHi !== 0 && cmdHi !== cmd >> 31) return -ENOSYS; // `int cmd`: the low 32 bits; others are garbage
  const deny = !d.privileged;
  switch (cmd) {
    case V.XENVER_version:
      return (XEN_MAJOR << 16) | XEN_MINOR;
    case V.XENVER_extraversion:
      return g.copyTo(hLo, hHi, cstr(XEN_EXTRAVERSION, V.XEN_EXTRAVERSION_LEN)) ? 0 : -EFAULT;
    case V.XENVER_compile_info: {
      const [a1, a2, a3, a4] = V.COMPILE_INFO_FIELDS;
      const b = new Uint8Array(a1 + a2 + a3 + a4);
      b.set(cstr('tsc (TypeScript)', a1), 0);
      b.set(cstr('tsxen', a2), a1);
      b.set(cstr('xenproject.org', a3), a1 + a2);
      b.set(cstr('unknown', a4), a1 + a2 + a3);
      return g.copyTo(hLo, hHi, b) ? 0 : -EFAULT;
    }
    case V.XENVER_capabilities:
      return g.copyTo(hLo, hHi, cstr(XEN_CAPABILITIES, V.XEN_CAPABILITIES_INFO_LEN)) ? 0 : -EFAULT;
    case V.XENVER_changeset:
      return g.copyTo(hLo, hHi, cstr(XEN_CHANGESET, V.XEN_CHANGESET_INFO_LEN)) ? 0 : -EFAULT;
    case V.XENVER_platform_parameters:
      // virt_start: no hypervisor hole in a RISC-V guest's address space.
      return g.copyTo(hLo, hHi, new Uint8Array(V.PLATFORM_PARAMETERS_SIZE)) ? 0 : -EFAULT;
    case V.XENVER_get_features: {
      const inp = g.copyFrom(hLo, hHi, V.FEATURE_INFO_SIZE);
      if (inp === null) return -EFAULT;
      const idx = new DataView(inp.buffer).getUint32(0, true);
      if (idx >= V.XENFEAT_NR_SUBMAPS) return -EINVAL;
      const map = (1 << V.XENFEAT_writable_page_tables) | (1 << V.XENFEAT_auto_translated_physmap) |
        (1 << V.XENFEAT_supervisor_mode_kernel);
      new DataView(inp.buffer).setUint32(4, map >>> 0, true);
      return g.copyTo(hLo, hHi, inp) ? 0 : -EFAULT;
    }
    case V.XENVER_pagesize:
      return a.isZero(1) ? 4096 : -EINVAL;
    case V.XENVER_guest_handle:
      return g.copyTo(hLo, hHi, d.handle.slice()) ? 0 : -EFAULT;
    case V.XENVER_commandline:
      return g.copyTo(hLo, hHi, cstr(deny ? DENIED : hv.commandLine, deny ? DENIED.length + 1 : V.XEN_COMMANDLINE_LEN)) ? 0 : -EFAULT;
    case V.XENVER_build_id: {
      if (deny) return -EPERM;
      const id = hv.buildId;
      if (id.length === 0) return -ENODATA;
      if (a.isZero(1)) return id.length; // a null handle asks for the size only
      const hdr = g.copyFrom(hLo, hHi, V.BUILD_ID_BUF);
      if (hdr === null) return -EFAULT;
      const len = new DataView(hdr.buffer).getUint32(0, true);
      if (len === 0) return -EINVAL;
      if (id.length > len) return -ENOBUFS;
      const out = new Uint8Array(V.BUILD_ID_BUF + id.length);
      new DataView(out.buffer).setUint32(0, id.length, true);
      out.set(id, V.BUILD_ID_BUF);
      return g.copyTo(hLo, hHi, out) ? id.length : -EFAULT;
    }
  }
  return -ENOSYS;
}
