// SPDX-License-Identifier: GPL-2.0-only
// Test support for xl: run bin/xl (the real bundle, a real process) against a real host daemon
// (`bin/tsxen host`) started in a fresh temp run dir, and always stop the host (SIGKILL to the
// daemon and its xenstored if `--stop` fails) and remove the run dir.
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XenstoreClient } from '../../src/host/host-xenstore.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
const XL = join(ROOT, 'bin', 'xl');
const TSXEN = join(ROOT, 'bin', 'tsxen');

export interface Run { code: number; out: string; err: string }

export function run(bin: string, args: string[], env: Record<string, string>, timeoutMs = 60_000): Run {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd: ROOT, encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export interface XlHost {
  runDir: string;
  xl(...args: string[]): Run;
  /** One read from the host's xenstored as dom0 (null if the node does not exist). */
  xsRead(path: string): Promise<string | null>;
  stop(): void;
}

/**
 * `tsxen host` in a fresh run directory; `args` are more host arguments (`--cpus 2`, `sched=...`).
 * TSXEN_TEST_HOST_ARGS adds more to every host (e.g. `--threads` to run an e2e file with the pCPUs
 * on worker threads).
 */
export function startXlHost(args: readonly string[] = []): XlHost {
  const runDir = mkdtempSync(join(tmpdir(), 'tsxen-xl-'));
  const env = { TSXEN_RUNDIR: runDir };
  const extra = (process.env.TSXEN_TEST_HOST_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
  const r = run(TSXEN, ['host', '--rundir', runDir, ...args, ...extra], env, 120_000);
  if (r.code !== 0) {
    rmSync(runDir, { recursive: true, force: true });
    throw new Error(`tsxen host failed (${r.code}): ${r.err}${r.out}`);
  }
  return {
    runDir,
    xl: (...args) => run(XL, args, env),
    async xsRead(path) {
      const xs = await XenstoreClient.connect(join(runDir, 'xenstored', 'socket'));
      try {
        return await xs.read(path);
      } finally {
        xs.close();
      }
    },
    stop() {
      const s = run(TSXEN, ['host', '--stop', '--rundir', runDir], env, 60_000);
      if (s.code !== 0) {
        for (const f of [join(runDir, 'xenstored', 'pid'), join(runDir, 'host.pid')]) {
          try {
            process.kill(Number(readFileSync(f, 'utf8')), 'SIGKILL');
          } catch { /* gone */ }
        }
      }
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

/**
 * `xl console DOM` against host `h` as a real process on pipes: collects its output, `type`
 * sends keystrokes, `wait` polls the output for `re` (false after `ms`).
 */
export function xlConsole(h: XlHost, dom: string) {
  const p = spawn(process.execPath, [XL, 'console', dom], { cwd: ROOT, env: { ...process.env, TSXEN_RUNDIR: h.runDir } });
  let out = '';
  p.stdout.on('data', (b: Buffer) => (out += b.toString('latin1')));
  p.stderr.on('data', (b: Buffer) => (out += b.toString('latin1')));
  const exited = new Promise<number>((r) => p.on('exit', (c) => r(c ?? -1)));
  return {
    get out() { return out; },
    type: (s: string | Uint8Array) => void p.stdin.write(s),
    exited,
    kill: () => p.kill(),
    async wait(re: RegExp, ms: number): Promise<boolean> {
      const end = Date.now() + ms;
      while (!re.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
      return re.test(out);
    },
  };
}
