// SPDX-License-Identifier: GPL-2.0-only
// xl's argument handling without a host: global options, def_getopt's permutation/usage/exit
// codes, parse_mem_size_kb's suffixes, the help listing, and the list row mapping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseGlobal, xlHelp, xlMain, CMD_TABLE } from '../../src/toolstack/xl/xl-cmdtable.ts';
import { getopt, parseMemSizeKb, XlExit, type CmdSpec, type XlEnv } from '../../src/toolstack/xl/xl-env.ts';
import { toListRow } from '../../src/toolstack/xl/xl-domain.ts';

function capture(): { env: XlEnv; out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const env = {
    out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), verbose: 0, dryRun: false, force: false,
    call: () => Promise.reject(new Error('no host in this test')), readFile: () => '', resolvePath: (p: string) => p,
    sleep: () => Promise.resolve(), console: () => Promise.resolve(),
  } as XlEnv;
  return { env, out, err };
}
const CMD: CmdSpec = { name: 'demo', help: 'Demo', usage: '<a> <b>', run: async () => 0 };

test('global options: -v repeats, -N, -f, -vN bundled; unknown option', () => {
  assert.deepEqual(parseGlobal(['-vv', '-N', 'list', '-v']), { verbose: 2, dryRun: true, force: false, rest: ['list', '-v'] });
  assert.deepEqual(parseGlobal(['-fvN', 'destroy', '0']), { verbose: 1, dryRun: true, force: true, rest: ['destroy', '0'] });
  assert.equal(parseGlobal(['-x', 'list']), 'x');
});

test('getopt permutes, takes option arguments, rejects unknown options with exit 2', () => {
  const { env, err } = capture();
  const p = getopt(['x', '-p', '-fFILE', 'y', '--defconfig', 'G', '--', '-z'], [{ short: 'p' }, { short: 'f', long: 'defconfig', arg: true }], CMD, 2, env);
  assert.deepEqual(p, { opts: [['p', ''], ['f', 'FILE'], ['f', 'G']], args: ['x', 'y', '-z'] });
  assert.throws(() => getopt(['-q', 'a', 'b'], [], CMD, 2, env), (e: unknown) => e instanceof XlExit && e.code === 2);
  assert.equal(err.join(''), "option `q' not supported.\n");
});

test('getopt: too few operands print the requirement and the usage (exit 2); -h prints usage (exit 0)', () => {
  const a = capture();
  assert.throws(() => getopt(['a'], [], CMD, 2, a.env), (e: unknown) => e instanceof XlExit && e.code === 2);
  assert.equal(a.err.join(''), "'xl demo' requires at least 2 arguments.\n\nUsage: xl [-v] demo <a> <b>\n\nDemo.\n\n");
  const b = capture();
  assert.throws(() => getopt(['-h'], [], CMD, 2, b.env), (e: unknown) => e instanceof XlExit && e.code === 0);
  assert.equal(b.out.join(''), 'Usage: xl [-v] demo <a> <b>\n\nDemo.\n\n');
});

test('parse_mem_size_kb: integer with t/g/m/k/b, default MiB, anything else -1', () => {
  assert.equal(parseMemSizeKb('512'), 512 * 1024);
  assert.equal(parseMemSizeKb('512m'), 512 * 1024);
  assert.equal(parseMemSizeKb('2G'), 2 * 1024 * 1024);
  assert.equal(parseMemSizeKb('1t'), 1024 ** 3);
  assert.equal(parseMemSizeKb('64k'), 64);
  assert.equal(parseMemSizeKb('4096b'), 4);
  for (const bad of ['', 'm', '1.5g', '12q', '12mb', '-5']) assert.equal(parseMemSizeKb(bad), -1, bad);
});

test('xl with no command prints the table (exit 1); help CMD; unknown command; help needs no host', async () => {
  const run = async (argv: string[]) => {
    const c = capture();
    const code = await xlMain(argv, async () => c.env, c.env.out, c.env.err);
    return { code, out: c.out.join(''), err: c.err.join('') };
  };
  assert.deepEqual(await run([]), { code: 1, out: xlHelp(), err: '' });
  for (const c of CMD_TABLE) assert.ok(xlHelp().includes(` ${c.name.padEnd(17)}${c.help}\n`), c.name);
  const h = await run(['help', 'vcpu-pin']);
  assert.equal(h.code, 0);
  assert.ok(h.out.startsWith('Usage: xl [-v] vcpu-pin [option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>\n'));
  assert.deepEqual(await run(['nosuch']), { code: 1, out: '', err: 'command not implemented\n' });
  const bad = await run(['-q', 'list']);
  assert.deepEqual([bad.code, bad.out, bad.err], [1, '', "xl: invalid option -- 'q'\nunknown global option\n"]);
});

test('list row from the host record: crashed domains show s and c', () => {
  const r = toListRow({ domid: 4, name: 'g', uuid: 'u', type: 'pv', memKiB: 16400, maxMemKiB: 16400, vcpus: 1, vcpusOnline: 0,
    running: false, blocked: false, paused: false, shutdown: false, crashed: true, dying: false, shutdownReason: 3,
    shutdownReasonName: 'crash', cpuTimeSec: 0.25, state: '-----c', uptimeSec: 1 });
  assert.deepEqual([r.memMiB, r.shutdown, r.shutdownReason, r.cpuTimeNs], [16, true, 3, 250_000_000]);
});
