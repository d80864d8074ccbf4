/**
 * The two point computations strict verification needs, composed from `@noble/ed25519`'s own
 * point operations (`double`, `add`, `negate`) so that they never multiply the base point through
 * `Point#multiply`. noble answers `B.multiply(n)` from a table of 33 × 128 multiples of B that it
 * builds on first use (4,224 point additions, tens of milliseconds in a fresh process, then cached
 * for the process). A CLI process checks one or two signatures, so that table is never repaid:
 * one joint double-and-add (Straus, "Shamir's trick") computes [s]B − [k]A in one chain of about
 * 253 doublings and 190 additions instead.
 *
 * Variable-time, like noble's `multiply(n, false)`: verification handles public values only.
 */
import { Point } from "@noble/ed25519";

/**
 * [s]B − [k]A for scalars s, k ≥ 0 (any size; verification passes s < L and k < L).
 * Equal, as a point, to `Point.BASE.multiply(s, false).subtract(A.multiply(k, false))`.
 */
export function baseMinusMultiple(s: bigint, k: bigint, A: Point): Point {
  if (s < 0n || k < 0n) throw new RangeError("cannot multiply: negative scalar");
  const B = Point.BASE;
  const negA = A.negate();
  const both = B.add(negA);
  const sBits = s.toString(2);
  const kBits = k.toString(2);
  const width = Math.max(sBits.length, kBits.length);
  const sb = sBits.padStart(width, "0");
  const kb = kBits.padStart(width, "0");
  // Most significant bit first: acc = [⌊s / 2^i⌋]B − [⌊k / 2^i⌋]A after the step for bit i.
  let acc = Point.ZERO;
  for (let i = 0; i < width; i++) {
    acc = acc.double();
    const withB = sb[i] === "1";
    const withA = kb[i] === "1";
    if (withB && withA) acc = acc.add(both);
    else if (withB) acc = acc.add(B);
    else if (withA) acc = acc.add(negA);
  }
  return acc;
}

/**
 * [8]P = O (the cofactor clears P): three doublings. noble's `isSmallOrder` computes the same
 * [8]P through `multiply(8n)`, which takes the table path when P is the base point.
 */
export function isSmallOrder(point: Point): boolean {
  return point.double().double().double().is0();
}
