// SPDX-License-Identifier: GPL-2.0-only
// Domain life cycle on real harts and a real frame pool: creation from a build description and
// its errors, domid allocation, pause/unpause, shutdown reasons, destroy (frames back, scrubbed),
// max_pages, and crash isolation between two running domains.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { A, hcCode, li, makeElf, makeHv, peek, peek32, poke, pvDomain, DATA } from '../hypercall/test-support.ts';
import { DomainConfigError } from './config.ts';
import { DomainBuildError } from '../build/load-target.ts';
import { HYPERVISOR_sched_op, SCHEDOP_shutdown, SHUTDOWN_reboot, SHUTDOWN_crash, DOMID_FIRST_RESERVED } from '../public/xen.ts';
import { FRAME_FREE } from '../mm/frame-pool.ts';
import { GUEST_MAGIC_BASE, STI_MAGIC, STI_NR_PAGES, STI_SHARED_INFO, STI_CMD_LINE, STI_MOD_START, STI_MOD_LEN, STI_STORE_MFN, STI_CONSOLE_MFN } from '../public/shared-info.ts';
import { xr } from '../../hardware/riscv/test-support.ts';

test('a bad build description is a DomainConfigError naming the field', () => {
  const { hv } = makeHv();
  const kernel = makeElf([A.jal(0, 0)]);
  const bad: Array<[object, string]> = [
    [{ type: 'x86', memoryMiB: 2, kernel }, 'type'],
    [{ type: 'pv', memoryMiB: 0, kernel }, 'memory'],
    [{ type: 'pv', memoryMiB: 2.5, kernel }, 'memory'],
    [{ type: 'pv', memoryMiB: 4, maxMemoryMiB: 2, kernel }, 'maxmem'],
    [{ type: 'pv', memoryMiB: 2, vcpus: 0, kernel }, 'vcpus'],
    [{ type: 'pv', memoryMiB: 2, vcpus: 4, maxVcpus: 2, kernel }, 'maxvcpus'],
    [{ type: 'pv', memoryMiB: 2, kernel: new Uint8Array(0) }, 'kernel'],
  ];
  for (const [cfg, field] of bad) {
    assert.throws(() => hv.createDomain(cfg as never), (e: unknown) => e instanceof DomainConfigError && e.field === field && e.message.includes(field));
  }
  // A kernel that is no ELF, or too big for RAM: a DomainBuildError, and nothing leaks.
  const free = hv.pool.freeFrames;
  assert.throws(() => hv.createDomain({ type: 'pv', memoryMiB: 2, maxMemoryMiB: 3, kernel: new Uint8Array([1, 2, 3]) }), DomainBuildError);
  assert.throws(() => hv.createDomain({ type: 'pv', memoryMiB: 2, maxMemoryMiB: 3, kernel: makeElf([0], 0x80000000, 3 << 20) }), /outside RAM/);
  assert.throws(() => hv.createDomain({ type: 'pv', memoryMiB: 1000, kernel }), /out of memory/);
  assert.equal(hv.pool.freeFrames, free);
  assert.deepEqual([...hv.domains.keys()], [0]);
});

test('domids: dom0 is the host; domUs from 1, next free after the last, wrapping below DOMID_FIRST_RESERVED', () => {
  const { hv } = makeHv();
  assert.equal(hv.dom0.domid, 0);
  assert.equal(hv.dom0.vcpus.length, 0);
  const a = pvDomain(hv), b = pvDomain(hv);
  assert.deepEqual([a.domid, b.domid], [1, 2]);
  hv.destroyDomain(a);
  assert.equal(pvDomain(hv).domid, 3); // not 1: the rover moves on, as in Xen
  (hv as unknown as { domidRover: number }).domidRover = DOMID_FIRST_RESERVED - 1;
  assert.equal(pvDomain(hv).domid, 1); // wraps, skipping 0
});

