// SPDX-License-Identifier: GPL-2.0-only
// The control interface over a real Hypervisor with the PV kernel: build description checks
// (each bad field named, nothing left behind), create/list/pause/shutdown/destroy, the flags
// `xl list` prints, the dmesg ring, physinfo, and the protocol's request parser.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { base64Decode, formatUuid, parseUuid } from '../../src/toolstack/ctrl/build-desc.ts';
import { Ctrl } from '../../src/toolstack/ctrl/ctrl.ts';
import { CtrlError, parseRequest } from '../../src/toolstack/ctrl/protocol.ts';

let t = 0;
const make = (): Ctrl => new Ctrl({
  memoryMiB: 64, nrCpus: 4, timebase: { frequency: 10_000_000, now: () => (t += 100) },
  loadFile: (p) => {
    if (p === 'pv.elf') return new Uint8Array(readFileSync(buildPvKernel()));
    throw new Error('ENOENT: no such file');
  },
  random: (n) => new Uint8Array(n).fill(0xab),
});

const bad = (f: () => unknown, code: string, field: string | undefined, re: RegExp): void => {
  assert.throws(f, (e: unknown) => e instanceof CtrlError && e.code === code && e.field === field && re.test(e.message));
};

test('build descriptions: each bad field named, no domain or frame left behind', () => {
  const c = make();
  const free = c.hv.pool.freeFrames;
  const ok = { name: 'a', type: 'pv', memory: 4, kernel: 'pv.elf' };
  bad(() => c.create(null), 'EINVAL', 'description', /need a JSON object/);
  bad(() => c.create({ ...ok, name: 7 }), 'EINVAL', 'name', /name: 7/);
  bad(() => c.create({ ...ok, name: '42' }), 'EINVAL', 'name', /not all digits/);
  bad(() => c.create({ ...ok, memory: 1.5 }), 'EINVAL', 'memory', /memory: 1\.5/);
  bad(() => c.create({ ...ok, vcpus: 2, maxvcpus: 1 }), 'EINVAL', 'maxvcpus', /below vcpus=2/);
  bad(() => c.create({ ...ok, kernel: 'nope' }), 'EINVAL', 'kernel', /cannot read nope: ENOENT/);
  bad(() => c.create({ ...ok, kernel: { base64: '!!' } }), 'EINVAL', 'kernel', /not valid base64/);
  bad(() => c.create({ ...ok, ramdisk: 5 }), 'EINVAL', 'ramdisk', /need a path/);
  bad(() => c.create({ ...ok, uuid: 'x' }), 'EINVAL', 'uuid', /xxxxxxxx-/);
  bad(() => c.create({ ...ok, paused: 'yes' }), 'EINVAL', 'paused', /true or false/);
  bad(() => c.create({ ...ok, cmdline: 'x'.repeat(1024) }), 'EINVAL', 'cmdline', /at most 1023/);
  bad(() => c.create({ ...ok, memory: 128 }), 'ENOMEM', undefined, /out of memory/);
  bad(() => c.create({ ...ok, kernel: { base64: 'AAAAAAAA' } }), 'EINVAL', 'kernel', /cannot build domain "a"/);
  assert.equal(c.hv.domains.size, 1);
  assert.equal(c.hv.pool.freeFrames, free);
});

