#!/usr/bin/env node
// SPDX-License-Identifier: GPL-2.0-only
// One-shot set-up used by `npm start` and `npm test`: checks Node, installs npm dependencies
// when node_modules is missing or stale, and installs the Debian packages listed in
// scripts/deps.json with apt-get (as root) or says exactly what to install (otherwise).
// Plain JavaScript on purpose: it must run before any dependency exists.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const purpose = process.argv.includes('--test') ? 'test' : 'start';
const quiet = process.argv.includes('--quiet');
const log = (msg) => { if (!quiet) process.stderr.write(`setup: ${msg}\n`); };

function fail(msg) {
  process.stderr.write(`setup: ${msg}\n`);
  process.exit(1);
}

// Node version: the project targets Node >= 20.19 (package.json "engines").
const [maj, min] = process.versions.node.split('.').map(Number);
if (maj < 20 || (maj === 20 && min < 19)) fail(`Node ${process.versions.node} is too old; tsxen needs Node >= 20.19`);

// npm dependencies.
function npmStale() {
  const marker = join(root, 'node_modules', '.package-lock.json');
  if (!existsSync(marker)) return true;
  const lock = join(root, 'package-lock.json');
  return existsSync(lock) && statSync(lock).mtimeMs > statSync(marker).mtimeMs + 1000;
}
if (npmStale()) {
  log('installing npm dependencies');
  const lock = existsSync(join(root, 'package-lock.json'));
  const r = spawnSync('npm', [lock ? 'ci' : 'install', '--no-audit', '--no-fund'], { cwd: root, stdio: ['ignore', 'inherit', 'inherit'] });
  if (r.status !== 0) fail('npm install failed (see above)');
}

// Debian packages.
const deps = JSON.parse(readFileSync(join(root, 'scripts', 'deps.json'), 'utf8'));
const wanted = [...new Set([...(deps.start ?? []), ...(purpose === 'test' ? deps.test ?? [] : [])])];
function installed(pkg) {
  const r = spawnSync('dpkg-query', ['-W', '-f=${Status}', pkg], { encoding: 'utf8' });
  return r.status === 0 && r.stdout.includes('install ok installed');
}
if (existsSync('/usr/bin/dpkg-query')) {
  const missing = wanted.filter((p) => !installed(p));
  if (missing.length > 0) {
    const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
    if (!isRoot) fail(`missing Debian packages; run as root: apt-get install -y ${missing.join(' ')}`);
    log(`installing Debian packages: ${missing.join(' ')}`);
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    const opts = { stdio: ['ignore', quiet ? 'ignore' : 'inherit', 'inherit'], env };
    execFileSync('apt-get', ['update', '-q'], opts);
    execFileSync('apt-get', ['install', '-y', '-q', '--no-install-recommends', ...missing], opts);
  }
} else {
  log(`not a Debian system: make sure these are installed: ${wanted.join(' ')}`);
}
