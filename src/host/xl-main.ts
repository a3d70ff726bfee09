// SPDX-License-Identifier: GPL-2.0-only
// `xl`: the toolstack command line (src/toolstack/xl/xl-cmdtable.ts) over the running host's
// control socket (<rundir>/ctrl.sock; run dir as `tsxen host`: $TSXEN_RUNDIR, /run/tsxen for root,
// $XDG_RUNTIME_DIR/tsxen, /tmp/tsxen-<uid>). No host → one line, exit 1. Bundled to dist/xl.cjs.
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CtrlClient, CtrlClientError, NoHostError } from './ctrl-client.ts';
import { runConsole } from './ctrl-console.ts';
import { defaultRunDir } from './run-dir.ts';
import { xlMain } from '../toolstack/xl/xl-cmdtable.ts';
import type { XlEnv } from '../toolstack/xl/xl-env.ts';


async function main(): Promise<number> {
  const out = (s: string): void => void process.stdout.write(s);
  const err = (s: string): void => void process.stderr.write(s);
  let client: CtrlClient | null = null;
  try {
    return await xlMain(process.argv.slice(2), async (g): Promise<XlEnv> => {
      const sock = join(defaultRunDir(), 'ctrl.sock');
      client = await CtrlClient.connect(sock);
      const c = client;
      return {
        ...g, out, err,
        call: (m, p) => c.call(m, p),
        readFile: (p) => readFileSync(p, 'utf8'),
        resolvePath: (p) => resolve(p),
        sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
        console: async (domid) => {
          await runConsole(sock, domid, { stdin: process.stdin, stdout: process.stdout });
          // Detached (Ctrl-]) or closed: xl is done with the terminal; an open stdin pipe must not
          // keep the process alive (xl console returns at once, as Xen's does).
          (process.stdin as { unref?: () => void }).unref?.();
        },
      };
    }, out, err);
  } catch (e) {
    if (e instanceof NoHostError) {
      err(`xl: ${e.message}\n`);
      return 1;
    }
    if (e instanceof CtrlClientError) {
      err(`libxl: error: ${e.message} (${e.code})\n`);
      return 1;
    }
    throw e;
  } finally {
    (client as CtrlClient | null)?.close();
  }
}

main().then((code) => {
  process.exitCode = code;
}, (e: unknown) => {
  process.stderr.write(`xl: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