test('create, list flags, pause, rename, maxmem, shutdown, destroy; names unique; dmesg', () => {
  const c = make();
  const free0 = c.physinfo().freeMemoryMiB;
  const d = c.create({ name: 'guest', type: 'pv', memory: 4, kernel: 'pv.elf', uuid: '12345678-9abc-def0-1234-56789abcdef0', paused: true, cmdline: 'xs_timeout_ms=0' });
  bad(() => c.create({ name: 'guest', type: 'pv', memory: 4, kernel: 'pv.elf' }), 'EEXIST', 'name', /already exists/);
  assert.equal(c.lookup('guest'), d.domid);
  bad(() => c.lookup('other'), 'ESRCH', undefined, /'other' does not exist/);
  let i = c.list(d.domid)[0]!;
  assert.equal(i.uuid, '12345678-9abc-def0-1234-56789abcdef0');
  assert.equal(i.state, '--p---');
  assert.equal(i.memKiB, (4 * 256 + 4) * 4);
  const other = c.create({ name: 'other', type: 'pv', memory: 4, kernel: 'pv.elf', paused: true });
  bad(() => c.rename(d.domid, 'other'), 'EEXIST', 'name', /"other" already exists/);
  bad(() => c.rename(d.domid, 'Domain-0'), 'EEXIST', 'name', /Domain-0/);
  bad(() => c.rename(d.domid, '12'), 'EINVAL', 'name', /invalid domain name "12"/);
  bad(() => c.rename(0, 'x'), 'EINVAL', undefined, /cannot rename Domain-0/);
  c.rename(other.domid, 'renamed');
  assert.equal(c.lookup('renamed'), other.domid);
  c.setMaxMem(other.domid, 8192);
  assert.equal(c.list(other.domid)[0]!.maxMemKiB, 8192 + 1024);
  bad(() => c.setMaxMem(other.domid, -4), 'EINVAL', 'maxMemKiB', /invalid maxmem -4 KiB/);
  c.destroy(other.domid);
  c.unpause(d.domid);
  bad(() => c.unpause(d.domid), 'EINVAL', undefined, /not paused/);
  c.shutdown(d.domid, 'reboot');
  i = c.list(d.domid)[0]!;
  assert.equal(i.state, '---s--');
  assert.equal(i.shutdownReasonName, 'reboot');
  bad(() => c.shutdown(d.domid, 'halt'), 'EINVAL', undefined, /invalid shutdown reason "halt"/);
  c.destroy(d.domid);
  bad(() => c.destroy(d.domid), 'ESRCH', undefined, /domain 1 does not exist/);
  bad(() => c.pause(0), 'EINVAL', undefined, /Domain-0/);
  bad(() => c.pause('1'), 'EINVAL', undefined, /invalid domain id "1"/);
  assert.match(c.readDmesg(), /\(XEN\) d1: created "guest" \(pv, 4 MiB, 1 vCPU\(s\)\)\n\(XEN\) d2: created "other" .*\n\(XEN\) d2: destroyed\n\(XEN\) d1: destroyed\n$/);
  const pi = c.physinfo();
  assert.equal(pi.nrCpus, 4);
  assert.equal(pi.totalMemoryMiB, 64);
  assert.equal(pi.freeMemoryMiB, free0, 'every frame back after destroy');
});

test('protocol: request parsing and helpers', () => {
  assert.deepEqual(parseRequest('{"id":1,"method":"domain.list"}'), { id: 1, method: 'domain.list', params: {} });
  assert.throws(() => parseRequest('[1]'), /not a JSON object/);
  assert.throws(() => parseRequest('{"id":"x","method":"domain.list"}'), /request id/);
  assert.throws(() => parseRequest('{"id":1,"method":"x"}'), (e: unknown) => e instanceof CtrlError && e.code === 'ENOSYS');
  assert.throws(() => parseRequest('{"id":1,"method":"domain.list","params":[]}'), /params/);
  assert.deepEqual([...base64Decode('aGk=')], [104, 105]);
  assert.equal(formatUuid(parseUuid('00112233-4455-6677-8899-aabbccddeeff')), '00112233-4455-6677-8899-aabbccddeeff');
});

