/**
 * A deterministic single-segment Cap'n Proto builder and the raw word helpers it uses.
 *
 * Objects are appended in the order they are set, so a caller that fills pointers in order
 * (children completely before the next sibling) gets the canonical pre-order layout. The buffer
 * starts zeroed, so the same calls always produce the same bytes.
 */

import { ElementSize } from "./wire.ts";

const MAX_LIST_COUNT = 2 ** 29 - 1;
const utf8 = new TextEncoder();

/** A struct pointer word: `offset` words from the end of the pointer to the struct. */
export function structPointer(offset: number, dataWords: number, ptrCount: number): bigint {
  const lo = BigInt(((offset << 2) | 0) >>> 0);
  const hi = BigInt((dataWords | (ptrCount << 16)) >>> 0);
  return (hi << 32n) | lo;
}

/** A list pointer word; for inline-composite lists `count` is the word count without the tag. */
export function listPointer(offset: number, elementSize: number, count: number): bigint {
  const lo = BigInt(((offset << 2) | 1) >>> 0);
  const hi = BigInt(count * 8 + elementSize);
  return (hi << 32n) | lo;
}

/** A far pointer word to the landing pad at word `pad` of segment `segment`. */
export function farPointer(segment: number, pad: number, doubleFar: boolean): bigint {
  const lo = BigInt(pad * 8 + (doubleFar ? 4 : 0) + 2);
  return (BigInt(segment) << 32n) | lo;
}

/** Little-endian bytes of 64-bit words. */
export function wordsToBytes(words: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(words.length * 8);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
  return out;
}

/** Standard stream framing: segment count - 1, sizes in words, padding, then the segments. */
export function frameSegments(segments: readonly Uint8Array[]): Uint8Array {
  const header = (4 + 4 * segments.length + 7) & ~7;
  const total = segments.reduce((n, s) => n + s.length, header);
  const out = new Uint8Array(total);
  const view = new DataView(out.buffer);
  view.setUint32(0, segments.length - 1, true);
  let at = header;
  segments.forEach((s, i) => {
    if (s.length % 8 !== 0) throw new RangeError("segment length is not a multiple of 8");
    view.setUint32(4 + 4 * i, s.length / 8, true);
    out.set(s, at);
    at += s.length;
  });
  return out;
}

/** Builds one message in one segment. */
export class MessageBuilder {
  private buf = new Uint8Array(1024);
  private view = new DataView(this.buf.buffer);
  private used = 1; // word 0 holds the root pointer

  /** Appends `words` zeroed words and returns the index of the first. */
  allocate(words: number): number {
    const at = this.used;
    const need = (at + words) * 8;
    if (need > this.buf.length) {
      let size = this.buf.length;
      while (size < need) size *= 2;
      const grown = new Uint8Array(size);
      grown.set(this.buf);
      this.buf = grown;
      this.view = new DataView(grown.buffer);
    }
    this.used += words;
    return at;
  }

  setWord(index: number, word: bigint): void {
    this.view.setBigUint64(index * 8, word, true);
  }

  /** Allocates the root struct and points word 0 at it. */
  initRoot(dataWords: number, ptrCount: number): StructBuilder {
    return this.initStruct(0, dataWords, ptrCount);
  }

  initStruct(ptrIndex: number, dataWords: number, ptrCount: number): StructBuilder {
    const at = this.allocate(dataWords + ptrCount);
    this.setWord(ptrIndex, structPointer(at - ptrIndex - 1, dataWords, ptrCount));
    return new StructBuilder(this, at, dataWords, ptrCount);
  }

  /** Writes a byte list at the pointer word `ptrIndex`. */
  setBytes(ptrIndex: number, bytes: Uint8Array): void {
    checkCount(bytes.length);
    const at = this.allocate(Math.ceil(bytes.length / 8));
    this.buf.set(bytes, at * 8);
    this.setWord(ptrIndex, listPointer(at - ptrIndex - 1, ElementSize.byte, bytes.length));
  }

  /** Writes a pointer list of `count` null pointers; returns the index of the first slot. */
  initPointerList(ptrIndex: number, count: number): number {
    checkCount(count);
    const at = this.allocate(count);
    this.setWord(ptrIndex, listPointer(at - ptrIndex - 1, ElementSize.pointer, count));
    return at;
  }

  /** Writes an inline-composite list (tag word + elements). */
  initStructList(
    ptrIndex: number,
    count: number,
    dataWords: number,
    ptrCount: number,
  ): StructBuilder[] {
    const per = dataWords + ptrCount;
    checkCount(count * per);
    const tag = this.allocate(1 + count * per);
    this.setWord(
      ptrIndex,
      listPointer(tag - ptrIndex - 1, ElementSize.inlineComposite, count * per),
    );
    this.setWord(tag, structPointer(count, dataWords, ptrCount));
    const out: StructBuilder[] = [];
    for (let i = 0; i < count; i++) {
      out.push(new StructBuilder(this, tag + 1 + i * per, dataWords, ptrCount));
    }
    return out;
  }

  /** The framed single-segment message. */
  toBytes(): Uint8Array {
    return frameSegments([this.buf.slice(0, this.used * 8)]);
  }

  dataView(): DataView {
    return this.view;
  }
}

function checkCount(count: number): void {
  if (count > MAX_LIST_COUNT) throw new RangeError("list too long for a Cap'n Proto list pointer");
}

/** A struct being built. Pointer setters accept `undefined` and leave the pointer null. */
export class StructBuilder {
  constructor(
    readonly msg: MessageBuilder,
    readonly start: number,
    readonly dataWords: number,
    readonly ptrCount: number,
  ) {}

  private byte(offset: number, width: number): number {
    if (offset + width > this.dataWords * 8) throw new RangeError("field outside data section");
    return this.start * 8 + offset;
  }

  private ptr(i: number): number {
    if (i >= this.ptrCount) throw new RangeError("pointer outside pointer section");
    return this.start + this.dataWords + i;
  }

  setU8(offset: number, value: number): void {
    this.msg.dataView().setUint8(this.byte(offset, 1), value);
  }

  setU16(offset: number, value: number): void {
    this.msg.dataView().setUint16(this.byte(offset, 2), value, true);
  }

  setU64(offset: number, value: bigint): void {
    this.msg.dataView().setBigUint64(this.byte(offset, 8), value, true);
  }

  /** Data; undefined and empty both stay a null pointer. */
  setData(i: number, bytes: Uint8Array | undefined): void {
    if (bytes !== undefined && bytes.length > 0) this.msg.setBytes(this.ptr(i), bytes);
  }

  /** Text (UTF-8 plus NUL); undefined stays a null pointer, "" is a one-byte list. */
  setText(i: number, text: string | undefined): void {
    if (text !== undefined) this.msg.setBytes(this.ptr(i), encodeText(text));
  }

  /** List(Text); an empty list stays a null pointer. */
  setTextList(i: number, texts: readonly string[]): void {
    if (texts.length === 0) return;
    const first = this.msg.initPointerList(this.ptr(i), texts.length);
    texts.forEach((t, k) => this.msg.setBytes(first + k, encodeText(t)));
  }

  /** List(Struct) as an inline-composite list; an empty list stays a null pointer. */
  initStructList(i: number, count: number, dataWords: number, ptrCount: number): StructBuilder[] {
    if (count === 0) return [];
    return this.msg.initStructList(this.ptr(i), count, dataWords, ptrCount);
  }
}

function encodeText(text: string): Uint8Array {
  const body = utf8.encode(text);
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  return out;
}
