/**
 * Strict Ed25519 = ed25519-dalek 2 `verify_strict`. Every case runs through both paths (in memory
 * and streamed challenge) and asserts they agree. The dalek-specific edge cases build signatures
 * from known scalars, so each test can show that the equation itself holds and that the verdict
 * comes from the rule under test.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as ed from "@noble/ed25519";
import { fromHex, toHex } from "../bytes/mod.ts";
import {
  challengePrefix,
  decompressPoint,
  publicKeyFromSeed,
  sign,
  verifyStrict,
  verifyStrictWithChallenge,
} from "./ed25519.ts";

const L = 2n ** 252n + 27742317777372353535851937790883648493n;
const P = 2n ** 255n - 19n;
const B = ed.Point.BASE;
const enc = new TextEncoder();

function seed(i: number): Uint8Array {
  return new Uint8Array(createHash("sha256").update(`seed ${i}`).digest());
}

function le(n: bigint, sign = false): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((n >> BigInt(8 * i)) & 0xffn);
  if (sign) out[31] |= 0x80;
  return out;
}

function leToBigInt(bytes: Uint8Array): bigint {
  let n = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) n = (n << 8n) | BigInt(bytes[i]);
  return n;
}

function challenge(signature: Uint8Array, key: Uint8Array, message: Uint8Array): Uint8Array {
  const h = createHash("sha512").update(challengePrefix(signature, key));
  // Stream in uneven chunks, as the bundle reader does.
  for (let i = 0; i < message.length; i += 7) h.update(message.subarray(i, i + 7));
  return new Uint8Array(h.digest());
}

/** k = SHA-512(R ‖ A ‖ M) mod L over the bytes as given. */
function kOf(rBytes: Uint8Array, key: Uint8Array, message: Uint8Array): bigint {
  const h = createHash("sha512").update(rBytes).update(key).update(message).digest();
  return leToBigInt(h) % L;
}

/** Both paths must agree; returns the verdict. */
function verdict(signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  const inMemory = verifyStrict(signature, message, key);
  const streamed = verifyStrictWithChallenge(signature, key, challenge(signature, key, message));
  assert.equal(streamed, inMemory, "the streamed and in-memory paths disagree");
  return inMemory;
}

function signature(rBytes: Uint8Array, s: bigint): Uint8Array {
  const out = new Uint8Array(64);
  out.set(rBytes);
  out.set(le(s), 32);
  return out;
}

/** Signs with secret scalar `a` for the key bytes `key` (which may encode aB + torsion). */
function signWithScalar(a: bigint, key: Uint8Array, message: Uint8Array, r: bigint): Uint8Array {
  const rBytes = B.multiply(r).toBytes();
  return signature(rBytes, (r + kOf(rBytes, key, message) * a) % L);
}

/** The cofactorless equation alone: compress([S]B − [k]A) = R bytes (A decoded as dalek does). */
function equationHolds(sig: Uint8Array, message: Uint8Array, key: Uint8Array): boolean {
  const s = leToBigInt(sig.subarray(32));
  const A = decompressPoint(key)!;
  const k = kOf(sig.subarray(0, 32), key, message);
  const rPrime = B.multiply(s % L, false).subtract(A.multiply(k, false)).toBytes();
  return rPrime.every((b, i) => b === sig[i]);
}

/** A point of order 8 (from the small-order list every strict verifier refuses). */
const T8 = ed.Point.fromHex("c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a");
/** The 8 small-order points [i]T8, i = 0..7; [i]T8 has order 8 / gcd(i, 8). */
const SMALL = Array.from(
  { length: 8 },
  (_, i) => (i === 0 ? ed.Point.ZERO : T8.multiply(BigInt(i))),
);
const orderOf = (i: number) => 8 / gcdOf(i, 8);
function gcdOf(a: number, b: number): number {
  return b === 0 ? a : gcdOf(b, a % b);
}

const SECRET = leToBigInt(createHash("sha512").update("nx test scalar").digest()) % L;
const HONEST_KEY = B.multiply(SECRET).toBytes();

Deno.test("the order-8 torsion point really has order 8", () => {
  assert.ok(!T8.multiply(4n).is0() && T8.multiply(8n).is0());
  assert.ok(SMALL.every((p) => p.isSmallOrder()));
  assert.equal(new Set(SMALL.map((p) => p.toHex())).size, 8);
});