test('the PV builder: RAM, magic pages, start_info, vCPU 0 entry registers', () => {
  const { hv } = makeHv();
  const rd = new Uint8Array([9, 8, 7, 6]);
  const d = pvDomain(hv, [A.jal(0, 0)], { memoryMiB: 2, cmdline: 'console=hvc0', ramdisk: rd });
  assert.equal(d.totPages, 512 + 4);
  const si = GUEST_MAGIC_BASE;
  assert.equal(new TextDecoder().decode(peek(d, si + STI_MAGIC, 15)), 'xen-3.0-riscv64');
  assert.equal(peek32(d, si + STI_NR_PAGES), 512);
  assert.equal(peek32(d, si + STI_SHARED_INFO), GUEST_MAGIC_BASE + 0x1000);
  assert.equal(peek32(d, si + STI_STORE_MFN), GUEST_MAGIC_BASE / 4096 + 2);
  assert.equal(peek32(d, si + STI_CONSOLE_MFN), GUEST_MAGIC_BASE / 4096 + 3);
  assert.equal(new TextDecoder().decode(peek(d, si + STI_CMD_LINE, 13)), 'console=hvc0\0');
  const mod = peek32(d, si + STI_MOD_START);
  assert.equal(mod % 4096, 0);
  assert.equal(peek32(d, si + STI_MOD_LEN), 4);
  assert.deepEqual([...peek(d, mod, 4)], [9, 8, 7, 6]);
  const h = d.vcpus[0]!.hart;
  assert.equal(h.getPc(), 0x80000000);
  assert.equal(xr(h, 10), 0n);
  assert.equal(xr(h, 11), BigInt(GUEST_MAGIC_BASE));
});

test('shutdown by the guest (SCHEDOP_shutdown reboot) stops it and tells the toolstack', () => {
  const { hv } = makeHv();
  const events: string[] = [];
  hv.eventHooks.push((e) => events.push(`${e.kind}:${e.domid}`));
  const code = [...li(5, DATA), ...li(6, SHUTDOWN_reboot), A.sw(6, 5, 0), ...hcCode(HYPERVISOR_sched_op, SCHEDOP_shutdown, DATA), A.jal(0, 0)];
  const d = pvDomain(hv, code);
  hv.run(10);
  assert.equal(d.state, 'shutdown');
  assert.equal(d.shutdownCode, SHUTDOWN_reboot);
  assert.deepEqual(events, [`created:${d.domid}`, `shutdown:${d.domid}`]);
  assert.equal(hv.run(10), 'idle');
});

test('pause/unpause: a paused domain does not run; the count nests', () => {
  const { hv } = makeHv();
  const d = pvDomain(hv, [A.addi(5, 5, 1), A.jal(0, -4)]);
  hv.pauseDomain(d);
  hv.pauseDomain(d);
  assert.equal(hv.run(5), 'idle');
  assert.equal(d.vcpus[0]!.hart.instructions, 0);
  hv.unpauseDomain(d);
  assert.equal(hv.run(5), 'idle');
  hv.unpauseDomain(d);
  assert.equal(hv.unpauseDomain(d), false);
  hv.run(2);
  assert.ok(d.vcpus[0]!.hart.instructions > 0);
});

test('destroy returns every frame and they are scrubbed before the next domain gets them', () => {
  const { hv } = makeHv(1200);
  const before = hv.pool.freeFrames;
  const d = pvDomain(hv, [A.jal(0, 0)], { memoryMiB: 4 });
  const frames: number[] = [];
  d.p2m.forEach((_g, mfn) => frames.push(mfn));
  for (const f of frames) hv.pool.bytes.fill(0xa5, f * 4096, f * 4096 + 4096);
  hv.destroyDomain(d);
  assert.equal(hv.pool.freeFrames, before);
  assert.ok(frames.every((f) => hv.pool.owner[f] === FRAME_FREE));
  assert.equal(hv.getDomain(d.domid), undefined);
  const e = pvDomain(hv, [A.jal(0, 0)], { memoryMiB: 4 });
  let dirty = 0;
  e.p2m.forEach((gfn, mfn) => {
    if (gfn < 0x80000) return; // magic pages are filled by the builder
    for (let i = 0; i < 4096; i++) if (hv.pool.bytes[mfn * 4096 + i] === 0xa5) dirty++;
  });
  assert.equal(dirty, 0);
});

