// SPDX-License-Identifier: GPL-2.0-only
// bin/xl against a real host daemon: the PV guest from examples/ created, listed (xl 4.7's list
// and vcpu-list layouts byte for byte), paused/unpaused, shut down with -w, destroyed; config
// errors with file:line:col; bad input gives xl's messages and exit codes and leaves the host as it was.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { ROOT, run, startXlHost, type XlHost } from './xl-harness.ts';

const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n';
const VCPU_HEADER = 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n';
let h: XlHost;

/** A list row parsed back and re-rendered with xl's printf format: equal only if the layout is xl's. */
function checkListRow(line: string): { name: string; domid: number; mem: number; vcpus: number; state: string } {
  const m = /^(\S+) +(\d+) +(\d+) +(\d+) +([-rbpscwSd]{6}) +(\d+\.\d)$/.exec(line);
  assert.ok(m, `list row layout: ${JSON.stringify(line)}`);
  const [, name, id, mem, vc, state, t] = m;
  assert.equal(line, sprintf('%-40s %5d %5d %5d     %s  %8.1f', name, Number(id), Number(mem), Number(vc), state, Number(t)));
  return { name: name!, domid: Number(id), mem: Number(mem), vcpus: Number(vc), state: state! };
}

function list(): Map<string, ReturnType<typeof checkListRow>> {
  const r = h.xl('list');
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith(LIST_HEADER), JSON.stringify(r.out));
  const rows = r.out.slice(LIST_HEADER.length).split('\n').filter((l) => l !== '').map(checkListRow);
  return new Map(rows.map((x) => [x.name, x]));
}

before(() => {
  buildPvKernel();
  h = startXlHost();
});
after(() => h?.stop());

test('no host: one line, exit 1', () => {
  const empty = mkdtempSync(join(tmpdir(), 'tsxen-xl-nohost-'));
  try {
    const r = run(join(ROOT, 'bin', 'xl'), ['list'], { TSXEN_RUNDIR: empty });
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.equal(r.err, `xl: no tsxen host running at ${join(empty, 'ctrl.sock')} (start one with \`tsxen host\`)\n`);
  } finally {
    rmSync(empty, { recursive: true, force: true });
  }
});

test('create the PV guest paused, list and vcpu-list it in xl layout', () => {
  const r = h.xl('create', '-p', 'examples/pv-guest.cfg');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.err, 'Parsing config from examples/pv-guest.cfg\n');
  const l = list();
  assert.deepEqual(l.get('Domain-0')?.domid, 0);
  const g = l.get('pv-guest');
  assert.ok(g, 'pv-guest listed');
  assert.equal(g.mem, 16);
  assert.equal(g.state, '--p---');
  const id = h.xl('domid', 'pv-guest');
  assert.equal(id.out, `${g.domid}\n`);
  assert.equal(h.xl('domname', String(g.domid)).out, 'pv-guest\n');
  const v = h.xl('vcpu-list', 'pv-guest');
  assert.equal(v.code, 0, v.err);
  assert.ok(v.out.startsWith(VCPU_HEADER));
  const rows = v.out.slice(VCPU_HEADER.length).split('\n').filter((x) => x !== '');
  assert.equal(rows.length, 1);
  assert.match(rows[0]!, new RegExp(`^pv-guest {24} {5}${g.domid} {5}0 {4}. {3}..[-p] +\\d+\\.\\d  all / all$`));
  const j = JSON.parse(h.xl('vcpu-list', '--json', 'pv-guest').out) as Array<{ vcpu: number; affinityHard: string }>;
  assert.equal(j[0]?.vcpu, 0);
  const lj = JSON.parse(h.xl('list', '-l', 'pv-guest').out) as Array<{ domid: number; config: { c_info: { name: string } } }>;
  assert.deepEqual([lj[0]?.domid, lj[0]?.config.c_info.name], [g.domid, 'pv-guest']);
});

