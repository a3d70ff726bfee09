// SPDX-License-Identifier: GPL-2.0-only
// SBI Debug Console extension (EID 0x4442434E "DBCN"): console_write, console_read and
// console_write_byte over the platform's console; `earlycon=sbi` uses it. Spec: riscv-sbi-2.0
// §12 "Debug Console Extension (EID #0x4442434E "DBCN")". Guest buffers are reached only through
// the guest's physical map, with every page checked; at most DBCN_CHUNK bytes move per call
// (the spec allows partial writes, and Linux loops), which bounds the work a hostile length causes.

import { ACCESS_W } from '../../hardware/riscv/hart-api.ts';
import type { SbiExtension, Vsbi, VsbiCall } from './core.ts';
import { GuestMemory } from './guest-memory.ts';
import { VSBI_RESUME } from './outcome.ts';
import {
  SBI_DBCN_CONSOLE_READ,
  SBI_DBCN_CONSOLE_WRITE,
  SBI_DBCN_CONSOLE_WRITE_BYTE,
  SBI_ERR_DENIED,
  SBI_ERR_FAILED,
  SBI_ERR_INVALID_PARAM,
  SBI_ERR_NOT_SUPPORTED,
  SBI_EXT_DBCN,
} from './sbi-defs.ts';

/** Largest number of bytes one console_write / console_read call moves. */
export const DBCN_CHUNK = 65536;

export function dbcnExtension(vsbi: Vsbi): SbiExtension {
  const p = vsbi.platform;
  const mem = new GuestMemory(p.phys, (page, access) => p.resolvePhysFault?.(page, access) === true);
  const scratch = new Uint8Array(DBCN_CHUNK);
  const one = new Uint8Array(1);

  /**
   * The buffer (num_bytes, base_addr_lo, base_addr_hi) of a write/read, clipped to DBCN_CHUNK:
   * its guest-physical address, or -1 when "The memory pointed to by the num_bytes,
   * base_addr_lo, and base_addr_hi parameters does not satisfy the requirements described in
   * the Shared memory physical address range parameter" (SBI_ERR_INVALID_PARAM).
   */
  function bufferAddress(call: VsbiCall): number {
    // base_addr_hi holds address bits 64-127: any of them set is beyond every physical address.
    if (!call.argIsZero(2)) return -1;
    if (!call.argFitsNumber(1)) return -1;
    return call.argU64(1);
  }
  function chunkLength(call: VsbiCall): number {
    return call.argFitsNumber(0) ? Math.min(call.argU64(0), DBCN_CHUNK) : DBCN_CHUNK;
  }

  return {
    name: 'DBCN',
    eidStart: SBI_EXT_DBCN,
    eidEnd: SBI_EXT_DBCN,
    handle(call: VsbiCall): number {
      const con = vsbi.platform.console;
      switch (call.fid) {
        // Spec: riscv-sbi-2.0 §12.1 "Function: Console Write (FID #0)": "This is a non-blocking
        // SBI call and it may do partial/no writes if the debug console is not able to accept
        // more bytes." sbiret.value = bytes written.
        case SBI_DBCN_CONSOLE_WRITE: {
          if (con === undefined) return call.fail(SBI_ERR_DENIED);
          const len = chunkLength(call);
          if (len === 0) return call.succeed(0);
          const pa = bufferAddress(call);
          const buf = scratch.subarray(0, len);
          if (pa < 0 || !mem.read(pa, buf)) return call.fail(SBI_ERR_INVALID_PARAM);
          const n = con.write(buf);
          if (n < 0) return call.fail(SBI_ERR_FAILED);
          call.setValue(Math.min(n, len));
          return VSBI_RESUME;
        }
        // Spec: riscv-sbi-2.0 §12.2 "Function: Console Read (FID #1)": "it will not write
        // anything into the output memory if there are no bytes to be read".
        case SBI_DBCN_CONSOLE_READ: {
          if (con === undefined || con.read === undefined) return call.fail(SBI_ERR_DENIED);
          const len = chunkLength(call);
          if (len === 0) return call.succeed(0);
          const pa = bufferAddress(call);
          if (pa < 0 || !mem.check(pa, len, ACCESS_W)) return call.fail(SBI_ERR_INVALID_PARAM);
          const n = con.read(scratch.subarray(0, len));
          if (n < 0) return call.fail(SBI_ERR_FAILED);
          const got = Math.min(n, len);
          if (got > 0 && !mem.write(pa, scratch.subarray(0, got))) return call.fail(SBI_ERR_INVALID_PARAM);
          call.setValue(got);
          return VSBI_RESUME;
        }
        // Spec: riscv-sbi-2.0 §12.3 "Function: Console Write Byte (FID #2)": "This is a blocking
        // SBI call and it will only return after writing the specified byte to the debug
        // console. It will also return, with SBI_ERR_FAILED, if there are I/O errors."
        case SBI_DBCN_CONSOLE_WRITE_BYTE: {
          if (con === undefined) return call.fail(SBI_ERR_DENIED);
          one[0] = call.argLo(0) & 0xff;
          if (con.write(one) !== 1) return call.fail(SBI_ERR_FAILED);
          return call.succeed(0);
        }
        default:
          return call.fail(SBI_ERR_NOT_SUPPORTED);
      }
    },
  };
}
