// SPDX-License-Identifier: GPL-2.0-only
// Test support: xl's command code run in-process against a test host (`call` answers the
// control methods the commands use), with its output and exit code collected. Used where a
// test drives a real Ctrl + HostSched in this process instead of a host daemon.
import { xlMain } from '../../src/toolstack/xl/xl-cmdtable.ts';
import type { XlEnv } from '../../src/toolstack/xl/xl-env.ts';

export function inProcessXl(call: (method: string, params: unknown) => Promise<unknown>) {
  return async (...argv: string[]): Promise<{ code: number; out: string; err: string }> => {
    const out: string[] = [], err: string[] = [];
    const env = {
      out: (s: string) => void out.push(s), err: (s: string) => void err.push(s), verbose: 0, dryRun: false, force: false,
      call, readFile: () => { throw Object.assign(new Error('no file'), { code: 'ENOENT' }); }, resolvePath: (p: string) => p,
      sleep: () => Promise.resolve(), console: () => Promise.resolve(),
    } as unknown as XlEnv;
    const code = await xlMain(argv, async () => env, env.out, env.err);
    return { code, out: out.join(''), err: err.join('') };
  };
}
