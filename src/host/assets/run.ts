// SPDX-License-Identifier: GPL-2.0-only
// Small helpers for running host tools from the asset builder: capture output, turn a
// missing program or a failure into a one-line AssetError, and find programs on the PATH.
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** A user/host problem (missing tool, no network, bad override): printed as one line. */
export class AssetError extends Error {
  override name = 'AssetError';
}

export interface RunResult { code: number; stdout: Buffer; stderr: string }

export interface RunOptions { cwd?: string; input?: Uint8Array; env?: NodeJS.ProcessEnv; timeoutMs?: number }

/** Runs a program to completion, collecting stdout as bytes and stderr as text. Never rejects on exit status. */
export function run(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timer: NodeJS.Timeout | undefined;
    if (opts.timeoutMs) timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      if (timer) clearTimeout(timer);
      reject(e.code === 'ENOENT' ? missingToolsError([cmd]) : e);
    });
    child.on('close', (code, signal) => {
      if (timer) clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8') });
    });
    child.stdin.on('error', () => { /* the program may exit without reading its input */ });
    child.stdin.end(opts.input ?? undefined);
  });
}

/** The last meaningful line of a tool's stderr (for one-line errors). */
export function lastLine(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const errs = lines.filter((l) => /^(E:|W:|error|dpkg-deb: error)/i.test(l));
  return (errs[errs.length - 1] ?? lines[lines.length - 1] ?? '(no output)').slice(0, 300);
}

/** Runs a program and returns stdout; a non-zero exit becomes an AssetError naming `what`. */
export async function runOk(what: string, cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<Buffer> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) throw new AssetError(`${what} failed: ${lastLine(r.stderr)}`);
  return r.stdout;
}

/** Whether an executable called `name` is on the PATH. */
export function which(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const dir of path.split(delimiter)) {
    if (!dir) continue;
    const p = join(dir, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch { /* keep looking */ }
  }
  return undefined;
}

/** Debian package that ships each host tool the builder uses. */
export const TOOL_PACKAGES: Record<string, string> = {
  'apt-get': 'apt', 'apt-cache': 'apt', 'dpkg-deb': 'dpkg', xz: 'xz-utils', zstd: 'zstd', gpgv: 'gpgv',
};

/** One line naming the missing tools, the Debian packages that provide them, and the alternative. */
export function missingToolsError(missing: readonly string[]): AssetError {
  const pkgs = [...new Set(missing.map((t) => TOOL_PACKAGES[t] ?? t))];
  return new AssetError(`missing host tool${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: install as root with 'apt-get install -y ${pkgs.join(' ')}', ` +
    `or provide a kernel and initramfs with TSXEN_KERNEL=/path/to/Image TSXEN_INITRD=/path/to/initrd`);
}

/** Throws missingToolsError unless every tool is on the PATH. */
export function requireTools(tools: readonly string[], path = process.env.PATH ?? ''): void {
  const missing = tools.filter((t) => !which(t, path));
  if (missing.length > 0) throw missingToolsError(missing);
}
