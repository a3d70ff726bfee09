// SPDX-License-Identifier: GPL-2.0-only
// The newc writer, checked by Debian's cpio(1): `cpio -itv` must list every entry with the
// right type, mode, size, device numbers and link target, and `cpio -i --to-stdout` must give
// back each file's bytes (payload lengths 0-9 exercise every padding case).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { cpioPath, writeCpio, type CpioEntry } from './cpio.ts';

const enc = new TextEncoder();

function withArchive(entries: CpioEntry[], fn: (file: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'tsxen-cpio-'));
  try {
    const file = join(dir, 'a.cpio');
    writeFileSync(file, writeCpio(entries, { mtime: 1700000000 }));
    fn(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function cpio(args: string[], file: string): string {
  const r = spawnSync('cpio', args, { input: readFileSync(file), encoding: 'latin1' });
  assert.equal(r.status, 0, `cpio ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

test('cpio -itv lists directories, files, symlinks and device nodes as written', () => {
  const entries: CpioEntry[] = [
    { kind: 'dir', path: 'bin' },
    { kind: 'dir', path: '/dev/', mode: 0o750 },
    { kind: 'file', path: './bin/busybox', data: new Uint8Array(12345).fill(7), mode: 0o755 },
    { kind: 'symlink', path: 'bin/sh', target: 'busybox' },
    { kind: 'chr', path: 'dev/console', major: 5, minor: 1 },
    { kind: 'blk', path: 'dev/vda', major: 254, minor: 0, mode: 0o660 },
    { kind: 'file', path: 'init', data: enc.encode('#!/bin/sh\necho hi\n'), mode: 0o755 },
  ];
  withArchive(entries, (file) => {
    const lines = cpio(['-itv', '--quiet'], file).trim().split('\n');
    assert.equal(lines.length, entries.length);
    const row = (i: number): string[] => lines[i]!.trim().split(/\s+/);
    assert.deepEqual(row(0).slice(0, 1), ['drwxr-xr-x']);
    assert.equal(row(0).at(-1), 'bin');
    assert.equal(row(1)[0], 'drwxr-x---');
    assert.equal(row(1).at(-1), 'dev');
    assert.equal(row(2)[0], '-rwxr-xr-x');
    assert.equal(row(2)[4], '12345');
    assert.equal(row(2).at(-1), 'bin/busybox');
    assert.equal(row(3)[0], 'lrwxrwxrwx');
    assert.deepEqual(row(3).slice(-3), ['bin/sh', '->', 'busybox']);
    assert.equal(row(4)[0], 'crw-------');
    assert.match(lines[4]!, /\s5,\s+1\s/);
    assert.equal(row(5)[0], 'brw-rw----');
    assert.match(lines[5]!, /\s254,\s+0\s/);
    assert.equal(row(6).at(-1), 'init');
    for (const l of lines) assert.match(l, / root +root /);
    assert.match(lines[2]!, /Nov 14\s+2023/);  // mtime 1700000000
  });
});

test('file payloads of every length round-trip through cpio -i --to-stdout', () => {
  const entries: CpioEntry[] = [];
  for (let n = 0; n < 10; n++) {
    entries.push({ kind: 'file', path: `f${'x'.repeat(n)}`, data: Uint8Array.from({ length: n }, (_, i) => 65 + ((i + n) % 26)) });
  }
  withArchive(entries, (file) => {
    for (const e of entries) {
      if (e.kind !== 'file') continue;
      const r = spawnSync('cpio', ['-i', '--quiet', '--to-stdout', e.path], { input: readFileSync(file) });
      assert.equal(r.status, 0, r.stderr.toString());
      assert.deepEqual(new Uint8Array(r.stdout), e.data, e.path);
    }
  });
});

test('the archive ends with a TRAILER!!! record and is 4-byte aligned', () => {
  const out = writeCpio([{ kind: 'file', path: 'a', data: enc.encode('abc') }]);
  assert.equal(out.length % 4, 0);
  const text = Buffer.from(out).toString('latin1');
  assert.ok(text.startsWith('070701'));
  assert.ok(text.includes('TRAILER!!!\0'));
  // header field c_filesize (7th field) of entry "a" is 3.
  assert.equal(text.slice(6 + 6 * 8, 6 + 7 * 8), '00000003');
});

test('bad paths and duplicates are refused', () => {
  assert.throws(() => writeCpio([{ kind: 'dir', path: 'a/../b' }]), /'\.\.'/);
  assert.throws(() => writeCpio([{ kind: 'dir', path: 'a' }, { kind: 'dir', path: './a/' }]), /duplicate entry 'a'/);
  assert.equal(cpioPath('//a/./b/'), 'a/b');
  assert.throws(() => writeCpio([{ kind: 'chr', path: 'x', major: -1, minor: 0 }]), /does not fit/);
});
