/**
 * Shared values of the entitlement tests (a `_test.ts` module so the layer check, which reads
 * only non-test modules, never sees its fixture import): keys from the fixture seeds, a device,
 * token and status-change fields, and word-level rewrites of canonical messages into other,
 * non-canonical encodings of the same values.
 */

import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { farPointer, frameSegments } from "../bundle/capnp/mod.ts";
import { isNxError } from "../errors.ts";
import { publicKeyFromSeed } from "../trust/mod.ts";
import { seedFor } from "../../fixtures/catalog.ts";
import {
  deviceFingerprint,
  type Entitlement,
  type EntitlementRecord,
  issueEntitlement,
  issueStatusChange,
  keyIdOfSeed,
  LICENSING_AUDIENCE,
  type StatusChange,
  type StatusChangeRecord,
  verifyRecord,
} from "./mod.ts";

export const STORE_SEED = seedFor("licensing");
export const OTHER_STORE_SEED = seedFor("store");
export const ROGUE_SEED = seedFor("rogue");
export const PUBLISHER_SEED = seedFor("dev");

const deviceSeed = (name: string) =>
  new Uint8Array(createHash("sha256").update(`entitlement test device: ${name}`).digest());
export const DEVICE_FP = deviceFingerprint(publicKeyFromSeed(deviceSeed("this")));
export const OTHER_DEVICE_FP = deviceFingerprint(publicKeyFromSeed(deviceSeed("other")));

/** 2024-01-01T00:00:00Z and a year later. */
export const T0 = 1_704_067_200;
export const YEAR = 365 * 86_400;

/** Both trusted store keys (the dev store's and a second store). */
export const STORE_KEYS = new Map(
  [STORE_SEED, OTHER_STORE_SEED].map((s) => [keyIdOfSeed(s), publicKeyFromSeed(s)]),
);
export const PUBLISHER_IDS = new Set([keyIdOfSeed(PUBLISHER_SEED)]);

export function token(over: Partial<Entitlement> = {}): Entitlement {
  return {
    version: 1,
    appId: "ledger",
    sku: "ledger.pro",
    type: "full",
    deviceFp: DEVICE_FP,
    audience: LICENSING_AUDIENCE,
    iat: T0,
    nbf: T0,
    exp: T0 + YEAR,
    meta: [{ key: "order", value: "42" }, { key: "store", value: "nx-dev-store" }],
    ...over,
  };
}

export function change(tokenId: string, over: Partial<StatusChange> = {}): StatusChange {
  return {
    version: 1,
    tokenId,
    action: "revoke",
    issuedAt: T0 + 100,
    serial: 1,
    appId: "ledger",
    sku: "ledger.pro",
    reason: "refund",
    ...over,
  };
}

const verifyOpts = { storeKeys: STORE_KEYS, deviceFp: DEVICE_FP };

/** A token as the ledger holds it: issued by `seed`, then verified. */
export function tokenRecord(over: Partial<Entitlement> = {}, seed = STORE_SEED): EntitlementRecord {
  const device = over.deviceFp ?? DEVICE_FP;
  const r = verifyRecord(issueEntitlement(token(over), seed), { ...verifyOpts, deviceFp: device });
  assert.equal(r.kind, "entitlement");
  return r;
}

export function changeRecord(
  tokenId: string,
  over: Partial<StatusChange> = {},
  seed = STORE_SEED,
): StatusChangeRecord {
  const r = verifyRecord(issueStatusChange(change(tokenId, over), seed), verifyOpts);
  assert.equal(r.kind, "statusChange");
  return r;
}

/** Asserts that `f` throws an NxError with `code`; returns it for further checks. */
export function throwsCode(f: () => unknown, code: string) {
  try {
    f();
  } catch (e) {
    if (!isNxError(e)) throw e;
    assert.equal(e.code, code, `expected ${code}, got ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected ${code}, nothing was thrown`);
}

// ---- Word-level rewrites of a canonical single-segment framed message. ----

function segmentWords(message: Uint8Array): bigint[] {
  const view = new DataView(message.buffer, message.byteOffset, message.byteLength);
  assert.equal(view.getUint32(0, true), 0, "a single-segment message");
  const words: bigint[] = [];
  for (let at = 8; at < message.length; at += 8) words.push(view.getBigUint64(at, true));
  return words;
}

function segmentBytes(words: readonly bigint[]): Uint8Array {
  const out = new Uint8Array(words.length * 8);
  const view = new DataView(out.buffer);
  words.forEach((w, i) => view.setBigUint64(i * 8, BigInt.asUintN(64, w), true));
  return out;
}

const rootSizes = (w: bigint) => [Number((w >> 32n) & 0xffffn), Number(w >> 48n)];

/** The root struct gets one more data word (zero): an untruncated data section. */
export function withExtraDataWord(message: Uint8Array): Uint8Array {
  const w = segmentWords(message);
  const [data] = rootSizes(w[0]);
  w.splice(1 + data, 0, 0n);
  w[0] += 1n << 32n;
  return frameSegments([segmentBytes(w)]);
}

/** The root struct gets one more pointer (null): an untruncated pointer section. */
export function withExtraNullPointer(message: Uint8Array): Uint8Array {
  const w = segmentWords(message);
  const [data, ptrs] = rootSizes(w[0]);
  const end = 1 + data + ptrs;
  w.splice(end, 0, 0n);
  w[0] += 1n << 48n;
  // The root's own pointers now point one word further to their (moved) objects.
  for (let i = 1 + data; i < end; i++) if (w[i] !== 0n) w[i] += 4n;
  return frameSegments([segmentBytes(w)]);
}

/** An unreferenced zero word after the last object. */
export function withTrailingZeroWord(message: Uint8Array): Uint8Array {
  return frameSegments([segmentBytes([...segmentWords(message), 0n])]);
}

/** The root reached through a far pointer to a landing pad in the same segment. */
export function withFarRoot(message: Uint8Array): Uint8Array {
  return frameSegments([segmentBytes([farPointer(0, 1, false), ...segmentWords(message)])]);
}

/** The objects moved to a second segment, reached through a far pointer from the first. */
export function withTwoSegments(message: Uint8Array): Uint8Array {
  const first = segmentBytes([farPointer(1, 0, false)]);
  return frameSegments([first, segmentBytes(segmentWords(message))]);
}

/** The same segment, plus an empty second segment. */
export function withEmptySecondSegment(message: Uint8Array): Uint8Array {
  return frameSegments([segmentBytes(segmentWords(message)), new Uint8Array(0)]);
}

export const NON_CANONICAL = {
  "an extra trailing zero word": withTrailingZeroWord,
  "an untruncated data section": withExtraDataWord,
  "an untruncated pointer section": withExtraNullPointer,
  "a far pointer to the root": withFarRoot,
  "two segments": withTwoSegments,
  "an empty second segment": withEmptySecondSegment,
} as const;
