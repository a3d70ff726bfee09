// SPDX-License-Identifier: GPL-2.0-only
// xl.cfg grammar, validation and the disk/vif/CPU-list specs, against xl.cfg(5),
// xl-disk-configuration.txt, vbd-interface.txt and xl-network-configuration.markdown.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CfgParseError, lastSettings, parseXlCfg, type CfgSetting } from './cfg-parser.ts';
import { parseCpuList, resolveCpuList } from './cpulist.ts';
import { parseDiskSpec, vdevToDevid } from './disk-spec.ts';
import { parseCNumber, parseDomainConfig, XlCfgError } from './domain-config.ts';
import { parseVifSpec } from './vif-spec.ts';

/** The scalar of a setting: a number token's text or a string's value. */
function scalar(st: CfgSetting | undefined): string | undefined {
  const v = st?.value;
  return v?.kind === 'number' ? v.text : v?.kind === 'string' ? v.value : undefined;
}

test('grammar: strings, numbers, nested lists over lines, comments, ; and trailing commas', () => {
  const text = `# a comment\nname = "g1" ; memory = 0x200\nvcpus=2 # trailing\ndisk = [ 'a,,xvda',\n  "b,,xvdb", ]\nx.y_1 = [ [1, 2], 'c\\tq\\x41\\101' ]\n`;
  const s = lastSettings(parseXlCfg(text, 't.cfg'));
  assert.deepEqual([...s.keys()], ['name', 'memory', 'vcpus', 'disk', 'x.y_1']);
  assert.equal(scalar(s.get('memory')), '0x200');
  const disk = s.get('disk')!.value;
  assert.ok(disk.kind === 'list');
  assert.deepEqual(disk.items.map((v) => v.kind === 'string' && v.value), ['a,,xvda', 'b,,xvdb']);
  const xy = s.get('x.y_1')!.value;
  assert.ok(xy.kind === 'list' && xy.items[1].kind === 'string');
  assert.equal(xy.items[1].value, 'c\tqAA');
  assert.equal(s.get('disk')!.line, 4);
});

test('grammar: the last assignment wins, += appends', () => {
  const s = lastSettings(parseXlCfg('memory=1\nmemory=2\nextra="a"\nextra+=" b"\nvif=["x"]\nvif+=["y"]\n'));
  assert.equal(scalar(s.get('memory')), '2');
  assert.equal(scalar(s.get('extra')), 'a b');
  const vif = s.get('vif')!.value;
  assert.equal(vif.kind === 'list' && vif.items.length, 2);
});

