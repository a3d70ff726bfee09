// SPDX-License-Identifier: GPL-2.0-only
// Unmodified M-mode firmware on the virt board: Debian's OpenSBI (qemu-system-data's
// opensbi-riscv64-generic-fw_dynamic.bin) boots on real harts from the board's device tree,
// finds the ACLINT, UART and test device, and runs an S-mode payload that drives the PLIC,
// starts hart 1 (an ACLINT MSWI IPI), takes an SBI timer interrupt, reads the RTC and shuts
// the machine down through the test device. Time is virtual (derived from executed slices),
// so the run is deterministic.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { crossBuild, ROOT } from '../../../tests/conformance/toolchain.ts';
import type { FinisherEvent } from '../devices/sifive-test.ts';
import { parseElf } from '../loader/elf.ts';
import { EXIT_WFI } from '../riscv/hart-api.ts';
import { Hart } from '../riscv/hart.ts';
import { enterFirmware, VirtBoard } from './virt.ts';

const OPENSBI = '/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.bin';
const OPENSBI_ELF = '/usr/share/qemu/opensbi-riscv64-generic-fw_dynamic.elf';
const WALL_NS = 1_764_000_000_123_456_789n;

function payloadElf(): string {
  const dir = join(ROOT, 'src/hardware/boards/testdata');
  const elf = crossBuild('virt/virt-payload.elf', [join(dir, 'virt-payload.c')], ['-O2', '-march=rv64imac_zicsr',
    '-mabi=lp64', '-mcmodel=medany', '-ffreestanding', '-nostdlib', '-static', '-Wl,--build-id=none',
    '-T', join(dir, 'virt-payload.ld')]);
  return elf;
}

/** The payload as a raw image (what a kernel Image looks like to the board). */
function payload(): Uint8Array {
  const bytes = new Uint8Array(readFileSync(payloadElf()));
  const img = parseElf(bytes);
  assert.equal(img.segments.length, 1);
  const seg = img.segments[0];
  assert.equal(seg.paddr, 0x8020_0000);
  return bytes.slice(seg.offset, seg.offset + seg.filesz);
}

function boot(smp: number, elf = false) {
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  let console = '';
  let finished: FinisherEvent | null = null;
  const board = new VirtBoard({
    hartCount: smp, ramSize: 128 << 20, mode: 'firmware', timebase: tb, wallclockNs: () => WALL_NS,
    uartTx: (b) => { console += String.fromCharCode(b); },
    onFinish: (e) => { finished = e; },
    createHart: (p) => new Hart({ ...p, resetPc: 0x8000_0000 }),
  });
  const plan = board.bootFirmware({
    firmware: elf ? { name: OPENSBI_ELF, bytes: new Uint8Array(readFileSync(OPENSBI_ELF)) }
      : { name: OPENSBI, bytes: new Uint8Array(readFileSync(OPENSBI)) },
    kernel: elf ? { name: 'virt-payload.elf', bytes: new Uint8Array(readFileSync(payloadElf())) }
      : { name: 'virt-payload', bytes: payload() },
  });
  for (const e of plan.entries) enterFirmware(board.harts[e.hartId], e);
  const SLICE = 20_000;
  for (let i = 0; i < 20_000 && finished === null; i++) {
    let allWfi = true;
    for (const h of board.harts) if (h.step(SLICE) !== EXIT_WFI) allWfi = false;
    // One tick per instruction, as if at 10 MHz; idle harts let time jump 0.1 ms.
    tb.t += allWfi ? 1000 : SLICE;
    board.tick();
  }
  return { console, finished: finished as FinisherEvent | null };
}

for (const [smp, elf] of [[1, false], [2, false], [1, true]] as const) {
  test(`OpenSBI (${elf ? 'ELF' : 'raw'}) boots on the virt board with ${smp} hart(s) and runs an S-mode payload to poweroff`, () => {
    const r = boot(smp, elf);
    assert.match(r.console, /OpenSBI v\d+\.\d+/);
    assert.match(r.console, /Platform Name\s+: riscv-virtio,tsxen/);
    assert.match(r.console, new RegExp(`Platform HART Count\\s+: ${smp}\\b`));
    assert.match(r.console, /Platform IPI Device\s+: aclint-mswi/);
    assert.match(r.console, /Platform Timer Device\s+: aclint-mtimer @ 10000000Hz/);
    assert.match(r.console, /Platform Console Device\s+: uart8250/);
    assert.match(r.console, /Platform Shutdown Device\s+: sifive_test/);
    assert.match(r.console, /Domain0 Next Address\s+: 0x0*80200000/);
    assert.match(r.console, /payload: hart 0 in S-mode/);
    assert.match(r.console, /plic claim 0x000000000000000a seip clear/);
    // SBI_ERR_INVALID_PARAM (-3) for a hart that does not exist.
    assert.match(r.console, smp > 1 ? /hart 1 up/ : /hart_start\(1\): error 0xfffffffffffffffd/);
    assert.match(r.console, /timer fired after 0x0000000000000001/);
    assert.match(r.console, new RegExp(`rtc 0x${WALL_NS.toString(16).padStart(16, '0')}`));
    assert.deepEqual(r.finished, { kind: 'pass' });
    assert.doesNotMatch(r.console, /still running/);
  });
}
