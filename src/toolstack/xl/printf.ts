// SPDX-License-Identifier: GPL-2.0-only
// A small C printf for the toolstack's byte-exact output (xl's tables are printf formats):
// %s %d %u %x %c %f and %%, with '-' (left-justify), '0' (zero pad), width and .precision.
// Unknown conversions are a programming error and throw.

export function sprintf(fmt: string, ...args: unknown[]): string {
  let ai = 0;
  return fmt.replace(/%(-?)(0?)(\d*)(?:\.(\d+))?(l{0,2}|z)?([sdiuxXcf%])/g, (_m, minus: string, zero: string, width: string, prec: string | undefined, _len: string, conv: string) => {
    if (conv === '%') return '%';
    const a = args[ai++];
    let s: string;
    switch (conv) {
      case 's': s = String(a); if (prec !== undefined) s = s.slice(0, Number(prec)); break;
      case 'd': case 'i': s = Math.trunc(Number(a)).toString(); break;
      case 'u': s = Math.trunc(Number(a)).toString(); break;
      case 'x': s = Math.trunc(Number(a)).toString(16); break;
      case 'X': s = Math.trunc(Number(a)).toString(16).toUpperCase(); break;
      case 'c': s = typeof a === 'number' ? String.fromCharCode(a) : String(a).slice(0, 1); break;
      case 'f': s = fixed(Number(a), prec === undefined ? 6 : Number(prec)); break;
      default: throw new Error(`sprintf: unsupported conversion %${conv}`);
    }
    const w = width === '' ? 0 : Number(width);
    if (s.length >= w) return s;
    if (minus) return s.padEnd(w);
    if (zero && conv !== 's' && conv !== 'c') {
      const neg = s.startsWith('-');
      return (neg ? '-' : '') + (neg ? s.slice(1) : s).padStart(w - (neg ? 1 : 0), '0');
    }
    return s.padStart(w);
  });
}

/**
 * C's %.Nf: round the exact binary value to N decimals, ties to even (glibc under the default
 * rounding mode). Number.prototype.toFixed rounds exact ties away from zero instead
 * (2.25 → "2.3" where C prints "2.2"), so work on the exact decimal expansion.
 */
function fixed(x: number, prec: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'nan' : x < 0 ? '-inf' : 'inf';
  const neg = x < 0 || Object.is(x, -0);
  const exact = Math.abs(x).toFixed(100); // exact for every double >= 2^-47 or so, far beyond our needs
  const dot = exact.indexOf('.');
  const keep = exact.slice(0, dot + 1 + prec);
  const rest = exact.slice(dot + 1 + prec);
  const digits = (keep.endsWith('.') ? keep.slice(0, -1) : keep).replace('.', '');
  let roundUp = rest[0] > '5' || (rest[0] === '5' && /[1-9]/.test(rest.slice(1)));
  if (rest[0] === '5' && !/[1-9]/.test(rest.slice(1))) roundUp = Number(digits[digits.length - 1]) % 2 === 1;
  let n = digits.split('').map(Number);
  if (roundUp) {
    let i = n.length - 1;
    while (i >= 0 && n[i] === 9) n[i--] = 0;
    if (i < 0) n = [1, ...n]; else n[i]++;
  }
  const intLen = n.length - prec;
  const str = prec === 0 ? n.join('') : `${n.slice(0, intLen).join('') || '0'}.${n.slice(intLen).join('')}`;
  return neg ? `-${str}` : str;
}
