// SPDX-License-Identifier: GPL-2.0-only
// The ELF loader against real files built by riscv64-linux-gnu-gcc at test time: headers and
// segments must agree with binutils' `readelf -lhW`, symbols with `nm`, RAM contents with the
// file bytes (and zeros for .bss); broken and foreign files give one-line LoadErrors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, crossBuild } from '../../../tests/conformance/toolchain.ts';
import { LoadError, isElf, loadElf, loadRaw, parseElf, type LoadTarget } from './elf.ts';
import { PhysBus } from '../bus/phys-bus.ts';

const DATA = join(ROOT, 'src/hardware/loader/testdata');
const SRC = [join(DATA, 'sections.S')];
const link = (base: string) => ['-nostdlib', '-static', '-Wl,--build-id=none', `-Wl,--defsym=BASE=${base}`, '-T', join(DATA, 'link.ld')];
const RV64 = ['-march=rv64gc', '-mabi=lp64d'];

const elf64 = () => crossBuild('loader/sections64.elf', SRC, [...RV64, ...link('0x80000000')]);
const elfHigh = () => crossBuild('loader/sections-high.elf', SRC, [...RV64, ...link('0x90000000')]);
const elf32 = () => crossBuild('loader/sections32.elf', SRC, ['-march=rv32gc', '-mabi=ilp32d', ...link('0x80000000')]);
const elfDyn = () => crossBuild('loader/sections.so', SRC, [...RV64, '-nostdlib', '-shared', '-fPIC']);

function tool(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `${cmd} failed: ${r.stderr}`);
  return r.stdout;
}

/** Entry and PT_LOAD rows as binutils reports them. */
function readelf(path: string) {
  const out = tool('riscv64-linux-gnu-readelf', ['-lhW', path]);
  const entry = Number(/Entry point address:\s+(0x[0-9a-f]+)/.exec(out)![1]);
  const loads = [...out.matchAll(/^\s+LOAD\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)\s+(0x\w+)/gm)].map((m) => ({
    offset: Number(m[1]), vaddr: Number(m[2]), paddr: Number(m[3]), filesz: Number(m[4]), memsz: Number(m[5]),
  }));
  return { entry, loads };
}

test('headers, PT_LOAD segments and symbols agree with readelf and nm', () => {
  const path = elf64();
  const bytes = readFileSync(path);
  const img = parseElf(bytes);
  const ref = readelf(path);
  assert.equal(img.entry, ref.entry);
  assert.deepEqual(img.segments.map(({ offset, vaddr, paddr, filesz, memsz }) => ({ offset, vaddr, paddr, filesz, memsz })), ref.loads);
  assert.ok(ref.loads.some((s) => s.memsz > s.filesz), 'the fixture has a zero-filled tail');
  const nm = new Map(tool('riscv64-linux-gnu-nm', [path]).trim().split('\n').map((l) => {
    const [v, , name] = l.split(' ');
    return [name, Number(`0x${v}`)] as const;
  }));
  for (const name of ['tohost', 'fromhost', 'data_word', 'big_bss', '_start']) assert.equal(img.symbol(name), nm.get(name), name);
  assert.equal(img.symbol('no_such_symbol'), undefined);
});

test('loading copies file bytes to p_paddr and zeroes p_memsz - p_filesz', () => {
  const path = elf64();
  const bytes = readFileSync(path);
  const img = parseElf(bytes);
  const bus = new PhysBus(0x8000_0000, 1 << 20);
  bus.ram.fill(0xee);
  assert.equal(loadElf(bytes, img, bus), img.entry);
  for (const s of readelf(path).loads) {
    const at = s.paddr - bus.ramBase;
    assert.deepEqual(bus.ram.subarray(at, at + s.filesz), new Uint8Array(bytes.subarray(s.offset, s.offset + s.filesz)));
    assert.ok(bus.ram.subarray(at + s.filesz, at + s.memsz).every((b) => b === 0), 'tail zeroed');
    assert.equal(bus.ram[at + s.memsz], 0xee, 'nothing written past p_memsz');
  }
  const dw = img.symbol('data_word')! - bus.ramBase;
  assert.equal(Buffer.from(bus.ram.subarray(dw, dw + 8)).readBigUInt64LE(), 0x1122334455667788n);
});

