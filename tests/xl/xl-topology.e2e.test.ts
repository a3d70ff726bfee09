// SPDX-License-Identifier: GPL-2.0-only
// `tsxen host --topology` through the real CLI and daemon: a sockets=2,cores=2,threads=2,nodes=2
// host shows its shape in bin/xl's `info` and `info -n` (Xen 4.7's cpu_topology rows), its
// credit2_runqueue=socket boot parameter is logged, `--topology host` gives a host with this
// machine's CPU count, and bad shapes exit 1 naming the option and the value.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, run, startXlHost } from './xl-harness.ts';

test('tsxen host --topology sockets=2,cores=2,threads=2,nodes=2: xl info and xl info -n show it', () => {
  const h = startXlHost(['--topology', 'sockets=2,cores=2,threads=2,nodes=2', '--no-xenstored', 'credit2_runqueue=socket']);
  try {
    const info = h.xl('info', '-n');
    assert.equal(info.code, 0, info.err);
    for (const [k, v] of [['nr_cpus', 8], ['nr_nodes', 2], ['cores_per_socket', 2], ['threads_per_core', 2]] as const)
      assert.match(info.out, new RegExp(`^${k.padEnd(23)}: ${v}$`, 'm'), k);
    assert.ok(info.out.includes('cpu_topology           :\ncpu:    core    socket     node\n' +
      '  0:       0        0        0\n  1:       0        0        0\n  2:       1        0        0\n  3:       1        0        0\n' +
      '  4:       0        1        1\n  5:       0        1        1\n  6:       1        1        1\n  7:       1        1        1\n'), info.out);
    assert.match(info.out, /^numa_info {14}:\nnode: {4}memsize {4}memfree {4}distances\n {3}0: {4}\s*512 {5}\s*\d+ {6}10,20\n {3}1: {4}\s*512 {5}\s*\d+ {6}20,10\n/m);
    assert.match(info.out, /^xen_commandline {8}: credit2_runqueue=socket$/m);
    assert.match(readFileSync(join(h.runDir, 'host.log'), 'utf8'), /pCPU topology: sockets=2,cores=2,threads=2,nodes=2\n.*host ready: pid \d+, 8 pCPU\(s\)/);
  } finally {
    h.stop();
  }
});

test('tsxen host --topology host: this machine\'s CPUs; bad shapes exit 1 with the option and value', () => {
  const h = startXlHost(['--topology', 'host', '--no-xenstored']);
  try {
    assert.match(h.xl('info').out, new RegExp(`^nr_cpus {16}: ${cpus().length}$`, 'm'));
  } finally {
    h.stop();
  }
  const TSXEN = join(ROOT, 'bin', 'tsxen');
  const r = run(TSXEN, ['host', '--topology', 'sockets=2,cores=x,threads=1', '--rundir', '/nonexistent/tsxen-topo'], {});
  assert.equal(r.code, 1);
  assert.match(r.err, /^tsxen host: --topology "sockets=2,cores=x,threads=1": cores needs a whole number from 1 to 256, got "x"\nusage: tsxen host/);
  const c = run(TSXEN, ['host', '--cpus', '3', '--topology', 'sockets=1,cores=2,threads=2', '--rundir', '/nonexistent/tsxen-topo'], {});
  assert.deepEqual([c.code, c.err.split('\n')[0]], [1, 'tsxen host: --cpus 3 conflicts with --topology sockets=1,cores=2,threads=2 (4 CPUs)']);
});
