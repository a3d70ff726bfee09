// SPDX-License-Identifier: GPL-2.0-only
// xl's scheduler and cpupool commands: sched-credit2, sched-rtds, cpupool-list, cpupool-create,
// cpupool-destroy, cpupool-cpu-add, cpupool-cpu-remove, cpupool-migrate. Option handling,
// output formats and messages follow Xen 4.7's tools/libxl/xl_cmdimpl.c (main_sched_*,
// main_cpupool*) with libxl's checks and log lines (tools/libxl/libxl.c); the options 4.7 lacks
// (sched-credit2 -c/-s/-r, sched-rtds -e) and their columns follow tools/xl/xl_sched.c and
// tools/libxl/libxl_sched.c at 4.10, where they appeared. xen-digest.md §2.4, §7.
import type { CpupoolInfo, RtdsVcpuParams } from '../ctrl/sched-protocol.ts';
import { CfgParseError, lastSettings, parseXlCfg, type CfgValue } from './cfg-parser.ts';
import { findDomain, getopt, type CmdSpec, type XlEnv } from './xl-env.ts';
import { sprintf } from './printf.ts';
import { nodeCpuMap } from './cpulist.ts';

const STRERROR: Record<string, string> = {
  EINVAL: 'Invalid argument', EBUSY: 'Device or resource busy', ENODEV: 'No such device', ENOENT: 'No such file or directory',
  EPERM: 'Operation not permitted', EEXIST: 'File exists', ESRCH: 'No such process', ENOMEM: 'Cannot allocate memory',
};
/** libxl's log line (libxl__logv): "libxl: error: FILE:LINE:FUNC: MSG[: strerror]". */
function libxlError(env: XlEnv, where: string, msg: string, e?: unknown): void {
  const code = (e as { code?: string } | undefined)?.code;
  env.err(`libxl: error: ${where}: ${msg}${e === undefined ? '' : `: ${STRERROR[code ?? ''] ?? (e instanceof Error ? e.message : String(e))}`}\n`);
}
/** C's strtol(s, NULL, 10): leading blanks, sign, digits; anything else stops (0 if none). */
export function strtol(s: string): number {
  const m = /^\s*([+-]?[0-9]+)/.exec(s);
  return m ? Number(m[1]) : 0;
}

async function pools(env: XlEnv) {
  return env.call('cpupool.list', {});
}
/** physinfo's cpu_topology (libxl_get_cpu_topology), asked only when `list` names nodes (always without one). */
async function cpuTopology(env: XlEnv, list?: string): Promise<ReadonlyArray<{ node: number }>> {
  if (list !== undefined && !list.includes('node')) return [];
  return (await env.call('host.physinfo', {})).cpuTopology;
}
/** libxl_cpupool_qualifier_to_cpupoolid: a pool name, or a number naming an existing pool id. */
function poolOf(list: CpupoolInfo[], q: string): CpupoolInfo | undefined {
  return list.find((p) => p.name === q) ?? (/^[0-9]+$/.test(q) ? list.find((p) => p.poolid === Number(q)) : undefined);
}
async function domName(env: XlEnv, domid: number): Promise<string> {
  return (await env.call('domain.list', { domid }))[0]?.name ?? '';
}

/** sched_domain_get: libxl reads the parameters of the domain's own scheduler; another one than asked is xl's complaint. */
async function paramsGetFailed(env: XlEnv, domid: number, want: string, e: unknown): Promise<false> {
  const pool = (await pools(env)).pools.find((p) => p.domids.includes(domid));
  if ((e as { code?: string }).code === 'EINVAL' && pool !== undefined && pool.sched !== want) env.err(`libxl_domain_sched_params_get returned ${pool.sched} not ${want}.\n`);
  else env.err('libxl_domain_sched_params_get failed.\n');
  return false;
}

