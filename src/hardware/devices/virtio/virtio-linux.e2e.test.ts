// SPDX-License-Identifier: GPL-2.0-only
// End to end: Debian's unmodified riscv64 kernel drives our four virtio devices on the virt
// board (vsbi mode, one hart, virtual time). The shell on ttyS0 writes to /dev/hvc0, reads
// /dev/hwrng, writes the disk and reads it back past the page cache, and answers ARP and ICMP
// echo from a host on the software switch, so every device is proven against Linux's drivers.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { enterKernel, loadBootPlan, planLinuxBoot } from '../../../hypervisor/boot/boot-plan.ts';
import { hartPlatform } from '../../../hypervisor/vsbi/hart-view.ts';
import { createVsbi, VSBI_SYSTEM_RESET } from '../../../hypervisor/vsbi/vsbi.ts';
import { BlockFile } from '../../../host/block-file.ts';
import { ensureGuestAssets } from '../../../host/assets/index.ts';
import { VirtBoard } from '../../boards/virt.ts';
import { EthernetSwitch, parseMac, type SwitchPort } from '../../net/switch.ts';
import { EXIT_ECALL, EXIT_TRAP_M, EXIT_WFI } from '../../riscv/hart-api.ts';
import { Hart } from '../../riscv/hart.ts';
import { VirtioBlk } from './virtio-blk.ts';
import { VirtioConsole } from './virtio-console.ts';
import { VirtioNet } from './virtio-net.ts';
import { VirtioRng } from './virtio-rng.ts';

const RAM = 256 << 20;
const GUEST_MAC = '52:54:00:12:34:56';
const HOST_MAC = parseMac('52:54:00:aa:bb:cc')!;
const HOST_IP = [10, 0, 0, 1];
const GUEST_IP = [10, 0, 0, 2];

function ipChecksum(f: Uint8Array, from: number, to: number): number {
  let s = 0;
  for (let i = from; i < to; i += 2) s += (f[i]! << 8) | (i + 1 < to ? f[i + 1]! : 0);
  while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
  return ~s & 0xffff;
}

/** ARP who-has GUEST_IP (broadcast) and an ICMP echo request to the guest, from HOST_IP. */
function hostProbes(): Uint8Array[] {
  const arp = new Uint8Array(60);
  arp.fill(0xff, 0, 6);
  arp.set(HOST_MAC, 6);
  arp.set([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1], 12);
  arp.set(HOST_MAC, 22);
  arp.set(HOST_IP, 28);
  arp.set(GUEST_IP, 38);
  const ping = new Uint8Array(14 + 20 + 8 + 32);
  ping.set(parseMac(GUEST_MAC)!, 0);
  ping.set(HOST_MAC, 6);
  ping.set([0x08, 0x00, 0x45, 0, 0, 60, 0, 1, 0, 0, 64, 1, 0, 0], 12);
  ping.set(HOST_IP, 26);
  ping.set(GUEST_IP, 30);
  const ipSum = ipChecksum(ping, 14, 34);
  ping[24] = ipSum >> 8;
  ping[25] = ipSum & 0xff;
  ping.set([8, 0, 0, 0, 0x12, 0x34, 0, 1], 34);
  for (let i = 42; i < ping.length; i++) ping[i] = i;
  const icmpSum = ipChecksum(ping, 34, ping.length);
  ping[36] = icmpSum >> 8;
  ping[37] = icmpSum & 0xff;
  return [arp, ping];
}

