// SPDX-License-Identifier: GPL-2.0-only
// Test support for PV guests under xl (tests/xl/{block,network,pv-control,bridge-hvm-pv}.e2e):
// a file's set-up (the PV kernel built, a host started, a temp dir), xl.cfg files for our PV
// kernel with a test= program, waiting on a guest's console log, and domid lookup.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildPvKernel } from '../../guests/pv/build.mjs';
import { startXlHost, type XlHost } from './xl-harness.ts';

/** A test file's `before`: build the PV kernel, start a host, make a temp dir `tsxen-<tag>-*`. */
export function startPvGuests(tag: string): { h: XlHost; dir: string; g: PvGuests } {
  const kernel = buildPvKernel();
  const h = startXlHost();
  const dir = mkdtempSync(join(tmpdir(), `tsxen-${tag}-`));
  return { h, dir, g: new PvGuests(h, dir, kernel) };
}

/** Its `after`: stop the host and remove the temp dir (either may be missing if `before` failed). */
export function stopPvGuests(h: XlHost | undefined, dir: string | undefined): void {
  h?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

export class PvGuests {
  constructor(private readonly h: XlHost, private readonly dir: string, private readonly kernel: string) {}

  /** An xl.cfg for a PV guest running `extra` (the PV kernel's command line), plus `more` lines. */
  cfg(name: string, extra: string, more = ''): string {
    const p = join(this.dir, `${name}.cfg`);
    writeFileSync(p, `name = "${name}"\ntype = "pv"\nkernel = "${this.kernel}"\nmemory = 16\nvcpus = 1\nextra = "${extra}"\n${more}`);
    return p;
  }

  console(name: string): string {
    const f = join(this.h.runDir, 'console', `guest-${name}.log`);
    return existsSync(f) ? readFileSync(f, 'latin1') : '';
  }

  /** Wait until the guest's console matches `re`; a FAIL line, a crash or `ms` fail the test. */
  async wait(name: string, re: RegExp, ms = 120_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const t = this.console(name);
      if (re.test(t)) return t;
      if (/FAIL|pv: crash/.test(t)) assert.fail(`guest ${name} failed:\n${t}`);
      if (Date.now() > end) assert.fail(`guest ${name}: no ${re} within ${ms} ms:\n${t}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  domid(name: string): number {
    const r = this.h.xl('domid', name);
    assert.equal(r.code, 0, r.err);
    return Number(r.out.trim());
  }

  hostLog(): string {
    return readFileSync(join(this.h.runDir, 'host.log'), 'utf8');
  }
}
