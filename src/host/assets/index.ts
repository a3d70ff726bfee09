// SPDX-License-Identifier: GPL-2.0-only
// ensureGuestAssets(): the Debian riscv64 kernel + busybox initramfs every HVM demo and test
// boots. Fetches Debian trixie's linux-image-<ver>-riscv64 (via the linux-image-riscv64
// metapackage) and busybox-static through a private apt state that reuses this machine's
// mirror and keyring, builds the initramfs, and caches the result keyed by package versions,
// so later calls return at once. TSXEN_KERNEL / TSXEN_INITRD override the built files.
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { aptUpdate, fetchDeb, inReleaseSigners, kernelPackageFromMeta, listsAge, setupApt, sha256File, showPackages, type AptConfig, type PackageRecord, SUITE, COMPONENT, ARCH } from './apt.ts';
import { buildFromExtracted, extractDeb, WANTED_MODULES, writeOutputs } from './build.ts';
import { parseRiscvImage } from './kernel-image.ts';
import { Progress, type ProgressSink } from './progress.ts';
import { AssetError, requireTools } from './run.ts';

export { AssetError } from './run.ts';

export interface GuestAssets {
  kernel: string;     // uncompressed RISC-V Image (boot/vmlinux-<ver>)
  initrd: string;     // gzip-compressed newc cpio
  version: string;    // kernel release (uname -r)
  modules: string[];  // module names the initramfs loads, in load order
  manifest?: string;  // manifest.json of the build (absent for full overrides)
  source: 'cache' | 'built' | 'override';
}

export interface GuestAssetOptions {
  rebuild?: boolean;        // refresh the apt index and rebuild even if a build is cached
  cacheDir?: string;        // default $TSXEN_CACHE, else <repo>/.cache/assets
  progress?: ProgressSink | null;  // default process.stderr; null = silent
  env?: NodeJS.ProcessEnv;
  maxIndexAgeDays?: number; // re-read the mirror's index when older than this (default 7)
  etcApt?: string;          // where the machine's apt sources are (default /etc/apt)
}

/** Bumped whenever the recipe changes in a way that must invalidate cached builds. */
const RECIPE = 1;

/** The repository root: the folder holding guests/debian/init.sh (works from src/ and from the dist/ bundle). */
export function findRepoRoot(env: NodeJS.ProcessEnv = process.env): string {
  const starts = [env.TSXEN_ROOT, process.argv[1] && dirname(resolve(process.argv[1])), process.cwd()].filter((s): s is string => !!s);
  for (const s of starts) {
    for (let d = resolve(s); ; d = dirname(d)) {
      if (existsSync(join(d, 'guests', 'debian', 'init.sh'))) return d;
      if (dirname(d) === d) break;
    }
  }
  throw new AssetError('cannot find the tsxen repository (guests/debian/init.sh); set TSXEN_ROOT');
}

function templateHash(dir: string): string {
  const h = createHash('sha256');
  for (const f of ['init.sh', 'inittab', 'profile']) h.update(f).update(existsSync(join(dir, f)) ? readFileSync(join(dir, f)) : '');
  return h.digest('hex');
}

interface Manifest {
  recipe: number;
  key: string;
  version: string;
  kernel: { file: string; sha256: string; size: number; textOffset: string; imageSize: string; banner?: string };
  initrd: { file: string; sha256: string; size: number; entries: number };
  config?: string;
  modules: { name: string; path: string; depends: string[]; size: number; sha256: string }[];
  busybox: { size: number; sha256: string };
  builtin: string[];
  packages: Record<string, { version: string; sha256: string; size: number; filename: string }>;
  archive: { mirror: string; mirrorFrom: string; suite: string; component: string; arch: string; keyring?: string; signers: string[] };
  templates: string;
  builtAt: string;
  buildSeconds: number;
}

function readManifest(path: string): Manifest | undefined {
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as Manifest;
    const dir = dirname(path);
    if (m.recipe !== RECIPE || !existsSync(join(dir, m.kernel.file)) || !existsSync(join(dir, m.initrd.file))) return undefined;
    if (statSync(join(dir, m.kernel.file)).size !== m.kernel.size || statSync(join(dir, m.initrd.file)).size !== m.initrd.size) return undefined;
    return m;
  } catch {
    return undefined;
  }
}

function toAssets(m: Manifest, manifestPath: string, source: GuestAssets['source']): GuestAssets {
  const dir = dirname(manifestPath);
  return { kernel: join(dir, m.kernel.file), initrd: join(dir, m.initrd.file), version: m.version, modules: m.modules.map((x) => x.name), manifest: manifestPath, source };
}

