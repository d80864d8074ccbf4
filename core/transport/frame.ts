/**
 * The frame: an 8-byte header (magic "NX", protocol version, type, body length u32 big-endian),
 * the body, and on CONTROL and DATA frames a 32-byte MAC trailer (channel.ts). The first three
 * header bytes keep their meaning in every version, so any peer can tell a frame of another
 * version from noise. docs/protocol.md#frames has the byte layout.
 */
import { NxError } from "../errors.ts";

/** "NX", the first two bytes of every frame, as a u16 big-endian. */
export const MAGIC = 0x4e58;
export const PROTOCOL_VERSION = 1;
/** The largest body a frame may carry (1 MiB); a longer length field is never allocated. */
export const MAX_BODY = 1_048_576;
export const HEADER_SIZE = 8;
/** HMAC-SHA-256 trailer of a CONTROL or DATA frame. */
export const MAC_SIZE = 32;
/** Room for the u64 sequence number the MAC covers, kept before the header (see MacedFrame). */
export const SEQ_SIZE = 8;

/** Bytes backed by a plain ArrayBuffer (what WebCrypto takes). */
export type Bytes = Uint8Array<ArrayBuffer>;

export const FrameType = {
  HELLO: 1,
  CHALLENGE: 2,
  AUTH: 3,
  WELCOME: 4,
  REFUSE: 5,
  CONTROL: 16,
  DATA: 17,
} as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));
const TYPE_NAMES = new Map<number, string>(Object.entries(FrameType).map(([k, v]) => [v, k]));

export function frameTypeName(type: number): string {
  return TYPE_NAMES.get(type) ?? `type ${type}`;
}

/** CONTROL and DATA frames (the session's) carry a MAC trailer; handshake frames do not. */
export function hasMac(type: FrameType): boolean {
  return type === FrameType.CONTROL || type === FrameType.DATA;
}

export interface FrameHeader {
  type: FrameType;
  length: number;
}

/** One whole frame as read. `body` and `mac` are views of `macInput`'s buffer (no copy). */
export interface Frame {
  type: FrameType;
  body: Bytes;
  /** The trailer of a CONTROL or DATA frame. */
  mac?: Bytes;
  /**
   * SEQ_SIZE free bytes ‖ header ‖ body, contiguous: the channel writes the expected sequence
   * number into the free bytes and MACs this view as is.
   */
  macInput: Bytes;
}

export function encodeHeader(type: FrameType, length: number, into?: Uint8Array): Uint8Array {
  const header = into ?? new Uint8Array(HEADER_SIZE);
  const view = new DataView(header.buffer, header.byteOffset, HEADER_SIZE);
  view.setUint16(0, MAGIC);
  view.setUint8(2, PROTOCOL_VERSION);
  view.setUint8(3, type);
  view.setUint32(4, length);
  return header;
}

/**
 * Checks a header in the order a reader can act on: magic (bad_frame), version
 * (protocol_version), type (bad_frame), length (frame_too_large, before anything is allocated).
 */
export function decodeHeader(header: Uint8Array, maxBody = MAX_BODY): FrameHeader {
  const view = new DataView(header.buffer, header.byteOffset, HEADER_SIZE);
  if (view.getUint16(0) !== MAGIC) {
    throw new NxError("transport.bad_frame", "cannot read frame: bad magic (not an nx peer)");
  }
  const version = view.getUint8(2);
  if (version !== PROTOCOL_VERSION) {
    throw new NxError(
      "transport.protocol_version",
      `cannot read frame: protocol version ${version}, this nx speaks ${PROTOCOL_VERSION}`,
      { details: { version, supported: [PROTOCOL_VERSION] } },
    );
  }
  const type = view.getUint8(3);
  if (!TYPES.has(type)) {
    throw new NxError("transport.bad_frame", `cannot read frame: unknown frame type ${type}`);
  }
  const length = view.getUint32(4);
  if (length > maxBody) {
    throw new NxError(
      "transport.frame_too_large",
      `cannot read frame: body of ${length} bytes is over the limit of ${maxBody}`,
      { details: { length, max: maxBody } },
    );
  }
  return { type: type as FrameType, length };
}

