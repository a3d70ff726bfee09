// SPDX-License-Identifier: GPL-2.0-only
// `tsxen assets [--rebuild] [--print] [--json]`: builds (or finds in the cache) the Debian guest
// kernel and initramfs and says where they are. --print writes just the two paths, one per
// line (kernel, then initrd), for scripts: qemu-system-riscv64 -kernel "$(...|head -1)".
import { readFileSync } from 'node:fs';
import type { Manifest } from './cache.ts';
import { ensureGuestAssets } from './index.ts';
import { AssetError } from './run.ts';

const USAGE = `usage: tsxen assets [--rebuild] [--print] [--json] [--quiet]
  builds Debian trixie's riscv64 kernel + busybox initramfs (cached) and prints their paths
  --rebuild  re-read the mirror's index and rebuild even if a build is cached
  --print    only the kernel and initrd paths, one per line
  --json     the result as JSON
  --quiet    no progress display on stderr
environment: TSXEN_CACHE (cache dir), TSXEN_KERNEL / TSXEN_INITRD (use these files instead),
  TSXEN_APT_MIRROR (mirror URI instead of the one in /etc/apt), TSXEN_KERNEL_PACKAGE
`;

export async function assetsCommand(args: readonly string[]): Promise<number> {
  const flags = new Set<string>();
  for (const a of args) {
    if (a === '-h' || a === '--help') { process.stdout.write(USAGE); return 0; }
    if (!['--rebuild', '--print', '--json', '--quiet'].includes(a)) throw new AssetError(`assets: unknown option '${a}' (try 'tsxen assets --help')`);
    flags.add(a);
  }
  const r = await ensureGuestAssets({ rebuild: flags.has('--rebuild'), progress: flags.has('--quiet') ? null : process.stderr });
  if (flags.has('--json')) process.stdout.write(JSON.stringify(r, null, 2) + '\n');
  else if (flags.has('--print')) process.stdout.write(`${r.kernel}\n${r.initrd}\n`);
  else {
    const m = r.manifest ? JSON.parse(readFileSync(r.manifest, 'utf8')) as Manifest : undefined;
    const demand = m?.modules.filter((x) => !x.boot).map((x) => x.name) ?? [];
    process.stdout.write(`kernel    ${r.kernel}\ninitrd    ${r.initrd}\nversion   ${r.version}\nmodules   ${r.modules.join(' ') || '(none)'}\n` +
      (demand.length ? `on demand ${demand.join(' ')}\n` : '') +
      (m ? `packages  ${Object.entries(m.packages).map(([n, p]) => `${n} ${p.version}`).join(', ')}\nmanifest  ${r.manifest}\n` : '') +
      `source    ${r.source}\n`);
  }
  return 0;
}