/** An exclusive lock on the cache (another process may be building): waits for it. */
async function withLock<T>(cacheDir: string, progress: Progress, fn: () => Promise<T>): Promise<T> {
  const lock = join(cacheDir, '.lock');
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const pid = Number(readFileSync(lock, 'utf8') || 0);
      let alive = false;
      try { alive = pid > 0 && (process.kill(pid, 0), true); } catch { alive = false; }
      if (!alive) { rmSync(lock, { force: true }); continue; }
      if (!told) { progress.note(`waiting for process ${pid}, which is building the guest assets`); told = true; }
      await new Promise((r) => setTimeout(r, 300));
    }
  }
  try {
    return await fn();
  } finally {
    rmSync(lock, { force: true });
  }
}

function checkOverride(path: string, what: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) throw new AssetError(`${what}=${path}: no such file`);
}

/** Applies TSXEN_KERNEL / TSXEN_INITRD to a built (or absent) asset set. */
function applyOverrides(env: NodeJS.ProcessEnv, built: GuestAssets | undefined, progress: Progress): GuestAssets | undefined {
  const k = env.TSXEN_KERNEL;
  const i = env.TSXEN_INITRD;
  if (!k && !i) return built;
  let version = built?.version ?? 'unknown';
  if (k) {
    checkOverride(k, 'TSXEN_KERNEL');
    const info = parseRiscvImage(readFileSync(k), `TSXEN_KERNEL=${k}`);
    if (info.release) {
      if (built && !i && info.release !== built.version) progress.note(`warning: TSXEN_KERNEL is ${info.release} but the initramfs modules are for ${built.version}`);
      version = info.release;
    }
  }
  if (i) checkOverride(i, 'TSXEN_INITRD');
  return {
    kernel: k ? resolve(k) : built!.kernel, initrd: i ? resolve(i) : built!.initrd, version,
    modules: i ? [] : built?.modules ?? [], manifest: built?.manifest, source: 'override',
  };
}

/**
 * Returns the guest kernel and initramfs, building them on first use. Errors that the user
 * can fix (no apt access, missing tools, bad overrides) are AssetErrors with one-line messages.
 */
