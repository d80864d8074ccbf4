import assert from "node:assert/strict";
import {
  CapnpError,
  DEFAULT_LIMITS,
  ElementSize,
  farPointer,
  frameSegments,
  listPointer,
  MessageBuilder,
  MessageReader,
  structPointer,
  wordsToBytes,
} from "./mod.ts";

/** One frame of hand-written segments, each a list of 64-bit words. */
function frame(...segments: bigint[][]): Uint8Array {
  return frameSegments(segments.map(wordsToBytes));
}

/** Little-endian word holding the given bytes (at most 8). */
function bytesWord(...bytes: number[]): bigint {
  return bytes.reduce((w, b, i) => w | (BigInt(b) << BigInt(8 * i)), 0n);
}

function rejects(fn: () => unknown, reason: string): void {
  assert.throws(fn, (e) => e instanceof CapnpError && e.reason === reason);
}

Deno.test("MessageReader() reads what MessageBuilder wrote", () => {
  const b = new MessageBuilder();
  const root = b.initRoot(2, 5);
  root.setU8(0, 0xab);
  root.setU16(2, 0x1234);
  root.setU64(8, 0xfedcba9876543210n);
  root.setText(0, "héllo");
  root.setData(1, new Uint8Array([1, 2, 3]));
  root.setTextList(2, ["a", "", "ccc"]);
  root.initStructList(3, 2, 1, 1).forEach((s, i) => {
    s.setU16(0, 7 + i);
    s.setText(0, `e${i}`);
  });
  const r = new MessageReader(b.toBytes()).root();
  assert.equal(r.u8(0), 0xab);
  assert.equal(r.u16(2), 0x1234);
  assert.equal(r.u64(8), 0xfedcba9876543210n);
  assert.equal(r.text(0), "héllo");
  assert.deepEqual(r.data(1), new Uint8Array([1, 2, 3]));
  const texts = r.list(2)!;
  assert.deepEqual([0, 1, 2].map((i) => texts.text(i)), ["a", "", "ccc"]);
  const structs = r.list(3)!;
  assert.equal(structs.elementSize, ElementSize.inlineComposite);
  assert.deepEqual(
    [0, 1].map((i) => [structs.struct(i).u16(0), structs.struct(i).text(0)]),
    [[7, "e0"], [8, "e1"]],
  );
  assert.equal(r.list(4), null, "an unset pointer is null");
});

Deno.test("StructReader() reads defaults outside its sections", () => {
  const b = new MessageBuilder();
  b.initRoot(1, 1).setU8(0, 5);
  const r = new MessageReader(b.toBytes()).root();
  assert.equal(r.u8(0), 5);
  assert.equal(r.u16(8), 0);
  assert.equal(r.u64(8), 0n);
  assert.equal(r.text(1), null);
  assert.equal(r.list(9), null);
});

Deno.test("MessageBuilder() is deterministic and pre-order", () => {
  const build = () => {
    const b = new MessageBuilder();
    const root = b.initRoot(0, 2);
    root.setText(0, "x");
    root.setTextList(1, ["y"]);
    return b.toBytes();
  };
  const bytes = build();
  assert.deepEqual(build(), bytes);
  assert.deepEqual(
    bytes,
    frame([
      structPointer(0, 0, 2),
      listPointer(1, ElementSize.byte, 2), // root ptr 0 -> "x\0" at word 3
      listPointer(1, ElementSize.pointer, 1), // root ptr 1 -> pointer list at word 4
      bytesWord(0x78),
      listPointer(0, ElementSize.byte, 2), // -> "y\0" at word 5
      bytesWord(0x79),
    ]),
  );
});

Deno.test("MessageReader() follows far pointers", async (t) => {
  const text = bytesWord(0x68, 0x69, 0); // "hi\0"
  await t.step("single far: pad in another segment", () => {
    const bytes = frame(
      [farPointer(1, 0, false)],
      [structPointer(0, 0, 1), farPointer(2, 1, false)],
      [0n, listPointer(0, ElementSize.byte, 3), text],
    );
    assert.equal(new MessageReader(bytes).root().text(0), "hi");
  });
  await t.step("double far: pad points at the content, tag describes it", () => {
    const bytes = frame(
      [farPointer(1, 1, true)],
      [0n, farPointer(2, 2, false), structPointer(0, 0, 1)],
      [0n, 0n, farPointer(3, 0, true)],
      [farPointer(4, 0, false), listPointer(0, ElementSize.byte, 3)],
      [text],
    );
    assert.equal(new MessageReader(bytes).root().text(0), "hi");
  });
});

