// SPDX-License-Identifier: GPL-2.0-only
// A host of a given shape (sockets=2,cores=2,threads=2,nodes=2) built as the host daemon builds
// it (HostSched from the Topology, the real Ctrl; requests through JSON as over the socket):
// credit2's runqueues follow the shape, `xl info` shows it and `xl info -n` prints Xen 4.7's
// cpu_topology and numa_info tables (xl_cmdimpl.c output_topologyinfo / output_numainfo) for
// it; `tsxen host --topology` rejects bad shapes naming the option and the value.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { hostCommand } from '../../src/host/host-cli.ts';
import { HostSched } from '../../src/host/host-sched.ts';
import type { Credit2 } from '../../src/hypervisor/sched/credit2.ts';
import { topologyCpus, type Topology } from '../../src/hypervisor/sched/sched-if.ts';
import { makeElf } from '../../src/hypervisor/hypercall/test-support.ts';
import { Ctrl } from '../../src/toolstack/ctrl/ctrl.ts';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { inProcessXl } from './xl-inproc.ts';

const KERNEL = { base64: Buffer.from(makeElf([0x0000006f])).toString('base64') }; // jal x0, 0: spin
const SHAPE: Topology = { sockets: 2, coresPerSocket: 2, threadsPerCore: 2, nodes: 2 };

function host(topo: Topology, cmdline = '') {
  const hs = new HostSched(topo, cmdline, () => {});
  let t = 0;
  const ctrl = new Ctrl({
    memoryMiB: 64, nrCpus: topologyCpus(topo), topology: topo, timebase: { frequency: 10_000_000, now: () => (t += 100) },
    scheduler: hs.ops, schedControl: hs.control, loadFile: () => { throw new Error('ENOENT'); }, random: (n) => new Uint8Array(n).fill(1),
  });
  hs.attach(ctrl.hv);
  const call = async (m: string, p: unknown): Promise<unknown> => {
    const q = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    const r = hs.dispatch(m, q);
    if (r !== undefined) return JSON.parse(JSON.stringify(r));
    if (m === 'host.physinfo') return JSON.parse(JSON.stringify(ctrl.physinfo()));
    if (m === 'domain.list') return JSON.parse(JSON.stringify(ctrl.list(q.domid)));
    if (m === 'domain.lookup') return { domid: ctrl.lookup(q.name) };
    if (m === 'vcpu.list') return JSON.parse(JSON.stringify(ctrl.vcpus(q.domid)));
    if (m === 'vcpu.pin') return (ctrl.pin(q.domid, q.vcpu, q.hard, q.soft), {});
    throw new Error(`test host: ${m}`);
  };
  return { hs, ctrl, xl: inProcessXl(call) };
}
const pool0 = (hs: HostSched): Credit2 => hs.ops.pools.pools.get(0)!.sched as Credit2;

test('credit2_runqueue follows the given shape: socket, core, node, cpu', () => {
  // cpu = ((socket * 2) + core) * 2 + thread: socket 0 is pCPUs 0-3, core 0 of it 0-1.
  assert.deepEqual(pool0(host(SHAPE, 'credit2_runqueue=socket').hs).runqueues(), [[0, 1, 2, 3], [4, 5, 6, 7]]);
  assert.deepEqual(pool0(host(SHAPE, 'credit2_runqueue=core').hs).runqueues(), [[0, 1], [2, 3], [4, 5], [6, 7]]);
  assert.deepEqual(pool0(host({ ...SHAPE, sockets: 4 }, 'credit2_runqueue=node').hs).runqueues(),
    [[0, 1, 2, 3, 4, 5, 6, 7], [8, 9, 10, 11, 12, 13, 14, 15]]);
  assert.equal(pool0(host(SHAPE, 'credit2_runqueue=cpu').hs).runqueues().length, 8);
  // The default arrangement is socket (Xen 4.7's opt_runqueue).
  assert.deepEqual(pool0(host(SHAPE).hs).runqueues(), [[0, 1, 2, 3], [4, 5, 6, 7]]);
});

test('xl info shows the shape; xl info -n prints the cpu_topology and numa_info tables between free_cpus and xen_major', async () => {
  const h = host(SHAPE);
  const plain = (await h.xl('info')).out;
  for (const [k, v] of [['nr_cpus', 8], ['max_cpu_id', 7], ['nr_nodes', 2], ['cores_per_socket', 2], ['threads_per_core', 2]] as const)
    assert.match(plain, new RegExp(`^${k.padEnd(23)}: ${v}$`, 'm'), k);
  assert.match(plain, /^virt_caps {14}: hvm$/m); // printf("virt_caps              :") then " hvm"
  assert.doesNotMatch(plain, /cpu_topology/);
  const r = await h.xl('info', '-n');
  assert.equal(r.code, 0);
  const rows = [[0, 0, 0], [0, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 1], [0, 1, 1], [1, 1, 1], [1, 1, 1]];
  const free = h.ctrl.hv.pool.freeFrames; // machine memory is one pool: each node an equal share of it
  const tables = 'cpu_topology           :\n' +
    'cpu:    core    socket     node\n' +
    rows.map(([core, socket, node], cpu) => sprintf('%3d:    %4d     %4d     %4d\n', cpu, core, socket, node)).join('') +
    'device topology        :\ndevice           node\nNo device topology data available\n' +
    'numa_info              :\n' +
    'node:    memsize    memfree    distances\n' +
    sprintf('%4d:    %6lu     %6lu      %d,%d\n', 0, 32, Math.floor(Math.floor(free / 2) / 256), 10, 20) +
    sprintf('%4d:    %6lu     %6lu      %d,%d\n', 1, 32, Math.floor((free - Math.floor(free / 2)) / 256), 20, 10);
  assert.ok(r.out.includes(tables), r.out);
  // The literal rows, so a format slip in sprintf shows too.
  assert.ok(r.out.includes('cpu_topology           :\ncpu:    core    socket     node\n  0:       0        0        0\n  1:       0        0        0\n  2:       1        0        0\n'));
  assert.ok(r.out.includes('  7:       1        1        1\n'));
  assert.match(r.out, /^ {3}0: {8}32 {6}\s*\d+ {6}10,20$/m);
  // In print_info's order: physinfo, the tables, then xeninfo.
  assert.ok(r.out.indexOf('free_cpus') < r.out.indexOf('cpu_topology'));
  assert.ok(r.out.indexOf('numa_info') < r.out.indexOf('xen_major'));
  assert.equal(r.out.replace(tables, ''), plain, 'the rest of xl info is unchanged');
});