test('Linux drives virtio-blk, -net, -console and -rng on the virt board', { timeout: 600_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-virtio-e2e-'));
  const tb = { t: 0, now: () => tb.t, frequency: 10_000_000 };
  let out = '';
  const board = new VirtBoard({
    hartCount: 1, ramSize: RAM, mode: 'vsbi', timebase: tb, wallclockNs: () => 1_764_000_000_000_000_000n,
    uartTx: (b) => { out += String.fromCharCode(b); }, onFinish: () => {},
    createHart: (p) => new Hart({ ...p, resetPc: 0x8000_0000 }),
  });
  const imagePath = join(dir, 'disk.img');
  const disk = BlockFile.create(imagePath, 64 << 20);
  let entropyBytes = 0;
  let hvc = '';
  const nic = new VirtioNet({ mac: parseMac(GUEST_MAC)! });
  const sw = new EthernetSwitch();
  nic.link = sw.attach((f) => nic.receive(f), 'guest');
  const fromGuest: string[] = [];
  const host: SwitchPort = sw.attach((f) => {
    const type = (f[12]! << 8) | f[13]!;
    if (type === 0x0806) fromGuest.push(`arp op ${f[21]}`);
    else if (type === 0x0800 && f[23] === 1) fromGuest.push(`icmp type ${f[34]}`);
  }, 'host');
  board.attachVirtio(new VirtioBlk({ backend: disk }));
  board.attachVirtio(new VirtioRng({ entropy: (b) => { entropyBytes += b.length; crypto.getRandomValues(b); } }));
  board.attachVirtio(new VirtioConsole({ output: (b) => { hvc += new TextDecoder().decode(b); } }));
  board.attachVirtio(nic);

  const plan = planLinuxBoot({
    ramBase: 0x8000_0000, ramSize: RAM,
    kernel: { name: assets.kernel, bytes: new Uint8Array(readFileSync(assets.kernel)) },
    initrd: { name: assets.initrd, bytes: new Uint8Array(readFileSync(assets.initrd)) },
    buildDtb: (initrd) => board.dtb({ bootargs: 'console=ttyS0 cryptomgr.notests tsxen.init=shell', initrd }),
  });
  loadBootPlan(plan, board.ram);
  const platform = hartPlatform(board.harts, {
    phys: board.bus, systemReset: () => true,
    console: { write: (b) => { for (const c of b) out += String.fromCharCode(c); return b.length; } },
  });
  const vsbi = createVsbi(platform);
  enterKernel(platform.hart(0), plan.entry);
  const hart = board.harts[0]!;
  let sleeping = false;
  let typing: number[] = [];

  /** Run the guest until `re` matches output after `from` (or the instruction budget runs out). */
  const runUntil = (re: RegExp, from: number, budget: number): string => {
    for (let insns = 0; insns < budget;) {
      while (typing.length && board.uart.rxFree() > 0) board.uart.receive(typing.shift()!);
      const m = re.exec(out.slice(from));
      if (m && typing.length === 0) return out.slice(from);
      let ran = false;
      if ((!sleeping || platform.interruptPending(0)) && vsbi.prepareToRun(0)) {
        sleeping = false;
        const before = hart.instructions;
        const r = hart.step(20_000);
        const n = hart.instructions - before;
        insns += n;
        tb.t += Math.ceil(n / 10);
        ran = true;
        if (r === EXIT_ECALL) {
          if (vsbi.handleEcall(0) === VSBI_SYSTEM_RESET) break;
        } else if (r === EXIT_WFI) sleeping = true;
        else assert.notEqual(r, EXIT_TRAP_M, `trapped to M at pc 0x${hart.getPc().toString(16)}`);
      }
      board.tick();
      if (!ran) {
        const next = Math.min(board.nextDeadline(), hart.timerDeadline());
        tb.t = Number.isFinite(next) && next > tb.t ? next : tb.t + 1000;
        board.tick();
      }
    }
    assert.fail(`no ${re} in time\n--- output tail ---\n${out.slice(-3000)}`);
  };
  /** Type a shell command; returns its output once `marker-<status>` and the next prompt show. */
  const sh = (cmd: string, marker: string, budget = 400_000_000): string => {
    const from = out.length;
    typing = [...new TextEncoder().encode(`${cmd}; r=$?; echo; echo ${marker}-$r\n`)];
    return runUntil(new RegExp(`${marker}-\\d+\\r?\\n[\\s\\S]*# `), from, budget);
  };

  try {
    const boot = runUntil(/TSXEN-BOOT-OK[\s\S]*# $/, 0, 3_000_000_000);
    assert.match(boot, /virtio_blk virtio\d: \[vda\] 131072 512-byte logical blocks/);
    assert.match(boot, /TSXEN-VIRTIO-DRIVERS: .*virtio_blk.*virtio_console.*virtio_net.*virtio_rng/);

    assert.match(sh('echo hello-hvc > /dev/hvc0', 'HVC'), /HVC-0/);
    assert.equal(hvc, 'hello-hvc\r\n');

    const rng = sh('dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1', 'RNG');
    assert.match(rng, /( [0-9a-f]{2}){16}/);
    assert.ok(entropyBytes >= 16, `entropy used: ${entropyBytes}`);

    const blk = sh('echo tsxen-disk-data > /tmp/d; dd if=/tmp/d of=/dev/vda bs=512 seek=8 count=1 conv=sync 2>/dev/null; ' +
      'sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 15', 'BLK');
    assert.match(blk, /tsxen-disk-data/);
    assert.equal(new TextDecoder().decode(readFileSync(imagePath).subarray(8 * 512, 8 * 512 + 16)), 'tsxen-disk-data\n');

    sh('ip link set eth0 up && ip addr add 10.0.0.2/24 dev eth0 && sleep 1', 'NET');
    for (const f of hostProbes()) host.send(f);
    const stats = sh('sleep 1; grep -A1 "^Icmp:" /proc/net/snmp | tail -1; cat /proc/net/arp', 'STATS');
    assert.deepEqual(fromGuest.filter((s) => s.startsWith('arp') || s.startsWith('icmp')), ['arp op 2', 'icmp type 0'],
      `frames from the guest: ${fromGuest.join(', ')}\n${stats}`);
    assert.match(stats, /10\.0\.0\.1\s+0x1\s+0x2\s+52:54:00:aa:bb:cc/);
    assert.ok(nic.stats.rxFrames >= 2 && nic.stats.txFrames >= 2);
  } finally {
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
