// SPDX-License-Identifier: GPL-2.0-only
// The xl.cfg grammar (xl.cfg(5); libxlu's tools/libxl/libxlu_cfg_l.l and _y.y at Xen 4.7):
//   file      = { statement }           statement = IDENT ("=" | "+=") value (NEWLINE | ";")
//   value     = STRING | NUMBER | "[" [ value { "," value } [","] ] "]"   (lists may span lines)
//   IDENT     = [a-z][._0-9a-z]*        NUMBER = [0-9][0-9a-fx]*   (interpreted by the consumer)
//   STRING    = '...' or "..." on one line, with C escapes
//   "#" starts a comment to end of line; "+ - . ( ) :" outside strings are errors (libxlu's
//   "likely python" heuristic). A repeated key: the last assignment wins ("+=" appends, as
//   later Xen allows). Every error carries file, line and column.

export type CfgValue =
  | { kind: 'string'; value: string; line: number; col: number }
  | { kind: 'number'; text: string; line: number; col: number }
  | { kind: 'list'; items: CfgValue[]; line: number; col: number };

export interface CfgSetting {
  readonly name: string;
  readonly value: CfgValue;
  readonly line: number;
  readonly col: number;
}

export class CfgParseError extends Error {
  constructor(readonly file: string, readonly line: number, readonly col: number, readonly near: string, detail: string) {
    super(`${file}:${line}:${col}: config parsing error near \`${near}': ${detail}`);
    this.name = 'CfgParseError';
  }
}

type Tok =
  | { t: 'ident'; s: string; line: number; col: number }
  | { t: 'number'; s: string; line: number; col: number }
  | { t: 'string'; s: string; raw: string; line: number; col: number }
  | { t: 'punct'; s: '=' | '+=' | '[' | ']' | ',' | ';' | '\n'; line: number; col: number }
  | { t: 'eof'; s: ''; line: number; col: number };

