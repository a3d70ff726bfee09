// SPDX-License-Identifier: GPL-2.0-only
// Single-copy atomic 64-bit accesses without BigInt: an aligned doubleword of machine memory is
// read or written as one Float64Array element (one 8-byte load or store on x64 and arm64) and
// its bits reach the int32 register halves through a Float64Array over the register file or
// the scratch below. Used by LD/SD (hart.ts, jit.ts), the slow paths (mem-access.ts), LR.D
// (amo.ts) and the page-table walker's PTE reads (mmu.ts).
// Spec: riscv-unpriv-20240411 §2.6 "Load and Store Instructions" and §17 "RVWMO" (aligned
// accesses are single-copy atomic).
// TSXEN_SPLIT_LDSD=1 in the environment forces the old two-halves path (tests show the tearing).

/** Scratch for reinterpreting the 8 bytes of one double as two int32 words (never shared). */
export const SCRATCH_F64 = new Float64Array(1);
export const SCRATCH_I32 = new Int32Array(SCRATCH_F64.buffer);

/**
 * Does this engine move every 64-bit pattern unchanged through a Float64Array load and store
 * (NaNs with any payload and sign, signalling NaNs, V8's "hole" NaN, -0, subnormals)? The
 * ECMAScript spec lets an implementation canonicalize NaNs on such a store (SetValueInBuffer:
 * "an implementation-distinguishable NaN value"); V8 on x64 and arm64 does not, as this probe
 * checks at start-up through the same kind of copies the hart uses (array to array, and through
 * a local). When it fails, aligned 8-byte accesses fall back to two 32-bit halves (not
 * single-copy atomic across threads).
 */
function probeF64(): boolean {
  const a = new Float64Array(2), b = new Float64Array(2);
  const ai = new Int32Array(a.buffer), bi = new Int32Array(b.buffer);
  const pats = [
    0x7ff00000, 1, 0x7ff00000, 0x80000000 | 0, 0x7ff40000, 0, 0x7ff80000, 0, 0xfff80000 | 0, 0,
    0xfff7ffff | 0, 0xfff7ffff | 0, 0x7fffffff, -1, -1, -1, 0xfff00000 | 0, 1, 0, 0xffffffff | 0, 0x80000000 | 0, 0,
    0x000fffff, -1, 0xffffffff | 0, 0, 0x12345678, 0x7ff00001,
  ];
  const copy = (i: number): void => { const v = a[i]; b[i] = v; b[i ^ 1] = a[i ^ 1]; };
  for (let round = 0; round < 2000; round++) {
    for (let k = 0; k < pats.length; k += 2) {
      const hi = pats[k]!, lo = pats[k + 1]!;
      ai[0] = lo; ai[1] = hi; ai[2] = ~lo; ai[3] = hi;
      copy(round & 1);
      if (bi[0] !== lo || bi[1] !== hi || bi[2] !== ~lo || bi[3] !== hi) return false;
    }
  }
  return true;
}
export const F64_EXACT = process.env.TSXEN_SPLIT_LDSD !== '1' && probeF64();