test('grammar errors name file, line and column', () => {
  const cases: [string, number, number, RegExp][] = [
    ['name="x"\nmemory = -1\n', 2, 10, /near `-'.*Python/],
    ['name="x"\n  vcpus 2\n', 2, 9, /expected '='/],
    ['name="unterminated\n', 1, 6, /unterminated string/],
    ['disk=["a" "b"]\n', 1, 11, /expected ',' or '\]'/],
    ['Name="x"\n', 1, 1, /lower case/],
    ['memory=1 2\n', 1, 10, /end of line/],
  ];
  for (const [text, line, col, re] of cases) {
    assert.throws(() => parseXlCfg(text, 'guest.cfg'), (e: unknown) => {
      assert.ok(e instanceof CfgParseError, String(e));
      assert.equal(e.file, 'guest.cfg');
      assert.deepEqual([e.line, e.col], [line, col], `${JSON.stringify(text)}: ${e.message}`);
      assert.match(e.message, re);
      assert.ok(e.message.startsWith(`guest.cfg:${line}:${col}: `));
      return true;
    });
  }
});

test('a full PV config and command-line overrides', () => {
  const warnings: string[] = [];
  const cfg = parseDomainConfig(
    `name = "pv1"\ntype = "pv"\nmemory = 256\nmaxmem = 512\nvcpus = 2\nmaxvcpus = 4\ncpus = ["0", "1-3,^2"]\n` +
    `kernel = "/k"\nroot = "/dev/xvda1"\nextra = "console=hvc0"\ndisk = ['/img/a.raw,raw,xvda,rw', 'format=raw,vdev=xvdb,access=ro,target=/x,y.img']\n` +
    `vif = ['mac=00:16:3E:01:02:03,bridge=br0', '']\non_crash = "preserve"\nseclabel = "x"\nfrobnicate = 1\n`,
    'pv1.cfg', { overrides: ['memory=300', 'name="pv2"'], warn: (m) => warnings.push(m) });
  assert.equal(cfg.name, 'pv2');
  assert.equal(cfg.memoryMb, 300);
  assert.equal(cfg.maxmemMb, 512);
  assert.deepEqual([cfg.vcpus, cfg.maxvcpus], [2, 4]);
  assert.deepEqual(cfg.cpus, { perVcpu: ['0', '1-3,^2'] });
  assert.equal(cfg.cmdline, 'root=/dev/xvda1 console=hvc0');
  assert.equal(cfg.disks[1].target, '/x,y.img');
  assert.equal(cfg.disks[1].access, 'ro');
  assert.equal(cfg.vifs[0].mac, '00:16:3e:01:02:03');
  assert.equal(cfg.vifs[1].devid, 1);
  assert.equal(cfg.onCrash, 'preserve');
  assert.equal(cfg.onPoweroff, 'destroy');
  assert.equal(cfg.onReboot, 'restart');
  assert.equal(warnings.length, 2);
  assert.match(warnings[0], /^pv1\.cfg:14:1: warning: 'seclabel' is not supported/);
  assert.match(warnings[1], /^pv1\.cfg:15:1: warning: unknown key 'frobnicate'/);
});

test('validation errors point at the setting', () => {
  const bad: [string, RegExp][] = [
    ['name="a"\nkernel="/k"\nmemory=512\nmaxmem=256\n', /^c\.cfg:4:1: maxmem \(256\) is below memory \(512\)/],
    ['name="a"\nkernel="/k"\nvcpus=4\nmaxvcpus=2\n', /^c\.cfg:4:1: maxvcpus/],
    ['name="a"\nkernel="/k"\non_crash="explode"\n', /^c\.cfg:3:1: 'on_crash' has unknown action 'explode'/],
    ['name="a"\nkernel="/k"\ndisk=["/x,raw,qq"]\n', /^c\.cfg:3:1: invalid disk specification '\/x,raw,qq': invalid virtual device 'qq'/],
    ['name="a"\nkernel="/k"\ncpus="0-x"\n', /^c\.cfg:3:1: invalid CPU list/],
    ['name="a"\nkernel="/k"\nmemory="lots"\n', /^c\.cfg:3:1: 'memory' is not a valid number/],
    ['name="a"\ntype="pvh"\n', /^c\.cfg:2:1: type 'pvh' is not available/],
    ['kernel="/k"\n', /needs a name/],
    ['name="a"\n', /a pv domain needs kernel=/],
    ['name="a"\nkernel="/k"\ndisk=["/a,,xvda","/b,,xvda"]\n', /same virtual device/],
  ];
  for (const [text, re] of bad) assert.throws(() => parseDomainConfig(text, 'c.cfg'), (e: unknown) => e instanceof XlCfgError && re.test(e.message), text);
  // An HVM guest needs no kernel (the board's firmware boots it).
  assert.equal(parseDomainConfig('name="h"\nbuilder="hvm"\n', 'h.cfg').type, 'hvm');
});

test('numbers are read as strtol(..., 0) reads them', () => {
  assert.equal(parseCNumber('0x1F'), 31);
  assert.equal(parseCNumber('017'), 15);
  assert.equal(parseCNumber('0'), 0);
  assert.equal(parseCNumber('42'), 42);
  assert.equal(parseCNumber('09'), undefined);
  assert.equal(parseCNumber('4k'), undefined);
});

test('vdev names map to vbd-interface.txt numbers', () => {
  // Each expectation is the formula of vbd-interface.txt written out by hand.
  assert.equal(vdevToDevid('xvda'), 202 * 256);            // 51712
  assert.equal(vdevToDevid('xvdb3'), 202 * 256 + 16 + 3);
  assert.equal(vdevToDevid('xvdp15'), 202 * 256 + 15 * 16 + 15);
  assert.equal(vdevToDevid('xvdq'), 2 ** 28 + 16 * 256);    // the extended scheme from disk 16
  assert.equal(vdevToDevid('xvdaa'), 2 ** 28 + 26 * 256);
  assert.equal(vdevToDevid('hda'), 3 * 256);
  assert.equal(vdevToDevid('hdb1'), 3 * 256 + 64 + 1);
  assert.equal(vdevToDevid('hdc'), 22 * 256);
  assert.equal(vdevToDevid('sdb2'), 8 * 256 + 16 + 2);
  assert.equal(vdevToDevid('d0p1'), 202 * 256 + 1);
  assert.equal(vdevToDevid('51713'), 51713);
  for (const bad of ['xvd', 'hde', 'sdq', 'xvda01', 'vda', 'xvdA']) assert.equal(vdevToDevid(bad), -1, bad);
});

test('disk specs: positional, named, deprecated and cdrom forms', () => {
  const a = parseDiskSpec('/dev/vg/guest-volume,,hda');
  assert.deepEqual([a.target, a.format, a.vdev, a.access], ['/dev/vg/guest-volume', 'raw', 'hda', 'rw']);
  const b = parseDiskSpec('/root/image.iso,,hdc,cdrom');
  assert.deepEqual([b.devtype, b.access], ['cdrom', 'ro']);
  const c = parseDiskSpec('format=raw,vdev=hdc,access=ro,devtype=cdrom,target=/root/image.iso');
  assert.deepEqual([c.target, c.devtype, c.access], ['/root/image.iso', 'cdrom', 'ro']);
  const d = parseDiskSpec('phy:vg/g,xvda,w');
  assert.deepEqual([d.target, d.vdev, d.access], ['/dev/vg/g', 'xvda', 'rw']);
  const e = parseDiskSpec('qcow2:/img/x.qcow2,xvdb:cdrom,r');
  assert.deepEqual([e.target, e.format, e.vdev, e.devtype, e.access], ['/img/x.qcow2', 'qcow2', 'xvdb', 'cdrom', 'ro']);
  assert.throws(() => parseDiskSpec('/x,vmdk,xvda'), /unknown format 'vmdk'/);
  assert.throws(() => parseDiskSpec('/x,raw,xvda,rwx'), /unknown access 'rwx'/);
  assert.throws(() => parseDiskSpec('/x,raw'), /no vdev/);
});

test('vif specs', () => {
  const v = parseVifSpec('mac=00:16:3e:00:00:01,bridge=xenbr1,rate=10Mb/s@20ms,vifname=v0', 0);
  assert.equal(v.bridge, 'xenbr1');
  assert.deepEqual(v.rate, { bytesPerInterval: 25000, intervalUs: 20000 }); // 10e6/8 B/s * 0.02 s
  assert.equal(parseVifSpec('', 3).bridge, 'xenbr0');
  assert.deepEqual(parseVifSpec('rate=1MB/s', 0).rate, { bytesPerInterval: 50000, intervalUs: 50000 });
  assert.throws(() => parseVifSpec('mac=01:00:00:00:00:00', 0), /multicast/);
  assert.throws(() => parseVifSpec('colour=red', 0), /unknown key 'colour'/);
  assert.throws(() => parseVifSpec('rate=fast', 0), /bad rate/);
});

test('CPU lists', () => {
  assert.deepEqual(resolveCpuList('0-3,^2', 4), [0, 1, 3]);
  assert.deepEqual(resolveCpuList('all,^0', 3), [1, 2]);
  assert.deepEqual(resolveCpuList('nodes:1', 4, (n) => (n === 1 ? [2, 3] : n === 0 ? [0, 1] : undefined)), [2, 3]);
  assert.throws(() => resolveCpuList('4', 4), /CPU 4 does not exist/);
  assert.throws(() => resolveCpuList('0,^0', 4), /selects no CPU/);
  assert.throws(() => parseCpuList('3-1'), /backwards/);
  assert.throws(() => parseCpuList(''), /empty/);
});

test('a relative disk target stays relative (libxl stats it from xl\'s directory; no /dev/ prefix, as 4.7 libxl)', () => {
  assert.equal(parseDiskSpec('../img/a.raw,raw,xvdb,rw').target, '../img/a.raw');
  assert.equal(parseDiskSpec('format=raw,vdev=xvdc,target=b.img').target, 'b.img');
});
