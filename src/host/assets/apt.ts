// SPDX-License-Identifier: GPL-2.0-only
// A private apt state for Debian trixie/riscv64: its own sources list, lists, cache and an
// empty dpkg status file, so the machine's own package state is never read or touched, while
// its mirror (from its sources), keyrings and apt.conf settings (proxies) are reused.
// Resolves package versions from the signed Packages index and downloads .deb files whose
// sha256 is checked against that index. Leaves out: deb-src, multiple mirrors, pinning.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickDebianMirror, readMachineSources } from './apt-sources.ts';
import { AssetError, lastLine, run, runOk, which } from './run.ts';

export const SUITE = 'trixie';
export const COMPONENT = 'main';
export const ARCH = 'riscv64';
export const DEFAULT_KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';

export interface PackageRecord {
  package: string;
  version: string;
  filename: string;  // pool path on the mirror
  size: number;
  sha256: string;
  depends: string;
}

export interface AptConfig {
  dir: string;        // private apt root (sources, lists, cache, status)
  mirror: string;     // URI reused from the machine's sources (or TSXEN_APT_MIRROR)
  mirrorFrom: string; // where it was found ("/etc/apt/sources.list.d/debian.sources:1")
  keyring?: string;   // Signed-By keyring, when one exists
  changed?: boolean;  // the source line differs from the one the lists were fetched with
}

/**
 * Finds the mirror and keyring and writes the private sources list. The keyring is the
 * machine's Debian archive keyring (all current archive keys), else the Signed-By keyring
 * of the machine's Debian source; with neither, apt's trusted keys verify.
 */
export function setupApt(dir: string, env: NodeJS.ProcessEnv = process.env, etcDir = '/etc/apt', defaultKeyring = DEFAULT_KEYRING): AptConfig {
  let mirror: string;
  let mirrorFrom: string;
  let sourceKeyring: string | undefined;
  if (env.TSXEN_APT_MIRROR) {
    mirror = env.TSXEN_APT_MIRROR.replace(/\/+$/, '');
    mirrorFrom = 'TSXEN_APT_MIRROR';
  } else {
    const choice = pickDebianMirror(readMachineSources(etcDir));
    if (!choice) {
      throw new AssetError(`no Debian mirror found in this machine's apt sources (${etcDir}/sources.list, ${etcDir}/sources.list.d/): ` +
        `set TSXEN_APT_MIRROR=<Debian archive URI>, or provide TSXEN_KERNEL and TSXEN_INITRD`);
    }
    mirror = choice.uri;
    mirrorFrom = `${choice.source.file}:${choice.source.line}`;
    const signedBy = choice.source.options['signed-by'];
    if (signedBy && signedBy.startsWith('/') && !/\s/.test(signedBy) && existsSync(signedBy)) sourceKeyring = signedBy;
  }
  // Debian signs every suite's Release file with the archive keys of the current and the
  // previous release, so even bookworm's keyring without the trixie keys verifies trixie.
  const keyring = existsSync(defaultKeyring) ? defaultKeyring : sourceKeyring;
  for (const d of ['etc/sources.list.d', 'etc/preferences.d', 'lists/partial', 'cache/archives/partial', 'debs']) mkdirSync(join(dir, d), { recursive: true });
  const opts = [`arch=${ARCH}`, ...(keyring ? [`signed-by=${keyring}`] : [])];
  const line = `deb [${opts.join(' ')}] ${mirror} ${SUITE} ${COMPONENT}\n`;
  const listFile = join(dir, 'etc/sources.list');
  const changed = !existsSync(listFile) || !readFileSync(listFile, 'utf8').endsWith(`\n${line}`);
  if (changed) writeFileSync(listFile, `# written by tsxen's guest asset builder (mirror from ${mirrorFrom})\n${line}`);
  if (!existsSync(join(dir, 'status'))) writeFileSync(join(dir, 'status'), '');
  return { dir, mirror, mirrorFrom, keyring, changed };
}