Deno.test("verifyStrict() accepts honest signatures and rejects bit flips", async (t) => {
  for (let i = 0; i < 24; i++) {
    await t.step(`case ${i}`, () => {
      const key = publicKeyFromSeed(seed(i));
      const message = createHash("sha512").update(`m${i}`).digest().subarray(0, i * 3);
      const sig = sign(message, seed(i));
      assert.equal(verdict(sig, message, key), true);
      // noble's strict verify agrees wherever no torsion component is involved
      assert.equal(ed.verify(sig, message, key, { zip215: false }), true);
      const tampered = sig.slice();
      tampered[i % 64] ^= 1 << (i % 8);
      assert.equal(verdict(tampered, message, key), false);
      assert.equal(verdict(sig, enc.encode(`other ${i}`), key), false);
      assert.equal(verdict(sig, message, publicKeyFromSeed(seed(i + 100))), false);
    });
  }
});

Deno.test("verifyStrict() rejects every non-canonical scalar S + nL, S = L and S = 2^256 − 1", () => {
  const message = enc.encode("payload");
  const sig = sign(message, seed(1));
  const key = publicKeyFromSeed(seed(1));
  const s = leToBigInt(sig.subarray(32));
  assert.equal(verdict(sig, message, key), true);
  // S + nL stays below 2^256 for n ≤ 15; n ≥ 2 are the S ≥ 2^253 cases
  for (let n = 1n; s + n * L < 2n ** 256n; n++) {
    assert.equal(verdict(signature(sig.subarray(0, 32), s + n * L), message, key), false);
  }
  for (const bad of [L, L + 1n, 2n ** 253n, 2n ** 255n, 2n ** 256n - 1n]) {
    assert.equal(verdict(signature(sig.subarray(0, 32), bad), message, key), false);
  }
});

Deno.test("verifyStrict() rejects small-order keys even when the cofactorless equation holds", async (t) => {
  const encodings: [string, Uint8Array, number][] = SMALL.map((p, i) => [
    `[${i}]T8, order ${orderOf(i)}`,
    p.toBytes(),
    orderOf(i),
  ]);
  // The non-canonical encodings dalek's decoder accepts: y ≥ p, and x = 0 with the sign bit.
  encodings.push(["identity, y = p + 1", le(P + 1n), 1]);
  encodings.push(["identity, sign bit set", le(1n, true), 1]);
  encodings.push(["order 2, sign bit set", le(P - 1n, true), 2]);
  encodings.push(["order 4, y = p", le(P), 4]);
  encodings.push(["order 4, y = p, sign bit set", le(P, true), 4]);
  for (const [name, key, order] of encodings) {
    await t.step(name, () => {
      const A = decompressPoint(key);
      assert.ok(A && A.isSmallOrder() && A.multiply(BigInt(order), false).is0());
      // R = [s]B, S = s: the equation holds as soon as [k]A = O, i.e. order | k.
      const message = enc.encode("forged for every message");
      let s = 1n;
      while (kOf(B.multiply(s).toBytes(), key, message) % BigInt(order) !== 0n) s++;
      const forged = signature(B.multiply(s).toBytes(), s);
      assert.ok(equationHolds(forged, message, key), "the forgery satisfies the equation");
      assert.equal(verdict(forged, message, key), false);
    });
  }
});

Deno.test("verifyStrict() rejects a small-order R even when the cofactorless equation holds", async (t) => {
  // A = aB + T8 (mixed order, so not small): with S = k·a, [S]B − [k]A = −[k]T8, a small-order
  // point. For each small-order R, find a message whose k makes −[k]T8 exactly R.
  const key = B.multiply(SECRET).add(T8).toBytes();
  for (let i = 0; i < 8; i++) {
    await t.step(`R = [${i}]T8`, () => {
      const rBytes = SMALL[i].toBytes();
      let n = 0;
      let message = enc.encode("m0");
      while (!SMALL[i].equals(T8.multiply(kOf(rBytes, key, message) % 8n || 8n).negate())) {
        message = enc.encode(`m${++n}`);
      }
      const sig = signature(rBytes, (kOf(rBytes, key, message) * SECRET) % L);
      assert.ok(equationHolds(sig, message, key), "the signature satisfies the equation");
      assert.equal(verdict(sig, message, key), false);
    });
  }
  await t.step("R = 0x00…00 (order 4), S = 0, k = 0", () => {
    // With k = 0 and S = 0 the cofactored equation [8]([S]B − R − [k]A) = O holds for any key.
    assert.equal(
      verifyStrictWithChallenge(new Uint8Array(64), HONEST_KEY, new Uint8Array(64)),
      false,
    );
  });
});

