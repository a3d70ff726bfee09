// SPDX-License-Identifier: GPL-2.0-only
// What every xl command sees: the host connection (typed control calls), output streams, file
// reading, the global options (-v -N -f), and the helpers xl_cmdimpl.c shares between commands:
// getopt in def_getopt()'s manner (messages and exit codes as Xen 4.7), find_domain, memory sizes.
import type { Method, Methods } from '../ctrl/protocol.ts';

export interface XlEnv {
  call<M extends Method>(method: M, params: Methods[M][0]): Promise<Methods[M][1]>;
  out(s: string): void;
  err(s: string): void;
  readFile(path: string): string;
  /** Absolute path of a file named on the command line or in a config (relative to the cwd). */
  resolvePath(path: string): string;
  sleep(ms: number): Promise<void>;
  /** Attach the terminal to a domain's console until Ctrl-] or the domain goes away. */
  console(domid: number): Promise<void>;
  verbose: number;
  dryRun: boolean;
  force: boolean;
}

/** A command's exit: thrown to end it with `code` after its message was printed. */
export class XlExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
    this.name = 'XlExit';
  }
}

export interface CmdSpec {
  name: string;
  /** One-line description, as xl's table has it. */
  help: string;
  usage: string;
  options?: string;
  run(argv: string[], env: XlEnv): Promise<number>;
}

/** xl's help(): the usage block for one command. */
export function helpText(c: CmdSpec): string {
  return `Usage: xl [-v] ${c.name} ${c.usage}\n\n${c.help}.\n\n${c.options ? `Options:\n\n${c.options}\n` : ''}`;
}

export interface OptDef { short: string; long?: string; arg?: boolean }
export interface Parsed { opts: Array<[string, string]>; args: string[] }

/**
 * getopt_long as def_getopt() drives it: permutes options and operands, `-h`/`--help` print the
 * usage (exit 0), an unknown option prints "option `x' not supported." (exit 2), fewer than
 * `reqargs` operands prints "'xl cmd' requires at least N argument(s)." and the usage (exit 2).
 */
export function getopt(argv: string[], defs: readonly OptDef[], cmd: CmdSpec, reqargs: number, env: XlEnv): Parsed {
  const opts: Array<[string, string]> = [];
  const args: string[] = [];
  const help = (): never => {
    env.out(helpText(cmd));
    throw new XlExit(0);
  };
  const bad = (c: string): never => {
    env.err(`option \`${c}' not supported.\n`);
    throw new XlExit(2);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    if (a.startsWith('--') && a.length > 2) {
      const [name, val] = a.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
      if (name === 'help') help();
      const d = defs.find((x) => x.long === name);
      if (!d) bad(name.slice(0, 1));
      if (d!.arg) {
        const v = val ?? argv[++i];
        if (v === undefined) bad(d!.short);
        opts.push([d!.short, v!]);
      } else opts.push([d!.short, '']);
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let k = 1; k < a.length; k++) {
        const c = a[k]!;
        const d = defs.find((x) => x.short === c);
        if (!d) {
          if (c === 'h') help();
          bad(c);
        }
        if (d!.arg) {
          const v = k + 1 < a.length ? a.slice(k + 1) : argv[++i];
          if (v === undefined) bad(c);
          opts.push([c, v!]);
          break;
        }
        opts.push([c, '']);
      }
      continue;
    }
    args.push(a);
  }
  if (args.length < reqargs) {
    env.err(`'xl ${cmd.name}' requires at least ${reqargs} argument${reqargs > 1 ? 's' : ''}.\n\n`);
    env.err(helpText(cmd));
    throw new XlExit(2);
  }
  return { opts, args };
}

/** find_domain(): a domid (all digits) or a name; unknown → xl's message, exit 1. */
export async function findDomain(env: XlEnv, q: string): Promise<number> {
  if (/^[0-9]+$/.test(q)) {
    const id = Number(q);
    const l = await env.call('domain.list', {}).catch(() => []);
    if (l.some((d) => d.domid === id)) return id;
  } else {
    const r = await env.call('domain.lookup', { name: q }).catch(() => null);
    if (r) return r.domid;
  }
  env.err(`${q} is an invalid domain identifier (rc=-6)\n`);
  throw new XlExit(1);
}

/**
 * parse_mem_size_kb(): a number with an optional t/g/m/k/b suffix (default unit MiB), in KiB;
 * -1 for anything else.
 */
export function parseMemSizeKb(s: string): number {
  const m = /^([0-9]+)([tTgGmMkKbB]?)$/.exec(s);
  if (!m) return -1;
  const v = BigInt(m[1]!);
  const shift: Record<string, bigint> = { t: 30n, g: 20n, m: 10n, '': 10n, k: 0n };
  const u = m[2]!.toLowerCase();
  return Number(u === 'b' ? v >> 10n : v << shift[u]!);
}
