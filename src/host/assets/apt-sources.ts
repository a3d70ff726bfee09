// SPDX-License-Identifier: GPL-2.0-only
// Reads the machine's apt sources to find the Debian mirror it already uses, so the guest
// asset builder never names a mirror itself. Parses both formats of sources.list(5): the
// one-line style (/etc/apt/sources.list, sources.list.d/*.list) and deb822 (*.sources).
// Leaves out: the apt.conf Dir::Etc overrides (we read the standard paths under etcDir).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

export interface AptSource {
  types: string[];          // "deb", "deb-src"
  uris: string[];
  suites: string[];
  components: string[];
  options: Record<string, string>;
  enabled: boolean;
  file: string;
  line: number;             // 1-based line where the entry starts
}

/** Parses one-line entries: `deb [opt=val ...] URI SUITE [COMPONENT...]`. */
export function parseOneLineSources(text: string, file = 'sources.list'): AptSource[] {
  const out: AptSource[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = /^(\S+)\s*(?:\[([^\]]*)\])?\s*(.*)$/.exec(line);
    if (!m) return;
    const type = m[1]!;
    if (type !== 'deb' && type !== 'deb-src') return;
    const options: Record<string, string> = {};
    for (const opt of (m[2] ?? '').trim().split(/\s+/).filter(Boolean)) {
      const eq = opt.indexOf('=');
      if (eq > 0) options[opt.slice(0, eq).replace(/[+-]$/, '').toLowerCase()] = opt.slice(eq + 1);
    }
    const [uri, suite, ...components] = (m[3] ?? '').split(/\s+/).filter(Boolean);
    if (!uri || !suite) return;
    out.push({ types: [type], uris: [uri], suites: [suite], components, options, enabled: true, file, line: i + 1 });
  });
  return out;
}

/** Parses deb822 stanzas (Types/URIs/Suites/Components/Enabled + any other field as an option). */
export function parseDeb822Sources(text: string, file = 'x.sources'): AptSource[] {
  const out: AptSource[] = [];
  let fields = new Map<string, string>();
  let start = 0;
  let last: string | undefined;
  const flush = (): void => {
    if (fields.size > 0) {
      const list = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
      const options: Record<string, string> = {};
      for (const [k, v] of fields) {
        if (!['types', 'uris', 'suites', 'components', 'enabled'].includes(k)) options[k] = v.trim();
      }
      const enabled = !/^(no|false|0)$/i.test((fields.get('enabled') ?? 'yes').trim());
      out.push({ types: list('types'), uris: list('uris'), suites: list('suites'), components: list('components'), options, enabled, file, line: start });
    }
    fields = new Map();
    last = undefined;
  };
  text.split('\n').forEach((raw, i) => {
    if (raw.startsWith('#')) return;                       // comment lines do not end a stanza
    if (raw.trim() === '') { flush(); return; }
    if (/^[ \t]/.test(raw)) {                              // continuation line
      if (last !== undefined) fields.set(last, `${fields.get(last)!}\n${raw.trim() === '.' ? '' : raw.trim()}`);
      return;
    }
    const colon = raw.indexOf(':');
    if (colon <= 0) return;
    if (fields.size === 0) start = i + 1;
    last = raw.slice(0, colon).trim().toLowerCase();
    fields.set(last, raw.slice(colon + 1).trim());
  });
  flush();
  return out;
}

/** Reads sources.list, sources.list.d/*.list and sources.list.d/*.sources under etcDir. */
export function readMachineSources(etcDir = '/etc/apt'): AptSource[] {
  const out: AptSource[] = [];
  const main = join(etcDir, 'sources.list');
  if (existsSync(main)) out.push(...parseOneLineSources(readFileSync(main, 'utf8'), main));
  const dir = join(etcDir, 'sources.list.d');
  if (existsSync(dir)) {
    // apt reads the parts directory in alphabetical order and ignores other extensions.
    for (const name of readdirSync(dir).sort()) {
      const p = join(dir, name);
      if (name.endsWith('.list')) out.push(...parseOneLineSources(readFileSync(p, 'utf8'), p));
      else if (name.endsWith('.sources')) out.push(...parseDeb822Sources(readFileSync(p, 'utf8'), p));
    }
  }
  return out;
}

// Debian's suite names (codenames and aliases). A source is a Debian archive mirror if it
// carries one of these (optionally with -updates / -backports / -proposed-updates).
const DEBIAN_SUITES = new Set([
  'buzz', 'rex', 'bo', 'hamm', 'slink', 'potato', 'woody', 'sarge', 'etch', 'lenny', 'squeeze', 'wheezy', 'jessie',
  'stretch', 'buster', 'bullseye', 'bookworm', 'trixie', 'forky', 'duke', 'sid',
  'oldoldstable', 'oldstable', 'stable', 'testing', 'unstable', 'experimental', 'rc-buggy',
]);

function isDebianMainSuite(suite: string): boolean {
  const [base, ...rest] = suite.split('-');
  const tail = rest.join('-');
  return DEBIAN_SUITES.has(base ?? '') && ['', 'updates', 'backports', 'proposed-updates'].includes(tail);
}

export interface MirrorChoice { uri: string; source: AptSource }

/**
 * Picks the Debian archive mirror from the machine's sources: the first enabled "deb" entry
 * whose suites are Debian's own (security archives, which carry no trixie main, and third-party
 * repositories are skipped) and whose components include main.
 */
export function pickDebianMirror(sources: readonly AptSource[]): MirrorChoice | undefined {
  for (const s of sources) {
    if (!s.enabled || !s.types.includes('deb')) continue;
    if (!s.suites.some(isDebianMainSuite) || !s.components.includes('main')) continue;
    const uri = s.uris.find((u) => /^[a-z][a-z0-9+.-]*:/i.test(u) && !u.startsWith('cdrom:') && !/security/i.test(u));
    if (uri) return { uri: uri.replace(/\/+$/, ''), source: s };
  }
  return undefined;
}