// ─── sched-credit2 ────────────────────────────────────────────────────────────────────
async function credit2PoolLine(env: XlEnv, p: CpupoolInfo): Promise<void> {
  try {
    const r = await env.call('sched.pool-get', { pool: p.name });
    env.out(`Cpupool ${p.name}: ratelimit=${r.params['ratelimit']}us\n`);
  } catch {
    env.out(`Cpupool ${p.name}: [sched params unavailable]\n`);
  }
}
const CREDIT2_HEADER = sprintf('%-33s %4s %6s %4s\n', 'Name', 'ID', 'Weight', 'Cap');
async function credit2Row(env: XlEnv, domid: number): Promise<boolean> {
  let r: Record<string, number | boolean>;
  try {
    r = await env.call('sched.domain-get', { domid, sched: 'credit2' });
  } catch (e) {
    return paramsGetFailed(env, domid, 'credit2', e);
  }
  env.out(sprintf('%-33s %4d %6d %4d\n', await domName(env, domid), domid, r['weight'], r['cap']));
  return true;
}

/** sched_domain_output: per pool running `sched`: the pool line, the header, its domains. */
async function perPool(env: XlEnv, sched: string, cpupool: string | undefined, poolLine: (p: CpupoolInfo) => Promise<void>, header: string, row: (domid: number) => Promise<boolean>): Promise<number> {
  const l = await pools(env);
  const want = cpupool === undefined ? undefined : poolOf(l.pools, cpupool);
  if (cpupool !== undefined && want === undefined) {
    env.err(`unknown cpupool '${cpupool}'\n`);
    return 1;
  }
  for (const p of l.pools) {
    if (p.sched !== sched || (want !== undefined && want.poolid !== p.poolid)) continue;
    await poolLine(p);
    env.out(header);
    for (const d of p.domids) if (!(await row(d))) break;
  }
  return 0;
}

