/**
 * Cap'n Proto canonical form (encoding spec, "Canonicalization") on top of the generic
 * single-segment builder of core/bundle/capnp. The records describe a struct as values; this
 * module picks the canonical sizes and lays the objects out:
 *
 * - one segment, objects in pre-order (the builder appends in the order pointers are set);
 * - trailing zero data words and trailing null pointers of a struct are truncated;
 * - a struct list's element size is the truncated size of its largest element (a trailing word
 *   is dropped only when it is zero in every element), always written as an inline composite;
 * - a pointer to a zero-sized struct has offset -1.
 *
 * The framed message (segment table included) is what the records hold and sign.
 */

import { MessageBuilder, structPointer } from "../bundle/capnp/mod.ts";

/** A pointer slot's value: null, a byte blob (Data), Text, or a list of structs. */
export type PtrValue =
  | null
  | { readonly bytes: Uint8Array }
  | { readonly text: string }
  | { readonly structs: readonly StructValue[] };

/** A struct as values: the full data section (a multiple of 8 bytes) and every pointer slot. */
export interface StructValue {
  readonly data: Uint8Array;
  readonly ptrs: readonly PtrValue[];
}

const utf8 = new TextEncoder();

/** Data words and pointers left after truncating trailing zero words and null pointers. */
export function truncatedSize(s: StructValue): [number, number] {
  let words = s.data.length / 8;
  while (words > 0 && s.data.subarray((words - 1) * 8, words * 8).every((b) => b === 0)) words--;
  let ptrs = s.ptrs.length;
  while (ptrs > 0 && s.ptrs[ptrs - 1] === null) ptrs--;
  return [words, ptrs];
}

/** The canonical framed single-segment message whose root is `root`. */
export function encodeCanonical(root: StructValue): Uint8Array {
  const msg = new MessageBuilder();
  const [words, ptrs] = truncatedSize(root);
  writeStruct(msg, 0, root, words, ptrs);
  return msg.toBytes();
}

/** Allocates `s` with the given section sizes, points `ptrIndex` at it, then fills it. */
function writeStruct(
  msg: MessageBuilder,
  ptrIndex: number,
  s: StructValue,
  words: number,
  ptrs: number,
): void {
  if (words === 0 && ptrs === 0) {
    msg.setWord(ptrIndex, structPointer(-1, 0, 0));
    return;
  }
  const at = msg.allocate(words + ptrs);
  msg.setWord(ptrIndex, structPointer(at - ptrIndex - 1, words, ptrs));
  fillStruct(msg, at, s, words, ptrs);
}

function fillStruct(
  msg: MessageBuilder,
  at: number,
  s: StructValue,
  words: number,
  ptrs: number,
): void {
  const view = msg.dataView();
  for (let i = 0; i < Math.min(words * 8, s.data.length); i++) {
    view.setUint8(at * 8 + i, s.data[i]);
  }
  for (let i = 0; i < Math.min(ptrs, s.ptrs.length); i++) {
    writePointer(msg, at + words + i, s.ptrs[i]);
  }
}

function writePointer(msg: MessageBuilder, ptrIndex: number, value: PtrValue): void {
  if (value === null) return;
  if ("bytes" in value) return msg.setBytes(ptrIndex, value.bytes);
  if ("text" in value) return msg.setBytes(ptrIndex, textBytes(value.text));
  const items = value.structs;
  if (items.length === 0) {
    // A zero-length list: the pointer is non-null; its (empty) object sits where the next
    // object would go, as pre-order allocation places it.
    msg.initStructList(ptrIndex, 0, 0, 0);
    return;
  }
  let words = 0;
  let ptrs = 0;
  for (const item of items) {
    const [w, p] = truncatedSize(item);
    words = Math.max(words, w);
    ptrs = Math.max(ptrs, p);
  }
  const elements = msg.initStructList(ptrIndex, items.length, words, ptrs);
  // The list (tag and every element's sections) is one object; then each element's children in
  // element order: pre-order over the list's pointers.
  elements.forEach((e, i) => fillStruct(msg, e.start, items[i], words, ptrs));
}

/** Text on the wire: UTF-8 followed by one NUL byte. */
export function textBytes(text: string): Uint8Array {
  const body = utf8.encode(text);
  const out = new Uint8Array(body.length + 1);
  out.set(body);
  return out;
}
