/**
 * The cold point computations against noble's own `multiply` (the reference they replace), over
 * every kind of point verification can meet: prime order, small order, mixed order, the base
 * point itself and the identity.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import { baseMinusMultiple, isSmallOrder } from "./_ed25519_cold.ts";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const B = ed.Point.BASE;
/** A point of order 8. */
const T8 = ed.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");

function scalar(label: string): bigint {
  const h = createHash("sha512").update(label).digest();
  let n = 0n;
  for (let i = h.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(h[i]);
  return n % L;
}

/** noble's [s]B − [k]A, s and k < L (its multiply refuses larger scalars). */
function reference(s: bigint, k: bigint, A: ed.Point): ed.Point {
  return B.multiply(s, false).subtract(A.multiply(k, false));
}

const POINTS: [string, ed.Point][] = [
  ["a prime-order point", B.multiply(scalar("a"))],
  ["another prime-order point", B.multiply(scalar("b"))],
  ["the base point", B],
  ["−B", B.negate()],
  ["the identity", ed.Point.ZERO],
  ["the order-8 point", T8],
  ["the order-2 point", T8.multiply(4n)],
  ["a mixed-order point", B.multiply(scalar("c")).add(T8)],
];

const SCALARS: [bigint, bigint][] = [
  [0n, 0n],
  [1n, 0n],
  [0n, 1n],
  [1n, 1n],
  [2n, 3n],
  [8n, 8n],
  [L - 1n, 0n],
  [0n, L - 1n],
  [L - 1n, L - 1n],
  [2n ** 252n, 2n ** 200n],
  [scalar("s1"), scalar("k1")],
  [scalar("s2"), scalar("k2")],
  [scalar("s3"), 5n],
  [7n, scalar("k4")],
];

Deno.test("baseMinusMultiple() equals noble's [s]B − [k]A for every kind of point", async (t) => {
  for (const [name, A] of POINTS) {
    await t.step(name, () => {
      for (const [s, k] of SCALARS) {
        const got = baseMinusMultiple(s, k, A);
        assert.ok(got.equals(reference(s, k, A)), `s = ${s}, k = ${k}`);
        assert.deepEqual(got.toBytes(), reference(s, k, A).toBytes(), `s = ${s}, k = ${k}`);
      }
    });
  }
});

Deno.test("baseMinusMultiple() takes scalars of any size, and refuses negative ones", () => {
  // [s + L]B = [s]B, and for a prime-order A, [k + L]A = [k]A
  const A = B.multiply(scalar("big"));
  const [s, k] = [scalar("s big"), scalar("k big")];
  assert.ok(baseMinusMultiple(s + L, k + 3n * L, A).equals(reference(s, k, A)));
  assert.ok(baseMinusMultiple(2n ** 256n - 1n, 0n, A).equals(B.multiply((2n ** 256n - 1n) % L)));
  assert.throws(() => baseMinusMultiple(-1n, 0n, A), RangeError);
  assert.throws(() => baseMinusMultiple(0n, -1n, A), RangeError);
});

Deno.test("isSmallOrder() agrees with noble's on small, mixed and prime-order points", () => {
  const small = Array.from(
    { length: 8 },
    (_, i) => (i === 0 ? ed.Point.ZERO : T8.multiply(BigInt(i))),
  );
  for (const p of small) assert.equal(isSmallOrder(p), true);
  for (const [name, p] of POINTS) assert.equal(isSmallOrder(p), p.isSmallOrder(), name);
  for (const p of small.slice(1)) {
    const mixed = B.multiply(scalar("m")).add(p);
    assert.equal(isSmallOrder(mixed), false);
  }
});
