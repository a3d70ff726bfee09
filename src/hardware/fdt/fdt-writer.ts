// SPDX-License-Identifier: GPL-2.0-only
// A flattened devicetree (DTB) writer: build a tree of FdtNode objects, then flatten it into
// the version-17 blob a kernel or firmware receives in a1. Follows devicetree-0.4 §5
// "Flattened Devicetree (DTB) Format": header, memory reservation block, structure block,
// deduplicated strings block; everything big-endian, tokens 4-byte aligned.
// Leaves out: overlays (/__fixups__, /__symbols__) and phandle resolution by label.
//
//   offset 0      fdt_header (10 x u32 BE)         magic 0xd00dfeed, totalsize, offsets, version 17
//   offset 0x28   memory reservation block         (address u64, size u64)* then (0, 0)
//   ...           structure block                  BEGIN_NODE name\0 pad | PROP len nameoff data pad
//                                                  | END_NODE | NOP ... END
//   ...           strings block                    property names, NUL-terminated, each once

// Spec: devicetree-0.4 §5 "Flattened Devicetree (DTB) Format" ("Header": magic, version 17,
// last_comp_version 16; "Structure Block": the token values).
export const FDT_MAGIC = 0xd00dfeed;
export const FDT_VERSION = 17;
export const FDT_LAST_COMP_VERSION = 16;
export const FDT_BEGIN_NODE = 0x1;
export const FDT_END_NODE = 0x2;
export const FDT_PROP = 0x3;
export const FDT_NOP = 0x4;
export const FDT_END = 0x9;
export const FDT_HEADER_SIZE = 40;

/**
 * A property value. Numbers are u32 cells; arrays of numbers are cell lists; a string is a
 * NUL-terminated string; an array of strings is a stringlist; `true` is an empty property
 * (a boolean such as `interrupt-controller`); bytes are taken as they are.
 */
export type FdtValue = number | readonly number[] | string | readonly string[] | true | Uint8Array;

/** One reserved physical memory range (memory reservation block entry). */
export interface FdtReservation {
  readonly address: number;
  readonly size: number;
}

const TWO32 = 0x1_0000_0000;

/** The two big-endian cells [high, low] of a 64-bit value held in a JS number (< 2^53). */
export function cells64(v: number): [number, number] {
  if (!Number.isSafeInteger(v) || v < 0) throw new RangeError(`fdt: ${v} is not a 64-bit cell value`);
  return [Math.floor(v / TWO32), v % TWO32];
}

// Spec: devicetree-0.4 §2 "The Devicetree" ("Node Names": 1-31 characters from
// [0-9a-zA-Z,._+-], then an optional @unit-address; "Property Names": the same set plus ?#).
const NODE_NAME = /^[0-9A-Za-z,._+-]{1,31}(@[0-9A-Za-z,._+-]+)?$/;
const PROP_NAME = /^[0-9A-Za-z,._+?#-]{1,31}$/;

/** A devicetree node under construction. Properties keep their insertion order. */
export class FdtNode {
  readonly name: string;
  readonly props = new Map<string, Uint8Array>();
  readonly children: FdtNode[] = [];

  /** `name` is "" for the root node, otherwise `node-name[@unit-address]`. */
  constructor(name: string) {
    if (name !== '' && !NODE_NAME.test(name)) throw new RangeError(`fdt: bad node name "${name}"`);
    this.name = name;
  }

  /** Set (or replace) a property; returns this for chaining. */
  prop(name: string, value: FdtValue): this {
    if (!PROP_NAME.test(name)) throw new RangeError(`fdt: bad property name "${name}"`);
    this.props.set(name, encodeValue(value));
    return this;
  }

  /** Add a child node and return it. Sibling names must be unique. */
  child(name: string): FdtNode {
    if (this.children.some((c) => c.name === name)) throw new RangeError(`fdt: duplicate node "${name}"`);
    const n = new FdtNode(name);
    this.children.push(n);
    return n;
  }

  /** The child with exactly this name, if any. */
  find(name: string): FdtNode | undefined {
    return this.children.find((c) => c.name === name);
  }
}

const utf8 = new TextEncoder();

/** Encode a property value as the bytes stored in the structure block. */
export function encodeValue(value: FdtValue): Uint8Array {
  if (value === true) return new Uint8Array(0);
  if (value instanceof Uint8Array) return value.slice();
  if (typeof value === 'number') return encodeCells([value]);
  if (typeof value === 'string') return encodeStrings([value]);
  if (value.length === 0) return new Uint8Array(0);
  if (typeof value[0] === 'number') return encodeCells(value as readonly number[]);
  return encodeStrings(value as readonly string[]);
}

function encodeCells(cells: readonly number[]): Uint8Array {
  const out = new Uint8Array(cells.length * 4);
  const dv = new DataView(out.buffer);
  cells.forEach((c, i) => {
    if (!Number.isInteger(c) || c < 0 || c >= TWO32) throw new RangeError(`fdt: cell ${c} is not a u32`);
    dv.setUint32(i * 4, c, false);
  });
  return out;
}

function encodeStrings(strs: readonly string[]): Uint8Array {
  const parts = strs.map((s) => {
    if (s.includes('\0')) throw new RangeError('fdt: NUL inside a string property');
    return utf8.encode(s);
  });
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length + 1, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length + 1; // the byte after is already 0
  }
  return out;
}