test('vcpu.pin: masks through the scheduler control API; bad masks change nothing', () => {
  const c = make();
  const d = c.create({ name: 'pin', type: 'pv', memory: 4, vcpus: 2, kernel: 'pv.elf', paused: true });
  const aff = (): string[] => c.vcpus(d.domid).map((v) => `${v.affinityHard}/${v.affinitySoft}`);
  assert.deepEqual(aff(), ['all/all', 'all/all']);
  c.pin(d.domid, 0, [1, 3], null);
  c.pin(d.domid, 1, null, [2]);
  assert.deepEqual(aff(), ['1,3/all', 'all/2']);
  c.pin(d.domid, -1, null, [0, 1, 2, 3, 9]); // pCPU 9 is not on the host: dropped, as Xen's intersection with the online map
  assert.deepEqual(aff(), ['1,3/all', 'all/all']);
  assert.deepEqual(c.affinity.sched.getAffinity(d.domid, 0), { hard: [1, 3], soft: [0, 1, 2, 3] });
  bad(() => c.pin(d.domid, 0, [7, 8], null), 'EINVAL', 'hard', /no pCPU of this host/);
  bad(() => c.pin(d.domid, 0, [], null), 'EINVAL', 'hard', /no pCPU/);
  bad(() => c.pin(d.domid, 2, [0], null), 'EINVAL', 'vcpu', /has no vCPU 2 \(it has 2\)/);
  bad(() => c.pin(d.domid, -1, [0], 'x'), 'EINVAL', 'soft', /need a list/);
  bad(() => c.pin(0, 0, [0], null), 'EINVAL', undefined, /Domain-0 has no vCPUs/);
  bad(() => c.pin(99, 0, [0], null), 'ESRCH', undefined, /domain 99 does not exist/);
  assert.deepEqual(aff(), ['1,3/all', 'all/all'], 'failed pins left everything as it was');
  c.destroy(d.domid);
  assert.throws(() => c.affinity.sched.getAffinity(d.domid, 0), /no domain/, 'destroy removes the domain from its cpupool');
});

test('triggers and uptime: power/reset are an HVM board\'s lines, PV has none; uptime per domain', () => {
  const c = make();
  const a = c.create({ name: 'tr', type: 'pv', memory: 4, kernel: 'pv.elf', paused: true });
  bad(() => c.trigger(a.domid, 'power'), 'EINVAL', undefined, /PV domain/);
  bad(() => c.trigger(a.domid, 'nmi'), 'ENOSYS', undefined, /not available on RISC-V/);
  bad(() => c.trigger(a.domid, 'bogus'), 'EINVAL', 'trigger', /invalid trigger/);
  bad(() => c.trigger(a.domid, 'nmi', 1), 'EINVAL', 'vcpu', /no vCPU 1/);
  assert.equal(c.info(a).state, '--p---');
  const b = c.create({ name: 'tr2', type: 'pv', memory: 4, kernel: 'pv.elf', paused: true });
  const [up0, upA, upB] = [c.info(c.hv.dom0).uptimeSec, c.info(a).uptimeSec, c.info(b).uptimeSec];
  assert.ok(up0 > upA && upA > upB && upB > 0, `${up0} > ${upA} > ${upB}`);
});

test('vcpuAffinity at build: set before the domain runs; a mask with no host pCPU builds nothing', () => {
  const c = make();
  const free = c.hv.pool.freeFrames;
  const d = c.create({ name: 'aff', type: 'pv', memory: 4, vcpus: 2, kernel: 'pv.elf', vcpuAffinity: [{ hard: [2], soft: null }, { hard: null, soft: [0, 1] }] });
  assert.deepEqual(c.vcpus(d.domid).map((v) => `${v.affinityHard}/${v.affinitySoft}`), ['2/all', 'all/0-1']);
  c.destroy(d.domid);
  assert.equal(c.hv.pool.freeFrames, free);
  bad(() => c.create({ name: 'aff', type: 'pv', memory: 4, kernel: 'pv.elf', vcpuAffinity: [{ hard: [9], soft: null }] }), 'EINVAL', 'vcpuAffinity', /no pCPU of this host/);
  bad(() => c.create({ name: 'aff', type: 'pv', memory: 4, kernel: 'pv.elf', vcpuAffinity: [{}, {}] }), 'EINVAL', 'vcpuAffinity', /at most maxvcpus=1/);
  bad(() => c.create({ name: 'aff', type: 'pv', memory: 4, kernel: 'pv.elf', vcpuAffinity: [{ hard: 'x' }] }), 'EINVAL', 'vcpuAffinity[0].hard', /pCPU numbers/);
  assert.deepEqual(c.list().map((x) => x.name), ['Domain-0']);
  assert.equal(c.hv.pool.freeFrames, free, 'the refused build returned its frames');
});
