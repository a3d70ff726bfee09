// SPDX-License-Identifier: GPL-2.0-only
// ensureGuestAssets(): the Debian riscv64 kernel + busybox initramfs every HVM demo and test
// boots. Fetches Debian trixie's linux-image-<ver>-riscv64 (via the linux-image-riscv64
// metapackage) and busybox-static through a private apt state that reuses this machine's
// mirror and keyring, builds the initramfs, and caches the result keyed by package versions,
// so later calls return at once. TSXEN_KERNEL / TSXEN_INITRD override the built files.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { ARCH, COMPONENT, SUITE, aptUpdate, fetchDeb, inReleaseSigners, kernelPackageFromMeta, listsAge, setupApt, sha256File, showPackages, type PackageRecord } from './apt.ts';
import { ON_DEMAND_MODULES, WANTED_MODULES, buildFromExtracted, extractDeb, writeOutputs } from './build.ts';
import { AssetCache, RECIPE, readManifest, templateHash, type Manifest } from './cache.ts';
import { parseRiscvImage } from './kernel-image.ts';
import { moduleName } from './modules.ts';
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
  rebuild?: boolean;               // re-read the mirror's index and rebuild even if a build is cached
  cacheDir?: string;               // default $TSXEN_CACHE, else <repo>/.cache/assets
  progress?: ProgressSink | null;  // default process.stderr; null = silent
  env?: NodeJS.ProcessEnv;         // default process.env (TSXEN_* variables)
  maxIndexAgeDays?: number;        // re-read the mirror's index when older than this (default 7)
  etcApt?: string;                 // where the machine's apt sources are (default /etc/apt)
  extraModules?: string[];         // more modules for on-demand modprobe (also $TSXEN_GUEST_MODULES)
  aptOptions?: string[];           // extra apt-get update arguments, e.g. ['-o', 'Acquire::Retries=0']
}

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

function toAssets(m: Manifest, manifestPath: string, source: GuestAssets['source']): GuestAssets {
  const dir = dirname(manifestPath);
  return { kernel: join(dir, m.kernel.file), initrd: join(dir, m.initrd.file), version: m.version, modules: m.modules.filter((x) => x.boot).map((x) => x.name), manifest: manifestPath, source };
}

function checkOverride(path: string, what: string): void {
  if (!existsSync(path) || !statSync(path).isFile()) throw new AssetError(`${what}=${path}: no such file`);
}

