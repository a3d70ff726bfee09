// SPDX-License-Identifier: GPL-2.0-only
// translateGva: the owner's side-effect-free S-mode (SUM = 1) walk, against page tables built
// by hand in a TestPhys, and against the hart's own walk for the same tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ACCESS_R, ACCESS_W, ACCESS_X } from './hart-api.ts';
import { GVA_FAULT, translateGva } from './gva.ts';
import { SATP } from './hart-state.ts';
import { A, makeHart, RAM_BASE, setx, xr } from './test-support.ts';

const V = 1, R = 2, W = 4, X = 8, U = 16, AD = 64 | 128;
const pte = (pa: number, flags: number): bigint => (BigInt(Math.floor(pa / 4096)) << 10n) | BigInt(flags);

function sv39() {
  const { hart, phys } = makeHart({ guestMode: true });
  const root = RAM_BASE + 0x10000, l1 = RAM_BASE + 0x11000, l0 = RAM_BASE + 0x12000;
  // VA 0x4000_0000 -> root[1] -> l1[0] -> l0[0..]: 4 KiB leaves.
  phys.write64(root + 8 * 1, pte(l1, V));
  phys.write64(l1, pte(l0, V));
  phys.write64(l0 + 0, pte(RAM_BASE + 0x20000, V | R | W | AD)); // 0x4000_0000 RW
  phys.write64(l0 + 8, pte(RAM_BASE + 0x21000, V | R | X | AD)); // 0x4000_1000 RX
  phys.write64(l0 + 16, pte(RAM_BASE + 0x22000, V | R | W | U | AD)); // 0x4000_2000 user RW
  phys.write64(l0 + 24, pte(RAM_BASE + 0x23000, V | W)); // reserved W-only encoding
  // VA 0xffff_ffff_8000_0000 (root[510]) -> a 1 GiB superpage at RAM_BASE.
  phys.write64(root + 8 * 510, pte(RAM_BASE, V | R | W | X | AD));
  // VA 0x8000_0000 (root[2]) -> a misaligned superpage.
  phys.write64(root + 8 * 2, pte(RAM_BASE + 0x1000, V | R | W | AD));
  hart.s[SATP] = Math.floor(root / 4096);
  hart.s[SATP + 1] = 8 << 28;
  return { hart, phys };
}

test('Bare satp: the virtual address is the guest-physical address', () => {
  const { hart } = makeHart({ guestMode: true });
  assert.equal(translateGva(hart, 0x80001234 | 0, 0, ACCESS_W), 0x80001234);
  assert.equal(translateGva(hart, 0, 0x200000, ACCESS_R), GVA_FAULT); // 2^53 and above: not an address
});

test('Sv39: permissions as S-mode with SUM = 1, MXR = 0', () => {
  const { hart } = sv39();
  assert.equal(translateGva(hart, 0x40000010, 0, ACCESS_W), RAM_BASE + 0x20010);
  assert.equal(translateGva(hart, 0x40001010, 0, ACCESS_W), GVA_FAULT); // RX page: no write
  assert.equal(translateGva(hart, 0x40001010, 0, ACCESS_X), RAM_BASE + 0x21010);
  assert.equal(translateGva(hart, 0x40000010, 0, ACCESS_X), GVA_FAULT);
  assert.equal(translateGva(hart, 0x40002008, 0, ACCESS_R), RAM_BASE + 0x22008); // U page with SUM
  assert.equal(translateGva(hart, 0x40002008, 0, ACCESS_X), GVA_FAULT); // never execute U pages
  assert.equal(translateGva(hart, 0x40003000, 0, ACCESS_R), GVA_FAULT); // W without R: reserved
  assert.equal(translateGva(hart, 0x40004000, 0, ACCESS_R), GVA_FAULT); // invalid PTE
  assert.equal(translateGva(hart, 0x80001000 | 0, -1, ACCESS_R), RAM_BASE + 0x1000); // gigapage
  assert.equal(translateGva(hart, 0x80000000 | 0, 0, ACCESS_R), GVA_FAULT); // misaligned superpage
  assert.equal(translateGva(hart, 0x40000000, 1, ACCESS_R), GVA_FAULT); // not canonical
});

test('agrees with the hart: a guest load through the same tables reads the byte translateGva names', () => {
  const { hart, phys } = sv39();
  phys.view.setUint32(0x20040, 0xcafef00d, true);
  // The code runs from the gigapage alias of RAM (VA 0xffff_ffff_8000_0000 + off).
  const codeOff = 0x30000;
  phys.put(RAM_BASE + codeOff, A.lwu(5, 6, 0), A.ecall());
  hart.setPriv(1);
  setx(hart, 6, 0x40000040n);
  hart.setPc(-0x80000000 + codeOff);
  hart.step(10);
  assert.equal(xr(hart, 5), 0xcafef00dn);
  const gpa = translateGva(hart, 0x40000040, 0, ACCESS_R);
  assert.equal(phys.view.getUint32(gpa - RAM_BASE, true), 0xcafef00d);
});

test('page-table pages that are not RAM do not translate', () => {
  const { hart } = sv39();
  hart.s[SATP] = 0x10; // root at 0x10000: outside RAM
  assert.equal(translateGva(hart, 0x40000000, 0, ACCESS_R), GVA_FAULT);
});
