// SPDX-License-Identifier: GPL-2.0-only
// The private apt state: package stanza parsing, the metapackage -> kernel package step,
// the sources list it writes, and that apt's verification is enforced: an unreachable mirror
// and a mirror whose InRelease is signed by an unknown key are both one-line errors.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { aptOptions, aptUpdate, debFileName, kernelPackageFromMeta, parsePackageStanzas, setupApt } from './apt.ts';

const SHOW = `Package: linux-image-riscv64
Source: linux
Version: 6.12.117-1
Architecture: riscv64
Depends: linux-image-6.12.117+deb13-riscv64 (= 6.12.117-1)
Description: Linux for 64-bit RISC-V platforms (meta-package)
 continuation line
Filename: pool/main/l/linux/linux-image-riscv64_6.12.117-1_riscv64.deb
Size: 1444
SHA256: C1685361464FCE280B85273C0914696C4167AB4D94A335C22401B52A1F7F9959

Package: busybox-static
Version: 1:1.37.0-6+b9
Filename: pool/main/b/busybox/busybox-static_1.37.0-6+b9_riscv64.deb
Size: 941532
SHA256: 4add476d2b185c5b487c285b38d790f0881a7e4a8e2ddde835f917e770eb8633
`;

test('apt-cache show stanzas parse; the metapackage names the kernel image package', () => {
  const [meta, bb] = parsePackageStanzas(SHOW);
  assert.equal(meta!.package, 'linux-image-riscv64');
  assert.equal(meta!.size, 1444);
  assert.equal(meta!.sha256, 'c1685361464fce280b85273c0914696c4167ab4d94a335c22401b52a1f7f9959');
  assert.equal(kernelPackageFromMeta(meta!), 'linux-image-6.12.117+deb13-riscv64');
  assert.equal(bb!.version, '1:1.37.0-6+b9');
  assert.equal(debFileName(bb!), 'busybox-static_1%3a1.37.0-6+b9_riscv64.deb');
  assert.equal(kernelPackageFromMeta({ ...meta!, depends: 'linux-image-6.1.0-9-riscv64 (= 6.1.27-1) | linux-image-6.1.0-9-riscv64-unsigned' }), 'linux-image-6.1.0-9-riscv64');
  assert.throws(() => kernelPackageFromMeta({ ...meta!, depends: 'linux-base' }), /does not depend on a linux-image-<version>-riscv64/);
});

function withDir(fn: (dir: string) => Promise<void>): () => Promise<void> {
  return async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tsxen-apt-'));
    try { await fn(dir); } finally { rmSync(dir, { recursive: true, force: true }); }
  };
}

