// SPDX-License-Identifier: GPL-2.0-only
// End to end: Debian's unmodified riscv64 kernel drives our four virtio devices on the virt
// board (vsbi mode, one hart, virtual time). The shell on ttyS0 writes to /dev/hvc0, reads
// /dev/hwrng, writes the disk and reads it back past the page cache, and answers ARP and ICMP
// echo from a host on the software switch; then two Linux machines in one process exchange a
// TCP stream over the switch. Every device is proven against Linux's own drivers.
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
import type { VirtioDevice } from './virtio-device.ts';
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

type Assets = Awaited<ReturnType<typeof ensureGuestAssets>>;

/** One virt board running Linux in vsbi mode, with a shell on ttyS0 that tests type into. */
class LinuxMachine {
  out = '';
  insns = 0;
  private typing: number[] = [];
  private sleeping = false;
  private readonly tb = { t: 0, now: () => this.tb.t, frequency: 10_000_000 };
  private readonly board: VirtBoard<Hart>;
  private readonly platform: ReturnType<typeof hartPlatform>;
  private readonly vsbi: ReturnType<typeof createVsbi>;
  private readonly hart: Hart;

  constructor(assets: Assets, devices: VirtioDevice[]) {
    this.board = new VirtBoard({
      hartCount: 1, ramSize: RAM, mode: 'vsbi', timebase: this.tb, wallclockNs: () => 1_764_000_000_000_000_000n,
      uartTx: (b) => { this.out += String.fromCharCode(b); }, onFinish: () => {},
      createHart: (p) => new Hart({ ...p, resetPc: 0x8000_0000 }),
    });
    for (const d of devices) this.board.attachVirtio(d);
    const plan = planLinuxBoot({
      ramBase: 0x8000_0000, ramSize: RAM,
      kernel: { name: assets.kernel, bytes: new Uint8Array(readFileSync(assets.kernel)) },
      initrd: { name: assets.initrd, bytes: new Uint8Array(readFileSync(assets.initrd)) },
      buildDtb: (initrd) => this.board.dtb({ bootargs: 'console=ttyS0 cryptomgr.notests tsxen.init=shell', initrd }),
    });
    loadBootPlan(plan, this.board.ram);
    this.platform = hartPlatform(this.board.harts, {
      phys: this.board.bus, systemReset: () => true,
      console: { write: (b) => { for (const c of b) this.out += String.fromCharCode(c); return b.length; } },
    });
    this.vsbi = createVsbi(this.platform);
    enterKernel(this.platform.hart(0), plan.entry);
    this.hart = this.board.harts[0]!;
  }

  /** Virtual time, in timebase ticks. */
  get now(): number {
    return this.tb.t;
  }

  /** Queue bytes for the console (fed as the UART's FIFO has room). */
  type(text: string): void {
    this.typing.push(...new TextEncoder().encode(text));
  }

  get typed(): boolean {
    return this.typing.length === 0;
  }

  /** One slice: up to 20k instructions, or a jump to the next timer if the hart sleeps. */
  step(): void {
    const { board, hart, platform, vsbi, tb } = this;
    while (this.typing.length && board.uart.rxFree() > 0) board.uart.receive(this.typing.shift()!);
    let ran = false;
    if ((!this.sleeping || platform.interruptPending(0)) && vsbi.prepareToRun(0)) {
      this.sleeping = false;
      const before = hart.instructions;
      const r = hart.step(20_000);
      const n = hart.instructions - before;
      this.insns += n;
      tb.t += Math.ceil(n / 10);
      ran = true;
      if (r === EXIT_ECALL) {
        if (vsbi.handleEcall(0) === VSBI_SYSTEM_RESET) throw new Error('the guest reset the system');
      } else if (r === EXIT_WFI) this.sleeping = true;
      else assert.notEqual(r, EXIT_TRAP_M, `trapped to M at pc 0x${hart.getPc().toString(16)}`);
    }
    board.tick();
    if (!ran) {
      const next = Math.min(board.nextDeadline(), hart.timerDeadline());
      tb.t = Number.isFinite(next) && next > tb.t ? next : tb.t + 1000;
      board.tick();
    }
  }
}

/** Step machines (the one furthest behind in virtual time first) until `done`, or fail. */
function runUntil(machines: LinuxMachine[], done: () => boolean, budget: number, what: string): void {
  const start = machines.reduce((n, m) => n + m.insns, 0);
  while (!(done() && machines.every((m) => m.typed))) {
    machines.reduce((a, b) => (b.now < a.now ? b : a)).step();
    if (machines.reduce((n, m) => n + m.insns, 0) - start > budget) {
      assert.fail(`no ${what} in time\n${machines.map((m, i) => `--- machine ${i} ---\n${m.out.slice(-2000)}`).join('\n')}`);
    }
  }
}

/** Type a shell command; returns its output once `marker-<status>` and the next prompt show. */
function sh(m: LinuxMachine, cmd: string, marker: string, budget = 400_000_000): string {
  const from = m.out.length;
  m.type(`${cmd}; r=$?; echo; echo ${marker}-$r\n`);
  const re = new RegExp(`${marker}-\\d+\\r?\\n[\\s\\S]*# `);
  runUntil([m], () => re.test(m.out.slice(from)), budget, marker);
  return m.out.slice(from);
}

