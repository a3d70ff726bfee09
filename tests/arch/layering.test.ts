// SPDX-License-Identifier: GPL-2.0-only
// ARCHITECTURE.md §2: dependencies point downwards only. Walks every source file under src/.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { checkImport, importsOf } from './layering.ts';

const srcRoot = join(import.meta.dirname, '..', '..', 'src');

function sources(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) sources(p, out);
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

test('the checker flags each kind of violation', () => {
  assert.match(checkImport('hardware/riscv/hart.ts', '../../hypervisor/domain.ts') ?? '', /must not import hypervisor/);
  assert.match(checkImport('hypervisor/domain.ts', '../toolstack/xl/xl.ts') ?? '', /must not import toolstack/);
  assert.match(checkImport('hardware/devices/uart.ts', '../riscv/hart.ts') ?? '', /devices must not import the CPU/);
  assert.match(checkImport('hypervisor/p2m.ts', 'node:fs') ?? '', /Node built-in/);
  assert.match(checkImport('toolstack/xenstored/core.ts', 'fs') ?? '', /Node built-in/);
  assert.match(checkImport('toolstack/xl/xl.ts', '../../hypervisor/domain.ts') ?? '', /only through toolstack\/ctrl/);
  assert.equal(checkImport('toolstack/ctrl/xc.ts', '../../hypervisor/domain.ts'), undefined);
  assert.equal(checkImport('toolstack/xl/xl.ts', '../../hypervisor/public/xen.ts'), undefined);
  assert.equal(checkImport('host/tsxen-main.ts', 'node:fs'), undefined);
  assert.equal(checkImport('hypervisor/p2m.ts', '../hardware/bus/mmio.ts'), undefined);
});

test('importsOf finds static, side-effect, re-export, dynamic and require imports', () => {
  const src = `import a from './a.ts';\nimport type { B } from "../b.ts";\nimport './c.ts';\nexport * from './d.ts';\nconst e = await import('./e.ts');\nconst f = require('f');`;
  assert.deepEqual(importsOf(src), ['./a.ts', '../b.ts', './c.ts', './d.ts', './e.ts', 'f']);
});

test('every file under src/ respects the layering', () => {
  const files = sources(srcRoot);
  assert.ok(files.length > 0, 'no sources found');
  const violations: string[] = [];
  for (const f of files) {
    const rel = relative(srcRoot, f).split('\\').join('/');
    for (const spec of importsOf(readFileSync(f, 'utf8'))) {
      const v = checkImport(rel, spec);
      if (v) violations.push(v);
    }
  }
  assert.deepEqual(violations, []);
});
