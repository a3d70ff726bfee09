// SPDX-License-Identifier: GPL-2.0-only
// FpUnit against an exact BigInt reference (tests/fpu/softref.ts): random edge-biased operands
// for every arithmetic instruction and conversion, both precisions, all five rounding modes,
// comparing result bits and all five flags. Expected values come only from the reference.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Harness, Rng, expOf, hex, op, randCvtSource, randFloat, randInt, steer, type OpSpec } from '../../../../tests/fpu/fp-cases.ts';
import {
  decode,
  negate,
  refAdd,
  refCvtFF,
  refDiv,
  refFma,
  refFromInt,
  refMul,
  refSqrt,
  refToInt,
  type Result,
} from '../../../../tests/fpu/softref.ts';

// Per op and rounding mode; FPU_REF_CASES and FPU_REF_SEED override for longer soak runs.
const N = Number(process.env.FPU_REF_CASES ?? 2500);
const SEED = Number(process.env.FPU_REF_SEED ?? 0xf00d);

type Ref = (ops: bigint[], mode: number) => Result;
function refs(fmt: 0 | 1): [string, Ref][] {
  const S = fmt ? 'd' : 's';
  const d = (v: bigint) => decode(fmt, v);
  const list: [string, Ref][] = [
    [`fadd.${S}`, (o, m) => refAdd(fmt, d(o[0]), d(o[1]), m)],
    [`fsub.${S}`, (o, m) => refAdd(fmt, d(o[0]), negate(d(o[1])), m)],
    [`fmul.${S}`, (o, m) => refMul(fmt, d(o[0]), d(o[1]), m)],
    [`fdiv.${S}`, (o, m) => refDiv(fmt, d(o[0]), d(o[1]), m)],
    [`fsqrt.${S}`, (o, m) => refSqrt(fmt, d(o[0]), m)],
    [`fmadd.${S}`, (o, m) => refFma(fmt, d(o[0]), d(o[1]), d(o[2]), m)],
    [`fmsub.${S}`, (o, m) => refFma(fmt, d(o[0]), d(o[1]), negate(d(o[2])), m)],
    [`fnmsub.${S}`, (o, m) => refFma(fmt, negate(d(o[0])), d(o[1]), d(o[2]), m)],
    [`fnmadd.${S}`, (o, m) => refFma(fmt, negate(d(o[0])), d(o[1]), negate(d(o[2])), m)],
  ];
  ['w', 'wu', 'l', 'lu'].forEach((t, k) => {
    list.push([`fcvt.${t}.${S}`, (o, m) => refToInt(d(o[0]), k, m)]);
    list.push([`fcvt.${S}.${t}`, (o, m) => refFromInt(fmt, o[0], k, m)]);
  });
  return list;
}
const ALL: [string, Ref][] = [
  ...refs(0),
  ...refs(1),
  ['fcvt.s.d', (o, m) => refCvtFF(0, decode(1, o[0]), m)],
  ['fcvt.d.s', (o, m) => refCvtFF(1, decode(0, o[0]), m)],
];

function operands(rng: Rng, o: OpSpec): bigint[] {
  const ops = operands0(rng, o);
  if (o.srcs[0] === 'f' && o.srcs.length > 1 && rng.chance(0.2)) steer(rng, o.fmt, o.name, ops);
  return ops;
}

function operands0(rng: Rng, o: OpSpec): bigint[] {
  const fmt = o.fmt;
  if (o.srcs[0] === 'x') return [randInt(rng)];
  if (o.name.startsWith('fcvt.w') || o.name.startsWith('fcvt.l')) return [randCvtSource(rng, fmt)];
  if (o.name === 'fcvt.s.d') return [randFloat(rng, 1, 1023 - 160 + rng.below(300))];
  const a = randFloat(rng, fmt);
  if (o.srcs.length === 1) return [a];
  const b = randFloat(rng, fmt, expOf(fmt, a));
  if (o.srcs.length === 2) return [a, b];
  const bias = fmt ? 1023 : 127;
  const pe = expOf(fmt, a) + expOf(fmt, b) - bias;
  // Addends around the product's exponent exercise cancellation and sticky bits.
  return [a, b, randFloat(rng, fmt, rng.chance(0.6) ? pe + rng.below(9) - 4 : pe + rng.below(160) - 80)];
}

for (const [name, ref] of ALL) {
  test(`${name}: result bits and fflags equal the exact BigInt reference in all 5 rounding modes`, () => {
    const o = op(name);
    const h = new Harness();
    const rng = new Rng(SEED ^ name.length ^ (name.charCodeAt(1) << 8) ^ (name.charCodeAt(name.length - 1) << 16));
    const bad: string[] = [];
    let n = 0;
    for (let mode = 0; mode < 5; mode++) {
      for (let i = 0; i < N; i++) {
        const ops = operands(rng, o);
        const [want, wantFl] = ref(ops, mode);
        const got = h.run(o, mode, ops);
        n++;
        if (got === null || got[0] !== want || got[1] !== wantFl) {
          if (bad.length < 10) {
            const g = got === null ? 'ILLEGAL' : `${hex(got[0])} fl=${got[1].toString(16)}`;
            bad.push(`rm=${mode} ${ops.map(hex).join(' ')}: want ${hex(want)} fl=${wantFl.toString(16)}, got ${g}`);
          }
        }
      }
    }
    assert.deepEqual(bad, [], `${bad.length} mismatches of ${n}`);
  });
}