/** Applies TSXEN_KERNEL / TSXEN_INITRD to a built (or, when both are set, absent) asset set. */
function applyOverrides(env: NodeJS.ProcessEnv, built: GuestAssets | undefined, progress: Progress): GuestAssets {
  const k = env.TSXEN_KERNEL;
  const i = env.TSXEN_INITRD;
  if (!k && !i) return built!;
  let version = built?.version ?? 'unknown';
  if (k) {
    checkOverride(k, 'TSXEN_KERNEL');
    let info;
    try {
      info = parseRiscvImage(readFileSync(k), `TSXEN_KERNEL=${k}`);
    } catch (e) {
      throw new AssetError((e as Error).message);
    }
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

interface Ctx {
  opts: GuestAssetOptions; env: NodeJS.ProcessEnv; cache: AssetCache; templateDir: string; tplHash: string; progress: Progress; maxAge: number;
  onDemand: string[];
}

/**
 * Returns the guest kernel and initramfs, building them on first use. Errors that the user
 * can fix (no apt access, missing tools, bad overrides) are AssetErrors with one-line messages.
 */
export async function ensureGuestAssets(opts: GuestAssetOptions = {}): Promise<GuestAssets> {
  const env = opts.env ?? process.env;
  const sink = opts.progress === null ? undefined : opts.progress ?? process.stderr;
  const progress = new Progress(7, sink);
  if (env.TSXEN_KERNEL && env.TSXEN_INITRD) return applyOverrides(env, undefined, progress);
  const root = findRepoRoot(env);
  const cache = new AssetCache(resolve(opts.cacheDir ?? (env.TSXEN_CACHE || join(root, '.cache', 'assets'))));
  mkdirSync(cache.dir, { recursive: true });
  const templateDir = join(root, 'guests', 'debian');
  const onDemand = [...new Set([...ON_DEMAND_MODULES, ...(opts.extraModules ?? []), ...(env.TSXEN_GUEST_MODULES ?? '').split(/[\s,]+/).filter(Boolean)].map(moduleName))];
  const ctx: Ctx = { opts, env, cache, templateDir, tplHash: templateHash(templateDir), progress, maxAge: (opts.maxIndexAgeDays ?? 7) * 86400, onDemand };

  // Fast path: the last build is complete, made from today's templates and module list, and the index is fresh.
  const cur = opts.rebuild ? undefined : cache.current(ctx.tplHash);
  const sameModules = (m: Manifest): boolean => JSON.stringify(m.onDemand) === JSON.stringify(onDemand);
  if (cur && sameModules(cur.m) && listsAge({ dir: cache.aptDir, mirror: '', mirrorFrom: '' }) < ctx.maxAge) {
    progress.note(`Debian guest ${cur.m.version} from the cache (${dirname(cur.path)})`);
    return applyOverrides(env, toAssets(cur.m, cur.path, 'cache'), progress);
  }
  try {
    return await cache.withLock(progress, () => build(ctx));
  } catch (e) {
    progress.abort();
    throw e;
  }
}

async function build(ctx: Ctx): Promise<GuestAssets> {
  const { opts, env, cache, progress } = ctx;
  const t0 = Date.now();
  requireTools(['apt-get', 'apt-cache', 'dpkg-deb'], env.PATH ?? '');
  let done = progress.step(`private apt state for ${SUITE}/${COMPONENT} ${ARCH}`);
  const apt = setupApt(cache.aptDir, env, opts.etcApt);
  done(`mirror ${apt.mirror} (from ${apt.mirrorFrom}), keyring ${apt.keyring ?? 'apt default'}`);

  const stale = opts.rebuild || apt.changed || listsAge(apt) >= ctx.maxAge;
  done = progress.step(stale ? 'apt-get update (signed index of the mirror)' : 'apt index is fresh, no update');
  if (stale) {
    try {
      await aptUpdate(apt, opts.aptOptions);
    } catch (e) {
      // Offline with a usable build: keep working, but say so.
      const prev = cache.current(ctx.tplHash);  // (any module list: better than nothing offline)
      if (opts.rebuild || !prev || !(e instanceof AssetError)) throw e;
      done('failed');
      progress.note(`warning: ${e.message}; using the cached build of ${prev.m.version}`);
      return applyOverrides(env, toAssets(prev.m, prev.path, 'cache'), progress);
    }
  }
  const signers = await inReleaseSigners(apt);
  done(signers.length ? `InRelease signed by ${signers.map((s) => s.replace(/ <.*>$/, '')).join('; ')}` : undefined);
  if (signers.length && !signers.some((s) => s.includes(`/${SUITE})`))) {
    progress.note(`note: ${apt.keyring} has no ${SUITE} archive key; the index verified through an older release's key (Debian signs with both)`);
  }

  done = progress.step('resolving linux-image-riscv64 and busybox-static');
  const [meta, bb] = await showPackages(apt, ['linux-image-riscv64', 'busybox-static']) as [PackageRecord, PackageRecord];
  const kpkgName = env.TSXEN_KERNEL_PACKAGE || kernelPackageFromMeta(meta);
  const [kpkg] = await showPackages(apt, [kpkgName]) as [PackageRecord];
  done(`${kpkg.package} ${kpkg.version}, busybox-static ${bb.version}`);

  const key = createHash('sha256').update(JSON.stringify({ RECIPE, k: kpkg.sha256, b: bb.sha256, t: ctx.tplHash, WANTED_MODULES, d: ctx.onDemand })).digest('hex').slice(0, 16);
  const buildName = `${kpkgName.replace(/^linux-image-/, '')}-${key}`;
  const finalDir = cache.buildDir(buildName);
  const manifestPath = join(finalDir, 'manifest.json');
  const cached = opts.rebuild ? undefined : readManifestIfSameKey(manifestPath, key);
  if (cached) {
    cache.setCurrent(manifestPath);
    progress.note(`already built: ${finalDir}`);
    return applyOverrides(env, toAssets(cached, manifestPath, 'cache'), progress);
  }

  const fetch = async (rec: PackageRecord): Promise<string> => {
    const d = progress.step(`fetching ${rec.package} ${rec.version} (${(rec.size / 1048576).toFixed(1)} MiB)`);
    const mib = (n: number): string => (n / 1048576).toFixed(1);
    const r = await fetchDeb(apt, rec, (n) => progress.status(`${mib(n)}/${mib(rec.size)} MiB`));
    d(`${r.downloaded ? 'downloaded' : 'already here'}, sha256 ${rec.sha256.slice(0, 12)}… matches the signed index`);
    return r.path;
  };
  const kdeb = await fetch(kpkg);
  const bdeb = await fetch(bb);

  const work = join(cache.dir, `.work-${process.pid}`);
  const outDir = `${finalDir}.tmp-${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  rmSync(outDir, { recursive: true, force: true });
  try {
    done = progress.step('extracting with dpkg-deb -x');
    await Promise.all([extractDeb(kdeb, join(work, 'kernel')), extractDeb(bdeb, join(work, 'busybox'))]);
    done();
    done = progress.step('building the initramfs (modules, busybox, /init)');
    const b = await buildFromExtracted({ kernelRoot: join(work, 'kernel'), busyboxRoot: join(work, 'busybox'), templateDir: ctx.templateDir, onDemand: ctx.onDemand });
    const out = writeOutputs(b, outDir);
    const rel = (p: string): string => p.slice(outDir.length + 1);
    const pkgs: [PackageRecord, string | undefined][] = [[meta, undefined], [kpkg, kdeb], [bb, bdeb]];
    const m: Manifest = {
      recipe: RECIPE, key, version: b.version,
      kernel: { file: rel(out.kernel), sha256: sha256File(out.kernel), size: statSync(out.kernel).size,
        textOffset: `0x${b.image.textOffset.toString(16)}`, imageSize: `0x${b.image.imageSize.toString(16)}`, banner: b.image.banner },
      initrd: { file: rel(out.initrd), sha256: sha256File(out.initrd), size: b.initrd.length, entries: b.initrdEntries },
      config: out.config && rel(out.config),
      modules: b.modules, onDemand: ctx.onDemand, builtin: b.builtin, busybox: b.busybox,
      packages: Object.fromEntries(pkgs.map(([p, file]) => [p.package, { version: p.version, sha256: p.sha256, size: p.size, filename: p.filename, file }])),
      archive: { mirror: apt.mirror, mirrorFrom: apt.mirrorFrom, suite: SUITE, component: COMPONENT, arch: ARCH, keyring: apt.keyring, signers },
      templates: ctx.tplHash, builtAt: new Date().toISOString(), buildSeconds: (Date.now() - t0) / 1000,
    };
    writeFileSync(join(outDir, 'manifest.json'), JSON.stringify(m, null, 2) + '\n');
    rmSync(finalDir, { recursive: true, force: true });
    renameSync(outDir, finalDir);
    cache.setCurrent(manifestPath);
    cache.prune(buildName, [kdeb, bdeb]);
    const demand = b.modules.filter((x) => !x.boot);
    done(`boot: ${b.modules.filter((x) => x.boot).map((x) => x.name).join(' ')}; on demand: ${demand.length} modules; ${b.builtin.length ? `built in: ${b.builtin.join(' ')}; ` : ''}initrd ${(b.initrd.length / 1048576).toFixed(2)} MiB`);
    return applyOverrides(env, toAssets(m, manifestPath, 'built'), progress);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(outDir, { recursive: true, force: true });
  }
}

function readManifestIfSameKey(path: string, key: string): Manifest | undefined {
  const m = readManifest(path);
  return m?.key === key ? m : undefined;
}
