// SPDX-License-Identifier: GPL-2.0-only
// xl's output formats, byte for byte. Each expected line is written out from the printf
// format in Xen 4.7's tools/libxl/xl_cmdimpl.c (quoted in the comment above it), not from
// our own output.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatBitmap, formatBlockList, formatCpupoolList, formatInfo, formatList, formatNetworkList, formatSchedCredit2, formatSchedRtds, formatVcpuList, stateChars, type ListRow } from './format.ts';
import { sprintf } from './printf.ts';

const dom0: ListRow = {
  name: 'Domain-0', domid: 0, memMiB: 1024, onlineVcpus: 4, running: true, blocked: false, paused: false,
  shutdown: false, dying: false, cpuTimeNs: 123.44e9, uuid: '00000000-0000-0000-0000-000000000000',
};

test('sprintf: widths, justification, precision', () => {
  assert.equal(sprintf('[%5d|%-5d|%05d|%x|%8.1f|%-4s|%3c]', 42, 42, -42, 255, 2.25, 'ab', 'r'), '[   42|42   |-0042|ff|     2.2|ab  |  r]');
  assert.equal(sprintf('%%%s', 'x'), '%x');
});

test('xl list: header with its tabs, and a row', () => {
  // printf("Name                                        ID   Mem VCPUs\tState\tTime(s)");
  // printf("%-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f", ...)
  const expected = 'Name                                        ID   Mem VCPUs\tState\tTime(s)\n' +
    'Domain-0                                     0  1024     4     r-----     123.4\n';
  assert.equal(formatList([dom0]), expected);
});

test('xl list: the state letters, including the shutdown reason from "-rscwS"', () => {
  assert.equal(stateChars({ running: false, blocked: true, paused: true, shutdown: false, dying: false }), '-bp---');
  assert.equal(stateChars({ running: false, blocked: false, paused: false, shutdown: true, shutdownReason: 3, dying: true }), '---scd');
  assert.equal(stateChars({ running: false, blocked: false, paused: false, shutdown: true, shutdownReason: 5, dying: false }), '---sS-');
  assert.equal(stateChars({ running: false, blocked: false, paused: false, shutdown: true, shutdownReason: 9, dying: false }), '---s?-');
});

test('xl list -v and -c columns', () => {
  const crashed = { ...dom0, name: 'g', domid: 7, running: false, shutdown: true, shutdownReason: 3, uuid: '5b4bd1a4-0c62-4b55-8dc4-2b1a1e3a9f01' };
  const out = formatList([crashed], { verbose: true, cpupool: true }).split('\n');
  assert.equal(out[0], 'Name                                        ID   Mem VCPUs\tState\tTime(s)   UUID                            Reason-Code\tSecurity Label         Cpupool');
  // " " LIBXL_UUID_FMT, then " %8x" (shut down) or " %8s" "-", then " %16s" label, then "%16s" pool.
  assert.equal(out[1], 'g                                            7  1024     4     ---sc-     123.4 5b4bd1a4-0c62-4b55-8dc4-2b1a1e3a9f01        3                -          Pool-0');
});

test('print_bitmap: all, none, ranges', () => {
  assert.equal(formatBitmap([0, 1, 2, 3], 4), 'all');
  assert.equal(formatBitmap([], 4), 'none');
  assert.equal(formatBitmap([0, 1, 2, 3, 5, 8, 9], 16), '0-3,5,8-9');
  assert.equal(formatBitmap([1, 2, 3], 4), '1-3');
  assert.equal(formatBitmap([3], 4), '3');
});

test('xl vcpu-list: header and online/offline rows', () => {
  // printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name","ID","VCPU","CPU","State","Time(s)","Affinity (Hard / Soft)")
  // online:  "%-32s %5u %5u" "%5u %3c%c- " "%9.1f  " hard " / " soft
  // offline: "%-32s %5u %5u" "%5c %3c%cp " ...
  const out = formatVcpuList([
    { name: 'Domain-0', domid: 0, vcpu: 0, online: true, running: true, blocked: false, cpu: 2, cpuTimeNs: 12.3e9, hard: [0, 1, 2, 3], soft: [0, 1, 2, 3] },
    { name: 'Domain-0', domid: 0, vcpu: 1, online: false, running: false, blocked: false, cpu: 0, cpuTimeNs: 0, hard: [1], soft: [0, 1, 2, 3] },
  ], 4);
  assert.equal(out,
    'Name                                ID  VCPU   CPU State   Time(s) Affinity (Hard / Soft)\n' +
    'Domain-0                             0     0    2   r--      12.3  all / all\n' +
    'Domain-0                             0     1    -   --p       0.0  1 / all\n');
});

