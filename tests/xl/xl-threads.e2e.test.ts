// SPDX-License-Identifier: GPL-2.0-only
// Issue 7's pCPUs as worker threads, end to end: `tsxen host --cpus 2 --threads` runs each pCPU
// on its own thread (src/host/host-pcpus.ts). A Debian HVM guest with 2 vCPUs boots there
// (hart 1 through SBI HSM, IPIs and remote fences across the threads, the console UART as MMIO
// calls to the main thread), runs two busy loops that vcpu-list shows running on both pCPUs at
// once, and powers off. The daemon's CPU time over wall time while both loops spin is printed
// (above 1 only with real parallelism; a diagnostic, the machine may be loaded).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { ensureGuestAssets } from '../../src/host/assets/index.ts';
import { startXlHost, xlConsole, type XlHost } from './xl-harness.ts';

let h: XlHost;

before(() => {
  h = startXlHost(['--cpus', '2', '--threads']);
});
after(() => h?.stop());

function vcpuRows(name: string): Array<{ vcpu: number; cpu: number; state: string }> {
  const r = h.xl('vcpu-list', name);
  assert.equal(r.code, 0, r.err);
  return r.out.split('\n').slice(1).filter((l) => l !== '').map((l) => {
    const m = /^(\S+) +(\d+) +(\d+) +(\d+|-) +([-r][-b][-p]) +/.exec(l);
    assert.ok(m, `vcpu-list row layout: ${JSON.stringify(l)}`);
    return { vcpu: Number(m[3]), cpu: m[4] === '-' ? -1 : Number(m[4]), state: m[5]! };
  });
}

/** utime + stime of the daemon in seconds (/proc/PID/stat fields 14, 15; USER_HZ 100). */
function daemonCpuSec(): number {
  const pid = Number(readFileSync(`${h.runDir}/host.pid`, 'utf8'));
  const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100;
}

test('a 2-vCPU Debian HVM guest boots on 2 pCPU threads, runs on both at once and powers off', { timeout: 30 * 60_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const t0 = Date.now();
  const c = h.xl('create', 'examples/debian-hvm.cfg', `kernel="${assets.kernel}"`, `ramdisk="${assets.initrd}"`,
    'name="deb-thr"', 'vcpus=2', 'disk=[]', 'vif=[]');
  assert.equal(c.code, 0, c.err);
  const con = xlConsole(h, 'deb-thr');
  try {
    assert.ok(await con.wait(/TSXEN-BOOT-OK[\s\S]*# /, 25 * 60_000), con.out.slice(-3000));
    console.log(`# deb-thr: 2 vCPUs on 2 pCPU threads, xl create to shell prompt ${((Date.now() - t0) / 1000).toFixed(1)} s (wall)`);
    assert.match(con.out, /smp: Brought up 1 node, 2 CPUs/, 'Linux brought up both harts');
    assert.match(h.xl('dmesg').out, /pCPUs 0-1 on worker threads/);

    con.type('echo NPROC=$(nproc)\n');
    assert.ok(await con.wait(/NPROC=\d+/, 300_000), con.out.slice(-2000));
    assert.match(con.out, /NPROC=2/);

    con.type('for i in 1 2; do (while :; do :; done) & done; echo SPIN\n');
    assert.ok(await con.wait(/\nSPIN/, 300_000), con.out.slice(-2000));
    let both = 0;
    const cpu0 = daemonCpuSec(), w0 = Date.now();
    for (let i = 0; i < 20; i++) {
      const rows = vcpuRows('deb-thr');
      const running = rows.filter((r) => r.state[0] === 'r').map((r) => r.cpu);
      assert.equal(new Set(running).size, running.length, `two vCPUs running on one pCPU: ${JSON.stringify(rows)}`);
      if (running.length === 2) both++;
      await new Promise((r) => setTimeout(r, 250));
    }
    const ratio = (daemonCpuSec() - cpu0) / ((Date.now() - w0) / 1000);
    console.log(`# deb-thr: daemon CPU / wall while two busy loops spin: ${ratio.toFixed(2)} (2.0 = both pCPU threads busy)`);
    assert.ok(both > 0, 'both vCPUs seen running at the same sample');

    // A command that needs both vCPUs to cooperate (IPIs: the kill reaches both loops).
    con.type('kill %1 %2; wait; echo DONE\n');
    assert.ok(await con.wait(/\nDONE/, 300_000), con.out.slice(-2000));
    con.type('poweroff -f\n');
    const end = Date.now() + 300_000;
    while (h.xl('list').out.includes('deb-thr') && Date.now() < end) await new Promise((r) => setTimeout(r, 500));
    assert.equal(h.xl('list').out.includes('deb-thr'), false, `still listed after poweroff:\n${con.out.slice(-1500)}`);
  } finally {
    con.kill();
  }
});