export async function ensureGuestAssets(opts: GuestAssetOptions = {}): Promise<GuestAssets> {
  const env = opts.env ?? process.env;
  const sink = opts.progress === null ? undefined : opts.progress ?? process.stderr;
  if (env.TSXEN_KERNEL && env.TSXEN_INITRD) return applyOverrides(env, undefined, new Progress(0, sink))!;
  const root = opts.cacheDir || env.TSXEN_CACHE ? undefined : findRepoRoot(env);
  const cacheDir = resolve(opts.cacheDir ?? env.TSXEN_CACHE ?? join(root!, '.cache', 'assets'));
  const templateDir = join(root ?? findRepoRoot(env), 'guests', 'debian');
  mkdirSync(cacheDir, { recursive: true });
  const maxAge = (opts.maxIndexAgeDays ?? 7) * 86400;
  const tplHash = templateHash(templateDir);
  const currentPath = join(cacheDir, 'current.json');

  // Fast path: the last build is complete, made from today's templates, and the index is fresh.
  const progress = new Progress(7, sink);
  const apt0: AptConfig | undefined = existsSync(join(cacheDir, 'apt', 'etc', 'sources.list')) ? { dir: join(cacheDir, 'apt'), mirror: '', mirrorFrom: '' } : undefined;
  const current = (): { m: Manifest; path: string } | undefined => {
    try {
      const { manifest } = JSON.parse(readFileSync(currentPath, 'utf8')) as { manifest: string };
      const m = readManifest(join(cacheDir, manifest));
      return m && m.templates === tplHash ? { m, path: join(cacheDir, manifest) } : undefined;
    } catch {
      return undefined;
    }
  };
  const fast = !opts.rebuild && apt0 && listsAge(apt0) < maxAge ? current() : undefined;
  if (fast) {
    progress.note(`Debian guest ${fast.m.version} from the cache (${dirname(fast.path)})`);
    return applyOverrides(env, toAssets(fast.m, fast.path, 'cache'), progress)!;
  }

  return withLock(cacheDir, progress, async () => {
    const t0 = Date.now();
    requireTools(['apt-get', 'apt-cache', 'dpkg-deb']);
    let done = progress.step(`private apt state for ${SUITE}/${COMPONENT} ${ARCH}`);
    const apt = setupApt(join(cacheDir, 'apt'), env, opts.etcApt);
    done(`mirror ${apt.mirror} (from ${apt.mirrorFrom}), keyring ${apt.keyring ?? 'apt default'}`);

    let stale = opts.rebuild || listsAge(apt) >= maxAge;
    done = progress.step(stale ? 'apt-get update (signed index of the mirror)' : 'apt index is fresh, no update');
    if (stale) {
      try {
        await aptUpdate(apt);
      } catch (e) {
        const prev = current();
        if (!opts.rebuild && prev && e instanceof AssetError) {
          done('failed');
          progress.note(`warning: ${e.message}; using the cached build of ${prev.m.version}`);
          return applyOverrides(env, toAssets(prev.m, prev.path, 'cache'), progress)!;
        }
        throw e;
      }
    }
    const signers = await inReleaseSigners(apt);
    done(signers.length ? `InRelease signed by ${signers.map((s) => s.replace(/ <.*>$/, '')).join('; ')}` : undefined);

    done = progress.step('resolving linux-image-riscv64 and busybox-static');
    const [meta, bb] = await showPackages(apt, ['linux-image-riscv64', 'busybox-static']) as [PackageRecord, PackageRecord];
    const kpkgName = env.TSXEN_KERNEL_PACKAGE || kernelPackageFromMeta(meta);
    const [kpkg] = await showPackages(apt, [kpkgName]) as [PackageRecord];
    done(`${kpkg.package} ${kpkg.version}, busybox-static ${bb.version}`);

    const key = createHash('sha256').update(JSON.stringify({ RECIPE, k: kpkg.sha256, b: bb.sha256, tplHash, WANTED_MODULES })).digest('hex').slice(0, 16);
    const buildName = `${kpkgName.replace(/^linux-image-/, '')}-${key}`;
    const manifestRel = join('builds', buildName, 'manifest.json');
    const cached = opts.rebuild ? undefined : readManifest(join(cacheDir, manifestRel));
    if (cached) {
      writeFileSync(currentPath, JSON.stringify({ manifest: manifestRel }) + '\n');
      progress.note(`already built: ${join(cacheDir, 'builds', buildName)}`);
      return applyOverrides(env, toAssets(cached, join(cacheDir, manifestRel), 'cache'), progress)!;
    }

    const fetch = async (rec: PackageRecord): Promise<string> => {
      const d = progress.step(`fetching ${rec.package} ${rec.version} (${(rec.size / 1048576).toFixed(1)} MiB)`);
      const r = await fetchDeb(apt, rec);
      d(`${r.downloaded ? 'downloaded' : 'cached'}, sha256 ${rec.sha256.slice(0, 12)}… matches the signed index`);
      return r.path;
    };
    const kdeb = await fetch(kpkg);
    const bdeb = await fetch(bb);

    const work = join(cacheDir, `.work-${process.pid}`);
    rmSync(work, { recursive: true, force: true });
    try {
      done = progress.step('extracting with dpkg-deb -x');
      await Promise.all([extractDeb(kdeb, join(work, 'kernel')), extractDeb(bdeb, join(work, 'busybox'))]);
      done();
      done = progress.step('building the initramfs (modules, busybox, /init)');
      requireTools(['xz']);
      const b = await buildFromExtracted({ kernelRoot: join(work, 'kernel'), busyboxRoot: join(work, 'busybox'), templateDir });
      const outDir = join(cacheDir, 'builds', `${buildName}.tmp-${process.pid}`);
      rmSync(outDir, { recursive: true, force: true });
      const out = writeOutputs(b, outDir);
      const m: Manifest = {
        recipe: RECIPE, key, version: b.version,
        kernel: { file: out.kernel.slice(outDir.length + 1), sha256: sha256File(out.kernel), size: statSync(out.kernel).size,
          textOffset: `0x${b.image.textOffset.toString(16)}`, imageSize: `0x${b.image.imageSize.toString(16)}`, banner: b.image.banner },
        initrd: { file: out.initrd.slice(outDir.length + 1), sha256: sha256File(out.initrd), size: b.initrd.length, entries: b.initrdEntries },
        config: out.config?.slice(outDir.length + 1),
        modules: b.modules, builtin: b.builtin, busybox: b.busybox,
        packages: Object.fromEntries([meta, kpkg, bb].map((p) => [p.package, { version: p.version, sha256: p.sha256, size: p.size, filename: p.filename }])),
        archive: { mirror: apt.mirror, mirrorFrom: apt.mirrorFrom, suite: SUITE, component: COMPONENT, arch: ARCH, keyring: apt.keyring, signers },
        templates: tplHash, builtAt: new Date().toISOString(), buildSeconds: (Date.now() - t0) / 1000,
      };
      writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
      const finalDir = join(cacheDir, 'builds', buildName);
      rmSync(finalDir, { recursive: true, force: true });
      renameSync(outDir, finalDir);
      writeFileSync(currentPath, JSON.stringify({ manifest: manifestRel }) + '\n');
      done(`${b.modules.map((x) => x.name).join(' ')}; ${b.builtin.length ? `built in: ${b.builtin.join(' ')}; ` : ''}initrd ${(b.initrd.length / 1048576).toFixed(2)} MiB`);
      return applyOverrides(env, toAssets(m, join(cacheDir, manifestRel), 'built'), progress)!;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}
