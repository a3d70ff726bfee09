// SPDX-License-Identifier: GPL-2.0-only
// The asset cache on disk: builds/<kernel-version>-<key>/ with a manifest.json that records
// the sha256 of every artifact, current.json naming the build in use, a cross-process lock,
// and pruning of superseded builds and packages. Layout: docs/design/guest-assets.md.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Progress } from './progress.ts';
import { AssetError } from './run.ts';

/** Bumped whenever the recipe changes in a way that must invalidate cached builds. */
export const RECIPE = 2;

/** The files under guests/debian/ that go into the initramfs (their hash is part of the key). */
export const TEMPLATE_FILES = ['init.sh', 'inittab', 'profile'] as const;

export interface Manifest {
  recipe: number;
  key: string;
  version: string;
  kernel: { file: string; sha256: string; size: number; textOffset: string; imageSize: string; banner?: string };
  initrd: { file: string; sha256: string; size: number; entries: number };
  config?: string;
  modules: { name: string; path: string; depends: string[]; size: number; sha256: string; boot: boolean }[];
  onDemand: string[];
  busybox: { size: number; sha256: string };
  builtin: string[];
  packages: Record<string, { version: string; sha256: string; size: number; filename: string; file?: string }>;
  archive: { mirror: string; mirrorFrom: string; suite: string; component: string; arch: string; keyring?: string; signers: string[] };
  templates: string;
  builtAt: string;
  buildSeconds: number;
}

export function templateHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of TEMPLATE_FILES) h.update(f).update(existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : '');
  return h.digest('hex');
}

/** A manifest whose kernel and initrd are still there with their recorded sizes, else undefined. */
export function readManifest(path: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    const dir = dirname(path);
    if (m.recipe !== RECIPE) return undefined;
    for (const f of [m.kernel, m.initrd]) {
      if (!existsSync(join(dir, f.file)) || statSync(join(dir, f.file)).size !== f.size) return undefined;
    }
    return m;
  } catch {
    return undefined;
  }
}

export class AssetCache {
  constructor(readonly dir: string) {}

  get currentPath(): string { return join(this.dir, 'current.json'); }
  get aptDir(): string { return join(this.dir, 'apt'); }
  buildDir(name: string): string { return join(this.dir, 'builds', name); }

  /** The build in use, if complete and made from the given templates. */
  current(tplHash: string): { m: Manifest; path: string } | undefined {
    try {
      const { manifest } = JSON.parse(readFileSync(this.currentPath, 'utf8')) as { manifest: string };
      const path = join(this.dir, manifest);
      const m = readManifest(path);
      return m && m.templates === tplHash ? { m, path } : undefined;
    } catch {
      return undefined;
    }
  }

  setCurrent(manifestPath: string): void {
    writeFileSync(this.currentPath, JSON.stringify({ manifest: manifestPath.slice(this.dir.length + 1) }) + '\n');
  }

  /** Deletes builds other than `keep` and downloaded packages other than `keepDebs`. */
  prune(keep: string, keepDebs: readonly string[]): void {
    const builds = join(this.dir, 'builds');
    for (const b of existsSync(builds) ? readdirSync(builds) : []) {
      if (b !== keep && !b.includes('.tmp-')) rmSync(join(builds, b), { recursive: true, force: true });
    }
    const debs = join(this.aptDir, 'debs');
    const names = new Set(keepDebs.map((p) => basename(p)));
    for (const d of existsSync(debs) ? readdirSync(debs) : []) {
      if (d.endsWith('.deb') && !names.has(d)) rmSync(join(debs, d), { force: true });
    }
  }

  /** Runs fn holding an exclusive lock on the cache; waits while another live process holds it. */
  async withLock<T>(progress: Progress, fn: () => Promise<T>, maxWaitMs = 30 * 60_000): Promise<T> {
    const lock = join(this.dir, '.lock');
    const t0 = Date.now();
    let told = false;
    for (;;) {
      try {
        const fd = openSync(lock, 'wx');
        writeSync(fd, String(process.pid));
        closeSync(fd);
        break;
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        let pid = 0;
        try { pid = Number(readFileSync(lock, 'utf8')) || 0; } catch { continue; }
        if (!pidAlive(pid)) { rmSync(lock, { force: true }); continue; }
        if (Date.now() - t0 > maxWaitMs) throw new AssetError(`${lock} has been held by process ${pid} for ${Math.round(maxWaitMs / 60_000)} minutes; stop it or remove the file`);
        if (!told) { progress.note(`waiting for process ${pid}, which is building the guest assets`); told = true; }
        await new Promise((r) => setTimeout(r, 300));
      }
    }
    try {
      this.sweep();
      return await fn();
    } finally {
      rmSync(lock, { force: true });
    }
  }

  /** Removes what an interrupted build left behind (only called while holding the lock). */
  private sweep(): void {
    const gone = (dir: string, re: RegExp): void => {
      for (const n of existsSync(dir) ? readdirSync(dir) : []) if (re.test(n)) rmSync(join(dir, n), { recursive: true, force: true });
    };
    gone(this.dir, /^\.work-\d+$/);
    gone(join(this.dir, 'builds'), /\.tmp-\d+$/);
    gone(join(this.aptDir, 'debs'), /^\.dl-/);
  }
}

function pidAlive(pid: number): boolean {
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
