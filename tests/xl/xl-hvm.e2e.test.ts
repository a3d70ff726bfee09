// SPDX-License-Identifier: GPL-2.0-only
// Issue 6's end-to-end test with a Debian HVM guest: `xl create examples/debian-hvm.cfg` (the
// asset cache's kernel and initramfs, a raw disk image as virtio-blk, the vif as virtio-net on
// the host's bridge) boots Debian, and `xl console` reaches its shell, which sees the disk's
// bytes and the vif's MAC. With the PV guest from examples/ beside it: list (xl's layout),
// vcpu-pin and vcpu-list, pause/unpause, the xenstore-driven commands, shutdown without and with
// -F -w, destroy; a config error names its line.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { ensureGuestAssets } from '../../src/host/assets/index.ts';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { startXlHost, xlConsole, type XlHost } from './xl-harness.ts';

const LIST_HEADER = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n';
const VCPU_HEADER = 'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n';
const DISK_MAGIC = 'TSXEN-XL-DISK-0123456789';
let h: XlHost;
let dir: string;

before(() => {
  buildPvKernel();
  dir = mkdtempSync(join(tmpdir(), 'tsxen-xl-hvm-'));
  h = startXlHost();
});
after(() => {
  h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function list(): Map<string, { domid: number; mem: number; vcpus: number; state: string }> {
  const r = h.xl('list');
  assert.equal(r.code, 0, r.err);
  assert.ok(r.out.startsWith(LIST_HEADER), JSON.stringify(r.out));
  const out = new Map<string, { domid: number; mem: number; vcpus: number; state: string }>();
  for (const line of r.out.slice(LIST_HEADER.length).split('\n').filter((l) => l !== '')) {
    const m = /^(\S+) +(\d+) +(\d+) +(\d+) +([-rbpscwSd]{6}) +(\d+\.\d)$/.exec(line);
    assert.ok(m, `list row layout: ${JSON.stringify(line)}`);
    assert.equal(line, sprintf('%-40s %5d %5d %5d     %s  %8.1f', m[1]!, Number(m[2]), Number(m[3]), Number(m[4]), m[5]!, Number(m[6])));
    out.set(m[1]!, { domid: Number(m[2]), mem: Number(m[3]), vcpus: Number(m[4]), state: m[5]! });
  }
  return out;
}

test('xl create examples/debian-hvm.cfg boots Debian with its disk and vif; xl console reaches the shell', { timeout: 20 * 60_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const img = join(dir, 'disk.img');
  const bytes = new Uint8Array(8 << 20);
  bytes.set(new TextEncoder().encode(DISK_MAGIC), 0);
  writeFileSync(img, bytes);
  const c = h.xl('create', 'examples/debian-hvm.cfg', `kernel="${assets.kernel}"`, `ramdisk="${assets.initrd}"`,
    `disk=["format=raw, vdev=xvda, access=rw, target=${img}"]`);
  assert.equal(c.code, 0, c.err);
  assert.equal(c.err, 'Parsing config from examples/debian-hvm.cfg\n');
  const deb = list().get('debian-hvm');
  assert.ok(deb, 'debian-hvm listed');
  assert.equal(deb.mem, 256);

  const con = xlConsole(h, 'debian-hvm');
  // The shell prompt comes after init's boot marker; the history replays what came before.
  assert.ok(await con.wait(/TSXEN-BOOT-OK[\s\S]*# /, 15 * 60_000), con.out.slice(-3000));
  assert.match(con.out, /virtio_blk virtio\d+: \[vda\] 16384 512-byte logical blocks/, 'the 8 MiB image is the guest\'s vda');
  con.type(`dd if=/dev/vda bs=${DISK_MAGIC.length} count=1 2>/dev/null; echo; cat /sys/class/net/eth0/address; echo MARK$((6*7))\n`);
  assert.ok(await con.wait(/MARK42/, 180_000), con.out.slice(-2000));
  const tail = con.out.slice(con.out.lastIndexOf('dd if=/dev/vda'));
  assert.match(tail, new RegExp(`\n${DISK_MAGIC}\\r?\n`), 'the guest read the image\'s first bytes through virtio-blk');
  assert.match(tail, /\n00:16:3e:00:00:01\r?\n/, 'eth0 is the vif, with its MAC from the config');
  // Frames leave through virtio-net onto the host's bridge: ARP for a neighbour nobody answers.
  con.type('ip addr add 10.9.0.1/24 dev eth0; ip link set eth0 up; ping -c 1 -W 1 10.9.0.2 >/dev/null 2>&1; echo TX=$(cat /sys/class/net/eth0/statistics/tx_packets)\n');
  assert.ok(await con.wait(/TX=\d+/, 180_000), con.out.slice(-2000));
  assert.ok(Number(/TX=(\d+)/.exec(con.out)![1]) >= 1, con.out.slice(-500));
  con.type(Uint8Array.of(0x1d));
  assert.equal(await con.exited, 0);
  // VCPUs counts the online ones: Linux started the second through SBI HSM.
  assert.equal(list().get('debian-hvm')?.vcpus, 2);
  assert.equal(list().get('debian-hvm')?.domid, deb.domid, 'detaching leaves the guest running');
});

test('the PV and HVM guests side by side: list, pin, pause, xenstore commands, reboot -F -w (restart), shutdown -F -w, destroy', { timeout: 5 * 60_000 }, async () => {
  const c = h.xl('create', '-p', 'examples/pv-guest.cfg', 'extra="test=pingpong role=ping peer=999 xs_timeout_ms=0"');
  assert.equal(c.code, 0, c.err);
  const l = list();
  const pv = l.get('pv-guest')!;
  const deb = l.get('debian-hvm')!;
  assert.deepEqual([...l.keys()], ['Domain-0', 'debian-hvm', 'pv-guest']);
  assert.equal(pv.state, '--p---');

  // Xen's cpumap syntax: 1-3,^2 on a 2-pCPU host is pCPU 1 (bits past the host are dropped).
  const pin = h.xl('vcpu-pin', 'debian-hvm', '0', '1-3,^2', 'all');
  assert.deepEqual([pin.code, pin.err], [0, '']);
  assert.equal(h.xl('vcpu-pin', 'debian-hvm', '1', '-', '0').code, 0);
  const v = h.xl('vcpu-list', 'debian-hvm');
  assert.equal(v.code, 0, v.err);
  assert.ok(v.out.startsWith(VCPU_HEADER), v.out);
  const rows = v.out.slice(VCPU_HEADER.length).split('\n').filter((x) => x !== '');
  assert.equal(rows.length, 2);
  assert.match(rows[0]!, new RegExp(`^debian-hvm {22} {5}${deb.domid} {5}0 {4}. {3}[-r][-b]- +\\d+\\.\\d  1 / all$`));
  assert.match(rows[1]!, new RegExp(`^debian-hvm {22} {5}${deb.domid} {5}1 {4}. {3}[-r][-b]- +\\d+\\.\\d  all / 0$`));
  const j = JSON.parse(h.xl('vcpu-list', '--json', 'debian-hvm').out) as Array<{ affinityHard: string; affinitySoft: string }>;
  assert.deepEqual(j.map((x) => [x.affinityHard, x.affinitySoft]), [['1', 'all'], ['all', '0']]);
  assert.equal(h.xl('-N', 'vcpu-pin', 'debian-hvm', 'all', '0-1', '^0,1').out, 'cpumap: all 1\n');
  const info = JSON.parse(h.xl('info', '--json').out) as { nrCpus: number };
  assert.equal(info.nrCpus, 2);

  assert.equal(h.xl('pause', 'debian-hvm').code, 0);
  assert.equal(list().get('debian-hvm')!.state[2], 'p');
  assert.equal(h.xl('unpause', 'debian-hvm').code, 0);
  assert.equal(list().get('debian-hvm')!.state[2], '-');

  // libxl's xenstore-driven operations.
  assert.equal(h.xl('sysrq', 'pv-guest', 's').code, 0);
  assert.equal(await h.xsRead(`/local/domain/${pv.domid}/control/sysrq`), 's');
  assert.equal(h.xl('mem-set', 'pv-guest', '12m').code, 0);
  assert.equal(await h.xsRead(`/local/domain/${pv.domid}/memory/target`), '12288');
  const big = h.xl('mem-set', 'pv-guest', '1g');
  assert.equal(big.code, 1);
  assert.match(big.err, /memory_dynamic_max must be less than or equal to memory_static_max.*\ncannot set domid \d+ dynamic max memory to : 1g\n$/);
  assert.equal(h.xl('vcpu-set', 'debian-hvm', '1').code, 0);
  assert.equal(await h.xsRead(`/local/domain/${deb.domid}/cpu/1/availability`), 'offline');
  const nmi = h.xl('trigger', 'debian-hvm', 'nmi');
  assert.deepEqual([nmi.code, nmi.err], [0, "libxl: error: libxl_send_trigger: Send trigger 'nmi' failed: trigger nmi: not available on RISC-V guests\n"]);
  const up = h.xl('uptime');
  assert.equal(up.code, 0, up.err);
  const upRows = up.out.split('\n').filter((x) => x !== '');
  assert.equal(upRows[0], sprintf('%-33s %4s %s', 'Name', 'ID', 'Uptime'));
  assert.deepEqual(upRows.slice(1).map((r) => r.split(/ +/)[0]), ['Domain-0', 'debian-hvm', 'pv-guest']);
  const secs = (r: string): number => r.slice(39).split(':').reduce((a, x) => a * 60 + Number(x), 0);
  assert.ok(secs(upRows[2]!) > secs(upRows[3]!), `debian-hvm has been up longer than pv-guest: ${up.out}`);

  // reboot -F: the reset event; on_reboot = "restart" builds it again under a new domid.
  const rb = h.xl('reboot', '-F', '-w', 'debian-hvm');
  assert.equal(rb.code, 0, rb.err);
  assert.equal(rb.err, `Rebooting domain ${deb.domid}\nPV control interface not available: sending ACPI reset button event.\nWaiting for 1 domains\nDomain ${deb.domid} has been shut down, reason code 1\n`);
  let again = list().get('debian-hvm');
  for (const end = Date.now() + 20_000; (again === undefined || again.domid === deb.domid) && Date.now() < end; again = list().get('debian-hvm')) await new Promise((r) => setTimeout(r, 100));
  assert.ok(again !== undefined && again.domid !== deb.domid, `restarted under a new domid: ${JSON.stringify(again)}`);
  assert.ok(![...list().values()].some((x) => x.domid === deb.domid), 'the old domain is gone');
  deb.domid = again.domid;
  assert.equal(h.xl('reboot', 'pv-guest').code, 0);
  assert.equal(await h.xsRead(`/local/domain/${pv.domid}/control/shutdown`), 'reboot');

  // No PV control in an unmodified HVM guest: xl says so and changes nothing; -F sends the power event.
  const s1 = h.xl('shutdown', '-w', 'debian-hvm');
  assert.equal(s1.code, 1);
  assert.equal(s1.err, `Shutting down domain ${deb.domid}\nPV control interface not available: external graceful shutdown not possible.\nUse "-F" to fallback to ACPI power event.\nshutdown failed (rc=-10)\n`);
  assert.equal(list().get('debian-hvm')!.state[3], '-');
  const s2 = h.xl('shutdown', '-F', '-w', 'debian-hvm');
  assert.equal(s2.code, 0, s2.err);
  assert.equal(s2.err, `Shutting down domain ${deb.domid}\nPV control interface not available: sending ACPI power button event.\nWaiting for 1 domains\nDomain ${deb.domid} has been shut down, reason code 0\n`);
  // on_poweroff = "destroy": the host's monitor destroys it.
  const end = Date.now() + 10_000;
  while (list().has('debian-hvm') && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
  assert.equal(list().has('debian-hvm'), false);

  assert.equal(h.xl('shutdown', 'pv-guest').code, 0);
  assert.equal(await h.xsRead(`/local/domain/${pv.domid}/control/shutdown`), 'poweroff');
  assert.equal(h.xl('destroy', 'pv-guest').code, 0);
  assert.deepEqual([...list().keys()], ['Domain-0']);
});

test('HVM config errors: the line of the setting, nothing created', () => {
  const cfg = join(dir, 'bad-hvm.cfg');
  writeFileSync(cfg, 'name = "bad-hvm"\ntype = "hvm"\nkernel = "k"\nmemory = 64\n\ndisk = [ "format=raw, vdev=xvda, access=sideways, target=/x" ]\n');
  const r = h.xl('create', cfg);
  assert.equal(r.code, 1);
  assert.match(r.err, new RegExp(`^Parsing config from ${cfg}\n${cfg}:6:1: .*access.*\n$`));
  writeFileSync(cfg, 'name = "bad-hvm"\ntype = "hvm"\nkernel = "build/pv/pv-kernel.elf"\nmemory = 64\ndisk = [ "format=raw, vdev=xvda, access=rw, target=/nonexistent/disk.img" ]\n');
  const r2 = h.xl('create', cfg);
  assert.equal(r2.code, 3);
  assert.match(r2.err, /libxl: error: domain creation failed: invalid build description: disks\[0\] \(vdev xvda\): disk image \/nonexistent\/disk.img: no such file\n$/);
  assert.equal(list().has('bad-hvm'), false);
});
