import assert from "node:assert/strict";
import { NxError } from "../errors.ts";
import { encodeHeader, encodePlainFrame, FrameType, HEADER_SIZE, MAC_SIZE } from "./frame.ts";
import { FrameReader } from "./frame_reader.ts";
import { memoryPair } from "./_testing.ts";

const code = (c: string) => (e: unknown) => e instanceof NxError && e.code === c;

/** Every test runs over a plain stream (chunk reads) and a byte stream (BYOB reads). */
const KINDS = [{ bytes: false, name: "chunks" }, { bytes: true, name: "BYOB" }];
let bytesMode = false;

/** A reader over a stream the test feeds by hand. */
function fed() {
  const pair = memoryPair({ bytes: bytesMode });
  return { reader: new FrameReader(pair.agent.readable), feed: pair.toAgent };
}

function test(name: string, body: (t: Deno.TestContext) => Promise<void>): void {
  Deno.test(name, async (t) => {
    for (const kind of KINDS) {
      await t.step(kind.name, async (t) => {
        bytesMode = kind.bytes;
        await body(t);
      });
    }
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.length) - p.length);
  return out;
}

const controlFrame = (body: number[]) =>
  concat(
    encodeHeader(FrameType.CONTROL, body.length),
    new Uint8Array(body),
    new Uint8Array(MAC_SIZE).fill(9),
  );

test("FrameReader.next() yields frames split byte by byte and packed in one chunk", async () => {
  const { reader, feed } = fed();
  const a = encodePlainFrame(FrameType.HELLO, new Uint8Array([1, 2, 3]));
  const b = controlFrame([4, 5]);
  const c = encodePlainFrame(FrameType.REFUSE, new Uint8Array(0));
  for (const byte of a) feed.inject(new Uint8Array([byte]));
  feed.inject(concat(b, c));
  feed.end();
  const first = await reader.next();
  assert.equal(first?.type, FrameType.HELLO);
  assert.deepEqual([...first!.body], [1, 2, 3]);
  assert.equal(first!.mac, undefined);
  const second = await reader.next();
  assert.equal(second?.type, FrameType.CONTROL);
  assert.deepEqual([...second!.body], [4, 5]);
  assert.deepEqual([...second!.mac!], new Array(MAC_SIZE).fill(9));
  // the MAC input is seq slot ‖ header ‖ body, in the frame's own buffer
  assert.deepEqual([...second!.macInput.subarray(8)], [...b.subarray(0, HEADER_SIZE + 2)]);
  assert.equal((await reader.next())?.type, FrameType.REFUSE);
  assert.equal(await reader.next(), null); // clean EOF between frames
});

test("FrameReader.next() returns null for an empty stream", async () => {
  const { reader, feed } = fed();
  feed.end();
  assert.equal(await reader.next(), null);
});

test("FrameReader.next() refuses an oversize length from the header alone (frame_too_large)", async () => {
  // Only the header arrives: had the reader tried to read (or allocate) the body it would see
  // EOF inside the frame (bad_frame); frame_too_large means it decided before that.
  const { reader, feed } = fed();
  feed.inject(new Uint8Array([0x4e, 0x58, 1, FrameType.DATA, 0xff, 0xff, 0xff, 0xff]));
  feed.end();
  await assert.rejects(reader.next(), code("transport.frame_too_large"));
});

test("FrameReader honours a smaller maxBody", async () => {
  const pair = memoryPair({ bytes: bytesMode });
  const reader = new FrameReader(pair.agent.readable, { maxBody: 4 });
  pair.toAgent.inject(encodePlainFrame(FrameType.HELLO, new Uint8Array(5)));
  await assert.rejects(reader.next(), code("transport.frame_too_large"));
});

