// SPDX-License-Identifier: GPL-2.0-only
// bin/xl's scheduler and cpupool commands against a real host daemon on 4 pCPUs (`tsxen host
// --cpus 4 sched=credit2`): a PV guest moved into an RTDS cpupool, its per-vCPU parameters set and
// listed, bad input refused with Xen's messages and no change, and the guest then runs to its
// poweroff on the pool's pCPUs.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { ROOT, run } from './xl-harness.ts';

const TSXEN = join(ROOT, 'bin', 'tsxen'), XL = join(ROOT, 'bin', 'xl');
let runDir = '';
const env = () => ({ TSXEN_RUNDIR: runDir });
const xl = (...a: string[]) => run(XL, a, env());

before(() => {
  buildPvKernel();
  runDir = mkdtempSync(join(tmpdir(), 'tsxen-sched-'));
  const r = run(TSXEN, ['host', '--rundir', runDir, '--cpus', '4', 'sched=credit2'], env(), 120_000);
  assert.equal(r.code, 0, r.err + r.out);
});
after(() => {
  if (run(TSXEN, ['host', '--stop', '--rundir', runDir], env(), 60_000).code !== 0) {
    try { process.kill(Number(readFileSync(join(runDir, 'host.pid'), 'utf8')), 'SIGKILL'); } catch { /* gone */ }
  }
  rmSync(runDir, { recursive: true, force: true });
});

test('xl cpupool-* and sched-rtds/-credit2 drive the host\'s schedulers', async () => {
  let r = xl('cpupool-list');
  assert.equal(r.out, 'Name               CPUs   Sched     Active   Domain count\nPool-0               4   credit2       y          1\n', r.err);
  assert.match(xl('dmesg').out, /\(XEN\) Using scheduler: credit2\n/);
  r = xl('create', '-p', 'examples/pv-guest.cfg');
  assert.equal(r.code, 0, r.err);
  const domid = Number(xl('domid', 'pv-guest').out.trim());

  assert.equal(xl('cpupool-cpu-remove', 'Pool-0', '2-3').code, 0);
  r = xl('cpupool-create', 'name="rt"', 'sched="rtds"', 'cpus=["2","3"]');
  assert.equal(r.out, 'Using config file "command line"\ncpupool name:   rt\nscheduler:      rtds\nnumber of cpus: 2\n', r.err);
  assert.deepEqual([xl('cpupool-migrate', 'pv-guest', 'rt').code, xl('cpupool-list', '-c').out],
    [0, 'Name               CPU list\nPool-0             0,1\nrt                 2,3\n']);

  assert.equal(xl('sched-rtds', '-d', 'pv-guest', '-v', '0', '-p', '20000', '-b', '5000').code, 0);
  const rtds = 'Cpupool rt: sched=RTDS\n' + sprintf('%-33s %4s %4s %9s %9s %10s\n', 'Name', 'ID', 'VCPU', 'Period', 'Budget', 'Extratime') +
    sprintf('%-33s %4d %4d %9d %9d %10s\n', 'pv-guest', domid, 0, 20000, 5000, 'yes');
  assert.equal(xl('sched-rtds', '-v', 'all').out, rtds);
  r = xl('sched-rtds', '-d', 'pv-guest', '-v', '0', '-p', '1000', '-b', '2000');
  assert.deepEqual([r.code, r.err], [1, 'libxl: error: libxl.c:6030:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 2000 > 1000\nlibxl_vcpu_sched_params_set failed.\n']);
  r = xl('sched-credit2', '-d', 'pv-guest', '-w', '512');
  assert.deepEqual([r.code, r.err], [1, 'libxl: error: libxl.c:5991:sched_credit2_domain_set: getting domain sched credit2: Invalid argument\nlibxl_domain_sched_params_set failed.\n']);
  assert.equal(xl('cpupool-cpu-remove', 'rt', '2').code, 0);
  r = xl('cpupool-cpu-remove', 'rt', '3');
  assert.match(r.err, /^libxl: error: libxl.c:7037:libxl_cpupool_cpuremove: Error removing cpu 3 from cpupool: Device or resource busy\n/);
  assert.equal(xl('cpupool-destroy', 'rt').err, "Can't destroy cpupool 'rt'\n");
  assert.equal(xl('sched-rtds', '-v', 'all').out, rtds, 'refused requests changed the parameters');
  assert.equal(xl('cpupool-list', '-c').out, 'Name               CPU list\nPool-0             0,1\nrt                 3\n');
  assert.equal(xl('sched-credit2', '-s', '-r', '2000').code, 0);
  assert.equal(xl('sched-credit2', '-s').out, 'Cpupool Pool-0: ratelimit=2000us\n');

  // The guest runs on the RTDS pool's pCPU until its test powers it off.
  assert.equal(xl('unpause', 'pv-guest').code, 0);
  let state = '';
  for (let i = 0; i < 120 && !state.includes('s'); i++) {
    await new Promise((res) => setTimeout(res, 500));
    const row = xl('list', 'pv-guest').out.split('\n')[1] ?? '';
    state = /\s([-rbpscwSd]{6})\s/.exec(row)?.[1] ?? 'gone-s';
  }
  assert.match(state, /s/, 'the guest never finished on the rtds pool');
  assert.doesNotMatch(state, /c/, 'crashed');
});

test('xl vcpu-list: a CPU-bound PV guest pinned to pCPU 1 is only ever seen on pCPU 1; re-pinned to 0 it moves', async () => {
  assert.match(xl('cpupool-list', '-c').out, /^Pool-0 +0,1$/m, 'the first test left Pool-0 with pCPUs 0 and 1');
  // hcbench's hypercall loop keeps the vCPU busy far longer than the test samples it.
  let r = xl('create', '-p', 'examples/pv-guest.cfg', 'name="spin"', 'extra="test=hcbench calls=2000000000"');
  assert.equal(r.code, 0, r.err);
  assert.equal(xl('vcpu-pin', 'spin', '0', '1').code, 0);
  assert.equal(xl('unpause', 'spin').code, 0);
  const sample = async (n: number): Promise<{ cpus: Set<string>; running: number; rows: string[] }> => {
    const cpus = new Set<string>(), rows: string[] = [];
    let running = 0;
    for (let i = 0; i < n; i++) {
      const out = xl('vcpu-list', 'spin').out.split('\n')[1] ?? '';
      // "%-32s %5u %5u" then "%5u %3c%c- " (print_vcpuinfo): name, domid, vcpu, CPU, state.
      const m = /^spin +\d+ +0 +(\d+|-) +([-r][-b][-p]) +\d+\.\d  (\S+) \/ all$/.exec(out);
      assert.ok(m, `vcpu-list row: ${JSON.stringify(out)}`);
      cpus.add(m[1]!);
      if (m[2] === 'r--') running++;
      rows.push(out);
      await new Promise((res) => setTimeout(res, 50));
    }
    return { cpus, running, rows };
  };
  let s = await sample(30);
  assert.deepEqual([...s.cpus], ['1'], s.rows.join('\n'));
  assert.ok(s.running >= 25, `a CPU-bound vCPU alone on its pCPU is running: ${s.running}/30`);
  assert.match(s.rows[0]!, /  1 \/ all$/);
  assert.equal(xl('vcpu-pin', 'spin', '0', '0').code, 0);
  s = await sample(30);
  assert.deepEqual([...s.cpus], ['0'], s.rows.join('\n'));
  assert.ok(s.running >= 25, `running on pCPU 0: ${s.running}/30`);
  r = xl('destroy', 'spin');
  assert.equal(r.code, 0, r.err);
});
