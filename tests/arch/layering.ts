// SPDX-License-Identifier: GPL-2.0-only
// The layering rules of ARCHITECTURE.md §2, as a checker over import specifiers.
//
//   host/        may import anything (process entry points, the only place for node:*)
//   toolstack/   hardware/, its own files, hypervisor/public/ (the ABI); the rest of
//                hypervisor/ only from toolstack/ctrl/ (libxc's role)
//   hypervisor/  hardware/ and itself
//   hardware/    itself; devices (hardware/devices/) never import the CPU (hardware/riscv/)
//   no Node built-in (node:* or a bare builtin name) anywhere below host/
import { builtinModules } from 'node:module';

export const LAYERS = ['hardware', 'hypervisor', 'toolstack', 'host'] as const;
type Layer = (typeof LAYERS)[number];

const BUILTINS = new Set(builtinModules);

/** Import specifiers in a TypeScript source (static, re-exports, dynamic import, require). */
export function importsOf(source: string): string[] {
  const out: string[] = [];
  const re = /(?:^|\n)\s*(?:import|export)\s[^'"]*?from\s*['"]([^'"]+)['"]|(?:^|\n)\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)|\brequire\(\s*['"]([^'"]+)['"]\s*\)/g;
  for (let m = re.exec(source); m; m = re.exec(source)) out.push(m[1] ?? m[2] ?? m[3] ?? m[4]);
  return out;
}

function layerOf(srcRelPath: string): Layer | undefined {
  const top = srcRelPath.split('/')[0];
  return (LAYERS as readonly string[]).includes(top) ? (top as Layer) : undefined;
}

/** Join a relative import onto the importing file's folder (both relative to src/). */
export function resolveRel(fromFile: string, spec: string): string {
  const parts = fromFile.split('/').slice(0, -1);
  for (const seg of spec.split('/')) {
    if (seg === '.' || seg === '') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return parts.join('/');
}

/** Violations for one file (path relative to src/) importing `spec`; empty if allowed. */
export function checkImport(file: string, spec: string): string | undefined {
  const from = layerOf(file);
  if (!from) return undefined;
  const isBuiltin = spec.startsWith('node:') || BUILTINS.has(spec.split('/')[0]);
  if (isBuiltin) return from === 'host' ? undefined : `${file}: imports Node built-in '${spec}' below host/`;
  if (!spec.startsWith('.')) return undefined; // npm packages are judged case by case in review
  const target = resolveRel(file, spec);
  const to = layerOf(target);
  if (!to) return `${file}: imports '${spec}' from outside src/ layers`;
  if (LAYERS.indexOf(to) > LAYERS.indexOf(from)) return `${file}: ${from}/ must not import ${to}/ ('${spec}')`;
  if (from === 'hardware' && file.startsWith('hardware/devices/') && target.startsWith('hardware/riscv/'))
    return `${file}: devices must not import the CPU ('${spec}')`;
  if (from === 'toolstack' && to === 'hypervisor' && !target.startsWith('hypervisor/public/') && !file.startsWith('toolstack/ctrl/'))
    return `${file}: toolstack reaches the hypervisor only through toolstack/ctrl/ or hypervisor/public/ ('${spec}')`;
  return undefined;
}