export const schedCredit2Cmd: CmdSpec = {
  name: 'sched-credit2', help: 'Get/set credit2 scheduler parameters',
  usage: '[-d <Domain> [-w[=WEIGHT]] [-c[=CAP]]] [-s [-r[=RLIMIT]]] [-p CPUPOOL]',
  options: '-d DOMAIN, --domain=DOMAIN     Domain to modify\n-w WEIGHT, --weight=WEIGHT     Weight (int)\n' +
    '-c CAP, --cap=CAP              Cap (int)\n-s         --schedparam        Query / modify scheduler parameters\n' +
    '-r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds\n-p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL\n',
  async run(argv, env) {
    const p = getopt(argv, [
      { short: 'd', long: 'domain', arg: true }, { short: 'w', long: 'weight', arg: true }, { short: 'c', long: 'cap', arg: true },
      { short: 's', long: 'schedparam' }, { short: 'r', long: 'ratelimit_us', arg: true }, { short: 'p', long: 'cpupool', arg: true },
    ], schedCredit2Cmd, 0, env);
    let dom: string | undefined, cpupool: string | undefined, weight: number | undefined, cap: number | undefined, ratelimit: number | undefined, optS = false;
    for (const [o, v] of p.opts) {
      if (o === 'd') dom = v;
      else if (o === 'w') weight = strtol(v);
      else if (o === 'c') cap = strtol(v);
      else if (o === 's') optS = true;
      else if (o === 'r') ratelimit = strtol(v);
      else if (o === 'p') cpupool = v;
    }
    if (cpupool !== undefined && (dom !== undefined || weight !== undefined || cap !== undefined)) {
      env.err('Specifying a cpupool is not allowed with other options.\n');
      return 1;
    }
    if (dom === undefined && (weight !== undefined || cap !== undefined)) {
      env.err('Must specify a domain.\n');
      return 1;
    }
    if (optS) {
      const l = await pools(env);
      const pool = cpupool === undefined ? l.pools.find((x) => x.poolid === 0)! : poolOf(l.pools, cpupool);
      if (pool === undefined) {
        env.err(`unknown cpupool '${cpupool}'\n`);
        return 1;
      }
      if (ratelimit === undefined) {
        await credit2PoolLine(env, pool);
        return 0;
      }
      // sched_ratelimit_check (libxl_sched.c, 4.10), then XEN_SYSCTL_SCHEDOP_putinfo.
      if (ratelimit !== 0 && (ratelimit < 100 || ratelimit > 500000)) {
        libxlError(env, 'libxl_sched.c:270:sched_ratelimit_check', 'Ratelimit out of range, valid range is from 100 to 500000');
        env.err('libxl_sched_credit2_params_set failed.\n');
        return 1;
      }
      try {
        await env.call('sched.pool-set', { pool: pool.name, params: { ratelimit } });
      } catch (e) {
        libxlError(env, 'libxl_sched.c:380:sched_credit2_params_set', 'Setting Credit2 scheduler parameters', e);
        env.err('libxl_sched_credit2_params_set failed.\n');
        return 1;
      }
      return 0;
    }
    if (dom === undefined) return perPool(env, 'credit2', cpupool, (x) => credit2PoolLine(env, x), CREDIT2_HEADER, (d) => credit2Row(env, d));
    const domid = await findDomain(env, dom);
    if (weight === undefined && cap === undefined) {
      env.out(CREDIT2_HEADER);
      return (await credit2Row(env, domid)) ? 0 : 1;
    }
    // sched_credit2_domain_set (libxl.c 4.7; cap from libxl_sched.c 4.10): get first, then range checks.
    const fail = () => (env.err('libxl_domain_sched_params_set failed.\n'), 1);
    try {
      await env.call('sched.domain-get', { domid, sched: 'credit2' });
    } catch (e) {
      libxlError(env, 'libxl.c:5991:sched_credit2_domain_set', 'getting domain sched credit2', e);
      return fail();
    }
    if (weight !== undefined && (weight < 1 || weight > 65535)) {
      libxlError(env, 'libxl.c:5997:sched_credit2_domain_set', 'Cpu weight out of range, valid values are within range from 1 to 65535');
      return fail();
    }
    if (cap !== undefined) {
      const max = 100 * ((await env.call('domain.list', { domid }))[0]?.vcpus ?? 1);
      if (cap < 0 || cap > max) {
        libxlError(env, 'libxl_sched.c:446:sched_credit2_domain_set', `Domain ${domid}:Cpu cap out of range, valid range is from 0 to ${max} for specified number of vcpus`);
        return fail();
      }
    }
    const params: Record<string, number> = {};
    if (weight !== undefined) params['weight'] = weight;
    if (cap !== undefined) params['cap'] = cap;
    try {
      await env.call('sched.domain-set', { domid, sched: 'credit2', params });
    } catch (e) {
      libxlError(env, 'libxl.c:6006:sched_credit2_domain_set', 'setting domain sched credit2', e);
      return fail();
    }
    return 0;
  },
};

// ─── sched-rtds ───────────────────────────────────────────────────────────────────────
const RTDS_DOM_HEADER = sprintf('%-33s %4s %9s %9s %10s\n', 'Name', 'ID', 'Period', 'Budget', 'Extratime');
const RTDS_VCPU_HEADER = sprintf('%-33s %4s %4s %9s %9s %10s\n', 'Name', 'ID', 'VCPU', 'Period', 'Budget', 'Extratime');
const yesNo = (b: unknown) => (b ? 'yes' : 'no');