test('xl info: keys padded to 23', () => {
  assert.equal(formatInfo([['host', 'h1'], ['nr_cpus', 2]]), 'host                   : h1\nnr_cpus                : 2\n');
});

test('xl cpupool-list, with and without -c', () => {
  const pools = [{ name: 'Pool-0', sched: 'credit2', nrDomains: 3, cpus: [0, 1] }];
  // printf("%-19s", "Name"); printf("CPUs   Sched     Active   Domain count\n");
  // printf("%-19s", name); printf("%3d %9s       y       %4d", n, sched, n_dom);
  assert.equal(formatCpupoolList(pools), 'Name               CPUs   Sched     Active   Domain count\nPool-0               2   credit2       y          3\n');
  assert.equal(formatCpupoolList(pools, true), 'Name               CPU list\nPool-0             0,1\n');
});

test('xl sched-credit2 and sched-rtds', () => {
  assert.equal(formatSchedCredit2('Pool-0', [{ name: 'Domain-0', domid: 0, weight: 256 }]),
    'Cpupool Pool-0:\nName                                ID Weight\nDomain-0                             0    256\n');
  assert.equal(formatSchedRtds('Pool-0', [{ name: 'rt', domid: 3, periodUs: 10000, budgetUs: 4000 }], false),
    'Cpupool Pool-0: sched=RTDS\nName                                ID    Period    Budget\nrt                                   3     10000      4000\n');
  assert.equal(formatSchedRtds('Pool-0', [{ name: 'rt', domid: 3, vcpu: 1, periodUs: 10000, budgetUs: 4000 }], true),
    'Cpupool Pool-0: sched=RTDS\nName                                ID VCPU    Period    Budget\nrt                                   3    1     10000      4000\n');
});

test('xl block-list and network-list', () => {
  assert.equal(formatBlockList([{ devid: 51712, backendId: 0, frontendId: 3, state: 4, evtch: 9, ringRef: 8, bePath: '/local/domain/0/backend/vbd/3/51712' }]),
    'Vdev  BE  handle state evt-ch ring-ref BE-path                       \n' +
    '51712 0   3      4     9      8        /local/domain/0/backend/vbd/3/51712\n');
  // printf("%-3d %-2d ", ...); printf(LIBXL_MAC_FMT, ...); printf("%6d %5d %6d %5d/%-11d %-30s\n", ...)
  assert.equal(formatNetworkList([{ devid: 0, backendId: 0, mac: '00:16:3e:01:02:03', state: 4, evtch: 10, txRef: 768, rxRef: 769, bePath: '/local/domain/0/backend/vif/3/0' }]),
    'Idx BE Mac Addr.         handle state evt-ch   tx-/rx-ring-ref BE-path                       \n' +
    '0   0  00:16:3e:01:02:03     0     4     10   768/769         /local/domain/0/backend/vif/3/0\n');
});

test('sprintf %f rounds exact ties to even, like glibc', () => {
  assert.equal(sprintf('%.1f', 2.25), '2.2');
  assert.equal(sprintf('%.1f', 2.35), '2.4'); // 2.35 is slightly above 2.35 in binary
  assert.equal(sprintf('%.1f', 0.05), '0.1'); // 0.05 is slightly above
  assert.equal(sprintf('%.0f', 0.5), '0');
  assert.equal(sprintf('%.0f', 1.5), '2');
  assert.equal(sprintf('%8.1f', 99.95), '   100.0'); // 99.95 is slightly above 99.95 in binary
  assert.equal(sprintf('%.2f', -1.005), '-1.00'); // -1.005 is slightly above -1.005 in binary
  assert.equal(sprintf('%.1f', 0), '0.0');
});