/** The -o options that point apt at the private state. */
export function aptOptions(cfg: AptConfig): string[] {
  const d = cfg.dir;
  const o = (k: string, v: string): string[] => ['-o', `${k}=${v}`];
  return [
    ...o('Dir::Etc::SourceList', join(d, 'etc/sources.list')),
    ...o('Dir::Etc::SourceParts', join(d, 'etc/sources.list.d')),
    ...o('Dir::Etc::Preferences', join(d, 'etc/preferences')),
    ...o('Dir::Etc::PreferencesParts', join(d, 'etc/preferences.d')),
    ...o('Dir::State', d),
    ...o('Dir::State::Lists', join(d, 'lists')),
    ...o('Dir::State::status', join(d, 'status')),
    ...o('Dir::Cache', join(d, 'cache')),
    // Keep apt's binary package cache even where the machine's apt.conf turns it off (as
    // container images do): it is private, and it makes each apt-cache call ~10x faster.
    ...o('Dir::Cache::pkgcache', 'pkgcache.bin'),
    ...o('Dir::Cache::srcpkgcache', 'srcpkgcache.bin'),
    ...o('APT::Architecture', ARCH),
    ...o('APT::Architectures', ARCH),
    ...o('Acquire::Languages', 'none'),
  ];
}

/** The signed index file (InRelease) in the private lists, if present. */
export function inReleasePath(cfg: AptConfig): string | undefined {
  const dir = join(cfg.dir, 'lists');
  if (!existsSync(dir)) return undefined;
  const f = readdirSync(dir).find((n) => n.endsWith(`_dists_${SUITE}_InRelease`));
  return f ? join(dir, f) : undefined;
}

/** Age of the downloaded index in seconds (Infinity when there is none). */
export function listsAge(cfg: AptConfig): number {
  const p = inReleasePath(cfg);
  return p ? (Date.now() - statSync(p).mtimeMs) / 1000 : Infinity;
}

/** apt-get update against the private state; any signature problem is an error, never a warning. */
export async function aptUpdate(cfg: AptConfig, extraOptions: readonly string[] = []): Promise<void> {
  const r = await run('apt-get', [...aptOptions(cfg), ...extraOptions, '-q', 'update'], { timeoutMs: 300_000 });
  // apt reports fetch failures as warnings ("Err:" on stdout, "W: Failed to fetch") and exits 0.
  const all = `${r.stdout.toString('utf8')}\n${r.stderr}`;
  const lines = all.split('\n').map((l) => l.trim()).filter(Boolean);
  const pick = (re: RegExp): string => {
    const i = lines.findIndex((l) => re.test(l));
    if (i < 0) return lastLine(r.stderr);
    // apt prints the reason of an "Err:N <uri>" on the next line.
    return (lines[i]!.startsWith('Err:') && lines[i + 1] ? `${lines[i]}: ${lines[i + 1]}` : lines[i]!).slice(0, 300);
  };
  if (/GPG error|NO_PUBKEY|is not signed|EXPKEYSIG|BADSIG|KEYEXPIRED/.test(all)) {
    throw new AssetError(`apt could not verify the signature of ${SUITE}'s InRelease from ${cfg.mirror} with ${cfg.keyring ?? 'the trusted keys'} ` +
      `(${pick(/GPG error|NO_PUBKEY|not signed/)}): install a debian-archive-keyring that has Debian's current archive keys (bookworm's 2023.3 or newer)`);
  }
  if (r.code !== 0 || /^(E:|Err:|W: Failed to fetch|W: Some index files failed)/m.test(all) || !inReleasePath(cfg)) {
    throw new AssetError(`apt-get update from ${cfg.mirror} (found in ${cfg.mirrorFrom}) failed: ${pick(/^(Err:|E:|W: Failed to fetch)/)} ` +
      `(no network or apt access? provide TSXEN_KERNEL and TSXEN_INITRD instead)`);
  }
}

/** Runs gpgv on the InRelease and returns the user ids of the keys with good signatures. */
export async function inReleaseSigners(cfg: AptConfig): Promise<string[]> {
  const p = inReleasePath(cfg);
  if (!p || !cfg.keyring || !which('gpgv')) return [];
  const r = await run('gpgv', ['--status-fd', '1', '--keyring', cfg.keyring, p]);
  return r.stdout.toString('utf8').split('\n')
    .map((l) => /^\[GNUPG:\] GOODSIG [0-9A-F]+ (.*)$/.exec(l)?.[1])
    .filter((s): s is string => s !== undefined);
}

