// SPDX-License-Identifier: GPL-2.0-only
// docs/man/xl.cfg.5.md is the list of keys the parser honours and ignores: both tables must
// equal domain-config.ts's KNOWN_KEYS and IGNORED_KEYS, and xl.1.md must cover the command table.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { IGNORED_KEYS, KNOWN_KEYS } from '../../src/toolstack/xl/domain-config.ts';
import { CMD_TABLE } from '../../src/toolstack/xl/xl-cmdtable.ts';

const MAN = join(import.meta.dirname, '..', '..', 'docs', 'man');

function section(md: string, title: string): string {
  const i = md.indexOf(`## ${title}`);
  assert.ok(i >= 0, `section ${title}`);
  const j = md.indexOf('\n## ', i + 3);
  return md.slice(i, j < 0 ? undefined : j);
}

test('xl.cfg.5.md lists exactly the keys the parser honours and ignores', () => {
  const md = readFileSync(join(MAN, 'xl.cfg.5.md'), 'utf8');
  const honoured = [...section(md, 'Keys tsxen honours').matchAll(/^\| `([a-z_]+)` \|/gm)].map((m) => m[1]);
  assert.deepEqual(honoured.sort(), [...KNOWN_KEYS].sort());
  const ignoredPara = section(md, 'Keys accepted and ignored').split('\n').find((l) => l.startsWith('`seclabel`')) ?? '';
  const ignored = [...ignoredPara.matchAll(/`([a-z0-9_]+)`/g)].map((m) => m[1]);
  assert.deepEqual(ignored.sort(), [...IGNORED_KEYS].sort());
});

test('xl.1.md documents every command in the table', () => {
  const md = readFileSync(join(MAN, 'xl.1.md'), 'utf8');
  for (const c of CMD_TABLE) assert.match(md, new RegExp(`^### ${c.name}\\b`, 'm'), c.name);
});
