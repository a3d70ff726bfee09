#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// Bundles each command entry point (src/host/*-main.ts) into dist/<name>.cjs with esbuild.
// Kconfig: every CONFIG_* flag in scripts/kconfig.json becomes an esbuild --define, so code
// behind a false flag is absent from the bundle. `--config CONFIG_X=n` overrides a flag.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function kconfig(overrides = {}) {
  const flags = JSON.parse(readFileSync(join(root, 'scripts', 'kconfig.json'), 'utf8'));
  const define = {};
  for (const [k, v] of Object.entries(flags)) if (k.startsWith('CONFIG_')) define[k] = String(overrides[k] ?? v);
  return define;
}

/**
 * The build id xen_version(XENVER_build_id) reports: SHA-1 over every src/**\/*.ts file (path,
 * NUL, contents, NUL, in sorted path order), so two bundles share an id exactly when they were
 * built from the same sources. Bundled as the TSXEN_BUILD_ID define (src/hypervisor/build-id.ts).
 */
export function sourceBuildId() {
  const files = [];
  const walk = (d) => { for (const n of readdirSync(d)) { const p = join(d, n); if (statSync(p).isDirectory()) walk(p); else if (n.endsWith('.ts')) files.push(p); } };
  walk(join(root, 'src'));
  const h = createHash('sha1');
  for (const f of files.sort()) h.update(f.slice(root.length + 1)).update('\0').update(readFileSync(f)).update('\0');
  return h.digest('hex');
}

export async function build({ outdir = join(root, 'dist'), overrides = {}, quiet = false } = {}) {
  const esbuild = await import('esbuild');
  const hostDir = join(root, 'src', 'host');
  const entries = readdirSync(hostDir).filter((f) => f.endsWith('-main.ts'));
  const buildId = sourceBuildId();
  await Promise.all(entries.map((f) => esbuild.build({
    entryPoints: [join(hostDir, f)],
    outfile: join(outdir, f.replace(/-main\.ts$/, '.cjs')),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    // import.meta.url is the bundle's own file URL (src/host/pcpu-host.ts finds dist/pcpu.cjs by it).
    define: { ...kconfig(overrides), TSXEN_BUILD_ID: JSON.stringify(buildId), 'import.meta.url': '__tsxenBundleUrl' },
    banner: { js: "const __tsxenBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
    logLevel: quiet ? 'error' : 'warning',
  })));
  return entries.length;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const overrides = {};
  const args = process.argv.slice(2);
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--config') {
      const [k, v] = (args[++i] ?? '').split('=');
      overrides[k] = v === 'y' || v === '1' || v === 'true';
    }
  }
  const n = await build({ overrides });
  process.stderr.write(`build: ${n} bundles in dist/\n`);
}