/** Parses `apt-cache show` output (one or more stanzas) into records. */
export function parsePackageStanzas(text: string): PackageRecord[] {
  return text.split(/\n\s*\n/).filter((s) => s.trim()).map((stanza) => {
    const f = new Map<string, string>();
    let last = '';
    for (const line of stanza.split('\n')) {
      if (/^\s/.test(line) && last) f.set(last, `${f.get(last)!}\n${line.trim()}`);
      else {
        const c = line.indexOf(':');
        if (c > 0) { last = line.slice(0, c); f.set(last, line.slice(c + 1).trim()); }
      }
    }
    return {
      package: f.get('Package') ?? '', version: f.get('Version') ?? '', filename: f.get('Filename') ?? '',
      size: Number(f.get('Size') ?? 0), sha256: (f.get('SHA256') ?? '').toLowerCase(), depends: f.get('Depends') ?? '',
    };
  });
}

/** Whether Debian version a is newer than b (dpkg's ordering). */
async function newer(a: string, b: string): Promise<boolean> {
  return (await run('dpkg', ['--compare-versions', a, 'gt', b])).code === 0;
}

/**
 * The newest version's record of each package in the private index, in the order asked.
 * (Plain `apt-cache show` reads apt's package cache in ~30 ms; `--no-all-versions` would
 * build the policy cache, ~0.8 s a call. With one suite there is one version per package.)
 */
export async function showPackages(cfg: AptConfig, names: readonly string[]): Promise<PackageRecord[]> {
  const r = await run('apt-cache', [...aptOptions(cfg), 'show', ...names]);
  const recs = r.code === 0 ? parsePackageStanzas(r.stdout.toString('utf8')) : [];
  const out: PackageRecord[] = [];
  for (const name of names) {
    let best: PackageRecord | undefined;
    for (const rec of recs) {
      if (rec.package !== name || !rec.version || !/^[0-9a-f]{64}$/.test(rec.sha256)) continue;
      if (!best || await newer(rec.version, best.version)) best = rec;
    }
    if (!best) throw new AssetError(`package ${name} not found in ${SUITE}/${COMPONENT} for ${ARCH} at ${cfg.mirror}${r.stderr ? `: ${lastLine(r.stderr)}` : ''}`);
    out.push(best);
  }
  return out;
}

/** The kernel image package the linux-image-riscv64 metapackage currently depends on. */
export function kernelPackageFromMeta(meta: PackageRecord): string {
  const m = /(?:^|[\s,|])(linux-image-[0-9][^\s,|()]*-riscv64)(?=[\s,|(]|$)/.exec(meta.depends);
  if (!m) throw new AssetError(`${meta.package} ${meta.version} does not depend on a linux-image-<version>-riscv64 package (Depends: ${meta.depends})`);
  return m[1]!;
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Local file name for a package version (epoch colon made file-system safe). */
export function debFileName(rec: PackageRecord): string {
  return `${rec.package}_${rec.version.replace(/:/g, '%3a')}_${ARCH}.deb`;
}

/**
 * Returns the path of the package's .deb in the private cache, downloading it with
 * `apt-get download` unless a copy with the index's sha256 is already there.
 * `downloaded` tells whether the network was used.
 */
export async function fetchDeb(cfg: AptConfig, rec: PackageRecord, onBytes?: (bytes: number) => void): Promise<{ path: string; downloaded: boolean }> {
  const debs = join(cfg.dir, 'debs');
  const dest = join(debs, debFileName(rec));
  if (existsSync(dest) && sha256File(dest) === rec.sha256) return { path: dest, downloaded: false };
  const tmp = join(debs, `.dl-${process.pid}-${rec.package}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  // apt writes the file into the working directory as it arrives: report its size.
  const poll = onBytes && setInterval(() => {
    let n = 0;
    try { for (const f of readdirSync(tmp)) n += statSync(join(tmp, f)).size; } catch { /* not there yet */ }
    onBytes(n);
  }, 250);
  try {
    await runOk(`apt-get download ${rec.package}=${rec.version}`, 'apt-get', [...aptOptions(cfg), '-q', 'download', `${rec.package}=${rec.version}`], { cwd: tmp, timeoutMs: 600_000 });
    const got = readdirSync(tmp).filter((n) => n.endsWith('.deb'));
    if (got.length !== 1) throw new AssetError(`apt-get download ${rec.package} produced ${got.length} .deb files`);
    const sum = sha256File(join(tmp, got[0]!));
    if (sum !== rec.sha256) throw new AssetError(`${rec.package} ${rec.version}: sha256 ${sum} does not match the signed index (${rec.sha256})`);
    renameSync(join(tmp, got[0]!), dest);
  } finally {
    if (poll) clearInterval(poll);
    rmSync(tmp, { recursive: true, force: true });
  }
  return { path: dest, downloaded: true };
}
