// SPDX-License-Identifier: GPL-2.0-only
// The sources.list(5) parsers (one-line and deb822) and the choice of the Debian mirror, on
// fixed texts and on this machine's real /etc/apt.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseDeb822Sources, parseOneLineSources, pickDebianMirror, readMachineSources } from './apt-sources.ts';

// Example host names use the reserved .example domain (RFC 2606).
test('one-line format: options, comments, deb-src and components', () => {
  const s = parseOneLineSources([
    '# a comment',
    'deb http://mirror.example/debian bookworm main contrib  # trailing comment',
    'deb-src http://mirror.example/debian bookworm main',
    'deb [ arch=amd64,arm64 signed-by=/usr/share/keyrings/k.gpg ] https://m2.example/debian/ trixie main',
    'deb [trusted=yes] file:/srv/repo ./',
    '',
    'not-a-type http://x.example y z',
  ].join('\n'), '/etc/apt/sources.list');
  assert.equal(s.length, 4);
  assert.deepEqual(s[0], { types: ['deb'], uris: ['http://mirror.example/debian'], suites: ['bookworm'], components: ['main', 'contrib'], options: {}, enabled: true, file: '/etc/apt/sources.list', line: 2 });
  assert.deepEqual(s[1]!.types, ['deb-src']);
  assert.deepEqual(s[2]!.options, { arch: 'amd64,arm64', 'signed-by': '/usr/share/keyrings/k.gpg' });
  assert.equal(s[2]!.uris[0], 'https://m2.example/debian/');
  assert.deepEqual(s[3]!.components, []);
  assert.equal(s[3]!.suites[0], './');
});

test('deb822 format: stanzas, comments, Enabled: no, multi-line fields', () => {
  const s = parseDeb822Sources([
    '# comment before',
    'Types: deb deb-src',
    'URIs: http://mirror.example/debian',
    '# comment inside a stanza',
    'Suites: bookworm bookworm-updates',
    'Components: main non-free-firmware',
    'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg',
    '',
    '',
    'Types: deb',
    'URIs: http://security.example/debian-security',
    'Suites: bookworm-security',
    'Components: main',
    'Enabled: no',
    'Signed-By:',
    ' -----BEGIN PGP PUBLIC KEY BLOCK-----',
    ' .',
    ' mQINBF...',
    ' -----END PGP PUBLIC KEY BLOCK-----',
  ].join('\n'), 'x.sources');
  assert.equal(s.length, 2);
  assert.deepEqual(s[0]!.types, ['deb', 'deb-src']);
  assert.deepEqual(s[0]!.suites, ['bookworm', 'bookworm-updates']);
  assert.deepEqual(s[0]!.components, ['main', 'non-free-firmware']);
  assert.equal(s[0]!.options['signed-by'], '/usr/share/keyrings/debian-archive-keyring.gpg');
  assert.equal(s[0]!.line, 2);
  assert.equal(s[0]!.enabled, true);
  assert.equal(s[1]!.enabled, false);
  assert.equal(s[1]!.line, 10);
  assert.match(s[1]!.options['signed-by']!, /^\n?-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmQINBF\.\.\.\n-----END/);
});

test('the mirror is the first enabled Debian "deb" source with main; security and third-party ones are skipped', () => {
  const sources = [
    ...parseOneLineSources('deb https://packages.vendor.example/apt cloud-sdk-bookworm main\ndeb-src http://src.example/debian bookworm main', 'a.list'),
    ...parseDeb822Sources('Types: deb\nURIs: https://repo.vendor.example/node_20.x\nSuites: nodistro\nComponents: main\n', 'b.sources'),
    ...parseDeb822Sources('Types: deb\nURIs: http://sec.example/debian-security\nSuites: bookworm-security\nComponents: main\n', 'c.sources'),
    ...parseDeb822Sources('Types: deb\nURIs: http://off.example/debian\nSuites: bookworm\nComponents: main\nEnabled: no\n', 'd.sources'),
    ...parseDeb822Sources('Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm bookworm-updates\nComponents: main\n', 'e.sources'),
    ...parseOneLineSources('deb http://later.example/debian trixie main', 'f.list'),
  ];
  const m = pickDebianMirror(sources);
  assert.equal(m?.uri, 'http://mirror.example/debian');
  assert.equal(m?.source.file, 'e.sources');
  assert.equal(pickDebianMirror(sources.slice(0, 4)), undefined);
  assert.equal(pickDebianMirror(parseOneLineSources('deb http://x.example/debian sid contrib')), undefined);
  assert.equal(pickDebianMirror(parseOneLineSources('deb http://x.example/debian stable-backports main'))?.uri, 'http://x.example/debian');
});

test('readMachineSources reads sources.list, *.list and *.sources and ignores other files', () => {
  const etc = mkdtempSync(join(tmpdir(), 'tsxen-apt-'));
  try {
    mkdirSync(join(etc, 'sources.list.d'));
    writeFileSync(join(etc, 'sources.list'), 'deb http://one.example/debian bookworm main\n');
    writeFileSync(join(etc, 'sources.list.d', 'b.sources'), 'Types: deb\nURIs: http://two.example/debian\nSuites: trixie\nComponents: main\n');
    writeFileSync(join(etc, 'sources.list.d', 'a.list'), 'deb http://three.example/debian sid main\n');
    writeFileSync(join(etc, 'sources.list.d', 'c.list.disabled'), 'deb http://four.example/debian sid main\n');
    const s = readMachineSources(etc);
    assert.deepEqual(s.map((x) => x.uris[0]), ['http://one.example/debian', 'http://three.example/debian', 'http://two.example/debian']);
  } finally {
    rmSync(etc, { recursive: true, force: true });
  }
});

test("this machine's apt sources yield a Debian mirror that appears verbatim in them", () => {
  const m = pickDebianMirror(readMachineSources('/etc/apt'));
  assert.ok(m, 'no Debian mirror in /etc/apt (the asset builder needs one)');
  assert.match(m.uri, /^[a-z+]+:\/\//);
  const files = [join('/etc/apt', 'sources.list'), ...readdirSync('/etc/apt/sources.list.d').map((f) => join('/etc/apt/sources.list.d', f))].filter(existsSync);
  assert.ok(files.some((f) => readFileSync(f, 'utf8').includes(m.uri)));
});
