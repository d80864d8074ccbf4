/**
 * Typed views over a bounded {@link Arena}: the root struct, structs, lists, Text and Data.
 * Reads outside a struct's sections return defaults (an older writer); extra words and
 * pointers of a newer writer are ignored.
 */

import {
  Arena,
  CapnpError,
  DEFAULT_LIMITS,
  ElementSize,
  type ListLoc,
  type ReadLimits,
  type StructLoc,
} from "./wire.ts";

const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** A parsed message: framing checked up front, objects read lazily. */
export class MessageReader {
  readonly arena: Arena;

  constructor(bytes: Uint8Array, limits: ReadLimits = DEFAULT_LIMITS) {
    this.arena = new Arena(bytes, limits);
  }

  /** The root struct (the pointer at word 0 of segment 0); a null root reads as empty. */
  root(): StructReader {
    const loc = this.arena.structAt(0, 0, 0);
    const empty = { seg: 0, dataStart: 0, dataBytes: 0, ptrStart: 0, ptrCount: 0 };
    return new StructReader(this.arena, loc ?? empty, 0);
  }
}

/** A struct in the message. */
export class StructReader {
  constructor(readonly arena: Arena, readonly loc: StructLoc, readonly depth: number) {}

  get dataBytes(): number {
    return this.loc.dataBytes;
  }

  get ptrCount(): number {
    return this.loc.ptrCount;
  }

  private field(byteOffset: number, width: number): [DataView, number] | null {
    if (byteOffset + width > this.loc.dataBytes) return null;
    const s = this.arena.segments[this.loc.seg];
    return [s.view, s.start + this.loc.dataStart + byteOffset];
  }

  u8(byteOffset: number): number {
    const f = this.field(byteOffset, 1);
    return f === null ? 0 : f[0].getUint8(f[1]);
  }

  u16(byteOffset: number): number {
    const f = this.field(byteOffset, 2);
    return f === null ? 0 : f[0].getUint16(f[1], true);
  }

  u64(byteOffset: number): bigint {
    const f = this.field(byteOffset, 8);
    return f === null ? 0n : f[0].getBigUint64(f[1], true);
  }

  /** Pointer `i` as a struct; null when null or beyond the pointer section. */
  struct(i: number): StructReader | null {
    if (i >= this.loc.ptrCount) return null;
    const loc = this.arena.structAt(this.loc.seg, this.loc.ptrStart + i, this.depth + 1);
    return loc === null ? null : new StructReader(this.arena, loc, this.depth + 1);
  }

  /** Pointer `i` as a list; null when null or beyond the pointer section. */
  list(i: number): ListReader | null {
    if (i >= this.loc.ptrCount) return null;
    const loc = this.arena.listAt(this.loc.seg, this.loc.ptrStart + i, this.depth + 1);
    return loc === null ? null : new ListReader(this.arena, loc, this.depth + 1);
  }

  /** Pointer `i` as Data (a byte list); null when null. */
  data(i: number): Uint8Array | null {
    const list = this.list(i);
    return list === null ? null : list.bytes();
  }

  /** Pointer `i` as Text (a NUL-terminated UTF-8 byte list); null when null. */
  text(i: number): string | null {
    const list = this.list(i);
    return list === null ? null : decodeText(list.bytes());
  }
}

/** A list in the message. Elements of any encoding but bits can be viewed as structs. */
export class ListReader {
  constructor(readonly arena: Arena, readonly loc: ListLoc, readonly depth: number) {}

  get length(): number {
    return this.loc.length;
  }

  get elementSize(): number {
    return this.loc.elementSize;
  }

  /** A copy of the bytes of a byte list (Data and Text). */
  bytes(): Uint8Array {
    if (this.loc.elementSize !== ElementSize.byte) {
      throw new CapnpError("list of bytes expected", { elementSize: this.loc.elementSize });
    }
    const s = this.arena.segments[this.loc.seg];
    const at = s.view.byteOffset + s.start + this.loc.start * 8;
    return new Uint8Array(s.view.buffer, at, this.loc.length).slice();
  }

  /** Element `i` viewed as a struct (upgraded from a primitive or pointer list if needed). */
  struct(i: number): StructReader {
    const { loc } = this;
    if (loc.elementSize === ElementSize.bit) {
      throw new CapnpError("bit list where a struct list was expected");
    }
    if (i < 0 || i >= loc.length) throw new RangeError("list index out of range");
    const bitOffset = i * loc.bitsPerElement;
    const word = loc.start + Math.floor(bitOffset / 64);
    const elem: StructLoc = {
      seg: loc.seg,
      dataStart: loc.start * 8 + bitOffset / 8,
      dataBytes: loc.elemDataBytes,
      ptrStart: word + (loc.elemDataBytes >> 3),
      ptrCount: loc.elemPtrs,
    };
    return new StructReader(this.arena, elem, this.depth);
  }

  /** Element `i` of a List(Text) (pointer 0 of a composite element); null when null. */
  text(i: number): string | null {
    const size = this.loc.elementSize;
    if (size !== ElementSize.pointer && size !== ElementSize.inlineComposite) {
      throw new CapnpError("list of pointers expected", { elementSize: size });
    }
    return this.struct(i).text(0);
  }
}

/** Text is UTF-8 followed by one NUL byte. */
function decodeText(bytes: Uint8Array): string {
  if (bytes.length === 0 || bytes[bytes.length - 1] !== 0) {
    throw new CapnpError("text is not NUL-terminated");
  }
  try {
    return utf8.decode(bytes.subarray(0, bytes.length - 1));
  } catch {
    throw new CapnpError("text is not valid UTF-8");
  }
}
