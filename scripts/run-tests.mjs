#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// Runs the test suite with node:test through tsx. Node 20 does not expand globs, so the files
// are found here: every *.test.ts under src/ and tests/. End-to-end boots live in files named
// *.e2e.test.ts; `--unit` leaves them out. Extra arguments filter files by substring.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const unitOnly = args.includes('--unit');
const filters = args.filter((a) => !a.startsWith('--'));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (name.endsWith('.test.ts')) out.push(relative(root, p));
  }
  return out;
}
let files = [...walk(join(root, 'src'), []), ...walk(join(root, 'tests'), [])].sort();
if (unitOnly) files = files.filter((f) => !f.endsWith('.e2e.test.ts'));
if (filters.length) files = files.filter((f) => filters.some((s) => f.includes(s)));
if (files.length === 0) {
  process.stderr.write('run-tests: no test files matched\n');
  process.exit(1);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/kconfig-defaults.mjs', '--test', '--test-concurrency=2', ...files], {
  cwd: root,
  stdio: 'inherit',
  env: { ...process.env, TSXEN_ROOT: root },
});
process.exit(r.status ?? 1);