test('the private sources list reuses the machine mirror with arch and signed-by; apt is pointed at it', withDir(async (dir) => {
  const etc = join(dir, 'etc-apt');
  mkdirSync(join(etc, 'sources.list.d'), { recursive: true });
  writeFileSync(join(etc, 'sources.list.d', 'debian.sources'), `Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\nComponents: main\nSigned-By: ${join(dir, 'k.gpg')}\n`);
  writeFileSync(join(dir, 'k.gpg'), '');
  const cfg = setupApt(join(dir, 'apt'), {}, etc, join(dir, 'no-default-keyring.gpg'));
  assert.equal(cfg.mirror, 'http://mirror.example/debian');
  assert.equal(cfg.keyring, join(dir, 'k.gpg'), "without the archive keyring, the source's Signed-By");
  writeFileSync(join(dir, 'archive.gpg'), '');
  assert.equal(setupApt(join(dir, 'apt-k'), {}, etc, join(dir, 'archive.gpg')).keyring, join(dir, 'archive.gpg'), 'the Debian archive keyring first');
  assert.equal(cfg.mirrorFrom, `${join(etc, 'sources.list.d', 'debian.sources')}:1`);
  assert.match(readFileSync(join(dir, 'apt', 'etc', 'sources.list'), 'utf8'), new RegExp(`^deb \\[arch=riscv64 signed-by=${join(dir, 'k.gpg')}\\] http://mirror\\.example/debian trixie main$`, 'm'));
  assert.equal(cfg.changed, true);
  assert.equal(setupApt(join(dir, 'apt'), {}, etc, join(dir, 'no-default-keyring.gpg')).changed, false, 'same source line: the lists stay valid');
  assert.equal(setupApt(join(dir, 'apt'), { TSXEN_APT_MIRROR: 'http://m3.example/debian' }, etc, join(dir, 'no-default-keyring.gpg')).changed, true);
  const o = aptOptions(cfg).join(' ');
  for (const k of ['Dir::Etc::SourceList', 'Dir::Etc::SourceParts', 'Dir::State::Lists', 'Dir::State::status', 'Dir::Cache', 'APT::Architecture=riscv64', 'APT::Architectures=riscv64']) assert.ok(o.includes(k), k);
  assert.throws(() => setupApt(join(dir, 'apt2'), {}, join(dir, 'nowhere')), /no Debian mirror found in this machine's apt sources/);
  assert.equal(setupApt(join(dir, 'apt3'), { TSXEN_APT_MIRROR: 'http://other.example/debian/' }, join(dir, 'nowhere')).mirror, 'http://other.example/debian');
}));

test('an unreachable mirror is a one-line error that says what to do', withDir(async (dir) => {
  const cfg = setupApt(join(dir, 'apt'), { TSXEN_APT_MIRROR: 'http://127.0.0.1:9/debian' });
  await assert.rejects(aptUpdate(cfg, ['-o', 'Acquire::Retries=0']), (e: Error) => {
    assert.equal(e.name, 'AssetError');
    assert.match(e.message, /^apt-get update from http:\/\/127\.0\.0\.1:9\/debian \(found in TSXEN_APT_MIRROR\) failed: Err:\S* http:\/\/127\.0\.0\.1:9\/debian trixie InRelease: .*refused.*provide TSXEN_KERNEL and TSXEN_INITRD instead\)$/);
    assert.doesNotMatch(e.message, /\n/);
    return true;
  });
}));

test('an InRelease signed by a key outside the keyring is refused, not used', withDir(async (dir) => {
  // A throw-away signing key and a clear-signed Release, served by a local HTTP "mirror".
  const gnupg = join(dir, 'gnupg');
  mkdirSync(gnupg, { mode: 0o700 });
  const gpg = (...args: string[]): string => {
    const r = spawnSync('gpg', ['--batch', '--homedir', gnupg, '--pinentry-mode', 'loopback', '--passphrase', '', ...args], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout;
  };
  gpg('--quick-gen-key', 'tsxen test <test@example.invalid>', 'ed25519', 'sign', 'never');
  writeFileSync(join(dir, 'Release'), 'Origin: Test\nSuite: trixie\nCodename: trixie\nDate: Thu, 01 Jan 2026 00:00:00 UTC\nArchitectures: riscv64\nComponents: main\nSHA256:\n');
  gpg('--clearsign', '--output', join(dir, 'InRelease'), join(dir, 'Release'));
  const inrelease = readFileSync(join(dir, 'InRelease'));
  const server = createServer((req, res) => {
    if (req.url === '/debian/dists/trixie/InRelease') { res.writeHead(200); res.end(inrelease); } else { res.writeHead(404); res.end(); }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  try {
    const port = (server.address() as AddressInfo).port;
    const cfg = setupApt(join(dir, 'apt'), { TSXEN_APT_MIRROR: `http://127.0.0.1:${port}/debian` });
    assert.ok(cfg.keyring, 'the machine has a Debian archive keyring');
    await assert.rejects(aptUpdate(cfg), /apt could not verify the signature of trixie's InRelease .*NO_PUBKEY/);
  } finally {
    server.close();
  }
}));