test('truncated files: each cut names what is missing', () => {
  const bytes = readFileSync(elf64());
  assert.throws(() => parseElf(bytes.subarray(0, 40)), /^LoadError: truncated ELF header: 40 bytes, need 64$/);
  assert.throws(() => parseElf(bytes.subarray(0, 100)), /^LoadError: truncated ELF: program headers end at \d+, file has 100 bytes$/);
  const { loads } = readelf(elf64());
  const cut = loads[1].offset + 8;
  assert.throws(() => parseElf(bytes.subarray(0, cut)), new RegExp(`^LoadError: truncated ELF: segment \\d+ needs bytes up to ${loads[1].offset + loads[1].filesz}, file has ${cut}$`));
});

test('wrong class, endianness, machine and type are refused by name', () => {
  assert.throws(() => parseElf(readFileSync(elf32())), /ELF class ELFCLASS32 \(32-bit\), expected ELFCLASS64/);
  const be = Uint8Array.from(readFileSync(elf64()));
  be[5] = 2;
  assert.throws(() => parseElf(be), /ELF data encoding big-endian, expected little-endian/);
  const host = readFileSync(process.execPath); // this machine's own Node binary: a non-RISC-V ELF
  const m = host.readUInt16LE(18);
  if (m !== 243) assert.throws(() => parseElf(host), new RegExp(`ELF machine ${m} \\(.*\\), expected 243 \\(RISC-V\\)`));
  assert.throws(() => parseElf(readFileSync(elfDyn())), /ELF type ET_DYN, expected ET_EXEC/);
  assert.throws(() => parseElf(new TextEncoder().encode('#!/bin/sh\n')), /not an ELF file/);
  assert.equal(isElf(new TextEncoder().encode('#!/bin/sh\n')), false);
});

test('a segment outside RAM is refused before anything is written', () => {
  const bytes = readFileSync(elfHigh());
  const bus = new PhysBus(0x8000_0000, 1 << 20);
  assert.throws(() => loadElf(bytes, parseElf(bytes), bus), /^LoadError: segment at 0x90000000-0x9000000e lies outside RAM \[0x80000000-0x80100000\)$/);
  assert.ok(bus.ram.every((b) => b === 0));
});

test('raw images load at the given address and must fit', () => {
  const bus = new PhysBus(0x8000_0000, 8192);
  loadRaw(Uint8Array.of(1, 2, 3), 0x8000_1ffd, bus);
  assert.deepEqual([...bus.ram.subarray(0x1ffd)], [1, 2, 3]);
  assert.throws(() => loadRaw(new Uint8Array(8193), 0x8000_0000, bus), /^LoadError: image of 8193 bytes at 0x80000000 does not fit in RAM \[0x80000000-0x80002000\)$/);
  assert.throws(() => loadRaw(new Uint8Array(0), 0x8000_0000, bus), LoadError);
});

test('mutated ELF files: only LoadError escapes, and nothing lands outside RAM', () => {
  const good = readFileSync(elf64());
  let x = 0x12345678;
  const rnd = () => { x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; return x; };
  let loaded = 0, refused = 0;
  for (let i = 0; i < 2000; i++) {
    const bytes = Uint8Array.from(good);
    // flip 1-4 bytes in the headers (ELF header, program headers) or anywhere, or cut the file
    for (let k = 1 + (rnd() % 4); k > 0; k--) {
      const at = rnd() % 3 === 0 ? rnd() % bytes.length : rnd() % 240;
      bytes[at] = rnd() & 0xff;
    }
    const input = rnd() % 5 === 0 ? bytes.subarray(0, rnd() % bytes.length) : bytes;
    const bus = new PhysBus(0x8000_0000, 1 << 20);
    const strict: LoadTarget = {
      ramBase: bus.ramBase, ramSize: bus.ramSize,
      writePhys: (pa, b) => { assert.ok(bus.writePhys(pa, b), `write outside RAM at 0x${pa.toString(16)}`); return true; },
      zeroPhys: (pa, n) => { assert.ok(bus.zeroPhys(pa, n), `zero fill outside RAM at 0x${pa.toString(16)}`); return true; },
    };
    try {
      const img = parseElf(input);
      loadElf(input, img, strict);
      img.symbol('tohost');
      loaded++;
    } catch (e) {
      if (!(e instanceof LoadError)) throw e;
      assert.doesNotMatch(e.message, /\n/, 'one line');
      refused++;
    }
  }
  assert.ok(loaded > 0 && refused > 0, `${loaded} loaded, ${refused} refused`);
});