Deno.test("verifyStrict() with a mixed-order key accepts exactly when [k]T8 = O (cofactorless)", () => {
  // A = aB + T8 is accepted by dalek (not small order, no torsion check). An honest-style
  // signature S = r + k·a gives [S]B − [k]A = R − [k]T8: it verifies iff 8 | k. A cofactored
  // verifier (the old rule, noble's strict verify) accepts both.
  const key = B.multiply(SECRET).add(T8).toBytes();
  const found = { accept: 0, reject: 0 };
  for (let i = 0; i < 64 && (found.accept < 2 || found.reject < 2); i++) {
    const message = enc.encode(`mixed ${i}`);
    const sig = signWithScalar(SECRET, key, message, BigInt(1000 + i));
    const divisible = kOf(sig.subarray(0, 32), key, message) % 8n === 0n;
    assert.equal(verdict(sig, message, key), divisible, `message ${i}`);
    assert.equal(ed.verify(sig, message, key, { zip215: false }), true);
    found[divisible ? "accept" : "reject"]++;
  }
  assert.ok(found.accept >= 2 && found.reject >= 2, JSON.stringify(found));
});

Deno.test("verifyStrict() rejects a mixed-order R that only the cofactored equation accepts", () => {
  for (let i = 1; i < 8; i++) {
    const message = enc.encode(`mixed R ${i}`);
    const rBytes = B.multiply(4242n + BigInt(i)).add(SMALL[i]).toBytes();
    const sig = signature(
      rBytes,
      (4242n + BigInt(i) + kOf(rBytes, HONEST_KEY, message) * SECRET) % L,
    );
    assert.equal(ed.verify(sig, message, HONEST_KEY, { zip215: false }), true);
    assert.equal(verdict(sig, message, HONEST_KEY), false);
  }
});

Deno.test("verifyStrict() never matches a non-canonical R encoding", async (t) => {
  // S = k·a gives [S]B − [k]A = O: the point R decodes to is the right one, but compress(O) is
  // 0x01 00…00, so these bytes never compare equal (and the identity is small-order besides).
  for (
    const [name, rBytes] of [["y = p + 1", le(P + 1n)], ["sign bit set", le(1n, true)]] as const
  ) {
    await t.step(name, () => {
      assert.ok(decompressPoint(rBytes)!.is0());
      const message = enc.encode(name);
      const sig = signature(rBytes, (kOf(rBytes, HONEST_KEY, message) * SECRET) % L);
      assert.equal(verdict(sig, message, HONEST_KEY), false);
    });
  }
  await t.step("an honest R with its sign bit flipped", () => {
    const message = enc.encode("flip");
    const sig = signWithScalar(SECRET, HONEST_KEY, message, 77n);
    sig[31] ^= 0x80;
    assert.equal(verdict(sig, message, HONEST_KEY), false);
  });
});

Deno.test("verifyStrict() rejects an R or a key that is not on the curve", () => {
  const notOnCurve = le(2n); // y = 2: (y² − 1)/(dy² + 1) is not a square
  assert.equal(decompressPoint(notOnCurve), undefined);
  const message = enc.encode("off the curve");
  const sig = signWithScalar(SECRET, HONEST_KEY, message, 99n);
  assert.equal(verdict(sig, message, HONEST_KEY), true);
  const badR = sig.slice();
  badR.set(notOnCurve, 0);
  assert.equal(verdict(badR, message, HONEST_KEY), false);
  assert.equal(verdict(sig, message, notOnCurve), false);
  assert.equal(verdict(sig, message, le(P + 2n)), false);
});

Deno.test("decompressPoint() decodes as curve25519-dalek: y mod p, x = 0 with the sign bit", () => {
  for (let y = 0n; y < 19n; y++) {
    const canonical = decompressPoint(le(y));
    const reduced = decompressPoint(le(y + P));
    assert.equal(reduced === undefined, canonical === undefined, `y = ${y}`);
    if (canonical && reduced) assert.ok(reduced.equals(canonical), `y = ${y}`);
  }
  // y = 3 + p is a non-canonical encoding of a point that is not small-order
  assert.ok(decompressPoint(le(3n + P)) && !decompressPoint(le(3n + P))!.isSmallOrder());
  assert.ok(decompressPoint(le(1n, true))!.is0());
  assert.ok(decompressPoint(le(P - 1n, true))!.equals(SMALL[4]));
  assert.equal(decompressPoint(new Uint8Array(31)), undefined);
});