// The first prompt after the boot marker. Not anchored at the end: busybox's line editor may
// follow the prompt with a cursor-position query (ESC [6n) when no input is pending.
const BOOTED = /TSXEN-BOOT-OK[\s\S]*:~# /;

/** Seeded entropy (xorshift32), so that the guest's randomness, and so its timing, repeat. */
function seededEntropy(seed: number): (b: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (b) => {
    for (let i = 0; i < b.length; i++) {
      x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0;
      b[i] = x & 0xff;
    }
  };
}

test('Linux drives virtio-blk, -net, -console and -rng on the virt board', { timeout: 600_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-virtio-e2e-'));
  const imagePath = join(dir, 'disk.img');
  const disk = BlockFile.create(imagePath, 64 << 20);
  let entropyBytes = 0;
  const entropy = seededEntropy(0x7a5e);
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
  const m = new LinuxMachine(assets, [
    new VirtioBlk({ backend: disk }),
    new VirtioRng({ entropy: (b) => { entropyBytes += b.length; entropy(b); } }),
    new VirtioConsole({ output: (b) => { hvc += new TextDecoder().decode(b); } }),
    nic,
  ]);

  try {
    runUntil([m], () => BOOTED.test(m.out), 3_000_000_000, 'boot');
    assert.match(m.out, /virtio_blk virtio\d: \[vda\] 131072 512-byte logical blocks/);
    assert.match(m.out, /TSXEN-VIRTIO-DRIVERS: .*virtio_blk.*virtio_console.*virtio_net.*virtio_rng/);

    assert.match(sh(m, 'echo hello-hvc > /dev/hvc0', 'HVC'), /HVC-0/);
    assert.equal(hvc, 'hello-hvc\r\n');

    const rng = sh(m, 'dd if=/dev/hwrng bs=16 count=1 2>/dev/null | od -An -tx1', 'RNG');
    assert.match(rng, /( [0-9a-f]{2}){16}/);
    assert.ok(entropyBytes >= 16, `entropy used: ${entropyBytes}`);

    const blk = sh(m, 'echo tsxen-disk-data > /tmp/d; dd if=/tmp/d of=/dev/vda bs=512 seek=8 count=1 conv=sync 2>/dev/null; ' +
      'sync; echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 skip=8 count=1 2>/dev/null | head -c 15', 'BLK');
    assert.match(blk, /tsxen-disk-data/);
    assert.equal(new TextDecoder().decode(readFileSync(imagePath).subarray(8 * 512, 8 * 512 + 16)), 'tsxen-disk-data\n');

    sh(m, 'ip link set eth0 up && ip addr add 10.0.0.2/24 dev eth0 && sleep 1', 'NET');
    for (const f of hostProbes()) host.send(f);
    const stats = sh(m, 'sleep 1; grep -A1 "^Icmp:" /proc/net/snmp | tail -1; cat /proc/net/arp', 'STATS');
    assert.deepEqual(fromGuest.filter((s) => s.startsWith('arp') || s.startsWith('icmp')), ['arp op 2', 'icmp type 0'],
      `frames from the guest: ${fromGuest.join(', ')}\n${stats}`);
    assert.match(stats, /10\.0\.0\.1\s+0x1\s+0x2\s+52:54:00:aa:bb:cc/);
    assert.ok(nic.stats.rxFrames >= 2 && nic.stats.txFrames >= 2);
  } finally {
    disk.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('two Linux machines on one switch exchange a TCP stream', { timeout: 900_000 }, async () => {
  const assets = await ensureGuestAssets({ progress: null });
  const sw = new EthernetSwitch();
  const nic = (mac: string) => {
    const n = new VirtioNet({ mac: parseMac(mac)! });
    n.link = sw.attach((f) => n.receive(f), mac);
    return n;
  };
  const a = new LinuxMachine(assets, [nic('52:54:00:00:00:0a')]);
  const b = new LinuxMachine(assets, [nic('52:54:00:00:00:0b')]);
  runUntil([a, b], () => BOOTED.test(a.out) && BOOTED.test(b.out), 6_000_000_000, 'boot');
  sh(a, 'ip link set eth0 up && ip addr add 10.0.0.1/24 dev eth0', 'A-UP');
  sh(b, 'ip link set eth0 up && ip addr add 10.0.0.2/24 dev eth0', 'B-UP');
  const fromB = b.out.length;
  b.type('nc -l -p 5000 > /tmp/got; echo B-GOT-$(cat /tmp/got)\n');
  runUntil([a, b], () => /nc -l -p 5000/.test(b.out.slice(fromB)), 200_000_000, 'listener');
  const fromA = a.out.length;
  // The listener may not be up yet when A first connects: retry until the connection is taken.
  a.type('until echo hello-from-a | nc 10.0.0.2 5000; do sleep 1; done; echo A-SENT-$?\n');
  runUntil([a, b], () => /B-GOT-hello-from-a/.test(b.out.slice(fromB)) && /A-SENT-0/.test(a.out.slice(fromA)),
    3_000_000_000, 'the TCP stream from A to B');
  assert.ok(sw.macCount >= 2);
});
