import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { toHex } from "../bytes/mod.ts";
import {
  decodeHeader,
  encodeHeader,
  encodePlainFrame,
  FrameType,
  HEADER_SIZE,
  layoutMacedFrame,
  MAC_SIZE,
  MAX_BODY,
  SEQ_SIZE,
  writeSeq,
} from "./frame.ts";

const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;

Deno.test("encodeHeader() and decodeHeader() round-trip every frame type", () => {
  for (const type of Object.values(FrameType)) {
    for (const length of [0, 1, 65_535, MAX_BODY]) {
      const header = encodeHeader(type, length);
      assert.equal(header.length, HEADER_SIZE);
      assert.deepEqual([...header.subarray(0, 3)], [0x4e, 0x58, 1]);
      assert.deepEqual(decodeHeader(header), { type, length });
    }
  }
});

Deno.test("encodeHeader() writes the length big-endian", () => {
  assert.equal(toHex(encodeHeader(FrameType.DATA, 0x01020304)), "4e58011101020304");
});

Deno.test("decodeHeader() refuses bad headers with their codes", async (t) => {
  const table: [string, number[], string][] = [
    ["bad magic", [0x4e, 0x59, 1, 16, 0, 0, 0, 0], "transport.bad_frame"],
    ["HTTP instead of a frame", [...new TextEncoder().encode("GET / HT")], "transport.bad_frame"],
    ["unknown type 0", [0x4e, 0x58, 1, 0, 0, 0, 0, 0], "transport.bad_frame"],
    ["unknown type 6", [0x4e, 0x58, 1, 6, 0, 0, 0, 0], "transport.bad_frame"],
    ["unknown type 255", [0x4e, 0x58, 1, 255, 0, 0, 0, 0], "transport.bad_frame"],
    ["protocol version 2", [0x4e, 0x58, 2, 1, 0, 0, 0, 0], "transport.protocol_version"],
    ["protocol version 0", [0x4e, 0x58, 0, 1, 0, 0, 0, 0], "transport.protocol_version"],
    ["length MAX_BODY + 1", [0x4e, 0x58, 1, 17, 0, 0x10, 0, 1], "transport.frame_too_large"],
    ["length 2^32 - 1", [0x4e, 0x58, 1, 16, 255, 255, 255, 255], "transport.frame_too_large"],
  ];
  for (const [name, bytes, expected] of table) {
    await t.step(name, () => {
      assert.throws(() => decodeHeader(new Uint8Array(bytes)), code(expected));
    });
  }
});

Deno.test("decodeHeader() applies a smaller maxBody", () => {
  assert.throws(
    () => decodeHeader(encodeHeader(FrameType.CONTROL, 101), 100),
    code("transport.frame_too_large"),
  );
});

Deno.test("encodePlainFrame() is header ‖ body and refuses a body over MAX_BODY", () => {
  const frame = encodePlainFrame(FrameType.HELLO, new Uint8Array([7, 8]));
  assert.deepEqual([...frame], [0x4e, 0x58, 1, 1, 0, 0, 0, 2, 7, 8]);
  assert.throws(
    () => encodePlainFrame(FrameType.HELLO, new Uint8Array(MAX_BODY + 1)),
    code("transport.frame_too_large"),
  );
});

Deno.test("layoutMacedFrame() lays out seq slot ‖ header ‖ body ‖ MAC slot in one buffer", () => {
  const body = new Uint8Array([1, 2, 3]);
  const f = layoutMacedFrame(FrameType.DATA, body);
  assert.equal(f.macInput.buffer, f.wire.buffer);
  assert.equal(f.mac.buffer, f.wire.buffer);
  assert.equal(f.macInput.length, SEQ_SIZE + HEADER_SIZE + 3);
  assert.equal(f.wire.length, HEADER_SIZE + 3 + MAC_SIZE);
  assert.deepEqual(decodeHeader(f.wire), { type: FrameType.DATA, length: 3 });
  assert.deepEqual([...f.wire.subarray(HEADER_SIZE, HEADER_SIZE + 3)], [1, 2, 3]);
  writeSeq(f.macInput, 2 ** 40 + 5);
  assert.deepEqual([...f.macInput.subarray(0, SEQ_SIZE)], [0, 0, 1, 0, 0, 0, 0, 5]);
});
