// SPDX-License-Identifier: GPL-2.0-only
// Issue 7's big-guest case: a Debian HVM guest with 4 vCPUs boots on a 2-pCPU host (`tsxen host
// --cpus 2`, credit2). Linux starts harts 1-3 through SBI HSM (hart_start), its IPIs and timers
// cross the host's pCPUs; the guest sees 4 harts in /proc/cpuinfo and `nproc` 4, `xl vcpu-list`
// shows its 4 vCPUs on pCPUs 0 and 1 while four busy loops run, then it powers itself off and
// on_poweroff = "destroy" removes it. The boot time is printed (a diagnostic; slow under load).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ensureGuestAssets } from '../../src/host/assets/index.ts';
import { startXlHost, xlConsole, type XlHost } from './xl-harness.ts';

let h: XlHost;

before(() => {
  h = startXlHost(['--cpus', '2']);
});
after(() => h?.stop());

/** `xl vcpu-list NAME` rows (print_vcpuinfo at 4.7): vcpu, cpu ('-' → -1), state. */
function vcpuList(name: string): Array<{ vcpu: number; cpu: number; state: string; time: number }> {
  const r = h.xl('vcpu-list', name);
  assert.equal(r.code, 0, r.err);
  return r.out.split('\n').slice(1).filter((l) => l !== '').map((l) => {
    const m = /^(\S+) +(\d+) +(\d+) +(\d+|-) +([-r][-b][-p]) +(\d+\.\d)  (\S+) \/ (\S+)$/.exec(l);
    assert.ok(m, `vcpu-list row layout: ${JSON.stringify(l)}`);
    return { vcpu: Number(m[3]), cpu: m[4] === '-' ? -1 : Number(m[4]), state: m[5]!, time: Number(m[6]) };
  });
}

test('a Debian HVM guest with 4 vCPUs boots on a 2-pCPU host: 4 harts, nproc 4, vCPUs over pCPUs 0-1, poweroff', { timeout: 40 * 60_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  assert.match(h.xl('info').out, /^nr_cpus {16}: 2$/m);
  const t0 = Date.now();
  const c = h.xl('create', 'examples/debian-hvm.cfg', `kernel="${assets.kernel}"`, `ramdisk="${assets.initrd}"`,
    'name="deb-smp"', 'vcpus=4', 'disk=[]', 'vif=[]');
  assert.equal(c.code, 0, c.err);
  const con = xlConsole(h, 'deb-smp');
  try {
    assert.ok(await con.wait(/TSXEN-BOOT-OK[\s\S]*# /, 35 * 60_000), con.out.slice(-3000));
    const bootSec = (Date.now() - t0) / 1000;
    console.log(`# deb-smp: 4 vCPUs on 2 pCPUs, xl create to shell prompt ${bootSec.toFixed(1)} s (wall)`);
    assert.match(con.out, /smp: Brought up 1 node, 4 CPUs/, 'Linux brought up all four harts');

    con.type('echo HARTS=$(grep -c "^processor" /proc/cpuinfo) HARTIDS=$(grep "^hart[^ ]*:" /proc/cpuinfo | tr -dc "0-9") NPROC=$(nproc)\n');
    assert.ok(await con.wait(/HARTS=\d+ HARTIDS=\d* NPROC=\d+/, 300_000), con.out.slice(-2000));
    assert.match(con.out, /HARTS=4 HARTIDS=0123 NPROC=4/, 'four processors, harts 0-3');

    // Four busy loops: every vCPU wants a pCPU; vcpu-list shows them on pCPUs 0 and 1 only.
    con.type('for i in 1 2 3 4; do (while :; do :; done) & done; echo SPIN\n');
    assert.ok(await con.wait(/\nSPIN/, 300_000), con.out.slice(-2000));
    const seen = new Set<number>();
    let rows = vcpuList('deb-smp');
    for (let i = 0; i < 40; i++) {
      rows = vcpuList('deb-smp');
      assert.deepEqual(rows.map((r) => r.vcpu), [0, 1, 2, 3]);
      for (const r of rows) {
        assert.ok(r.cpu === 0 || r.cpu === 1, `vCPU ${r.vcpu} on pCPU ${r.cpu}`);
        if (r.state[0] === 'r') seen.add(r.cpu);
      }
      // At most one running vCPU per pCPU.
      const running = rows.filter((r) => r.state[0] === 'r').map((r) => r.cpu);
      assert.equal(new Set(running).size, running.length, `two vCPUs running on one pCPU: ${JSON.stringify(rows)}`);
      await new Promise((r) => setTimeout(r, 250));
    }
    assert.deepEqual([...seen].sort(), [0, 1], 'running vCPUs seen on both pCPUs');
    assert.ok(rows.every((r) => r.time > 0), `every vCPU has CPU time: ${JSON.stringify(rows)}`);

    con.type('kill %1 %2 %3 %4; poweroff -f\n');
    const end = Date.now() + 300_000;
    while (h.xl('list').out.includes('deb-smp') && Date.now() < end) await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.xl('list').out.includes('deb-smp'), false, `still listed after poweroff:\n${con.out.slice(-1500)}`);
    assert.equal(await con.exited, 0);
  } finally {
    con.kill();
  }
});
