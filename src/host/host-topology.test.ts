// SPDX-License-Identifier: GPL-2.0-only
// --topology parsing and sysfs detection (against fake /sys trees in a temp dir).
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { cpuCore, cpuNode, cpuSocket } from '../hypervisor/sched/sched-if.ts';
import { detectTopology, parseCpuList, parseTopology } from './host-topology.ts';

const dirs: string[] = [];
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }); });

/** A fake sysfs: cpus as [linux cpu, package, core_id]; nodes as cpulist strings (undefined: no node dir). */
function fakeSys(cpus: Array<[number, number, number]>, nodes?: string[], extra?: (root: string) => void): string {
  const root = mkdtempSync(join(tmpdir(), 'tsxen-sys-'));
  dirs.push(root);
  const cpuDir = join(root, 'devices/system/cpu');
  mkdirSync(join(cpuDir, 'cpufreq'), { recursive: true }); // not a cpuN: ignored
  writeFileSync(join(cpuDir, 'online'), '0-1\n');
  for (const [c, pkg, core] of cpus) {
    mkdirSync(join(cpuDir, `cpu${c}/topology`), { recursive: true });
    writeFileSync(join(cpuDir, `cpu${c}/topology/physical_package_id`), `${pkg}\n`);
    writeFileSync(join(cpuDir, `cpu${c}/topology/core_id`), `${core}\n`);
  }
  if (nodes) {
    nodes.forEach((l, i) => {
      mkdirSync(join(root, `devices/system/node/node${i}`), { recursive: true });
      writeFileSync(join(root, `devices/system/node/node${i}/cpulist`), `${l}\n`);
    });
  }
  extra?.(root);
  return root;
}

test('parseTopology: the shape, nodes default 1; errors name the option, the value and what is wrong', () => {
  assert.deepEqual(parseTopology('sockets=2,cores=4,threads=2,nodes=2'), { sockets: 2, coresPerSocket: 4, threadsPerCore: 2, nodes: 2 });
  assert.deepEqual(parseTopology('threads=1,cores=3,sockets=1'), { sockets: 1, coresPerSocket: 3, threadsPerCore: 1, nodes: 1 });
  const bad: Array<[string, RegExp]> = [
    ['sockets=0,cores=1,threads=1', /^--topology "sockets=0,cores=1,threads=1": sockets needs a whole number from 1 to 256, got "0"$/],
    ['sockets=x,cores=1,threads=1', /sockets needs a whole number .* got "x"/],
    ['sockets=1.5,cores=1,threads=1', /got "1.5"/],
    ['sockets=1,cores=1,threads=1,dies=2', /unknown key 'dies'/],
    ['sockets=1,cores=2', /missing threads=/],
    ['sockets=1,sockets=2,cores=1,threads=1', /'sockets' given twice/],
    ['sockets=4,cores=8,threads=16', /4\*8\*16 = 512 CPUs, more than 256/],
    ['sockets=3,cores=1,threads=1,nodes=2', /nodes=2 does not divide sockets=3/],
    ['sockets=1,cores=1,threads=1,nodes=2', /nodes=2 does not divide sockets=1/],
    ['8', /need key=value items/],
    ['', /need key=value items/],
  ];
  for (const [s, re] of bad) {
    const r = parseTopology(s);
    assert.equal(typeof r, 'string', s);
    assert.match(r as string, re, s);
    assert.ok((r as string).startsWith(`--topology ${JSON.stringify(s)}: `), r as string);
  }
});

test('Xen/Linux numbering: cpu = ((socket * C) + core) * T + thread, node = socket / (S/N)', () => {
  const t = parseTopology('sockets=4,cores=3,threads=2,nodes=2');
  assert.ok(typeof t !== 'string');
  for (let s = 0; s < 4; s++) for (let c = 0; c < 3; c++) for (let th = 0; th < 2; th++) {
    const cpu = (s * 3 + c) * 2 + th;
    assert.equal(cpuSocket(t, cpu), s);
    assert.equal(cpuCore(t, cpu), s * 3 + c); // a host-wide core id: siblings share it, no two sockets do
    assert.equal(cpuNode(t, cpu), Math.floor(s / 2));
  }
});