test("FrameReader.next() refuses unknown types and bad magic (bad_frame)", async (t) => {
  for (
    const [name, bytes] of [
      ["unknown type", [0x4e, 0x58, 1, 99, 0, 0, 0, 0]],
      ["bad magic", [0x58, 0x4e, 1, 1, 0, 0, 0, 0]],
    ] as const
  ) {
    await t.step(name, async () => {
      const { reader, feed } = fed();
      feed.inject(new Uint8Array(bytes));
      await assert.rejects(reader.next(), code("transport.bad_frame"));
    });
  }
});

test("FrameReader.next() refuses a torn frame at EOF (bad_frame)", async (t) => {
  const whole = encodePlainFrame(FrameType.HELLO, new Uint8Array(10));
  for (const cut of [1, HEADER_SIZE - 1, HEADER_SIZE, whole.length - 1]) {
    await t.step(`cut after ${cut} bytes`, async () => {
      const { reader, feed } = fed();
      feed.inject(whole.subarray(0, cut));
      feed.end();
      await assert.rejects(reader.next(), code("transport.bad_frame"));
    });
  }
  await t.step("a CONTROL frame without its MAC", async () => {
    const { reader, feed } = fed();
    feed.inject(controlFrame([1]).subarray(0, HEADER_SIZE + 1));
    feed.end();
    await assert.rejects(reader.next(), code("transport.bad_frame"));
  });
});

test("FrameReader.next() times out on a length larger than what follows, then silence", async () => {
  const { reader, feed } = fed();
  feed.inject(encodeHeader(FrameType.CONTROL, 1000));
  feed.inject(new Uint8Array(10)); // 10 of the 1000 + MAC bytes, then nothing
  await assert.rejects(reader.next(50), code("transport.timeout"));
});

test("FrameReader.next() resumes a frame after a timeout", async () => {
  const { reader, feed } = fed();
  const frame = encodePlainFrame(FrameType.AUTH, new Uint8Array([1, 2, 3, 4]));
  feed.inject(frame.subarray(0, 3));
  await assert.rejects(reader.next(20), code("transport.timeout"));
  feed.inject(frame.subarray(3, 10));
  await assert.rejects(reader.next(20), code("transport.timeout"));
  feed.inject(frame.subarray(10));
  const got = await reader.next(1000);
  assert.deepEqual([...got!.body], [1, 2, 3, 4]);
});

test("FrameReader.next() reads large bodies straight and small frames packed together", async () => {
  const { reader, feed } = fed();
  const big = new Uint8Array(300_000).map((_, i) => i % 251);
  const frames = [
    encodePlainFrame(FrameType.HELLO, big),
    encodePlainFrame(FrameType.AUTH, new Uint8Array([1])),
    encodePlainFrame(FrameType.HELLO, big.subarray(0, 20_000)),
  ];
  const all = concat(...frames);
  for (let at = 0; at < all.length; at += 70_001) feed.inject(all.subarray(at, at + 70_001));
  feed.end();
  assert.deepEqual((await reader.next())?.body, big);
  assert.deepEqual([...(await reader.next())!.body], [1]);
  assert.deepEqual((await reader.next())?.body, big.subarray(0, 20_000));
  assert.equal(await reader.next(), null);
});

test("FrameReader.next() resumes a large body after a timeout", async () => {
  const { reader, feed } = fed();
  const body = new Uint8Array(100_000).fill(5);
  const frame = encodePlainFrame(FrameType.HELLO, body);
  feed.inject(frame.subarray(0, 30_000));
  await assert.rejects(reader.next(20), code("transport.timeout"));
  feed.inject(frame.subarray(30_000));
  assert.deepEqual((await reader.next(1000))?.body, body);
});

test("FrameReader.next() keeps failing after a bad frame", async () => {
  const { reader, feed } = fed();
  feed.inject(new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0]));
  feed.inject(encodePlainFrame(FrameType.HELLO, new Uint8Array(1)));
  await assert.rejects(reader.next(), code("transport.bad_frame"));
  await assert.rejects(reader.next(), code("transport.bad_frame"));
});
