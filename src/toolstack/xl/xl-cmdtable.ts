// SPDX-License-Identifier: GPL-2.0-only
// xl's command table (Xen 4.7 tools/libxl/xl_cmdtable.c) and its main(): global options
// -v (repeatable), -N (dry run), -f (force), `xl help`, and dispatch to the command families
// (xl-domain.ts, xl-host.ts). Exit codes: the command's; 2 for usage errors as def_getopt.
import { consoleCmd, createCmd, destroyCmd, domidCmd, domnameCmd, listCmd, pauseCmd, rebootCmd, shutdownCmd, unpauseCmd } from './xl-domain.ts';
import { blockAttachCmd, blockDetachCmd, blockListCmd, networkAttachCmd, networkDetachCmd, networkListCmd } from './xl-devices.ts';
import { XlExit, helpText, type CmdSpec, type XlEnv } from './xl-env.ts';
import { SCHED_CMDS } from './xl-sched.ts';
import { dmesgCmd, infoCmd, memMaxCmd, memSetCmd, notYet, renameCmd, sysrqCmd, topCmd, triggerCmd, uptimeCmd, vcpuListCmd, vcpuPinCmd, vcpuSetCmd } from './xl-host.ts';

export const CMD_TABLE: readonly CmdSpec[] = [
  createCmd, listCmd, destroyCmd, shutdownCmd, rebootCmd, pauseCmd, unpauseCmd,
  renameCmd,
  domidCmd, domnameCmd, consoleCmd, infoCmd, dmesgCmd, uptimeCmd,
  vcpuListCmd, vcpuPinCmd, vcpuSetCmd, memSetCmd, memMaxCmd,
  blockAttachCmd, blockDetachCmd, blockListCmd,
  networkAttachCmd, networkDetachCmd, networkListCmd,
  ...SCHED_CMDS,
  sysrqCmd, triggerCmd,
  topCmd,
];

export function xlHelp(): string {
  let s = 'Usage xl [-vfN] <subcommand> [args]\n\nxl full list of subcommands:\n\n';
  for (const c of CMD_TABLE) s += ` ${c.name.padEnd(17)}${c.help}\n`;
  return s;
}

/** Split global options from the command; returns null (after printing) on a usage error. */
export function parseGlobal(argv: readonly string[]): { verbose: number; dryRun: boolean; force: boolean; rest: string[] } | string {
  let verbose = 0;
  let dryRun = false;
  let force = false;
  let i = 0;
  for (; i < argv.length && argv[i]!.startsWith('-') && argv[i] !== '-'; i++) {
    for (const c of argv[i]!.slice(1)) {
      if (c === 'v') verbose++;
      else if (c === 'N') dryRun = true;
      else if (c === 'f') force = true;
      else if (c === 't') { /* CR progress output: nothing to show here */ }
      else return c;
    }
  }
  return { verbose, dryRun, force, rest: argv.slice(i) };
}

export type EnvFactory = (g: { verbose: number; dryRun: boolean; force: boolean }) => Promise<XlEnv>;

export async function xlMain(argv: readonly string[], makeEnv: EnvFactory, out: (s: string) => void, err: (s: string) => void): Promise<number> {
  const g = parseGlobal(argv);
  if (typeof g === 'string') {
    // getopt's own complaint, then xl.c's (exit 1, no usage).
    err(`xl: invalid option -- '${g}'\nunknown global option\n`);
    return 1;
  }
  const [name, ...args] = g.rest;
  if (name === undefined || name === 'help') {
    const c = CMD_TABLE.find((x) => x.name === args[0]);
    out(c ? helpText(c) : xlHelp());
    return name === undefined ? 1 : 0;
  }
  const cmd = CMD_TABLE.find((x) => x.name === name);
  if (!cmd) {
    err('command not implemented\n');
    return 1;
  }
  if (args.includes('-h') || args.includes('--help')) {
    out(helpText(cmd));
    return 0;
  }
  const env = await makeEnv(g);
  try {
    return await cmd.run(args, env);
  } catch (e) {
    if (e instanceof XlExit) return e.code;
    throw e;
  }
}
