// SPDX-License-Identifier: GPL-2.0-only
// PV device paths measured from inside a PV guest under a real host (`bin/tsxen host`, `bin/xl`),
// each against its peer in the same run:
//   - xenstore READs through the ring relay (guest test=xenstore xs_bench=N) against the same
//     READs from a dom0 socket client on the same xenstored;
//   - blkfront reads/writes through blkback, 44 KiB requests (blk_bench=KiB), against the host
//     reading/writing the same image file in the same chunks with node:fs.
// `npm run bench -- pv-devices`
import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPvKernel } from '../guests/pv/build.mjs';
import { PvGuests } from '../tests/xl/pv-guest-harness.ts';
import { SockClient } from '../tests/xenstored/harness.ts';
import { startXlHost } from '../tests/xl/xl-harness.ts';

const XS_READS = Number(process.env.BENCH_XS_READS ?? 2000);
const BLK_KIB = Number(process.env.BENCH_BLK_KIB ?? 8192);

const h = startXlHost();
const dir = mkdtempSync(join(tmpdir(), 'tsxen-pvbench-'));
try {
  const g = new PvGuests(h, dir, buildPvKernel());

  // xenstore through the relay.
  h.xl('create', g.cfg('xs-bench', `test=xenstore xs_bench=${XS_READS}`));
  const t = await g.wait('xs-bench', /xenstore: bench \d+ reads in \d+ us: (\d+) reads\/s/, 300_000);
  const guestRate = Number(/xenstore: bench \d+ reads in \d+ us: (\d+) reads\/s/.exec(t)![1]);
  const d = g.domid('xs-bench');
  const c = await SockClient.connect(join(h.runDir, 'xenstored', 'socket'));
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < XS_READS; i++) await c.ask(2, `/local/domain/${d}/data/pvtest/a\0`);
  const hostRate = Math.round(XS_READS / (Number(process.hrtime.bigint() - t0) / 1e9));
  c.close();
  h.xl('destroy', 'xs-bench');
  console.log(`xenstore READ round trips: guest via ring relay ${guestRate}/s, dom0 socket client ${hostRate}/s, ratio ${(guestRate / hostRate).toFixed(2)}`);

  // blkback.
  const img = join(dir, 'bench.img');
  writeFileSync(img, Buffer.alloc(16 << 20));
  h.xl('create', g.cfg('blk-bench', `test=blk blk_bench=${BLK_KIB}`));
  await g.wait('blk-bench', /blkfront: waiting for a vbd/);
  h.xl('block-attach', 'blk-bench', `${img},raw,xvdb,rw`);
  const b = await g.wait('blk-bench', /blkfront: bench write .*requests\/s/, 600_000);
  const rd = /blkfront: bench read (\d+) KiB in (\d+) us: (\d+) KiB\/s, (\d+) requests\/s/.exec(b)!;
  const wr = /blkfront: bench write (\d+) KiB in (\d+) us: (\d+) KiB\/s, (\d+) requests\/s/.exec(b)!;
  h.xl('destroy', 'blk-bench');
  const chunk = Buffer.alloc(44 << 10);
  const fd = openSync(img, 'r+');
  const hostKibs = (write: boolean): number => {
    const s = process.hrtime.bigint();
    let off = 0;
    for (let done = 0; done < BLK_KIB * 1024; done += chunk.length) {
      if (off + chunk.length > 16 << 20) off = 0;
      if (write) writeSync(fd, chunk, 0, chunk.length, off); else readSync(fd, chunk, 0, chunk.length, off);
      off += chunk.length;
    }
    return Math.round(BLK_KIB / (Number(process.hrtime.bigint() - s) / 1e9));
  };
  const hr = hostKibs(false), hw = hostKibs(true);
  closeSync(fd);
  console.log(`blkif read, 44 KiB requests: guest ${rd[3]} KiB/s (${rd[4]} req/s), host node:fs ${hr} KiB/s, ratio ${(Number(rd[3]) / hr).toFixed(3)}`);
  console.log(`blkif write, 44 KiB requests: guest ${wr[3]} KiB/s (${wr[4]} req/s), host node:fs ${hw} KiB/s, ratio ${(Number(wr[3]) / hw).toFixed(3)}`);
} finally {
  h.stop();
  rmSync(dir, { recursive: true, force: true });
}