Deno.test("verifyStrict() rejects wrong lengths without throwing", () => {
  const key = publicKeyFromSeed(seed(2));
  const message = enc.encode("len");
  const sig = sign(message, seed(2));
  assert.equal(verifyStrict(sig.subarray(0, 63), message, key), false);
  assert.equal(verifyStrict(new Uint8Array([...sig, 0]), message, key), false);
  assert.equal(verifyStrict(sig, message, key.subarray(1)), false);
  const c = challenge(sig, key, message);
  assert.equal(verifyStrictWithChallenge(sig, key, c), true);
  assert.equal(verifyStrictWithChallenge(sig, key, c.subarray(0, 32)), false);
  assert.equal(verifyStrictWithChallenge(sig, key.subarray(1), c), false);
});

Deno.test("verification never builds noble's base-point table (checked in a fresh process)", async () => {
  // noble builds its table of 33 × 128 multiples of B (4,224 point additions) the first time
  // anything multiplies B through Point#multiply, and caches it for the process; this process
  // has built it long ago (noble's sign, in the test below), so the probe runs in a new one. It counts Point#add calls:
  // during verification (valid, refused, streamed, a key equal to B, the key-admission rule),
  // then while forcing the table, which proves the counter sees a table build.
  const key = publicKeyFromSeed(seed(7));
  const message = enc.encode("cold");
  const sig = sign(message, seed(7));
  const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  const probe = `
    import * as ed from "@noble/ed25519";
    import { createHash } from "node:crypto";
    import * as m from ${JSON.stringify(new URL("./ed25519.ts", import.meta.url).href)};
    const un = (h) => Uint8Array.from(h.match(/../g), (x) => parseInt(x, 16));
    const [sig, key, message] = [un("${hex(sig)}"), un("${hex(key)}"), un("${hex(message)}")];
    const add = ed.Point.prototype.add;
    let adds = 0;
    ed.Point.prototype.add = function (other) { adds++; return add.call(this, other); };
    const bad = sig.slice();
    bad[40] ^= 1;
    const challenge = new Uint8Array(
      createHash("sha512").update(m.challengePrefix(sig, key)).update(message).digest(),
    );
    const verdicts = [
      m.verifyStrict(sig, message, key),
      m.verifyStrict(bad, message, key),
      m.verifyStrictWithChallenge(sig, key, challenge),
      m.verifyStrict(sig, message, ed.Point.BASE.toBytes()),
      m.isAcceptablePublicKey(key),
      m.isAcceptablePublicKey(ed.Point.BASE.toBytes()),
    ];
    const verifyAdds = adds;
    adds = 0;
    ed.Point.BASE.multiply(3n);
    console.log(JSON.stringify({ verdicts, verifyAdds, tableAdds: adds }));
  `;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--quiet",
      "--ext=js",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      probe,
    ],
    cwd: new URL("../..", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  const got = JSON.parse(new TextDecoder().decode(out.stdout));
  assert.deepEqual(got.verdicts, [true, false, true, false, true, true]);
  assert.ok(got.tableAdds >= 33 * 128, `the table build was seen: ${got.tableAdds} additions`);
  // Four joint double-and-add chains (≤ 253 + 253 additions each) and the small-order checks.
  assert.ok(got.verifyAdds < 4 * 2 * 253, `verification did ${got.verifyAdds} additions`);
});

Deno.test("publicKeyFromSeed() derives RFC 8032's keys and noble's, natively", () => {
  // RFC 8032 §7.1, TEST 1 and TEST 2.
  const vectors = [
    [
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
    ],
    [
      "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
    ],
  ];
  for (const [secret, expected] of vectors) {
    assert.equal(toHex(publicKeyFromSeed(fromHex(secret))), expected);
  }
  for (let i = 0; i < 64; i++) {
    assert.deepEqual(publicKeyFromSeed(seed(i)), ed.getPublicKey(seed(i)));
  }
  assert.throws(() => publicKeyFromSeed(new Uint8Array(31)), RangeError);
});

Deno.test("sign() gives RFC 8032's signatures and noble's, natively", () => {
  // RFC 8032 §7.1, TEST 1 (empty message) and TEST 2 (one byte, 0x72).
  const vectors = [
    [
      "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
      "",
      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
    ],
    [
      "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
      "72",
      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
    ],
  ];
  for (const [secret, message, expected] of vectors) {
    assert.equal(toHex(sign(fromHex(message), fromHex(secret))), expected);
  }
  for (let i = 0; i < 64; i++) {
    const message = createHash("sha512").update(`m${i}`).digest().subarray(0, i);
    assert.deepEqual(sign(message, seed(i)), ed.sign(message, seed(i)));
  }
  assert.throws(() => sign(enc.encode("x"), new Uint8Array(33)), RangeError);
});