/** A growable big-endian byte sink. */
class Sink {
  buf = new Uint8Array(4096);
  len = 0;
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const b = new Uint8Array(cap);
    b.set(this.buf.subarray(0, this.len));
    this.buf = b;
  }
  u32(v: number): void {
    this.ensure(4);
    new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, false);
    this.len += 4;
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Zero-pad to a multiple of 4 (the buffer is zero-initialised and never reused). */
  align4(): void {
    const pad = (4 - (this.len & 3)) & 3;
    this.ensure(pad);
    this.buf.fill(0, this.len, this.len + pad);
    this.len += pad;
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

export interface FdtBlobOptions {
  /** Header boot_cpuid_phys: the hart id of the boot hart (its cpu node's `reg`). */
  readonly bootCpuidPhys?: number;
  /** Memory reservation block entries (firmware, the DTB itself, ...). */
  readonly reservations?: readonly FdtReservation[];
  /** Extra zeroed bytes at the end (room for firmware that edits the tree in place). */
  readonly padding?: number;
}

/** Flatten `root` into a DTB. Throws only for a malformed tree, which is a bug in the caller. */
export function buildDtb(root: FdtNode, opts: FdtBlobOptions = {}): Uint8Array {
  if (root.name !== '') throw new RangeError('fdt: the root node has an empty name');
  // Spec: devicetree-0.4 §5 "Flattened Devicetree (DTB) Format", "Strings Block": each
  // property name is stored once and referenced by its offset.
  const strings = new Sink();
  const stringOff = new Map<string, number>();
  const nameOff = (name: string): number => {
    let off = stringOff.get(name);
    if (off === undefined) {
      off = strings.len;
      stringOff.set(name, off);
      strings.bytes(utf8.encode(name));
      strings.bytes(new Uint8Array(1));
    }
    return off;
  };

  // Spec: devicetree-0.4 §5 "Flattened Devicetree (DTB) Format", "Structure Block":
  // BEGIN_NODE + name + pad, then PROP tokens (len, nameoff, value, pad), then children,
  // then END_NODE; the block ends with a single END token.
  const st = new Sink();
  const emit = (n: FdtNode): void => {
    st.u32(FDT_BEGIN_NODE);
    st.bytes(utf8.encode(n.name));
    st.bytes(new Uint8Array(1));
    st.align4();
    for (const [name, value] of n.props) {
      st.u32(FDT_PROP);
      st.u32(value.length);
      st.u32(nameOff(name));
      st.bytes(value);
      st.align4();
    }
    for (const c of n.children) emit(c);
    st.u32(FDT_END_NODE);
  };
  emit(root);
  st.u32(FDT_END);

  // Spec: devicetree-0.4 §5 "Flattened Devicetree (DTB) Format", "Memory Reservation Block":
  // pairs of big-endian u64 (address, size), 8-byte aligned, terminated by a (0, 0) entry.
  const rsv = new Sink();
  for (const r of opts.reservations ?? []) {
    if (r.size === 0) continue; // a zero-size entry would read as the terminator
    rsv.u32(cells64(r.address)[0]);
    rsv.u32(cells64(r.address)[1]);
    rsv.u32(cells64(r.size)[0]);
    rsv.u32(cells64(r.size)[1]);
  }
  for (let i = 0; i < 4; i++) rsv.u32(0);

  const offRsv = FDT_HEADER_SIZE; // 40: already 8-byte aligned
  const offStruct = offRsv + rsv.len;
  const offStrings = offStruct + st.len;
  const padding = Math.max(0, Math.floor(opts.padding ?? 0));
  const total = offStrings + strings.len + padding;

  const out = new Uint8Array(total);
  const dv = new DataView(out.buffer);
  const header = [FDT_MAGIC, total, offStruct, offStrings, offRsv, FDT_VERSION, FDT_LAST_COMP_VERSION,
    opts.bootCpuidPhys ?? 0, strings.len, st.len];
  header.forEach((v, i) => dv.setUint32(i * 4, v >>> 0, false));
  out.set(rsv.result(), offRsv);
  out.set(st.result(), offStruct);
  out.set(strings.result(), offStrings);
  return out;
}
