// SPDX-License-Identifier: GPL-2.0-only
// DBCN against real guest memory (FramePool + P2m) and hostile buffers.
// Spec: riscv-sbi-2.0 §12 "Debug Console Extension (EID #0x4442434E "DBCN")", §3.2 "Shared memory
// physical address range parameter"
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { P2M_POD, P2M_RAM_LOGDIRTY, P2M_RAM_RW } from '../mm/p2m.ts';
import { DBCN_CHUNK } from './dbcn.ts';
import * as D from './sbi-defs.ts';
import { MMIO_PAGE_PA, RAM_BASE, RAM_END, RO_PAGE_PA, TestMachine } from './test-support.ts';

const E = (code: number) => BigInt(code);
const DBCN = D.SBI_EXT_DBCN;
const bytes = (s: string) => [...new TextEncoder().encode(s)];
const text = (b: number[]) => new TextDecoder().decode(new Uint8Array(b));

test('console_write sends the guest buffer to the console and returns the count', () => {
  const m = new TestMachine();
  const pa = RAM_BASE + 0x20000;
  m.writeRam(pa, bytes('[    0.000000] Linux version 6.12\n'));
  const r = m.call(0, DBCN, D.SBI_DBCN_CONSOLE_WRITE, 34, pa, 0);
  assert.deepEqual([r.a0, r.a1], [0n, 34n]);
  assert.equal(text(m.out), '[    0.000000] Linux version 6.12\n');
});

test('console_write crossing a page boundary, and up to the last byte of RAM', () => {
  const m = new TestMachine();
  const pa = RAM_BASE + 0x21000 - 3;
  m.writeRam(pa, bytes('abcdef'));
  assert.equal(m.call(0, DBCN, 0, 6, pa, 0).a1, 6n);
  m.writeRam(RAM_END - 2, bytes('yz'));
  assert.equal(m.call(0, DBCN, 0, 2, RAM_END - 2, 0).a1, 2n);
  assert.equal(text(m.out), 'abcdefyz');
});

test('"it may do partial/no writes if the debug console is not able to accept more bytes"', () => {
  const m = new TestMachine({ consoleAccept: 3 });
  m.writeRam(RAM_BASE + 0x100, bytes('hello'));
  assert.deepEqual(m.call(0, DBCN, 0, 5, RAM_BASE + 0x100, 0).a1, 3n);
  assert.equal(text(m.out), 'hel');
  const failing = new TestMachine({ consoleAccept: -1 });
  assert.equal(failing.call(0, DBCN, 0, 5, RAM_BASE, 0).a0, E(D.SBI_ERR_FAILED), 'I/O error');
});

test('hostile buffers are INVALID_PARAM and nothing is written: outside RAM, MMIO, straddling the end, high address bits', () => {
  const m = new TestMachine();
  const IP = E(D.SBI_ERR_INVALID_PARAM);
  const w = (n: bigint | number, lo: bigint | number, hi: bigint | number = 0) => m.call(0, DBCN, D.SBI_DBCN_CONSOLE_WRITE, n, lo, hi).a0;
  assert.equal(w(16, 0), IP, 'address 0');
  assert.equal(w(16, MMIO_PAGE_PA), IP, 'MMIO is not memory for SBI');
  assert.equal(w(16, RO_PAGE_PA + 4096 - 8), IP, 'runs past the end of guest memory');
  assert.equal(w(16, RAM_BASE, 1), IP, 'base_addr_hi != 0: beyond 2^64');
  assert.equal(w(16, 1n << 53n), IP);
  assert.equal(w(16, -1n), IP);
  assert.equal(w(-1n, RAM_BASE + 0x3ff000), IP, 'a huge length from a valid base: the clipped range runs past RAM');
  assert.equal(w(2n ** 63n, -4096n), IP);
  assert.deepEqual(m.out, []);
  assert.equal(w(0, 0), 0n, 'zero bytes: nothing to check, nothing written');
  assert.equal(m.call(0, DBCN, 0, 0, 0, 0).a1, 0n);
});

test('a huge length from a valid base moves at most DBCN_CHUNK bytes and reports that count', () => {
  const m = new TestMachine();
  const r = m.call(0, DBCN, 0, -1n, RAM_BASE, 0);
  assert.deepEqual([r.a0, r.a1], [0n, BigInt(DBCN_CHUNK)]);
  assert.equal(m.out.length, DBCN_CHUNK);
});

