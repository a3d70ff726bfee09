// SPDX-License-Identifier: GPL-2.0-only
// xl sched-credit2, sched-rtds and cpupool-* against an in-process host (the real Ctrl and
// HostSched, requests passed through JSON as over the socket): output byte for byte from the
// printf formats of Xen 4.7's xl_cmdimpl.c (4.10's xl_sched.c for cap, ratelimit, extratime),
// Xen's error messages for bad input, and nothing changed after an error.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HostSched, schedBootParams } from '../../src/host/host-sched.ts';
import { makeElf } from '../../src/hypervisor/hypercall/test-support.ts';
import { Ctrl } from '../../src/toolstack/ctrl/ctrl.ts';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { inProcessXl } from './xl-inproc.ts';

const KERNEL = { base64: Buffer.from(makeElf([0x0000006f])).toString('base64') }; // jal x0, 0: spin

function host(cpus = 4, cmdline = '') {
  const logs: string[] = [];
  const hs = new HostSched({ sockets: 1, coresPerSocket: cpus, threadsPerCore: 1, nodes: 1 }, cmdline, (s) => logs.push(s));
  let t = 0;
  const ctrl = new Ctrl({
    memoryMiB: 64, nrCpus: cpus, timebase: { frequency: 10_000_000, now: () => (t += 100) }, scheduler: hs.ops,
    loadFile: () => { throw new Error('ENOENT'); }, random: (n) => new Uint8Array(n).fill(1),
  });
  hs.attach(ctrl.hv);
  const call = async (m: string, p: unknown): Promise<unknown> => {
    const q = JSON.parse(JSON.stringify(p)) as Record<string, unknown>;
    const r = hs.dispatch(m, q);
    if (r !== undefined) return JSON.parse(JSON.stringify(r));
    if (m === 'domain.list') return ctrl.list(q.domid);
    if (m === 'domain.lookup') return { domid: ctrl.lookup(q.name) };
    if (m === 'host.physinfo') return ctrl.physinfo();
    throw new Error(`test host: ${m}`);
  };
  const xl = inProcessXl(call);
  const create = (name: string, vcpus = 1) => ctrl.create({ name, type: 'pv', memory: 2, vcpus, maxvcpus: vcpus, kernel: KERNEL }).domid;
  return { hs, ctrl, xl, create, logs };
}

test('cpupool-list [-c]: "%-19s" then "%3d %9s       y       %4d"; the CPU list with commas', async () => {
  const h = host(4);
  h.create('guest');
  let r = await h.xl('cpupool-list');
  assert.equal(r.code, 0);
  assert.equal(r.out, sprintf('%-19s', 'Name') + 'CPUs   Sched     Active   Domain count\n' + sprintf('%-19s%3d %9s       y       %4d\n', 'Pool-0', 4, 'credit2', 2));
  assert.equal(r.out, 'Name               CPUs   Sched     Active   Domain count\nPool-0               4   credit2       y          2\n');
  r = await h.xl('cpupool-list', '-c');
  assert.equal(r.out, 'Name               CPU list\nPool-0             0,1,2,3\n');
  r = await h.xl('cpupool-list', 'nope');
  assert.deepEqual([r.code, r.err], [1, "Pool 'nope' does not exist\n"]);
});

const C2_HEAD = `${'Name'.padEnd(33)} ${'ID'.padStart(4)} Weight  Cap\n`; // "%-33s %4s %6s %4s\n"
const c2row = (n: string, id: number, w: number, cap: number) => sprintf('%-33s %4d %6d %4d\n', n, id, w, cap);
const RT_HEAD = `${'Name'.padEnd(33)}   ID    Period    Budget  Extratime\n`; // "%-33s %4s %9s %9s %10s\n"
const RT_VHEAD = `${'Name'.padEnd(33)}   ID VCPU    Period    Budget  Extratime\n`; // "%-33s %4s %4s %9s %9s %10s\n"
const rtv = (n: string, id: number, v: number, p: number, b: number, e: string) => sprintf('%-33s %4d %4d %9d %9d %10s\n', n, id, v, p, b, e);

