// SPDX-License-Identifier: GPL-2.0-only
// PV devices through xl against a real host daemon (`bin/tsxen host`, `bin/xl`): the PV kernel's
// xenstore client reaches the host's xenstored through the ring relay; `xl block-attach` gives
// a PV guest a raw image served by blkback, the guest's blkfront connects, writes and reads it
// back (the host sees the bytes in the file), malformed requests fail one by one, `xl
// block-list` shows it in xl's layout, `xl block-detach` closes it through the xenbus states
// (backend InitWait, Connected, Closing, Closed) and the guest lives on; a guest that corrupts
// its ring index only halts its own ring.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { after, before, test } from 'node:test';
import { sprintf } from '../../src/toolstack/xl/printf.ts';
import { SockClient } from '../xenstored/harness.ts';
import { startPvGuests, stopPvGuests, type PvGuests } from './pv-guest-harness.ts';
import { ROOT, type XlHost } from './xl-harness.ts';

const BLOCK_HEADER = 'Vdev  BE  handle state evt-ch ring-ref BE-path                       \n';
let h: XlHost;
let dir: string;
let g: PvGuests;

before(() => ({ h, dir, g } = startPvGuests('blk')));
after(() => stopPvGuests(h, dir));

function image(name: string, marker: string): string {
  const p = join(dir, name);
  const b = Buffer.alloc(1 << 20);
  b.write(marker, 0, 'latin1');
  writeFileSync(p, b);
  return p;
}

test('the PV kernel reads, writes and watches through the host\'s xenstored (ring relay)', async () => {
  const r = h.xl('create', g.cfg('xs-guest', 'test=xenstore', 'on_poweroff = "preserve"\n'));
  assert.equal(r.code, 0, r.err);
  const d = g.domid('xs-guest');
  await g.wait('xs-guest', new RegExp(`^xenstore: domid ${d} ok$`, 'm'), 60_000);
  // What the guest wrote is in the host's xenstored, owned by the guest.
  const c = await SockClient.connect(join(h.runDir, 'xenstored', 'socket'));
  try {
    assert.equal(await c.ask(2, `/local/domain/${d}/data/pvtest/a\0`), 'hello');
    assert.equal(await c.ask(3, `/local/domain/${d}/data/pvtest/a\0`), `n${d}\0`);
  } finally {
    c.close();
  }
  assert.equal(h.xl('destroy', 'xs-guest').code, 0);
});