async function rtdsDomRow(env: XlEnv, domid: number): Promise<boolean> {
  let r: Record<string, number | boolean>;
  try {
    r = await env.call('sched.domain-get', { domid, sched: 'rtds' });
  } catch (e) {
    return paramsGetFailed(env, domid, 'rtds', e);
  }
  env.out(sprintf('%-33s %4d %9d %9d %10s\n', await domName(env, domid), domid, r['period'], r['budget'], yesNo(r['extratime'])));
  return true;
}
/** sched_rtds_vcpu_output[_all]: vcpus undefined = all; an out-of-range id is libxl's error. */
async function rtdsVcpuRows(env: XlEnv, domid: number, vcpus?: number[]): Promise<boolean> {
  const n = (await env.call('domain.list', { domid }))[0]?.vcpus ?? 0;
  const bad = vcpus?.find((v) => v < 0 || v >= n);
  if (bad !== undefined) {
    libxlError(env, 'libxl.c:6065:sched_rtds_vcpu_get', `VCPU index is out of range, valid values are within range from 0 to ${n - 1}`);
    env.err('libxl_vcpu_sched_params_get failed.\n');
    return false;
  }
  let rows: RtdsVcpuParams[];
  try {
    rows = await env.call('sched.vcpu-get', { domid, sched: 'rtds', ...(vcpus !== undefined ? { vcpus } : {}) });
  } catch {
    env.err(`libxl_vcpu_sched_params_get${vcpus === undefined ? '_all' : ''} failed.\n`);
    return false;
  }
  const name = await domName(env, domid);
  for (const r of rows) env.out(sprintf('%-33s %4d %4d %9d %9d %10s\n', name, domid, r.vcpu, r.period, r.budget, yesNo(r.extratime)));
  return true;
}

export const schedRtdsCmd: CmdSpec = {
  name: 'sched-rtds', help: 'Get/set rtds scheduler parameters',
  usage: '[-d <Domain> [-v[=VCPUID/all]] [-p[=PERIOD]] [-b[=BUDGET]] [-e[=EXTRATIME]]]',
  options: '-d DOMAIN, --domain=DOMAIN     Domain to modify\n-v VCPUID/all, --vcpuid=VCPUID/all    VCPU to modify or output;\n' +
    "               Using '-v all' to modify/output all vcpus\n-p PERIOD, --period=PERIOD     Period (us)\n-b BUDGET, --budget=BUDGET     Budget (us)\n" +
    '-e EXTRATIME, --extratime=EXTRATIME EXTRATIME (1=yes, 0=no)\n-c CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL\n',
  async run(argv, env) {
    const p = getopt(argv, [
      { short: 'd', long: 'domain', arg: true }, { short: 'p', long: 'period', arg: true }, { short: 'b', long: 'budget', arg: true },
      { short: 'e', long: 'extratime', arg: true }, { short: 'v', long: 'vcpuid', arg: true }, { short: 'c', long: 'cpupool', arg: true },
    ], schedRtdsCmd, 0, env);
    let dom: string | undefined, cpupool: string | undefined, all = false;
    const vcpus: number[] = [], periods: number[] = [], budgets: number[] = [], extras: boolean[] = [];
    for (const [o, v] of p.opts) {
      if (o === 'd') dom = v;
      else if (o === 'p') periods.push(strtol(v));
      else if (o === 'b') budgets.push(strtol(v));
      else if (o === 'e') {
        if (v !== '0' && v !== '1') {
          env.err('Invalid extratime.\n');
          return 1;
        }
        extras.push(v === '1');
      } else if (o === 'v') {
        if (v === 'all') all = true;
        else vcpus.push(strtol(v));
      } else if (o === 'c') cpupool = v;
    }
    const optP = periods.length > 0, optB = budgets.length > 0, optE = extras.length > 0, optV = vcpus.length > 0;
    if (cpupool !== undefined && (dom !== undefined || optP || optB || optE || optV || all)) {
      env.err('Specifying a cpupool is not allowed with other options.\n');
      return 1;
    }
    if (dom === undefined && (optP || optB || optE || optV)) {
      env.err('Missing parameters.\n');
      return 1;
    }
    if (dom !== undefined && !optV && !all && (optP || optB || optE)) {
      env.err('Must specify VCPU.\n');
      return 1;
    }
    if (optV && all) {
      env.err('Incorrect VCPU IDs.\n');
      return 1;
    }
    const nv = vcpus.length;
    if (optE ? (nv > budgets.length && optB) || (nv > periods.length && optP) || (nv > extras.length && optE) || periods.length !== budgets.length || periods.length !== extras.length
      : (nv > budgets.length && optB) || (nv > periods.length && optP) || periods.length !== budgets.length) {
      env.err(optE ? 'Incorrect number of period, budget and extratime\n' : 'Incorrect number of period and budget\n');
      return 1;
    }
    if (dom === undefined) {
      const poolLine = async (x: CpupoolInfo) => env.out(`Cpupool ${x.name}: sched=RTDS\n`);
      return all ? perPool(env, 'rtds', cpupool, poolLine, RTDS_VCPU_HEADER, (d) => rtdsVcpuRows(env, d))
        : perPool(env, 'rtds', cpupool, poolLine, RTDS_DOM_HEADER, (d) => rtdsDomRow(env, d));
    }
    const domid = await findDomain(env, dom);
    if (!optV && !all) {
      env.out(RTDS_DOM_HEADER);
      return (await rtdsDomRow(env, domid)) ? 0 : 1;
    }
    if (!optP && !optB) {
      env.out(RTDS_VCPU_HEADER);
      return (await rtdsVcpuRows(env, domid, optV ? vcpus : undefined)) ? 0 : 1;
    }
    // Set: sched_rtds_vcpu_set[_all] (libxl.c 4.7): every vCPU id and (period, budget) is checked before any change.
    const n = (await env.call('domain.list', { domid }))[0]?.vcpus ?? 0;
    const fail = () => (env.err(`libxl_vcpu_sched_params_set${all ? '_all' : ''} failed.\n`), 1);
    const items: RtdsVcpuParams[] = (all ? [...Array(n).keys()] : vcpus).map((vcpu, i) => {
      const k = all ? 0 : i;
      return { vcpu, period: periods[k]!, budget: budgets[k]!, extratime: extras[k] ?? true };
    });
    for (const it of items) {
      if (it.vcpu < 0 || it.vcpu >= n) {
        libxlError(env, 'libxl.c:6164:sched_rtds_vcpu_set', `Invalid VCPU ${it.vcpu}: valid range is [0, ${n - 1}]`);
        return fail();
      }
      if (!rtdsParamsOk(env, it.period, it.budget)) return fail();
    }
    if (!optE) {
      // Without -e the vCPUs keep their extratime (4.7 had none to set).
      const cur = await env.call('sched.vcpu-get', { domid, sched: 'rtds' }).catch(() => []);
      for (const it of items) it.extratime = cur.find((c) => c.vcpu === it.vcpu)?.extratime ?? true;
    }
    try {
      await env.call('sched.vcpu-set', { domid, sched: 'rtds', vcpus: items });
    } catch (e) {
      libxlError(env, all ? 'libxl.c:6234:sched_rtds_vcpu_set_all' : 'libxl.c:6186:sched_rtds_vcpu_set', 'setting vcpu sched rtds', e);
      return fail();
    }
    return 0;
  },
};

