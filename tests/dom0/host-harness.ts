// SPDX-License-Identifier: GPL-2.0-only
// Test support for dom0: start a real host daemon (`bin/tsxen host`, a real background process)
// in a fresh temp run dir, talk to it over its control socket, and always stop it (and kill it
// if --stop fails) so no process outlives the test.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CtrlClient } from '../../src/host/ctrl-client.ts';

export const ROOT = join(import.meta.dirname, '..', '..');
export const TSXEN = join(ROOT, 'bin', 'tsxen');

export function tsxen(args: string[], env: Record<string, string> = {}, timeoutMs = 120_000): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [TSXEN, ...args], { encoding: 'utf8', timeout: timeoutMs, env: { ...process.env, ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

export interface TestHost {
  runDir: string;
  sock: string;
  client: CtrlClient;
  pid: number;
  /** Stop (clean) and remove the run dir; kills the daemon and its xenstored if --stop failed. */
  stop(): { code: number; out: string; err: string };
  cleanup(): void;
}

export async function startHost(extra: string[] = []): Promise<TestHost> {
  const runDir = mkdtempSync(join(tmpdir(), 'tsxen-dom0-'));
  const r = tsxen(['host', '--rundir', runDir, ...extra]);
  if (r.code !== 0) {
    rmSync(runDir, { recursive: true, force: true });
    throw new Error(`tsxen host failed (${r.code}): ${r.err}${r.out}`);
  }
  const sock = join(runDir, 'ctrl.sock');
  const pid = Number(readFileSync(join(runDir, 'host.pid'), 'utf8'));
  const client = await CtrlClient.connect(sock);
  let stopped = false;
  const kill = (): void => {
    for (const f of [join(runDir, 'xenstored', 'pid'), join(runDir, 'host.pid')]) {
      try {
        process.kill(Number(readFileSync(f, 'utf8')), 'SIGKILL');
      } catch { /* gone */ }
    }
  };
  return {
    runDir, sock, client, pid,
    stop() {
      client.close();
      const s = tsxen(['host', '--stop', '--rundir', runDir], {}, 60_000);
      stopped = s.code === 0;
      return s;
    },
    cleanup() {
      client.close();
      if (!stopped) kill();
      rmSync(runDir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Poll `f` until it returns a truthy value or `ms` pass. */
export async function until<T>(f: () => Promise<T> | T, ms: number, step = 100): Promise<T> {
  const end = Date.now() + ms;
  let v = await f();
  while (!v && Date.now() < end) {
    await sleep(step);
    v = await f();
  }
  return v;
}