test('block-attach, guest I/O, block-list, block-detach through the xenbus states; the guest survives', async () => {
  assert.equal(h.xl('create', g.cfg('blk-guest', 'test=blk')).code, 0);
  const d = g.domid('blk-guest');
  await g.wait('blk-guest', /blkfront: waiting for a vbd/);
  const img = image('disk.img', 'TSXEN-HOST-SECTOR-ZERO');

  let r = h.xl('block-attach', 'blk-guest', `${img},raw,xvdb,rw`);
  assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
  const t = await g.wait('blk-guest', /blkfront: io (ok|FAIL)/);
  const m = /blkfront: vbd 51728 connected: 2048 sectors of 512 bytes, info 0, flush 1, ring-ref (\d+), event-channel (\d+)/.exec(t);
  assert.ok(m, t);
  assert.match(t, /blkfront: sector 0 \(status 0\): 'TSXEN-HOST-SECTOR-ZERO'/);
  assert.match(t, /blkfront: write 0 flush 0 read 0: 8192 bytes at sector 64 read back ok/);
  assert.match(t, /blkfront: read past the end: status -1 ok/);
  assert.match(t, /blkfront: 7 bad requests refused one by one, ring still serves \(status 0\)/);
  assert.match(t, /blkfront: io ok/);

  // The host sees the guest's bytes in the image file.
  const file = readFileSync(img);
  for (let i = 0; i < 8192; i++) assert.equal(file[64 * 512 + i], (i * 7 + 3) & 0xff, `byte ${i} at sector 64`);
  assert.equal(file.toString('latin1', 128 * 512, 128 * 512 + 32), 'TSXEN-BLKFRONT-WROTE-THIS vbd 51');

  // xl block-list, byte for byte in 4.7's layout.
  const be = `/local/domain/0/backend/vbd/${d}/51728`;
  r = h.xl('block-list', 'blk-guest');
  assert.equal(r.code, 0, r.err);
  assert.equal(r.out, BLOCK_HEADER + sprintf('%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n', 51728, 0, d, 4, Number(m[2]), Number(m[1]), be));

  // Bad input: xl's messages and exit codes; the device stays.
  r = h.xl('block-attach', 'blk-guest', `${img},raw,xvdb,rw`);
  assert.equal(r.code, 1);
  assert.match(r.err, /already exists[^]*libxl_device_disk_add failed\.\n$/);
  r = h.xl('block-attach', 'blk-guest', `${join(dir, 'missing.img')},raw,xvdc,rw`);
  assert.equal(r.code, 1);
  assert.match(r.err, /missing\.img: no such file\nlibxl_device_disk_add failed\.\n$/);
  r = h.xl('block-attach', 'no-such-guest', `${img},raw,xvdc`);
  assert.deepEqual([r.code, r.err], [1, 'no-such-guest is an invalid domain identifier\n']);
  r = h.xl('block-detach', 'blk-guest', 'xvdz');
  assert.deepEqual([r.code, r.err], [1, 'Error: Device xvdz not connected.\n']);
  assert.match(h.xl('block-list', 'blk-guest').out, /^51728 /m);

  // Detach: backend Closing, frontend Closing/Closed, backend Closed, nodes removed.
  r = h.xl('block-detach', 'blk-guest', 'xvdb');
  assert.deepEqual([r.code, r.out, r.err], [0, '', '']);
  const t2 = await g.wait('blk-guest', /blkfront: detached/);
  assert.match(t2, /blkfront: backend went 5 then (6|-1); frontend Closing, Closed; ring revoked/);
  assert.match(t2, /blkfront: detached cleanly/);
  const log = g.hostLog();
  assert.match(log, new RegExp(`d${d}: vbd 51728 detached \\(clean; backend states 2 4 5 6; 3 reads, 2 writes, 1 flushes, 8 errors\\)`));
  assert.equal(h.xl('block-list', 'blk-guest').out, BLOCK_HEADER);

  // The guest lives on.
  await g.wait('blk-guest', /blkfront: still alive after detach/);
  const l = h.xl('list', 'blk-guest');
  assert.equal(l.code, 0, l.err);
  assert.match(l.out, /^blk-guest +\d+ +16 +1 +[-rb]{2}----/m);
});

test('a guest\'s xenstore relay survives a live update of the host\'s xenstored (its watch fires after it)', async () => {
  assert.equal(h.xl('create', g.cfg('blk-lu', 'test=blk')).code, 0);
  await g.wait('blk-lu', /blkfront: waiting for a vbd/); // the guest now has a watch on device/vbd
  const pidFile = join(h.runDir, 'xenstored', 'pid');
  const before = readFileSync(pidFile, 'utf8').trim();
  const c = await SockClient.connect(join(h.runDir, 'xenstored', 'socket'));
  try {
    assert.equal(await c.ask(0, `live-update\0-f\0${join(ROOT, 'bin', 'xenstored')}\0`), 'OK\0');
    assert.equal(await c.ask(0, 'live-update\0-s\0'), 'OK\0');
  } finally {
    c.close();
  }
  assert.notEqual(readFileSync(pidFile, 'utf8').trim(), before, 'a new xenstored process');
  const img = image('lu.img', 'AFTER-LIVE-UPDATE');
  assert.equal(h.xl('block-attach', 'blk-lu', `${img},raw,xvdb,rw`).code, 0);
  const t = await g.wait('blk-lu', /blkfront: io (ok|FAIL)/);
  assert.match(t, /blkfront: sector 0 \(status 0\): 'AFTER-LIVE-UPDATE'/);
  assert.equal(h.xl('block-detach', 'blk-lu', 'xvdb').code, 0);
  await g.wait('blk-lu', /blkfront: detached cleanly/);
  assert.equal(h.xl('destroy', 'blk-lu').code, 0);
});

