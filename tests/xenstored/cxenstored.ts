// SPDX-License-Identifier: GPL-2.0-only
// Starts Debian's real cxenstored 4.17 socket-only through ../shared/peers/xenstored/fakexen.c
// (built into build/ on first use; nothing of it is committed), for differential tests.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from './harness.ts';

export const CXENSTORED = '/usr/lib/xen-4.17/bin/xenstored';

export function fakexen(): string {
  const so = join(ROOT, 'build', 'fakexen.so');
  if (!existsSync(so)) {
    mkdirSync(join(ROOT, 'build'), { recursive: true });
    execFileSync('gcc', ['-shared', '-fPIC', '-O2', '-o', so, join(ROOT, '..', 'shared', 'peers', 'xenstored', 'fakexen.c'), '-ldl']);
  }
  return so;
}

export async function startCxenstored(): Promise<{ path: string; stop(): Promise<void> }> {
  if (!existsSync(CXENSTORED)) throw new Error(`${CXENSTORED} missing: apt-get install -y --no-install-recommends xen-utils-4.17 libxen-dev`);
  const so = fakexen();
  const run = mkdtempSync(join(tmpdir(), 'cxs-'));
  mkdirSync(run, { recursive: true });
  const path = join(run, 'socket');
  const p = spawn(CXENSTORED, ['-N'], { stdio: 'ignore', env: { ...process.env, XENSTORED_RUNDIR: run, LD_PRELOAD: so } });
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise<boolean>((r) => { const c = net.connect(path, () => { c.destroy(); r(true); }); c.on('error', () => r(false)); });
    if (ok) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return { path, stop: () => new Promise((res) => { if (p.exitCode !== null) { res(); return; } p.on('exit', () => res()); p.kill('SIGKILL'); }) };
}