/** sched_rtds_validate_params (libxl.c 4.7) plus the hypervisor's 10 us floor (sched_rt.c 4.8+, RTDS_MIN_PERIOD/BUDGET). */
function rtdsParamsOk(env: XlEnv, period: number, budget: number): boolean {
  const at = 'libxl.c:6018:sched_rtds_validate_params';
  if (period < 1) libxlError(env, at, `Invalid VCPU period of ${period} (it should be >= 1)`);
  else if (budget < 1) libxlError(env, 'libxl.c:6024:sched_rtds_validate_params', `Invalid VCPU budget of ${budget} (it should be >= 1)`);
  else if (budget > period) libxlError(env, 'libxl.c:6030:sched_rtds_validate_params', `VCPU budget must be smaller than or equal to period, but ${budget} > ${period}`);
  else return true;
  return false;
}

// ─── cpupools ─────────────────────────────────────────────────────────────────────────
export const cpupoolListCmd: CmdSpec = {
  name: 'cpupool-list', help: 'List CPU pools on host', usage: '[-c|--cpus] [<CPU Pool>]',
  options: '-c, --cpus                     Output list of CPUs used by a pool\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'c', long: 'cpus' }], cpupoolListCmd, 0, env);
    const cpus = p.opts.some(([o]) => o === 'c');
    const l = await pools(env);
    const only = p.args[0];
    if (only !== undefined && !l.pools.some((x) => x.name === only)) {
      env.err(`Pool '${only}' does not exist\n`);
      return 1;
    }
    env.out(sprintf('%-19s', 'Name') + (cpus ? 'CPU list\n' : 'CPUs   Sched     Active   Domain count\n'));
    for (const x of l.pools) {
      if (only !== undefined && x.name !== only) continue;
      env.out(sprintf('%-19s', x.name) + (cpus ? x.cpus.join(',') : sprintf('%3d %9s       y       %4d', x.cpus.length, x.sched, x.domids.length)) + '\n');
    }
    return 0;
  },
};