function checkBodySize(length: number): void {
  if (length > MAX_BODY) {
    throw new NxError(
      "transport.frame_too_large",
      `cannot send frame: body of ${length} bytes is over the limit of ${MAX_BODY}`,
      { details: { length, max: MAX_BODY } },
    );
  }
}

/** header ‖ body: a handshake frame (no MAC). */
export function encodePlainFrame(type: FrameType, body: Uint8Array): Bytes {
  checkBodySize(body.length);
  const out = new Uint8Array(HEADER_SIZE + body.length);
  encodeHeader(type, body.length, out);
  out.set(body, HEADER_SIZE);
  return out;
}

/** A CONTROL or DATA frame laid out in one buffer: seq slot ‖ header ‖ body ‖ MAC slot. */
export interface MacedFrame {
  /** seq slot ‖ header ‖ body: what the MAC covers once the seq is written. */
  macInput: Bytes;
  /** Where the MAC goes. */
  mac: Bytes;
  /** header ‖ body ‖ MAC: what goes on the wire. */
  wire: Bytes;
}

/**
 * Frames of at least this many bytes reuse the buffer of the last one, on both sides (Channel's
 * sends, FrameReader): fresh memory costs a page fault per 4 KiB on first touch, which on a VM
 * costs more than the copy itself (measured here: 16 MiB through fresh 256 KiB buffers ~48 ms,
 * through one reused buffer < 1 ms).
 */
export const REUSE_MIN = 16 * 1024;

/** The one buffer a sender or reader keeps for its next large frame (see REUSE_MIN). */
export class SpareBuffer {
  #buffer: ArrayBuffer | undefined;

  /** The kept buffer (no longer kept) when a frame of `size` bytes is large and fits, else undefined. */
  take(size: number): Bytes | undefined {
    const buffer = this.#buffer;
    if (size < REUSE_MIN || buffer === undefined || buffer.byteLength < size) return undefined;
    this.#buffer = undefined;
    return new Uint8Array(buffer);
  }

  /** A large frame of `size` bytes is done with `buffer`: kept if larger than the one kept. */
  keep(buffer: ArrayBuffer, size: number): void {
    if (size >= REUSE_MIN && buffer.byteLength > (this.#buffer?.byteLength ?? 0)) {
      this.#buffer = buffer;
    }
  }
}

/** The bytes a frame with a `length`-byte body takes in layoutMacedFrame's buffer. */
export function macedFrameSize(length: number): number {
  return SEQ_SIZE + HEADER_SIZE + length + MAC_SIZE;
}

/**
 * Copies `body` once, into the buffer that is then MACed and written: `into` when given (a
 * spare of at least macedFrameSize(body.length) bytes, reused), else a fresh one.
 */
export function layoutMacedFrame(type: FrameType, body: Uint8Array, into?: Bytes): MacedFrame {
  checkBodySize(body.length);
  const end = SEQ_SIZE + HEADER_SIZE + body.length;
  const buffer = into ? into.subarray(0, end + MAC_SIZE) : new Uint8Array(end + MAC_SIZE);
  encodeHeader(type, body.length, buffer.subarray(SEQ_SIZE));
  buffer.set(body, SEQ_SIZE + HEADER_SIZE);
  return {
    macInput: buffer.subarray(0, end),
    mac: buffer.subarray(end),
    wire: buffer.subarray(SEQ_SIZE),
  };
}

/** Writes `seq` as a u64 big-endian into the first SEQ_SIZE bytes of `macInput`. */
export function writeSeq(macInput: Uint8Array, seq: number): void {
  const view = new DataView(macInput.buffer, macInput.byteOffset, SEQ_SIZE);
  view.setUint32(0, Math.floor(seq / 2 ** 32));
  view.setUint32(4, seq >>> 0);
}
