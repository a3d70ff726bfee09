// SPDX-License-Identifier: GPL-2.0-only
// Loaded with `node --import` when running TypeScript unbundled (tests, tsx): defines every
// CONFIG_* flag from scripts/kconfig.json on globalThis unless the environment overrides it
// (CONFIG_FOO=0 or =1). Bundles get the same flags through esbuild --define instead.
import { readFileSync } from 'node:fs';
const flags = JSON.parse(readFileSync(new URL('./kconfig.json', import.meta.url), 'utf8'));
for (const [name, def] of Object.entries(flags)) {
  if (!name.startsWith('CONFIG_')) continue;
  const env = process.env[name];
  globalThis[name] ??= env === undefined ? def : env === '1' || env === 'y' || env === 'true';
}