test('pause, unpause, shutdown -w, destroy', async () => {
  // A guest that stays up: a ping waiting for a peer that never comes.
  const c = h.xl('create', '-p', 'examples/pv-guest.cfg', 'name="pv-life";extra="test=pingpong role=ping peer=999 xs_timeout_ms=0"');
  assert.equal(c.code, 0, c.err);
  assert.equal(list().get('pv-life')?.state, '--p---');
  assert.equal(h.xl('unpause', 'pv-life').code, 0);
  assert.equal(h.xl('pause', 'pv-life').code, 0);
  const st = list().get('pv-life')!.state;
  assert.equal(st[2], 'p', st);
  assert.equal(h.xl('unpause', 'pv-life').code, 0);
  assert.notEqual(list().get('pv-life')!.state[2], 'p');
  const id = list().get('pv-life')!.domid;
  // xl shutdown asks a PV guest through ~/control/shutdown (libxl__domain_pvcontrol).
  const s0 = h.xl('shutdown', 'pv-life');
  assert.deepEqual([s0.code, s0.err], [0, `Shutting down domain ${id}\n`]);
  assert.equal(await h.xsRead(`/local/domain/${id}/control/shutdown`), 'poweroff');
  assert.equal(h.xl('destroy', 'pv-life').code, 0);
  assert.equal(list().has('pv-life'), false);
  // -w waits for the shutdown event: test=time powers itself off; on_poweroff=preserve keeps it
  // listed, so the wait ends whether the guest went down before or after the request.
  const w = h.xl('create', 'examples/pv-guest.cfg', 'name="pv-wait";on_poweroff="preserve"');
  assert.equal(w.code, 0, w.err);
  const wid = list().get('pv-wait')!.domid;
  const s = h.xl('shutdown', '-w', 'pv-wait');
  assert.equal(s.code, 0, s.err);
  assert.equal(s.err, `Shutting down domain ${wid}\nWaiting for 1 domains\nDomain ${wid} has been shut down, reason code 0\n`);
  assert.equal(list().get('pv-wait')?.state, '---s--');
  assert.equal(h.xl('destroy', 'pv-wait').code, 0);
  assert.equal(h.xl('create', '-p', 'examples/pv-guest.cfg', 'name="pv-gone";memory=8').code, 0);
  assert.equal(list().get('pv-gone')?.mem, 8);
  assert.equal(h.xl('rename', 'pv-gone', 'pv-renamed').code, 0);
  assert.equal(h.xl('rename', 'pv-renamed', 'Domain-0').err, "Can't rename domain 'pv-renamed'.\n");
  assert.equal(h.xl('mem-max', 'pv-renamed', '32m').code, 0);
  const top = h.xl('top', '-b', '-i', '1');
  assert.equal(top.code, 0, top.err);
  const topRow = top.out.split('\n').find((l) => l.trim().startsWith('pv-renamed')) ?? '';
  assert.ok(top.out.startsWith('      NAME    STATE   CPU(sec) CPU(%)     MEM(k) MEM(%)  MAXMEM(k) VCPUS\n'), top.out);
  const tm = /^pv-renamed +--p--- +0 +0\.0 +\d+ +\d+\.\d +(\d+) +1$/.exec(topRow);
  assert.ok(tm, topRow);
  assert.ok(Number(tm[1]) >= 32768, `max mem after mem-max 32m: ${tm[1]} KiB`);
  assert.equal(h.xl('destroy', 'pv-renamed').code, 0);
  assert.equal(list().has('pv-renamed'), false);
});

