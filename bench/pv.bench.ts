// SPDX-License-Identifier: GPL-2.0-only
// PV figures measured by the guests themselves (guest system time, guests/pv test programs):
// the event-channel round trip between two PV domains (round trips/s), the cost of one
// hypercall from inside a guest (xen_version) against an empty guest loop, and grant-copy
// throughput against a host memcpy of the same page size in the same run (the ratio printed).
import type { Domain } from '../src/hypervisor/domain/domain.ts';
import { makePvHost } from '../tests/pv/harness.ts';

function run(cmdlines: string[], re: RegExp[]): RegExpExecArray[] {
  const h = makePvHost();
  const ds: Domain[] = [];
  for (const c of cmdlines) ds.push(h.create(c));
  if (!h.runUntil(() => ds.every((d) => d.state !== 'running'), 600_000)) throw new Error('bench: guests did not finish');
  return re.map((r, i) => {
    const m = r.exec(h.text(ds[Math.min(i, ds.length - 1)]!));
    if (!m) throw new Error(`bench: no ${r} in\n${ds.map((d) => h.text(d)).join('\n')}`);
    return m;
  });
}

const rounds = 5000;
// The ping prints the port it allocated; the pong gets it on its command line.
const h = makePvHost();
const ping = h.create(`test=pingpong role=ping peer=2 rounds=${rounds} xs_timeout_ms=0`);
h.runUntil(() => /pingpong: port=\d+/.test(h.text(ping)), 60_000);
const port = /pingpong: port=(\d+)/.exec(h.text(ping))![1];
const pong = h.create(`test=pingpong role=pong peer=${ping.domid} port=${port} rounds=${rounds}`);
if (!h.runUntil(() => ping.state !== 'running' && pong.state !== 'running', 600_000)) throw new Error('ping-pong did not finish');
const pp = /pingpong: done rounds=(\d+) ns=(\d+) rtt_ns=(\d+) per_s=(\d+)/.exec(h.text(ping));
if (!pp) throw new Error(h.text(ping));
console.log(`event-channel ping-pong: ${pp[1]} round trips, ${(Number(pp[3]) / 1000).toFixed(1)} us each, ${pp[4]} round trips/s (guest-measured)`);

const calls = 200_000, copies = 20_000;
const [hc, gc] = run([`test=hcbench calls=${calls} copies=${copies}`], [
  /hcbench: hypercalls=(\d+) ns=(\d+) per_call_ns=(\d+) loop_ns=(\d+)/,
  /hcbench: grant_copies=(\d+) bytes=(\d+) ns=(\d+) mib_per_s=(\d+)/,
]);
const perCall = Number(hc![2]) / calls, perLoop = Number(hc![4]) / calls;
console.log(`hypercall (xen_version) from a PV guest: ${(perCall / 1000).toFixed(2)} us per call, empty guest loop iteration ${perLoop.toFixed(1)} ns; ratio ${(perCall / perLoop).toFixed(0)}x`);

// Host memcpy of the same 4 KiB pages, same count, same run.
const src = new Uint8Array(4096).map((_, i) => i * 7 + 3), dst = new Uint8Array(4096);
const t0 = process.hrtime.bigint();
for (let i = 0; i < copies; i++) { dst.set(src); src[i & 4095] ^= 1; }
const hostNs = Number(process.hrtime.bigint() - t0);
const guestBps = Number(gc![2]) / (Number(gc![3]) / 1e9), hostBps = (copies * 4096) / (hostNs / 1e9);
console.log(`grant copy (4 KiB, GNTTABOP_copy): ${(guestBps / 2 ** 20).toFixed(1)} MiB/s from the guest; host memcpy ${(hostBps / 2 ** 20).toFixed(0)} MiB/s; ratio host/guest ${(hostBps / guestBps).toFixed(0)}x`);