test('cpupools: create, cpu-add, cpu-remove, migrate, destroy; bad input gives Xen\'s errors and changes nothing', async () => {
  const h = host(4);
  const g = h.create('guest');
  const list = async () => (await h.xl('cpupool-list', '-c')).out;
  let r = await h.xl('cpupool-cpu-remove', 'Pool-0', '2,3');
  assert.deepEqual([r.code, r.err], [0, '']);
  r = await h.xl('cpupool-create', 'name="rt"', 'sched="rtds"', 'cpus="2-3"');
  assert.deepEqual([r.code, r.err], [0, '']);
  assert.equal(r.out, 'Using config file "command line"\ncpupool name:   rt\nscheduler:      rtds\nnumber of cpus: 2\n');
  assert.equal(await list(), 'Name               CPU list\nPool-0             0,1\nrt                 2,3\n');
  const before = await list();
  for (const [args, err] of [
    [['name="rt"'], 'Pool name "rt" already exists\n'],
    [['name="x"', 'cpus="1"'], 'cpu 1 illegal or not free\n'],
    [['name="x"', 'cpus=["0"]'], 'cpu 0 illegal or not free\n'],
    [['name="x"', 'sched="bfs"'], 'Unknown scheduler\n'],
    [['sched="rtds"'], 'Missing cpupool name!\n'],
    [['name="x"', 'cpus="1-0"'], 'Invalid pcpu range: 1-0.\n'],
  ] as Array<[string[], string]>) {
    r = await h.xl('cpupool-create', ...args);
    assert.deepEqual([r.code, r.err], [1, err], args.join(' '));
  }
  r = await h.xl('cpupool-create', 'name=x');
  assert.equal(r.code, 1);
  assert.match(r.err, /^command line:2:6: config parsing error near `x'.*\nFailed to parse config file: Invalid argument\n$/);
  assert.equal(await list(), before, 'a failed create changed the pools');

  r = await h.xl('cpupool-migrate', 'guest', 'rt');
  assert.deepEqual([r.code, r.err], [0, '']);
  r = await h.xl('cpupool-list');
  assert.equal(r.out, 'Name               CPUs   Sched     Active   Domain count\nPool-0               2   credit2       y          1\nrt                   2      rtds       y          1\n');
  r = await h.xl('cpupool-migrate', '0', 'rt');
  assert.deepEqual([r.code, r.err], [1, 'libxl: error: libxl.c:7109:libxl_cpupool_movedomain: Error moving domain to cpupool: Operation not permitted\n']);
  r = await h.xl('cpupool-migrate', 'nobody', 'rt');
  assert.deepEqual([r.code, r.err], [1, "unknown domain 'nobody'\n"]);
  r = await h.xl('cpupool-migrate', 'guest', 'nopool');
  assert.deepEqual([r.code, r.err], [1, "unknown cpupool 'nopool'\n"]);

  // The last pCPU of a pool with a domain stays (EBUSY); xl reports it and exits 0, as 4.7 does.
  r = await h.xl('cpupool-cpu-remove', 'rt', '2');
  assert.deepEqual([r.code, r.err], [0, '']);
  r = await h.xl('cpupool-cpu-remove', 'rt', '3');
  assert.equal(r.code, 0);
  assert.equal(r.err, "libxl: error: libxl.c:7037:libxl_cpupool_cpuremove: Error removing cpu 3 from cpupool: Device or resource busy\n" +
    "Some cpus may have not or only partially been removed from 'rt'.\nIf a cpu can't be added to another cpupool, add it to 'rt' again and retry.\n");
  assert.equal(await list(), 'Name               CPU list\nPool-0             0,1\nrt                 3\n');
  r = await h.xl('cpupool-cpu-add', 'Pool-0', '1');
  assert.equal(r.err, 'libxl: error: libxl.c:6974:libxl_cpupool_cpuadd: Error moving cpu 1 to cpupool: No such device\nsome cpus may not have been added to Pool-0\n');
  r = await h.xl('cpupool-cpu-add', 'Pool-0', 'x');
  assert.deepEqual([r.code, r.err], [1, 'Invalid pcpu range: x.\n']);
  r = await h.xl('cpupool-cpu-add', 'Pool-0', '^all');
  assert.deepEqual([r.code, r.err], [1, 'Can\'t combine "^" and "all".\n']);
  r = await h.xl('cpupool-destroy', 'rt');
  assert.deepEqual([r.code, r.err], [1, "Can't destroy cpupool 'rt'\n"]);
  r = await h.xl('cpupool-destroy', 'Pool-0');
  assert.deepEqual([r.code, r.err], [1, "Can't destroy cpupool 'Pool-0'\n"]);
  r = await h.xl('cpupool-destroy', 'nope');
  assert.deepEqual([r.code, r.err], [1, "unknown cpupool 'nope'\n"]);
  assert.equal(await list(), 'Name               CPU list\nPool-0             0,1\nrt                 3\n');

  assert.equal((await h.xl('cpupool-migrate', String(g), 'Pool-0')).code, 0);
  assert.deepEqual(await h.xl('cpupool-destroy', 'rt'), { code: 0, out: '', err: '' });
  assert.equal((await h.xl('cpupool-cpu-add', 'Pool-0', '2-3,9')).code, 0, 'pCPUs past the host are ignored (libxl bitmap)');
  assert.equal(await list(), 'Name               CPU list\nPool-0             0,1,2,3\n');
});

test('sched-credit2: list per pool, get and set weight/cap, -s/-r ratelimit; range errors change nothing', async () => {
  const h = host(2);
  const g = h.create('guest', 2);
  let r = await h.xl('sched-credit2');
  assert.equal(r.out, 'Cpupool Pool-0: ratelimit=1000us\n' + C2_HEAD + c2row('Domain-0', 0, 256, 0) + c2row('guest', g, 256, 0));
  assert.deepEqual(await h.xl('sched-credit2', '-d', 'guest', '-w', '512', '-c', '150'), { code: 0, out: '', err: '' });
  r = await h.xl('sched-credit2', '-d', 'guest');
  assert.equal(r.out, C2_HEAD + c2row('guest', g, 512, 150));
  for (const [args, err] of [
    [['-d', 'guest', '-w', '0'], 'libxl: error: libxl.c:5997:sched_credit2_domain_set: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n'],
    [['-d', 'guest', '-w', '65536', '-c', '10'], 'libxl: error: libxl.c:5997:sched_credit2_domain_set: Cpu weight out of range, valid values are within range from 1 to 65535\nlibxl_domain_sched_params_set failed.\n'],
    [['-d', 'guest', '-c', '201'], `libxl: error: libxl_sched.c:446:sched_credit2_domain_set: Domain ${g}:Cpu cap out of range, valid range is from 0 to 200 for specified number of vcpus\nlibxl_domain_sched_params_set failed.\n`],
    [['-w', '300'], 'Must specify a domain.\n'],
    [['-p', 'Pool-0', '-d', 'guest'], 'Specifying a cpupool is not allowed with other options.\n'],
    [['-p', 'nope'], "unknown cpupool 'nope'\n"],
    [['-s', '-r', '50'], 'libxl: error: libxl_sched.c:270:sched_ratelimit_check: Ratelimit out of range, valid range is from 100 to 500000\nlibxl_sched_credit2_params_set failed.\n'],
  ] as Array<[string[], string]>) {
    r = await h.xl('sched-credit2', ...args);
    assert.deepEqual([r.code, r.err], [1, err], args.join(' '));
  }
  r = await h.xl('sched-credit2', '-d', 'guest');
  assert.equal(r.out, C2_HEAD + c2row('guest', g, 512, 150), 'a refused set changed the parameters');
  assert.equal((await h.xl('sched-credit2', '-s')).out, 'Cpupool Pool-0: ratelimit=1000us\n');
  assert.equal((await h.xl('sched-credit2', '-s', '-r', '2000')).code, 0);
  assert.equal((await h.xl('sched-credit2', '-s', '-p', 'Pool-0')).out, 'Cpupool Pool-0: ratelimit=2000us\n');
  r = await h.xl('sched-credit2', '-d', 'nobody');
  assert.deepEqual([r.code, r.err], [1, 'nobody is an invalid domain identifier (rc=-6)\n']);
});

test('sched-rtds: domain and per-vCPU views, -v/-p/-b/-e triples; budget > period, bad vCPUs and mismatched options change nothing', async () => {
  const h = host(4);
  const g = h.create('rtguest', 2);
  assert.equal((await h.xl('cpupool-cpu-remove', 'Pool-0', '2-3')).code, 0);
  assert.equal((await h.xl('cpupool-create', 'name="rt"', 'sched="rtds"', 'cpus="2,3"')).code, 0);
  assert.equal((await h.xl('cpupool-migrate', 'rtguest', 'rt')).code, 0);
  let r = await h.xl('sched-rtds');
  assert.equal(r.out, 'Cpupool rt: sched=RTDS\n' + RT_HEAD + sprintf('%-33s %4d %9d %9d %10s\n', 'rtguest', g, 10000, 4000, 'yes'));
  r = await h.xl('sched-rtds', '-d', 'rtguest', '-v', 'all');
  assert.equal(r.out, RT_VHEAD + rtv('rtguest', g, 0, 10000, 4000, 'yes') + rtv('rtguest', g, 1, 10000, 4000, 'yes'));
  assert.deepEqual(await h.xl('sched-rtds', '-d', 'rtguest', '-v', '0', '-p', '20000', '-b', '5000', '-e', '0'), { code: 0, out: '', err: '' });
  const after = RT_VHEAD + rtv('rtguest', g, 0, 20000, 5000, 'no') + rtv('rtguest', g, 1, 10000, 4000, 'yes');
  assert.equal((await h.xl('sched-rtds', '-d', 'rtguest', '-v', 'all')).out, after);
  assert.equal((await h.xl('sched-rtds', '-d', 'rtguest', '-v', '1')).out, RT_VHEAD + rtv('rtguest', g, 1, 10000, 4000, 'yes'));
  for (const [args, err] of [
    [['-v', '1', '-p', '1000', '-b', '2000'], 'libxl: error: libxl.c:6030:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 2000 > 1000\nlibxl_vcpu_sched_params_set failed.\n'],
    [['-v', '0', '-p', '3000', '-b', '1000', '-v', '1', '-p', '1000', '-b', '2000'], 'libxl: error: libxl.c:6030:sched_rtds_validate_params: VCPU budget must be smaller than or equal to period, but 2000 > 1000\nlibxl_vcpu_sched_params_set failed.\n'],
    [['-v', 'all', '-p', '0', '-b', '0'], 'libxl: error: libxl.c:6018:sched_rtds_validate_params: Invalid VCPU period of 0 (it should be >= 1)\nlibxl_vcpu_sched_params_set_all failed.\n'],
    [['-v', '5', '-p', '1000', '-b', '500'], 'libxl: error: libxl.c:6164:sched_rtds_vcpu_set: Invalid VCPU 5: valid range is [0, 1]\nlibxl_vcpu_sched_params_set failed.\n'],
    [['-v', '5'], 'libxl: error: libxl.c:6065:sched_rtds_vcpu_get: VCPU index is out of range, valid values are within range from 0 to 1\nlibxl_vcpu_sched_params_get failed.\n'],
    [['-v', '0', '-p', '5', '-b', '5'], 'libxl: error: libxl.c:6186:sched_rtds_vcpu_set: setting vcpu sched rtds: Invalid argument\nlibxl_vcpu_sched_params_set failed.\n'],
    [['-p', '100', '-b', '50'], 'Must specify VCPU.\n'],
    [['-v', '0', '-p', '100'], 'Incorrect number of period and budget\n'],
    [['-v', '0', '-p', '100', '-b', '50', '-e', '2'], 'Invalid extratime.\n'],
    [['-v', '0', '-v', 'all'], 'Incorrect VCPU IDs.\n'],
  ] as Array<[string[], string]>) {
    r = await h.xl('sched-rtds', '-d', 'rtguest', ...args);
    assert.deepEqual([r.code, r.err], [1, err], args.join(' '));
  }
  assert.equal((await h.xl('sched-rtds', '-d', 'rtguest', '-v', 'all')).out, after, 'a refused set changed the parameters');
  r = await h.xl('sched-rtds', '-v', '0');
  assert.deepEqual([r.code, r.err], [1, 'Missing parameters.\n']);
  r = await h.xl('sched-rtds', '-c', 'rt', '-d', 'rtguest');
  assert.deepEqual([r.code, r.err], [1, 'Specifying a cpupool is not allowed with other options.\n']);
  assert.equal((await h.xl('sched-rtds', '-d', 'rtguest', '-v', 'all', '-p', '30000', '-b', '6000', '-e', '1')).code, 0);
  assert.equal((await h.xl('sched-rtds', '-v', 'all')).out, 'Cpupool rt: sched=RTDS\n' + RT_VHEAD + rtv('rtguest', g, 0, 30000, 6000, 'yes') + rtv('rtguest', g, 1, 30000, 6000, 'yes'));
  // The domain is not in a credit2 pool any more: libxl reads its own scheduler's parameters.
  r = await h.xl('sched-credit2', '-d', 'rtguest');
  assert.deepEqual([r.code, r.err], [1, 'libxl_domain_sched_params_get returned rtds not credit2.\n']);
  assert.equal((await h.xl('sched-credit2')).out, 'Cpupool Pool-0: ratelimit=1000us\n' + C2_HEAD + c2row('Domain-0', 0, 256, 0));
});

test('the host\'s sched= boot parameter picks Pool-0\'s scheduler; an unknown one is logged and credit2 stays', async () => {
  assert.deepEqual(schedBootParams('console=hvc0 sched=rtds', () => {}), { sched: 'rtds', runqueue: undefined });
  const logs: string[] = [];
  assert.equal(schedBootParams('sched=bfs', (s) => logs.push(s)).sched, 'credit2');
  assert.deepEqual(logs, ['Could not find scheduler: bfs']);
  const h = host(2, 'sched=null');
  assert.equal((await h.xl('cpupool-list')).out, 'Name               CPUs   Sched     Active   Domain count\nPool-0               2      null       y          1\n');
  assert.ok(h.logs.includes('Using scheduler: null'));
  assert.equal((await h.xl('cpupool-cpu-remove', 'Pool-0', '1')).code, 0);
  const info = (await h.xl('info')).out;
  assert.match(info, /^xen_scheduler {10}: null$/m);
  assert.match(info, /^free_cpus {14}: 1$/m);
});

test('the host run loop gives each pCPU its scheduler\'s vCPU: two spinning domains run on both pCPUs', () => {
  const h = host(2);
  const a = h.create('spin-a'), b = h.create('spin-b');
  for (let i = 0; i < 20; i++) assert.equal(h.hs.run(4), 'budget');
  const ran = [a, b].map((d) => h.ctrl.domain(d).vcpus[0]!.hart.instructions);
  assert.ok(ran.every((n) => n > 0), `instructions per domain ${ran}`);
  const on = h.hs.control.pcpuCurrent().map((x) => x?.[0]).sort();
  assert.deepEqual(on, [a, b], 'each pCPU runs one of the two domains');
});