Deno.test("MessageReader() rejects malformed pointers", async (t) => {
  const cases: [string, Uint8Array, string][] = [
    [
      "far pointer loop",
      frame([farPointer(1, 0, false)], [farPointer(0, 0, false)]),
      "far pointer landing pad is not a struct or list pointer",
    ],
    [
      "double-far pad that is not a far pointer",
      frame([farPointer(1, 0, true)], [structPointer(0, 0, 0), structPointer(0, 0, 0)]),
      "double-far landing pad does not start with a single far pointer",
    ],
    [
      "double-far pad that is itself double-far",
      frame([farPointer(1, 0, true)], [farPointer(0, 0, true), structPointer(0, 0, 0)]),
      "double-far landing pad does not start with a single far pointer",
    ],
    [
      "double-far tag that is a far pointer",
      frame([farPointer(1, 0, true)], [farPointer(1, 0, false), farPointer(0, 0, false)]),
      "double-far tag is not a struct or list pointer",
    ],
    [
      "far pointer to an unknown segment",
      frame([farPointer(7, 0, false)]),
      "far pointer to unknown segment",
    ],
    [
      "landing pad past the segment end",
      frame([farPointer(1, 1, true)], [0n, 0n]),
      "far pointer landing pad out of bounds",
    ],
    ["null landing pad", frame([farPointer(1, 0, false)], [0n]), "far pointer landing pad is null"],
    ["struct past the segment", frame([structPointer(0, 2, 0), 0n]), "pointer out of bounds"],
    ["negative offset", frame([structPointer(-5, 0, 1)]), "pointer out of bounds"],
    [
      "list pointer at the root",
      frame([listPointer(0, ElementSize.byte, 0)]),
      "list pointer where a struct was expected",
    ],
  ];
  for (const [name, bytes, reason] of cases) {
    await t.step(name, () => rejects(() => new MessageReader(bytes).root().text(0), reason));
  }
});

Deno.test("MessageReader() bounds nesting and traversal", async (t) => {
  // A struct whose only pointer points at itself: infinitely deep in two words.
  const selfLoop = frame([structPointer(0, 0, 1), structPointer(-1, 0, 1)]);
  const descend = (limits = DEFAULT_LIMITS) => {
    let s = new MessageReader(selfLoop, limits).root();
    for (;;) s = s.struct(0)!;
  };
  await t.step("depth limit", () => {
    rejects(() => descend({ ...DEFAULT_LIMITS, traversalFactor: 1000 }), "nesting too deep");
  });
  await t.step("traversal limit", () => rejects(() => descend(), "traversal limit exceeded"));
  await t.step("void list elements are charged", () => {
    const bytes = frame([structPointer(0, 0, 1), listPointer(0, ElementSize.void, 2 ** 29 - 1)]);
    rejects(() => new MessageReader(bytes).root().list(0), "traversal limit exceeded");
  });
  await t.step("zero-sized composite elements are charged", () => {
    const bytes = frame([
      structPointer(0, 0, 1),
      listPointer(0, ElementSize.inlineComposite, 0),
      structPointer(2 ** 29 - 1, 0, 0),
    ]);
    rejects(() => new MessageReader(bytes).root().list(0), "traversal limit exceeded");
  });
  await t.step("huge list length is rejected before reading", () => {
    const bytes = frame([
      structPointer(0, 0, 1),
      listPointer(0, ElementSize.eightBytes, 2 ** 29 - 1),
    ]);
    rejects(() => new MessageReader(bytes).root().list(0), "pointer out of bounds");
  });
});

Deno.test("ListReader() views other list encodings as structs", async (t) => {
  await t.step("byte list upgraded to a struct list", () => {
    const bytes = frame([structPointer(0, 0, 1), listPointer(0, ElementSize.byte, 3), 0x030201n]);
    const list = new MessageReader(bytes).root().list(0)!;
    assert.deepEqual([0, 1, 2].map((i) => list.struct(i).u8(0)), [1, 2, 3]);
    assert.equal(list.struct(0).u16(0), 0, "reads past the 1-byte element are defaults");
  });
  await t.step("bit list is refused as a struct list", () => {
    const bytes = frame([structPointer(0, 0, 1), listPointer(0, ElementSize.bit, 3), 5n]);
    rejects(
      () => new MessageReader(bytes).root().list(0)!.struct(0),
      "bit list where a struct list was expected",
    );
  });
  await t.step("composite list read as List(Text) takes pointer 0", () => {
    const bytes = frame([
      structPointer(0, 0, 1),
      listPointer(0, ElementSize.inlineComposite, 2),
      structPointer(1, 1, 1),
      0n,
      listPointer(0, ElementSize.byte, 2),
      bytesWord(0x7a),
    ]);
    assert.equal(new MessageReader(bytes).root().list(0)!.text(0), "z");
  });
  await t.step("Text must be a byte list", () => {
    const bytes = frame([structPointer(0, 0, 1), listPointer(0, ElementSize.twoBytes, 1), 0n]);
    rejects(() => new MessageReader(bytes).root().text(0), "list of bytes expected");
  });
});
