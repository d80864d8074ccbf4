/**
 * A small, generic Cap'n Proto wire layer: a bounded reader for untrusted unpacked stream
 * messages and a deterministic single-segment builder. No schema knowledge lives here.
 *
 * @module
 */

export {
  Arena,
  CapnpError,
  DEFAULT_LIMITS,
  ElementSize,
  type ListLoc,
  type ReadLimits,
  type StructLoc,
} from "./wire.ts";
export { ListReader, MessageReader, StructReader } from "./reader.ts";
export {
  farPointer,
  frameSegments,
  listPointer,
  MessageBuilder,
  StructBuilder,
  structPointer,
  wordsToBytes,
} from "./writer.ts";
