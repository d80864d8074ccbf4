/**
 * Field rules of the licensing records, shared by the encoder (nothing invalid is ever signed)
 * and the strict decoder (anything else is `entitlement.malformed`).
 */

import { NxError } from "../errors.ts";
import { APP_ID } from "../bundle/mod.ts";
import {
  type Entitlement,
  META_MAX_ENTRIES,
  META_VALUE_MAX_BYTES,
  REASON_MAX_BYTES,
  RECORD_VERSION,
  STATUS_ACTIONS,
  type StatusChange,
  TOKEN_TYPES,
} from "./types.ts";

/** The manifest's sku rule: [A-Za-z0-9._-]{1,64}, starting alphanumeric. */
export const SKU_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const META_KEY = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const AUDIENCE = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;
const HEX32 = /^[0-9a-f]{32}$/;
const HEX64 = /^[0-9a-f]{64}$/;
const utf8 = new TextEncoder();

const MALFORMED_HINT = "the file is not an nx licensing record (.nxe or .nxr) or it was altered: " +
  "get a fresh copy from the store that issued it";

/** `entitlement.malformed` for `action` ("read licensing record", "encode entitlement", …). */
export function malformed(
  action: string,
  reason: string,
  details: Record<string, unknown> = {},
): NxError {
  return new NxError("entitlement.malformed", `cannot ${action}: ${reason}`, {
    hint: MALFORMED_HINT,
    details,
  });
}

type Fail = (reason: string, details: Record<string, unknown>) => never;

function failWith(action: string): Fail {
  return (reason, details) => {
    throw malformed(action, reason, details);
  };
}

function checkVersion(version: number, fail: Fail): void {
  if (version !== RECORD_VERSION) fail("unsupported record version", { version });
}

function checkTime(field: string, value: number, fail: Fail): void {
  if (!Number.isSafeInteger(value)) fail(`${field} is not a whole number of seconds`, { field });
}

function checkText(field: string, value: string, rule: RegExp, fail: Fail): void {
  if (!rule.test(value)) fail(`${field} does not match ${rule.source}`, { field });
}

function checkEnum(field: string, value: string, values: readonly string[], fail: Fail): void {
  if (!values.includes(value)) fail(`${field} is not one of ${values.join(", ")}`, { field });
}

function checkLength(field: string, value: string, max: number, fail: Fail): void {
  const bytes = utf8.encode(value).length;
  if (bytes > max) fail(`${field} is longer than ${max} bytes`, { field, bytes, limit: max });
}

/** Throws `entitlement.malformed` unless every field of `e` follows the format's rules. */
export function checkEntitlement(e: Entitlement, action: string): void {
  const fail = failWith(action);
  checkVersion(e.version, fail);
  checkText("appId", e.appId, APP_ID, fail);
  checkText("sku", e.sku, SKU_ID, fail);
  checkEnum("type", e.type, TOKEN_TYPES, fail);
  checkText("deviceFp", e.deviceFp, HEX32, fail);
  checkText("audience", e.audience, AUDIENCE, fail);
  checkTime("iat", e.iat, fail);
  checkTime("nbf", e.nbf, fail);
  checkTime("exp", e.exp, fail);
  // A token whose validity window is empty or inverted can never be valid: refuse it outright.
  if (e.exp <= e.nbf) fail("exp is not after nbf", { nbf: e.nbf, exp: e.exp });
  if (e.meta.length > META_MAX_ENTRIES) {
    fail(`more than ${META_MAX_ENTRIES} meta entries`, { entries: e.meta.length });
  }
  e.meta.forEach((m, i) => {
    checkText(`meta[${i}].key`, m.key, META_KEY, fail);
    checkLength(`meta[${i}].value`, m.value, META_VALUE_MAX_BYTES, fail);
    // Sorted, unique keys: one value has one encoding.
    if (i > 0 && !(e.meta[i - 1].key < m.key)) {
      fail("meta keys are not sorted and unique", { key: m.key });
    }
  });
}

/** Throws `entitlement.malformed` unless every field of `s` follows the format's rules. */
export function checkStatusChange(s: StatusChange, action: string): void {
  const fail = failWith(action);
  checkVersion(s.version, fail);
  checkText("tokenId", s.tokenId, HEX64, fail);
  checkEnum("action", s.action, STATUS_ACTIONS, fail);
  checkTime("issuedAt", s.issuedAt, fail);
  if (!Number.isSafeInteger(s.serial) || s.serial < 0) {
    fail("serial is not a non-negative whole number", { field: "serial" });
  }
  checkText("appId", s.appId, APP_ID, fail);
  checkText("sku", s.sku, SKU_ID, fail);
  checkLength("reason", s.reason, REASON_MAX_BYTES, fail);
}

export function isKeyId(text: string): boolean {
  return HEX32.test(text);
}