/** cpurange_parse (xl_cmdimpl.c 4.7): "all", N, N-M, node:N, ^exclusions, comma-separated; CPUs past the host are ignored as libxl's bitmap does. */
export function cpurangeParse(env: XlEnv, s: string, nrCpus: number, topology: ReadonlyArray<{ node: number }> = []): number[] | null {
  const nodeCpus = nodeCpuMap(topology.length > 0 ? topology : Array.from({ length: nrCpus }, () => ({ node: 0 })));
  const set = new Set<number>();
  for (let item of s.split(',').filter((x) => x !== '')) {
    const not = item.startsWith('^');
    if (not) item = item.slice(1);
    const nodes = /^nodes?:/.test(item);
    if (nodes) item = item.replace(/^nodes?:/, '');
    if (item === 'all') {
      if (not) {
        env.err('Can\'t combine "^" and "all".\n');
        return null;
      }
      for (let c = 0; c < nrCpus; c++) set.add(c);
      continue;
    }
    const m = /^([0-9]+)(?:-([0-9]+))?$/.exec(item);
    if (!m || (m[2] !== undefined && Number(m[2]) < Number(m[1]))) {
      env.err(`Invalid pcpu range: ${item}.\n`);
      return null;
    }
    const [a, b] = [Number(m[1]), m[2] === undefined ? Number(m[1]) : Number(m[2])];
    for (let i = a; i <= b; i++) {
      const cs = nodes ? nodeCpus(i) ?? [] : [i]; // libxl_node_to_cpumap: a node without CPUs adds none
      for (const c of cs) if (c < nrCpus) { if (not) set.delete(c); else set.add(c); }
    }
  }
  return [...set].sort((x, y) => x - y);
}

const cfgString = (v: CfgValue | undefined): string | undefined => (v?.kind === 'string' ? v.value : v?.kind === 'number' ? v.text : undefined);

