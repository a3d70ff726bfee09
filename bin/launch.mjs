// SPDX-License-Identifier: GPL-2.0-only
// Shared launcher for the bin/ commands: runs the esbuild bundle dist/<name>.cjs, rebuilding
// it first when it is missing or older than any file under src/ (so a clone just works and
// edits are never run stale). TSXEN_NO_REBUILD=1 skips the check.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function newest(dir) {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

export async function launch(name) {
  const bundle = join(root, 'dist', `${name}.cjs`);
  const stale = !existsSync(bundle) ||
    (process.env.TSXEN_NO_REBUILD !== '1' && newest(join(root, 'src')) > statSync(bundle).mtimeMs);
  if (stale) {
    if (!existsSync(join(root, 'node_modules', 'esbuild'))) {
      process.stderr.write(`${name}: not built yet; run 'npm install' (or 'npm test') in ${root} first\n`);
      process.exit(1);
    }
    const { build } = await import('../scripts/build.mjs');
    await build({ quiet: true });
  }
  createRequire(import.meta.url)(bundle);
}
