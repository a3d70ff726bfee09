// SPDX-License-Identifier: GPL-2.0-only
// A small flattened devicetree (DTB) reader: parses a blob back into nodes and properties so
// tests (and tools) can check what a board hands its guest. Strict: anything malformed is an
// FdtParseError naming the offset. Follows devicetree-0.4 §5 "Flattened Devicetree (DTB) Format".
// Leaves out: in-place editing (write a new tree with fdt-writer.ts instead).
import { FDT_BEGIN_NODE, FDT_END, FDT_END_NODE, FDT_HEADER_SIZE, FDT_MAGIC, FDT_NOP, FDT_PROP,
  type FdtReservation } from './fdt-writer.ts';

export class FdtParseError extends Error {
  override readonly name = 'FdtParseError';
}

export interface FdtParsedNode {
  readonly name: string;
  readonly props: ReadonlyMap<string, Uint8Array>;
  readonly children: readonly FdtParsedNode[];
}

export interface FdtParsed {
  readonly version: number;
  readonly lastCompVersion: number;
  readonly bootCpuidPhys: number;
  readonly reservations: readonly FdtReservation[];
  readonly root: FdtParsedNode;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export function parseDtb(blob: Uint8Array): FdtParsed {
  const fail = (msg: string, off: number): never => {
    throw new FdtParseError(`dtb: ${msg} at offset 0x${off.toString(16)}`);
  };
  if (blob.length < FDT_HEADER_SIZE) fail('shorter than the header', 0);
  const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
  const h = (i: number): number => dv.getUint32(i * 4, false);
  if (h(0) !== FDT_MAGIC) fail('bad magic', 0);
  const total = h(1), offStruct = h(2), offStrings = h(3), offRsv = h(4);
  const version = h(5), lastComp = h(6), boot = h(7), sizeStrings = h(8), sizeStruct = h(9);
  if (total > blob.length) fail(`totalsize ${total} exceeds the blob`, 4);
  if (version < 17 || lastComp > 17) fail(`unsupported version ${version}/${lastComp}`, 20);
  if (offStruct % 4 || offRsv % 8) fail('misaligned block', 8);
  if (offStruct + sizeStruct > total || offStrings + sizeStrings > total) fail('block beyond totalsize', 8);

  const reservations: FdtReservation[] = [];
  for (let o = offRsv; ; o += 16) {
    if (o + 16 > total) fail('unterminated memory reservation block', o);
    const addr = dv.getUint32(o) * 0x1_0000_0000 + dv.getUint32(o + 4);
    const size = dv.getUint32(o + 8) * 0x1_0000_0000 + dv.getUint32(o + 12);
    if (addr === 0 && size === 0) break;
    reservations.push({ address: addr, size });
  }

  const cstr = (start: number, limit: number): [string, number] => {
    let e = start;
    while (e < limit && blob[e] !== 0) e++;
    if (e >= limit) fail('unterminated string', start);
    return [utf8.decode(blob.subarray(start, e)), e + 1];
  };
  const endStruct = offStruct + sizeStruct;
  let p = offStruct;
  const token = (): number => {
    if (p + 4 > endStruct) fail('structure block overrun', p);
    const t = dv.getUint32(p);
    p += 4;
    return t;
  };
  const align = (): void => {
    p = (p + 3) & ~3;
  };

  interface Building { name: string; props: Map<string, Uint8Array>; children: Building[] }
  const stack: Building[] = [];
  let root: Building | undefined;
  for (;;) {
    const at = p;
    const t = token();
    if (t === FDT_NOP) continue;
    if (t === FDT_BEGIN_NODE) {
      const [name, next] = cstr(p, endStruct);
      p = next;
      align();
      const n: Building = { name, props: new Map(), children: [] };
      if (stack.length) stack[stack.length - 1].children.push(n);
      else if (root) fail('second root node', at);
      else root = n;
      stack.push(n);
    } else if (t === FDT_PROP) {
      if (!stack.length) fail('property outside a node', at);
      const len = token();
      const nameoff = token();
      if (p + len > endStruct) fail('property value overrun', at);
      if (nameoff >= sizeStrings) fail('property name offset out of range', at);
      const [pname] = cstr(offStrings + nameoff, offStrings + sizeStrings);
      stack[stack.length - 1].props.set(pname, blob.slice(p, p + len));
      p += len;
      align();
    } else if (t === FDT_END_NODE) {
      if (!stack.pop()) fail('END_NODE without a node', at);
    } else if (t === FDT_END) {
      if (stack.length) fail('END inside a node', at);
      break;
    } else {
      fail(`unknown token 0x${t.toString(16)}`, at);
    }
  }
  if (!root) fail('no root node', offStruct);
  return { version, lastCompVersion: lastComp, bootCpuidPhys: boot, reservations, root: root as FdtParsedNode };
}

/** The node at an absolute path such as "/soc/plic@c000000" (unit addresses must match exactly). */
export function fdtNode(root: FdtParsedNode, path: string): FdtParsedNode | undefined {
  let n: FdtParsedNode | undefined = root;
  for (const part of path.split('/').filter((s) => s.length)) {
    n = n.children.find((c) => c.name === part);
    if (!n) return undefined;
  }
  return n;
}

/** A property as big-endian u32 cells (undefined if absent or not a multiple of 4 bytes). */
export function propCells(n: FdtParsedNode | undefined, name: string): number[] | undefined {
  const v = n?.props.get(name);
  if (!v || v.length % 4) return undefined;
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
  return Array.from({ length: v.length / 4 }, (_, i) => dv.getUint32(i * 4, false));
}

/** A property as a stringlist (undefined if absent or not NUL-terminated). */
export function propStrings(n: FdtParsedNode | undefined, name: string): string[] | undefined {
  const v = n?.props.get(name);
  if (!v || v.length === 0 || v[v.length - 1] !== 0) return undefined;
  return utf8.decode(v.subarray(0, v.length - 1)).split('\0');
}

/** A single-string property. */
export function propString(n: FdtParsedNode | undefined, name: string): string | undefined {
  return propStrings(n, name)?.join('\0');
}