export const cpupoolCreateCmd: CmdSpec = {
  name: 'cpupool-create', help: 'Create a new CPU pool', usage: '[options] [<ConfigFile>] [Variable=value ...]',
  options: '-h, --help                   Print this help.\n-f FILE, --defconfig=FILE    Use the given configuration file.\n' +
    '-n, --dryrun                 Dry run - prints the resulting configuration.\n                              (deprecated in favour of global -N option).\n' +
    '\nSee the xlcpupool.cfg(5) manpage for more information.\n',
  async run(argv, env) {
    const p = getopt(argv, [{ short: 'f', long: 'defconfig', arg: true }, { short: 'n', long: 'dryrun' }], cpupoolCreateCmd, 0, env);
    let filename = p.opts.filter(([o]) => o === 'f').map(([, v]) => v).pop();
    const dry = env.dryRun || p.opts.some(([o]) => o === 'n');
    let extra = '';
    for (const a of p.args) {
      if (a.includes('=')) extra += `\n${a}`;
      else if (filename === undefined) filename = a;
      else {
        env.out(`Usage: xl [-v] ${cpupoolCreateCmd.name} ${cpupoolCreateCmd.usage}\n\n${cpupoolCreateCmd.help}.\n\n`);
        return 1;
      }
    }
    let text = '';
    if (filename !== undefined) {
      try {
        text = env.readFile(env.resolvePath(filename));
      } catch (e) {
        env.err(`Failed to read config file: ${filename}: ${(e as { code?: string }).code === 'ENOENT' ? 'No such file or directory' : e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      }
    }
    const src = filename ?? 'command line';
    let cfg: ReturnType<typeof lastSettings>;
    try {
      cfg = lastSettings(parseXlCfg(text + (extra !== '' ? `${extra}\n` : ''), src));
    } catch (e) {
      if (!(e instanceof CfgParseError)) throw e;
      env.err(`${e.message}\nFailed to parse config file: Invalid argument\n`);
      return 1;
    }
    const l = await pools(env);
    const name = cfgString(cfg.get('name')?.value) ?? (filename !== undefined ? filename.split('/').pop()! : undefined);
    if (name === undefined) {
      env.err('Missing cpupool name!\n');
      return 1;
    }
    if (l.pools.some((x) => x.name === name)) {
      env.err(`Pool name "${name}" already exists\n`);
      return 1;
    }
    const schedV = cfg.get('sched')?.value;
    const sched = schedV === undefined ? l.defaultSched : cfgString(schedV) ?? '';
    if (!['credit', 'credit2', 'rtds', 'arinc653', 'null'].includes(sched)) {
      env.err('Unknown scheduler\n');
      return 1;
    }
    const free = new Set(l.free);
    let cpus: number[] = [];
    const nodesV = cfg.get('nodes')?.value, cpusV = cfg.get('cpus')?.value;
    if (nodesV !== undefined && nodesV.kind === 'list') {
      // The free CPUs of each node listed, by physinfo's cpu_topology.
      const topo = await cpuTopology(env);
      for (const it of nodesV.items) {
        const n = strtol(cfgString(it) ?? '');
        for (let c = 0; c < topo.length; c++) if (topo[c]!.node === n && free.has(c)) cpus.push(c);
      }
      cpus = [...new Set(cpus)].sort((a, b) => a - b);
      if (cpus.length === 0) {
        env.err('no free cpu found\n');
        return 1;
      }
    } else if (cpusV !== undefined && cpusV.kind === 'list') {
      for (const it of cpusV.items) {
        const c = strtol(cfgString(it) ?? '');
        if (c < 0 || !free.has(c)) {
          env.err(`cpu ${c} illegal or not free\n`);
          return 1;
        }
        cpus.push(c);
      }
    } else if (cpusV !== undefined) {
      const r = cpurangeParse(env, cfgString(cpusV) ?? '', l.nrCpus, await cpuTopology(env, cfgString(cpusV)));
      if (r === null) return 1;
      for (const c of r) {
        if (!free.has(c)) {
          env.err(`cpu ${c} illegal or not free\n`);
          return 1;
        }
      }
      cpus = r;
    }
    env.out(`Using config file "${src}"\ncpupool name:   ${name}\nscheduler:      ${sched}\nnumber of cpus: ${cpus.length}\n`);
    if (dry) return 0;
    try {
      await env.call('cpupool.create', { name, sched, cpus });
    } catch (e) {
      libxlError(env, 'libxl.c:6830:libxl_cpupool_create', 'Could not create cpupool', e);
      env.err('error on creating cpupool\n');
      return 1;
    }
    return 0;
  },
};

export const cpupoolDestroyCmd: CmdSpec = {
  name: 'cpupool-destroy', help: 'Deactivates a CPU pool', usage: '<CPU Pool>',
  async run(argv, env) {
    const p = getopt(argv, [], cpupoolDestroyCmd, 1, env);
    const q = p.args[0]!;
    const pool = poolOf((await pools(env)).pools, q);
    if (pool === undefined) {
      env.err(`unknown cpupool '${q}'\n`);
      return 1;
    }
    // libxl_cpupool_destroy: a pool with domains is refused by libxl itself (ERROR_INVAL, no log line).
    if (pool.domids.length === 0 && !env.dryRun) {
      try {
        for (const c of pool.cpus) await env.call('cpupool.cpu-remove', { pool: pool.name, cpu: c });
        await env.call('cpupool.destroy', { pool: pool.name });
        return 0;
      } catch (e) {
        libxlError(env, 'libxl.c:6899:libxl_cpupool_destroy', 'Could not destroy cpupool', e);
      }
    } else if (env.dryRun) return 0;
    env.err(`Can't destroy cpupool '${q}'\n`);
    return 1;
  },
};

function cpuCmd(name: 'cpupool-cpu-add' | 'cpupool-cpu-remove', help: string): CmdSpec {
  const c: CmdSpec = {
    name, help, usage: '<CPU Pool> <CPU nr>|node:<node nr>',
    async run(argv, env) {
      const p = getopt(argv, [], c, 2, env);
      const [q, range] = [p.args[0]!, p.args[1]!];
      const l = await pools(env);
      const cpus = cpurangeParse(env, range, l.nrCpus, await cpuTopology(env, range));
      if (cpus === null) return 1;
      const pool = poolOf(l.pools, q);
      if (pool === undefined) {
        env.err(`unknown cpupool '${q}'\n`);
        return 1;
      }
      if (env.dryRun) return 0;
      let ok = true;
      for (const cpu of cpus) {
        try {
          await env.call(name === 'cpupool-cpu-add' ? 'cpupool.cpu-add' : 'cpupool.cpu-remove', { pool: pool.name, cpu });
        } catch (e) {
          ok = false;
          if (name === 'cpupool-cpu-add') libxlError(env, 'libxl.c:6974:libxl_cpupool_cpuadd', `Error moving cpu ${cpu} to cpupool`, e);
          else libxlError(env, 'libxl.c:7037:libxl_cpupool_cpuremove', `Error removing cpu ${cpu} from cpupool`, e);
        }
      }
      if (!ok && name === 'cpupool-cpu-add') env.err(`some cpus may not have been added to ${q}\n`);
      if (!ok && name === 'cpupool-cpu-remove') {
        env.err(`Some cpus may have not or only partially been removed from '${q}'.\n`);
        env.err(`If a cpu can't be added to another cpupool, add it to '${q}' again and retry.\n`);
      }
      return 0; // as 4.7: partial failure is reported, the exit status stays 0
    },
  };
  return c;
}
export const cpupoolCpuAddCmd = cpuCmd('cpupool-cpu-add', 'Adds a CPU to a CPU pool');
export const cpupoolCpuRemoveCmd = cpuCmd('cpupool-cpu-remove', 'Removes a CPU from a CPU pool');

export const cpupoolMigrateCmd: CmdSpec = {
  name: 'cpupool-migrate', help: 'Moves a domain into a CPU pool', usage: '<Domain> <CPU Pool>',
  async run(argv, env) {
    const p = getopt(argv, [], cpupoolMigrateCmd, 2, env);
    const [dom, q] = [p.args[0]!, p.args[1]!];
    const list = await env.call('domain.list', {});
    const d = /^[0-9]+$/.test(dom) ? list.find((x) => x.domid === Number(dom)) : list.find((x) => x.name === dom);
    if (d === undefined) {
      env.err(`unknown domain '${dom}'\n`);
      return 1;
    }
    const pool = poolOf((await pools(env)).pools, q);
    if (pool === undefined) {
      env.err(`unknown cpupool '${q}'\n`);
      return 1;
    }
    if (env.dryRun) return 0;
    try {
      await env.call('cpupool.migrate', { domid: d.domid, pool: pool.name });
    } catch (e) {
      libxlError(env, 'libxl.c:7109:libxl_cpupool_movedomain', 'Error moving domain to cpupool', e);
      return 1;
    }
    return 0;
  },
};

export const SCHED_CMDS: readonly CmdSpec[] = [
  schedCredit2Cmd, schedRtdsCmd, cpupoolCreateCmd, cpupoolListCmd, cpupoolDestroyCmd, cpupoolCpuAddCmd, cpupoolCpuRemoveCmd, cpupoolMigrateCmd,
];
