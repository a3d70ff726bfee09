// SPDX-License-Identifier: GPL-2.0-only
// `npm run bench`: runs every bench/*.bench.ts in turn, each in its own Node process (so one
// benchmark's JIT state and heap never colour another's), passing its output through.
// A benchmark is a plain script that prints its figures and the ratio to its peer measured
// in the same run. Arguments filter by file name: `node --import tsx bench/run.ts cpu`.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..');
const filters = process.argv.slice(2);
const files = readdirSync(here).filter((f) => f.endsWith('.bench.ts')).sort()
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)));
if (files.length === 0) {
  process.stderr.write('bench: no benchmark matched\n');
  process.exit(1);
}
let failed = 0;
for (const f of files) {
  process.stdout.write(`\n== ${f}\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--import', './scripts/kconfig-defaults.mjs', join('bench', f)],
    { cwd: root, stdio: 'inherit', env: { ...process.env, TSXEN_ROOT: root } });
  if (r.status !== 0) { failed++; process.stderr.write(`bench: ${f} failed (exit ${r.status ?? r.signal})\n`); }
}
process.exit(failed === 0 ? 0 : 1);