test('bad input: xl messages and exit codes, host unchanged', () => {
  const before = list();
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-xl-cfg-'));
  try {
    const cfg = join(dir, 'bad.cfg');
    writeFileSync(cfg, 'name = "bad"\ntype = "pv"\nkernel = "build/pv/pv-kernel.elf"\nmemory = "lots"\n');
    const r = h.xl('create', cfg);
    assert.equal(r.code, 1);
    assert.match(r.err, new RegExp(`^Parsing config from ${cfg}\n${cfg}:4:1: .*\n$`));
    writeFileSync(cfg, 'name = "bad"\nmemory = [1,\n');
    assert.match(h.xl('create', cfg).err, new RegExp(`${cfg}:\\d+:\\d+: `));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const cases: Array<[string[], number, string]> = [
    [['pause', 'nosuch'], 1, 'nosuch is an invalid domain identifier (rc=-6)\n'],
    [['destroy', '4242'], 1, '4242 is an invalid domain identifier (rc=-6)\n'],
    [['domid', 'nosuch'], 1, "Can't get domid of domain name 'nosuch', maybe this domain does not exist.\n"],
    [['domname', 'x'], 1, 'Invalid domain id.\n\n'],
    [['list', 'nosuch'], 1, "Error: Domain 'nosuch' does not exist.\n"],
    [['vcpu-pin', 'pv-guest', 'x', 'all'], 1, 'Error: Invalid argument x as VCPU.\n'],
    [['vcpu-pin', '-f', 'pv-guest', 'all', '0'], 1, "Error: --force and 'all' as VCPU not allowed.\n"],
    [['mem-set', 'pv-guest', '12q'], 1, 'invalid memory size: 12q\n'],
    [['shutdown'], 1, 'You must specify -a or a domain id.\n\n'],
    [['destroy', '0'], 1, 'Not destroying domain 0; use -f to force.\nThis can only be done when using a disaggregated hardware domain and toolstack.\n\n'],
    [['list', '-Q'], 2, "option `Q' not supported.\n"],
    [['frobnicate'], 1, 'command not implemented\n'],
  ];
  for (const [args, code, err] of cases) {
    const r = h.xl(...args);
    assert.deepEqual([r.code, r.err], [code, err], `xl ${args.join(' ')}`);
  }
  // 7-9 parses (the host's 2-CPU bitmap keeps bit 7) but holds no pCPU: the hypervisor says EINVAL.
  const pin = h.xl('vcpu-pin', 'pv-guest', '0', '7-9');
  assert.equal(pin.code, 1);
  assert.match(pin.err, /^libxl: error: libxl_set_vcpuaffinity: setting vcpu affinity: .*no pCPU.*\nCould not set affinity for vcpu `0'\.\n$/);
  const pinBad: Array<[string[], number, string]> = [
    [['vcpu-pin', 'pv-guest', '0', '1-x'], 1, 'Invalid pcpu range: 1-x.\n'],
    [['vcpu-pin', 'pv-guest', '0', '3-1'], 1, 'Invalid pcpu range: 3-1.\n'],
    [['vcpu-pin', 'pv-guest', '0', '^all'], 1, 'Can\'t combine "^" and "all".\n'],
    [['vcpu-pin', 'pv-guest', '0', 'all', 'x'], 1, 'Invalid pcpu range: x.\n'],
    [['vcpu-pin', 'pv-guest', '5', '0'], 1, 'libxl: error: libxl_set_vcpuaffinity: setting vcpu affinity: d1 has no vCPU 5 (it has 1)\nCould not set affinity for vcpu `5\'.\n'],
    [['vcpu-set', 'pv-guest', 'x'], 1, 'Error: Invalid argument.\n'],
    [['vcpu-set', 'pv-guest', '9'], 1, 'You are overcommmitting! You have 2 physical CPUs and want 9 vCPUs! Aborting, use --ignore-host to continue\n'],
    [['sysrq', 'pv-guest', 'ab'], 1, 'Invalid sysrq.\n\n'],
    [['trigger', 'pv-guest', 'bogus'], 1, 'Invalid trigger "bogus"\n'],
    [['uptime', 'nosuch'], 1, 'nosuch is an invalid domain identifier (rc=-6)\n'],
  ];
  const pvId = before.get('pv-guest')!.domid;
  for (const [args, code, err] of pinBad) {
    const r = h.xl(...args);
    assert.deepEqual([r.code, r.err], [code, err.replace('d1 ', `d${pvId} `)], `xl ${args.join(' ')}`);
  }
  const vs = h.xl('vcpu-set', '-i', 'pv-guest', '9');
  assert.equal(vs.code, 1);
  assert.match(vs.err, /Requested 9 VCPUs, however maxcpus is 1!\nlibxl_set_vcpuonline failed domid=\d+ max_vcpus=9, rc: -3\n$/);
  assert.match(h.xl('vcpu-list', 'pv-guest').out, / all \/ all\n$/, 'no failed pin changed the affinity');
  const few = h.xl('vcpu-pin', 'pv-guest');
  assert.equal(few.code, 2);
  assert.ok(few.err.startsWith("'xl vcpu-pin' requires at least 3 arguments.\n\nUsage: xl [-v] vcpu-pin "));
  const after = list();
  assert.deepEqual([...after.keys()], [...before.keys()]);
  for (const [k, v] of before) assert.deepEqual({ ...after.get(k), state: '' }, { ...v, state: '' }, k);
});

test('help, -h and dry runs', () => {
  const hl = h.xl('help');
  assert.equal(hl.code, 0);
  assert.match(hl.out, /^Usage xl \[-vfN\] <subcommand> \[args\]\n\nxl full list of subcommands:\n\n create +Create a domain/);
  const lh = h.xl('list', '-h');
  assert.equal(lh.code, 0);
  assert.ok(lh.out.startsWith('Usage: xl [-v] list [options] [Domain]\n\nList information about all/some domains.\n'));
  const n = h.xl('-N', 'create', 'examples/pv-guest.cfg', 'name="dry";vcpus=2');
  assert.equal(n.code, 0, n.err);
  const cfg = JSON.parse(n.out) as { config: { name: string; vcpus: number } };
  assert.deepEqual([cfg.config.name, cfg.config.vcpus], ['dry', 2]);
  assert.equal(list().has('dry'), false);
  const hvm = h.xl('-N', 'create', 'examples/debian-hvm.cfg');
  assert.equal(hvm.code, 0, hvm.err);
  assert.equal((JSON.parse(hvm.out) as { config: { type: string } }).config.type, 'hvm');
});