test('node:N in cpupool-cpu-remove/-add, cpupool-create nodes=[N] and vcpu-pin are the CPUs of node N', async () => {
  const h = host(SHAPE);
  assert.equal((await h.xl('cpupool-cpu-remove', 'Pool-0', 'node:1')).code, 0);
  assert.equal((await h.xl('cpupool-list', '-c')).out, 'Name               CPU list\nPool-0             0,1,2,3\n');
  const r = await h.xl('cpupool-create', 'name="numa1"', 'nodes=[1]');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^number of cpus: 4$/m);
  assert.equal((await h.xl('cpupool-list', '-c')).out, 'Name               CPU list\nPool-0             0,1,2,3\nnuma1              4,5,6,7\n');
  assert.equal((await h.xl('cpupool-cpu-remove', 'numa1', 'node:1,^5')).code, 0);
  assert.equal((await h.xl('cpupool-cpu-add', 'Pool-0', 'nodes:1-1,^5')).code, 0);
  assert.equal((await h.xl('cpupool-list', '-c')).out, 'Name               CPU list\nPool-0             0,1,2,3,4,6,7\nnuma1              5\n');
  // A guest's vCPU hard-pinned to node 1.
  h.ctrl.create({ name: 'guest', type: 'pv', memory: 2, vcpus: 1, maxvcpus: 1, kernel: KERNEL });
  const pin = await h.xl('vcpu-pin', 'guest', '0', 'node:1', '-');
  assert.equal(pin.code, 0, pin.err);
  assert.match((await h.xl('vcpu-list', 'guest')).out, /^guest +1 +0 .* 4-7 \/ all$/m);
  assert.deepEqual((await h.xl('vcpu-pin', 'guest', '0', 'node:2', '-')).err, 'libxl_node_to_cpumap failed.\n');
});

test('the default flat host: one socket, one node, every CPU its own core', async () => {
  const h = host({ sockets: 1, coresPerSocket: 2, threadsPerCore: 1, nodes: 1 });
  const out = (await h.xl('info', '--numa')).out;
  assert.ok(out.includes('cpu:    core    socket     node\n  0:       0        0        0\n  1:       1        0        0\ndevice topology'));
  assert.match(out, /^ {3}0: {8}64 {5}\s*\d+ {6}10$/m);
});

test('tsxen host --topology: bad shapes and a conflicting --cpus fail naming the option and the value', async () => {
  const err: string[] = [];
  const write = process.stderr.write;
  process.stderr.write = ((s: string) => (err.push(s), true)) as typeof process.stderr.write;
  const run = async (...argv: string[]): Promise<[number, string]> => {
    err.length = 0;
    const code = await hostCommand(argv);
    return [code, err.join('').split('\n')[0]!];
  };
  try {
    const rundir = ['--rundir', '/nonexistent/tsxen-topology-test'];
    assert.deepEqual(await run('--topology', 'sockets=2,cores=0,threads=1', ...rundir),
      [1, 'tsxen host: --topology "sockets=2,cores=0,threads=1": cores needs a whole number from 1 to 256, got "0"']);
    assert.deepEqual(await run('--topology', 'sockets=3,cores=1,threads=1,nodes=2', ...rundir),
      [1, 'tsxen host: --topology "sockets=3,cores=1,threads=1,nodes=2": nodes=2 does not divide sockets=3']);
    assert.deepEqual(await run('--topology', 'sockets=2,cores=1,threads=1,numa=2', ...rundir),
      [1, 'tsxen host: --topology "sockets=2,cores=1,threads=1,numa=2": unknown key \'numa\' (sockets, cores, threads, nodes)']);
    assert.deepEqual(await run('--topology', 'sockets=16,cores=4,threads=8', ...rundir),
      [1, 'tsxen host: --topology "sockets=16,cores=4,threads=8": 16*4*8 = 512 CPUs, more than 256']);
    assert.deepEqual(await run('--cpus', '4', '--topology', 'sockets=2,cores=2,threads=2', ...rundir),
      [1, 'tsxen host: --cpus 4 conflicts with --topology sockets=2,cores=2,threads=2 (8 CPUs)']);
    assert.deepEqual(await run(...rundir, '--topology'), [1, 'tsxen host: --topology: need sockets=S,cores=C,threads=T[,nodes=N] or host']);
    // Accepted shapes get as far as asking the (absent) host: exit 3, no host.
    assert.equal((await run('--status', '--cpus', '8', '--topology', 'sockets=2,cores=2,threads=2', ...rundir))[0], 3);
    assert.equal((await run('--status', '--topology', 'host', ...rundir))[0], 3);
  } finally {
    process.stderr.write = write;
  }
});