const ESCAPES: Record<string, string> = { a: '\x07', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t', v: '\v', '"': '"', "'": "'", '\\': '\\' };

function lex(text: string, file: string): Tok[] {
  const toks: Tok[] = [];
  let i = 0;
  let line = 1;
  let lineStart = 0;
  const err = (near: string, detail: string, at = i): never => {
    throw new CfgParseError(file, line, at - lineStart + 1, near, detail);
  };
  while (i < text.length) {
    const c = text[i];
    const col = i - lineStart + 1;
    if (c === ' ' || c === '\t' || c === '\r') { i++; continue; }
    if (c === '#') { while (i < text.length && text[i] !== '\n') i++; continue; }
    if (c === '\n') {
      toks.push({ t: 'punct', s: '\n', line, col });
      i++; line++; lineStart = i;
      continue;
    }
    if (c === '\\' && text[i + 1] === '\n') { i += 2; line++; lineStart = i; continue; } // line continuation
    if (c >= 'a' && c <= 'z') {
      const m = /^[a-z][._0-9a-z]*/.exec(text.slice(i, i + 256))!;
      toks.push({ t: 'ident', s: m[0], line, col });
      i += m[0].length;
      continue;
    }
    if (c >= '0' && c <= '9') {
      const m = /^[0-9][0-9a-fx]*/.exec(text.slice(i, i + 256))!;
      toks.push({ t: 'number', s: m[0], line, col });
      i += m[0].length;
      continue;
    }
    if (c === '"' || c === "'") {
      let s = '';
      let j = i + 1;
      for (;;) {
        if (j >= text.length || text[j] === '\n') err(text.slice(i, j), 'unterminated string');
        const d = text[j];
        if (d === c) { j++; break; }
        if (d === '\\') {
          const e = text[j + 1];
          if (e !== undefined && e in ESCAPES) { s += ESCAPES[e]; j += 2; continue; }
          if (e === 'x') {
            const hex = /^[0-9a-fA-F]{1,2}/.exec(text.slice(j + 2, j + 4));
            if (!hex) err(text.slice(j, j + 4), 'bad \\x escape in string', j);
            s += String.fromCharCode(parseInt(hex![0], 16)); j += 2 + hex![0].length; continue;
          }
          const oct = /^[0-7]{1,3}/.exec(text.slice(j + 1, j + 4));
          if (oct) { s += String.fromCharCode(parseInt(oct[0], 8) & 0xff); j += 1 + oct[0].length; continue; }
          err(text.slice(j, j + 2), 'unknown escape in string', j);
        }
        s += d; j++;
      }
      toks.push({ t: 'string', s, raw: text.slice(i, j), line, col });
      i = j;
      continue;
    }
    if (c === '+' && text[i + 1] === '=') { toks.push({ t: 'punct', s: '+=', line, col }); i += 2; continue; }
    if (c === '=' || c === '[' || c === ']' || c === ',' || c === ';') { toks.push({ t: 'punct', s: c, line, col }); i++; continue; }
    if ('+-.():'.includes(c)) err(c, 'unexpected character (this looks like Python, not xl.cfg syntax)');
    if (c >= 'A' && c <= 'Z') err(c, 'keys are lower case');
    err(c, 'unexpected character');
  }
  toks.push({ t: 'eof', s: '', line, col: i - lineStart + 1 });
  return toks;
}

/** Parse xl.cfg text. Returns the settings in file order (duplicates included; see lastSettings). */
export function parseXlCfg(text: string, file = 'config'): CfgSetting[] {
  const toks = lex(text, file);
  let p = 0;
  const out: CfgSetting[] = [];
  const peek = () => toks[p];
  const fail = (tok: Tok, detail: string): never => {
    throw new CfgParseError(file, tok.line, tok.col, tok.t === 'punct' && tok.s === '\n' ? 'end of line' : tok.t === 'eof' ? 'end of file' : tok.t === 'string' ? tok.raw : tok.s, detail);
  };
  const skipNewlines = () => { while (peek().t === 'punct' && peek().s === '\n') p++; };

  function value(inList: boolean): CfgValue {
    if (inList) skipNewlines();
    const tok = toks[p++];
    if (tok.t === 'string') return { kind: 'string', value: tok.s, line: tok.line, col: tok.col };
    if (tok.t === 'number') return { kind: 'number', text: tok.s, line: tok.line, col: tok.col };
    if (tok.t === 'punct' && tok.s === '[') {
      const items: CfgValue[] = [];
      for (;;) {
        skipNewlines();
        if (peek().t === 'punct' && peek().s === ']') { p++; break; }
        items.push(value(true));
        skipNewlines();
        const sep = toks[p++];
        if (sep.t === 'punct' && sep.s === ']') break;
        if (!(sep.t === 'punct' && sep.s === ',')) fail(sep, "expected ',' or ']' in list");
      }
      return { kind: 'list', items, line: tok.line, col: tok.col };
    }
    return fail(tok, 'expected a string, a number or a [list]');
  }

  for (;;) {
    const tok = peek();
    if (tok.t === 'eof') break;
    if (tok.t === 'punct' && (tok.s === '\n' || tok.s === ';')) { p++; continue; }
    if (tok.t !== 'ident') fail(tok, 'expected a key name');
    p++;
    const op = toks[p++];
    if (!(op.t === 'punct' && (op.s === '=' || op.s === '+='))) fail(op, "expected '=' after the key");
    const v = value(false);
    const end = toks[p];
    if (!(end.t === 'eof' || (end.t === 'punct' && (end.s === '\n' || end.s === ';')))) fail(end, 'expected end of line or ; after the value');
    if (op.s === '+=') {
      const prev = [...out].reverse().find((s) => s.name === tok.s);
      if (prev) {
        const merged = appendValues(prev.value, v);
        if (!merged) fail(op, `'+=' needs two lists or two strings for '${tok.s}'`);
        out.push({ name: tok.s, value: merged!, line: tok.line, col: tok.col });
        continue;
      }
    }
    out.push({ name: tok.s, value: v, line: tok.line, col: tok.col });
  }
  return out;
}

function appendValues(a: CfgValue, b: CfgValue): CfgValue | undefined {
  if (a.kind === 'list' && b.kind === 'list') return { ...a, items: [...a.items, ...b.items] };
  if (a.kind === 'list') return { ...a, items: [...a.items, b] };
  if (a.kind === 'string' && b.kind === 'string') return { ...a, value: a.value + b.value };
  return undefined;
}

/** The effective settings: the last assignment of each key wins (xl's rule). */
export function lastSettings(settings: readonly CfgSetting[]): Map<string, CfgSetting> {
  const m = new Map<string, CfgSetting>();
  for (const s of settings) { m.delete(s.name); m.set(s.name, s); }
  return m;
}
