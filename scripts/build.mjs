#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// Bundles each command entry point (src/host/*-main.ts) into dist/<name>.cjs with esbuild.
// Kconfig: every CONFIG_* flag in scripts/kconfig.json becomes an esbuild --define, so code
// behind a false flag is absent from the bundle. `--config CONFIG_X=n` overrides a flag.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

export function kconfig(overrides = {}) {
  const flags = JSON.parse(readFileSync(join(root, 'scripts', 'kconfig.json'), 'utf8'));
  const define = {};
  for (const [k, v] of Object.entries(flags)) if (k.startsWith('CONFIG_')) define[k] = String(overrides[k] ?? v);
  return define;
}

export async function build({ outdir = join(root, 'dist'), overrides = {}, quiet = false } = {}) {
  const esbuild = await import('esbuild');
  const hostDir = join(root, 'src', 'host');
  const entries = readdirSync(hostDir).filter((f) => f.endsWith('-main.ts'));
  await Promise.all(entries.map((f) => esbuild.build({
    entryPoints: [join(hostDir, f)],
    outfile: join(outdir, f.replace(/-main\.ts$/, '.cjs')),
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    sourcemap: 'linked',
    define: kconfig(overrides),
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
