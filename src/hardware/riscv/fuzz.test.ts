// SPDX-License-Identifier: GPL-2.0-only
// Hostile input: random instruction words (32-bit and compressed), random register values,
// with and without paging, in M, S and U mode, bare and in guest mode. Whatever a guest
// executes must end as an architectural trap or an exit, never a host exception, and the
// hart must stay usable (x0 zero, pc even, a known privilege). Fixed seeds: reproducible.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EXIT_BUDGET, EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_REQUESTED, EXIT_TRAP_M, EXIT_WFI } from './hart-api.ts';
import * as S from './hart-state.ts';
import { enterMode, makeHart, RAM_BASE, setx } from './test-support.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => { s ^= s << 13; s ^= s >>> 17; s ^= s << 5; return s >>> 0; };
}

const EXITS = new Set([EXIT_BUDGET, EXIT_WFI, EXIT_ECALL, EXIT_PHYS_FAULT, EXIT_REQUESTED, EXIT_TRAP_M]);

for (const [name, guestMode, priv, paging] of [
  ['M-mode bare', false, S.PRV_M, false], ['S-mode Sv39', false, S.PRV_S, true], ['U-mode Sv48', false, S.PRV_U, true],
  ['guest S-mode', true, S.PRV_S, false], ['guest S-mode Sv57', true, S.PRV_S, true],
] as const) {
  test(`random instruction streams never throw (${name})`, () => {
    const r = rng(0x9e3779b9 ^ name.length * 7919);
    const { hart, phys } = makeHart({ guestMode });
    phys.mmioPages.add(0x10000);
    for (let round = 0; round < 60; round++) {
      // a page of random code: a mix of 32-bit words, compressed halves and system opcodes
      const words: number[] = [];
      for (let i = 0; i < 1024; i++) {
        const k = r() % 8;
        if (k < 4) words.push(r() | 3);
        else if (k < 6) words.push(((r() & 0xffff) | ((r() & 0xffff) << 16)) >>> 0);
        else if (k === 6) words.push(((r() & 0xfff) << 20 | (r() & 0x1f) << 15 | (r() & 7) << 12 | (r() & 0x1f) << 7 | 0x73) >>> 0);
        else words.push(((r() & 0xfe0fffff) | 0x2f) >>> 0);
      }
      phys.put(RAM_BASE, ...words);
      hart.reset();
      for (let i = 1; i < 32; i++) {
        const kind = r() % 4;
        const v = kind === 0 ? BigInt(RAM_BASE + (r() & 0xfffff)) : kind === 1 ? BigInt(r()) : kind === 2 ? 0x10000000n + BigInt(r() & 0xfff) : (BigInt(r()) << 32n) | BigInt(r());
        setx(hart, i, v);
      }
      hart.s[S.MTVEC] = RAM_BASE + ((r() & 0x3ff) << 2);
      hart.s[S.STVEC] = RAM_BASE + ((r() & 0x3ff) << 2);
      if (paging) {
        // identity-ish: the root table is random RAM content, so walks hit garbage PTEs
        const mode = name.includes('57') ? 10 : name.includes('48') ? 9 : 8;
        hart.s[S.SATP] = (RAM_BASE >>> 12) + (r() & 0xff); hart.s[S.SATP + 1] = mode << 28;
        hart.s[S.MSTATUS] |= (r() & 1) ? S.MSTATUS_SUM : 0;
      }
      if (!guestMode) enterMode(hart, priv, RAM_BASE); else { hart.setPriv(priv); hart.setPc(RAM_BASE); }
      hart.flushTlb();
      for (let n = 0; n < 20; n++) {
        const e = hart.step(200);
        assert.ok(EXITS.has(e), `exit ${e}`);
        assert.equal(hart.getXLo(0), 0);
        assert.equal(hart.getXHi(0), 0);
        assert.equal(hart.getPcLo() & 1, 0);
        assert.ok([0, 1, 3].includes(hart.getPriv()));
        if (e === EXIT_ECALL || e === EXIT_PHYS_FAULT || e === EXIT_TRAP_M) hart.setPc(hart.getPc() + 4);
      }
    }
  });
}