test('console_read fills guest memory with pending input, or returns 0 without writing', () => {
  const m = new TestMachine();
  const pa = RAM_BASE + 0x22000;
  m.writeRam(pa, [0xee, 0xee, 0xee, 0xee]);
  let r = m.call(0, DBCN, D.SBI_DBCN_CONSOLE_READ, 4, pa, 0);
  assert.deepEqual([r.a0, r.a1], [0n, 0n]);
  assert.deepEqual(m.readRam(pa, 4), [0xee, 0xee, 0xee, 0xee], '"it will not write anything into the output memory if there are no bytes to be read"');
  m.input.push(...bytes('ls\n'));
  r = m.call(0, DBCN, D.SBI_DBCN_CONSOLE_READ, 2, pa, 0);
  assert.deepEqual([r.a0, r.a1], [0n, 2n]);
  assert.deepEqual(m.readRam(pa, 4), [...bytes('ls'), 0xee, 0xee]);
  r = m.call(0, DBCN, D.SBI_DBCN_CONSOLE_READ, 4, pa, 0);
  assert.equal(r.a1, 1n);
  assert.equal(m.readRam(pa, 1)[0], 10);
});

test('console_read refuses read-only and MMIO buffers and consumes no input', () => {
  const m = new TestMachine();
  m.input.push(...bytes('x'));
  const IP = E(D.SBI_ERR_INVALID_PARAM);
  assert.equal(m.call(0, DBCN, 1, 1, RO_PAGE_PA, 0).a0, IP, 'read-only RAM cannot receive input');
  assert.equal(m.call(0, DBCN, 1, 1, MMIO_PAGE_PA, 0).a0, IP);
  assert.equal(m.call(0, DBCN, 1, 2, RAM_END - 1, 0).a0, IP);
  assert.deepEqual(m.input, bytes('x'));
  assert.equal(m.call(0, DBCN, 0, 4, RO_PAGE_PA, 0).a0, 0n, 'but it can be written to the console');
});

test('console_write_byte writes the low 8 bits of a0', () => {
  const m = new TestMachine();
  assert.deepEqual(m.call(0, DBCN, D.SBI_DBCN_CONSOLE_WRITE_BYTE, 0x7fffff41n).a1, 0n);
  m.call(0, DBCN, D.SBI_DBCN_CONSOLE_WRITE_BYTE, -246n); // low byte 0x0a
  assert.deepEqual(m.out, [0x41, 0x0a]);
  assert.equal(m.call(0, DBCN, 3).a0, E(D.SBI_ERR_NOT_SUPPORTED));
});

test('without a console every DBCN function is DENIED', () => {
  const m = new TestMachine({ noConsole: true });
  for (const fid of [0, 1, 2]) assert.equal(m.call(0, DBCN, fid, 1, RAM_BASE, 0).a0, E(D.SBI_ERR_DENIED));
});

test('log-dirty and populate-on-demand pages: the owner resolves the fault and the access is retried', () => {
  const pa = RAM_BASE + 0x30000;
  const gfn = pa / 4096;
  const m = new TestMachine();
  m.p2m.set(gfn, m.p2m.mfnOf(gfn), P2M_RAM_LOGDIRTY);
  m.input.push(...bytes('ok'));
  assert.equal(m.call(0, DBCN, 1, 2, pa, 0).a0, E(D.SBI_ERR_INVALID_PARAM), 'no resolver: a log-dirty page is not writable');
  assert.deepEqual(m.input, bytes('ok'), 'and no input was consumed');
  // The hypervisor's fault handler: log the page dirty and make it writable again.
  const logged: number[] = [];
  m.platform.resolvePhysFault = (page) => {
    logged.push(page);
    m.p2m.set(page, m.p2m.mfnOf(page), P2M_RAM_RW);
    return true;
  };
  const r = m.call(0, DBCN, 1, 2, pa, 0);
  assert.deepEqual([r.a0, r.a1], [0n, 2n]);
  assert.deepEqual(logged, [gfn], 'the dirty page was reported once');
  assert.deepEqual(m.readRam(pa, 2), bytes('ok'));
  // PoD: no frame until touched; a resolver that cannot back it leaves the buffer invalid.
  m.p2m.set(gfn + 1, -1, P2M_POD);
  m.platform.resolvePhysFault = () => false;
  assert.equal(m.call(0, DBCN, 0, 4, pa + 4096, 0).a0, E(D.SBI_ERR_INVALID_PARAM));
});