test('crash isolation: one domain faults (second-stage fault), the other keeps running untouched', () => {
  const { hv } = makeHv();
  const body = [A.addi(5, 5, 1), ...li(6, DATA), A.sd(5, 6, 0)];
  const counter = [...body, A.jal(0, -4 * body.length)];
  const good = pvDomain(hv, counter);
  const bad = pvDomain(hv, [...li(5, 0x10000000), A.sd(5, 5, 0), A.jal(0, 0)]);
  poke(good, DATA, [0, 0, 0, 0]);
  hv.run(20);
  assert.equal(bad.state, 'shutdown');
  assert.equal(bad.shutdownCode, SHUTDOWN_crash);
  assert.match(bad.crashReason, /second-stage fault at gpa 0x10000000/);
  assert.match(new TextDecoder().decode(bad.consoleLog()), /domain_crash called/);
  assert.equal(good.state, 'running');
  const n1 = peek32(good, DATA);
  hv.run(20);
  assert.ok(peek32(good, DATA) > n1 && n1 > 0);
  hv.destroyDomain(bad);
  assert.equal(good.state, 'running');
});

test('toolstack: domainInfo, setMaxPages, and remote_shutdown from a privileged caller', async () => {
  const { hv } = makeHv();
  const { hypercall } = await import('../hypercall/test-support.ts');
  const a = pvDomain(hv), b = pvDomain(hv);
  hv.run(4);
  const info = hv.domainInfo(a);
  assert.equal(info.state, 'running');
  assert.equal(info.totPages, a.totPages);
  assert.equal(info.vcpusOnline, 1);
  assert.ok(info.cpuTimeNs >= 0);
  hv.setMaxPages(a, a.totPages);
  assert.equal(a.allocFrames(1), null); // max_pages enforced
  // Only a privileged caller (dom0 on Xen) may shut another domain down.
  a.privileged = true;
  poke(a, DATA, [b.domid, 0, 0, 0, SHUTDOWN_reboot, 0, 0, 0]);
  assert.equal(hypercall(a.vcpus[0]!, HYPERVISOR_sched_op, 4 /* SCHEDOP_remote_shutdown */, DATA), 0n);
  assert.equal(b.state, 'shutdown');
  assert.equal(hv.domainInfo(b).shutdownCode, SHUTDOWN_reboot);
  hv.resumeDomain(b);
  assert.equal(b.state, 'running');
});

test('soft reset: SHUTDOWN_soft_reset, then the toolstack resets the domain keeping its memory and restarts vCPU 0', () => {
  const { hv } = makeHv();
  const code = [...li(5, DATA), A.addi(6, 0, 5 /* SHUTDOWN_soft_reset */), A.sw(6, 5, 0), ...hcCode(HYPERVISOR_sched_op, SCHEDOP_shutdown, DATA), A.jal(0, 0)];
  const d = pvDomain(hv, code);
  hv.run(4);
  assert.equal(d.shutdownCode, 5);
  const tot = d.totPages;
  poke(d, DATA + 64, [0x2a]);
  hv.softResetDomain(d);
  assert.equal(d.state, 'running');
  assert.equal(d.pauseCount, 1);
  assert.equal(d.totPages, tot);
  assert.equal(peek(d, DATA + 64, 1)[0], 0x2a); // memory kept
  // The toolstack loads a new kernel (here: a counter at DATA + 128) and starts vCPU 0.
  const again = [...li(5, DATA + 128), A.addi(6, 0, 7), A.sw(6, 5, 0), A.jal(0, 0)];
  poke(d, 0x80010000, new Uint8Array(new Uint32Array(again).buffer));
  assert.equal(hv.startVcpu(d.vcpus[0]!, 0x80010000), true);
  hv.unpauseDomain(d);
  hv.run(3);
  assert.equal(peek32(d, DATA + 128), 7);
});