test('parseCpuList: Linux cpulist format', () => {
  assert.deepEqual(parseCpuList('0-3,8,10-11\n'), [0, 1, 2, 3, 8, 10, 11]);
  assert.deepEqual(parseCpuList('\n'), []);
  assert.equal(parseCpuList('3-1'), null);
  assert.equal(parseCpuList('a'), null);
});

test('detectTopology: 2 packages x 2 cores x 2 threads, Linux numbering with siblings half apart, 2 nodes', () => {
  // Linux on such a machine: cpu0-3 are thread 0 of each core, cpu4-7 their siblings; core ids sparse.
  const cpus: Array<[number, number, number]> = [[0, 0, 0], [1, 0, 4], [2, 1, 0], [3, 1, 4], [4, 0, 0], [5, 0, 4], [6, 1, 0], [7, 1, 4]];
  const root = fakeSys(cpus, ['0-1,4-5', '2-3,6-7', '']); // node2: memory only
  assert.deepEqual(detectTopology(root, 99), { topology: { sockets: 2, coresPerSocket: 2, threadsPerCore: 2, nodes: 2 }, note: null });
});

test('detectTopology: no NUMA directory = one node; a single CPU', () => {
  const root = fakeSys([[0, 0, 0], [1, 0, 1], [2, 0, 2], [3, 0, 3]]);
  assert.deepEqual(detectTopology(root, 99), { topology: { sockets: 1, coresPerSocket: 4, threadsPerCore: 1, nodes: 1 }, note: null });
  assert.deepEqual(detectTopology(fakeSys([[0, 0, 0]], ['0']), 99), { topology: { sockets: 1, coresPerSocket: 1, threadsPerCore: 1, nodes: 1 }, note: null });
});

test('detectTopology: falls back to os CPUs flat, with a note, when sysfs is missing or the shape does not fit', () => {
  const missing = join(tmpdir(), 'tsxen-no-such-sys');
  assert.deepEqual(detectTopology(missing, 6), {
    topology: { sockets: 1, coresPerSocket: 6, threadsPerCore: 1, nodes: 1 },
    note: `no ${join(missing, 'devices/system/cpu')}: using 6 CPU(s) in one socket (flat)`,
  });
  // Hybrid: two 2-thread cores and two 1-thread cores in one package.
  const hybrid = detectTopology(fakeSys([[0, 0, 0], [1, 0, 0], [2, 0, 1], [3, 0, 1], [4, 0, 8], [5, 0, 9]]), 99);
  assert.ok(typeof hybrid !== 'string');
  assert.deepEqual(hybrid.topology, { sockets: 1, coresPerSocket: 6, threadsPerCore: 1, nodes: 1 });
  assert.match(hybrid.note!, /cores of different thread counts: using 6 CPU\(s\) in one socket/);
  // Sub-NUMA clustering: two nodes inside one package: the shape stays, one node.
  const snc = detectTopology(fakeSys([[0, 0, 0], [1, 0, 1], [2, 0, 2], [3, 0, 3]], ['0-1', '2-3']), 99);
  assert.ok(typeof snc !== 'string');
  assert.deepEqual(snc.topology, { sockets: 1, coresPerSocket: 4, threadsPerCore: 1, nodes: 1 });
  assert.match(snc.note!, /2 NUMA nodes over 1 socket\(s\) are not whole sockets/);
  // A cpu directory without topology (offline) does not count.
  const off = fakeSys([[0, 0, 0], [1, 0, 1]], undefined, (r) => mkdirSync(join(r, 'devices/system/cpu/cpu2')));
  assert.deepEqual(detectTopology(off, 99), { topology: { sockets: 1, coresPerSocket: 2, threadsPerCore: 1, nodes: 1 }, note: null });
  assert.match(detectTopology(missing, 300) as string, /^--topology host: this machine has 300 CPUs, more than 256$/);
});

test('detectTopology on this machine: a shape whose CPU count is the online CPUs', () => {
  const r = detectTopology();
  assert.ok(typeof r !== 'string');
  const t = r.topology;
  assert.equal(t.sockets * t.coresPerSocket * t.threadsPerCore, cpus().length); // both count the online CPUs
});
