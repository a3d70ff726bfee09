// SPDX-License-Identifier: GPL-2.0-only
// The HVM builder with the virt device model: an HVM domain's kernel talks to a real NS16550A
// and the SiFive finisher through the ioreq path, gets the device tree in a1, and its
// poweroff shuts the domain down; HVM and PV domains share the frame pool side by side.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, li, makeHv, pvDomain, peek32, DATA } from '../hypercall/test-support.ts';
import { virtDeviceModel } from './hvm-devices.ts';
import { xr } from '../../hardware/riscv/test-support.ts';
import { SHUTDOWN_poweroff } from '../public/xen.ts';

function raw(words: number[]): Uint8Array {
  return new Uint8Array(new Uint32Array(words).buffer);
}

test('an HVM domain writes to its emulated UART and powers off through the finisher; a PV domain runs beside it', () => {
  const { hv } = makeHv(16384);
  const out: number[] = [];
  const code = [
    ...li(5, 0x10000000),
    A.addi(6, 0, 0x68), A.sb(6, 5, 0), // 'h' to THR
    A.addi(6, 0, 0x69), A.sb(6, 5, 0), // 'i'
    ...li(7, 0x100000), ...li(6, 0x5555), A.sw(6, 7, 0), // finisher: pass → poweroff
    A.jal(0, 0),
  ];
  const pvCounter = [A.addi(5, 5, 1), ...li(6, DATA), A.sw(5, 6, 0)];
  const pv = pvDomain(hv, [...pvCounter, A.jal(0, -4 * pvCounter.length)]);
  const d = hv.createDomain({ type: 'hvm', memoryMiB: 16, kernel: raw(code) }, { deviceModel: (dom) => virtDeviceModel(dom, { uartTx: (b) => out.push(b) }) });
  const h = d.vcpus[0]!.hart;
  assert.equal(h.getPc(), 0x80200000);
  const dtb = Number(xr(h, 11));
  assert.ok(dtb > 0x80200000 && dtb < 0x81000000);
  const off = d.ownRamOffset(dtb);
  assert.equal(hv.pool.view.getUint32(off, false), 0xd00dfeed); // FDT magic
  hv.run(10);
  assert.equal(String.fromCharCode(...out), 'hi');
  assert.equal(d.state, 'shutdown');
  assert.equal(d.shutdownCode, SHUTDOWN_poweroff);
  assert.equal(pv.state, 'running');
  assert.ok(peek32(pv, DATA) > 0);
});

test('an HVM domain without a device model faults on MMIO and crashes alone', () => {
  const { hv } = makeHv(16384);
  const d = hv.createDomain({ type: 'hvm', memoryMiB: 16, kernel: raw([...li(5, 0x10000000), A.sb(0, 5, 0), A.jal(0, 0)]) });
  const pv = pvDomain(hv);
  hv.run(4);
  assert.equal(d.state, 'shutdown');
  assert.match(d.crashReason, /0x10000000/);
  assert.equal(pv.state, 'running');
});

test('an HVM domain maps its shared_info with add_to_physmap and then reads the wallclock there', async () => {
  const { hypercall, poke, peek } = await import('../hypercall/test-support.ts');
  const { hv } = makeHv(16384);
  hv.setWallclock(1_800_000_000, 0);
  const d = hv.createDomain({ type: 'hvm', memoryMiB: 16, kernel: raw([A.jal(0, 0)]) });
  assert.equal(d.sharedInfoGfn, -1);
  const atp = new Uint8Array(24);
  const dv = new DataView(atp.buffer);
  dv.setUint16(0, 0x7ff0, true); // DOMID_SELF
  dv.setUint32(4, 0, true); // XENMAPSPACE_shared_info
  dv.setBigUint64(16, BigInt(0x80000 + 4000), true);
  poke(d, 0x80100000, atp);
  assert.equal(hypercall(d.vcpus[0]!, 12, 7, 0x80100000), 0n);
  const wc = new DataView(peek(d, (0x80000 + 4000) * 4096 + 1072, 16).buffer);
  assert.equal(wc.getUint32(0, true) % 2, 0);
  assert.equal(wc.getUint32(4, true), 1_800_000_000);
});
