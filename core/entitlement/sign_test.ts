import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { fingerprint, publicKeyFromSeed, verifyStrict } from "../trust/mod.ts";
import { STORE_SEED, T0, throwsCode, token } from "./_helpers_test.ts";
import {
  decodeSignedRecord,
  deviceFingerprint,
  encodeEntitlement,
  issueEntitlement,
  recordSigningMessage,
  shortTokenId,
  tokenId,
} from "./mod.ts";

Deno.test("tokenId() is the SHA-256 hex of the token's canonical message", () => {
  const body = encodeEntitlement(token());
  const id = tokenId(body);
  assert.equal(id, createHash("sha256").update(body).digest("hex"));
  assert.match(id, /^[0-9a-f]{64}$/);
  assert.equal(shortTokenId(id), id.slice(0, 16));
});

Deno.test("recordSigningMessage() is the context, the kind ordinal, then the body", () => {
  const body = new Uint8Array([9, 8, 7]);
  const context = [..."nx-licensed-v1"].map((c) => c.charCodeAt(0));
  assert.deepEqual([...recordSigningMessage("entitlement", body)], [...context, 0, 0, 9, 8, 7]);
  assert.deepEqual([...recordSigningMessage("statusChange", body)], [...context, 0, 1, 9, 8, 7]);
});

Deno.test("issueEntitlement() signs the body with the store key it names", () => {
  const rec = decodeSignedRecord(issueEntitlement(token(), STORE_SEED));
  const key = publicKeyFromSeed(STORE_SEED);
  assert.equal(rec.keyId, fingerprint(key));
  assert.deepEqual(rec.body, encodeEntitlement(token()));
  assert.ok(verifyStrict(rec.signature, recordSigningMessage("entitlement", rec.body), key));
});

Deno.test("issueEntitlement() never signs fields the format refuses", () => {
  throwsCode(() => issueEntitlement(token({ exp: T0 - 1 }), STORE_SEED), "entitlement.malformed");
});

Deno.test("deviceFingerprint() is the key fingerprint of the device's public key", () => {
  const key = publicKeyFromSeed(new Uint8Array(32).fill(3));
  assert.equal(deviceFingerprint(key), fingerprint(key));
  assert.match(deviceFingerprint(key), /^[0-9a-f]{32}$/);
});