test('random requests get answers; a frontend that corrupts its ring index halts only its own ring', async () => {
  assert.equal(h.xl('create', g.cfg('blk-hostile', 'test=blk blk_hostile=1 blk_fuzz=3000')).code, 0);
  await g.wait('blk-hostile', /blkfront: waiting for a vbd/);
  const img = image('hostile.img', 'HOSTILE');
  assert.equal(h.xl('block-attach', 'blk-hostile', `${img},raw,xvdb,rw`).code, 0);
  const t = await g.wait('blk-hostile', /blkfront: bogus req_prod: backend state 5 \(ring halted\)/);
  const f = /blkfront: fuzz 3000 requests: (\d+) ok, (\d+) error, (\d+) unsupported, 0 bad answers/.exec(t);
  assert.ok(f, t);
  assert.ok(Number(f[1]) > 0 && Number(f[2]) > 0 && Number(f[3]) > 0, f[0]);
  assert.match(g.hostLog(), /backend\/vbd\/\d+\/51728: frontend req_prod \d+ is more than a ring ahead/);
  // The host and the other guest carry on; the device detaches.
  assert.match(h.xl('list').out, /^blk-guest /m);
  const r = h.xl('block-detach', 'blk-hostile', '51728');
  assert.equal(r.code, 0, r.err);
  assert.equal(h.xl('block-list', 'blk-hostile').out, BLOCK_HEADER);
  assert.equal(h.xl('destroy', 'blk-hostile').code, 0);
  assert.equal(h.xl('destroy', 'blk-guest').code, 0);
});

test('disk= in the config: attached at create (path relative to xl\'s directory), removed with the domain', async () => {
  const img = image('cfg.img', 'FROM-THE-CONFIG');
  const r = h.xl('create', g.cfg('blk-cfg', 'test=blk', `disk = [ "${relative(ROOT, img)},raw,xvdc,rw" ]\n`));
  assert.equal(r.code, 0, r.err);
  const d = g.domid('blk-cfg');
  const t = await g.wait('blk-cfg', /blkfront: io (ok|FAIL)/);
  assert.match(t, /blkfront: vbd 51744 connected: 2048 sectors/);
  assert.match(t, /blkfront: sector 0 \(status 0\): 'FROM-THE-CONFIG'/);
  assert.match(h.xl('block-list', 'blk-cfg').out, new RegExp(`^51744 +0 +${d} +4 `, 'm'));
  assert.equal(readFileSync(img).toString('latin1', 128 * 512, 128 * 512 + 32), 'TSXEN-BLKFRONT-WROTE-THIS vbd 51');
  assert.equal(h.xl('destroy', 'blk-cfg').code, 0);
  const c = await SockClient.connect(join(h.runDir, 'xenstored', 'socket'));
  try {
    for (let i = 0; i < 100 && !(await c.ask(2, `/local/domain/0/backend/vbd/${d}/51744/state\0`)).startsWith('ERROR'); i++) await new Promise((res) => setTimeout(res, 20));
    assert.equal(await c.ask(2, `/local/domain/0/backend/vbd/${d}/51744/state\0`), 'ERROR:ENOENT\0');
  } finally {
    c.close();
  }
  // A disk the host cannot open fails the create, and leaves no domain behind.
  const bad = h.xl('create', g.cfg('blk-bad', 'test=blk', `disk = [ "${join(dir, 'missing.img')},raw,xvdb,rw" ]\n`));
  assert.equal(bad.code, 3);
  assert.match(bad.err, /libxl: error: domain creation failed: disk image .*missing\.img: no such file/);
  assert.doesNotMatch(h.xl('list').out, /blk-bad/);
});
