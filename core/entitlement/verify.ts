/**
 * The trust decision on one licensing file, in a fixed order (docs/licensing.md#verification):
 * size → strict decoding → a trusted store key → strict Ed25519 → (a token only) audience →
 * device → (at import) not already expired. Validity in time is otherwise the gate's question
 * (gate.ts), so a ledger can hold a token that becomes valid later.
 */

import { type ErrorCode, NxError } from "../errors.ts";
import { fingerprint, verifyStrict } from "../trust/mod.ts";
import { decodeRecord, type LicensingRecord, recordDetails } from "./record.ts";
import { recordSigningMessage } from "./sign.ts";
import { LICENSING_AUDIENCE } from "./types.ts";

export interface VerifyRecordOptions {
  /** The root's trusted store keys: key id (32 hex) → Ed25519 public key. */
  storeKeys: ReadonlyMap<string, Uint8Array>;
  /** Key ids of trusted bundle publishers: only to say why such a signer is refused. */
  publisherKeyIds?: ReadonlySet<string>;
  /** 32 hex: this root's device fingerprint. */
  deviceFp: string;
  /** The consumer tokens must name; {@link LICENSING_AUDIENCE} unless a test says otherwise. */
  audience?: string;
  /** Unix seconds; when given, a token whose exp is not after it is refused (import). */
  now?: number;
}

const BUY_HINT = "buy or import a token for this device: `nx store buy <sku>` or " +
  "`nx licensed import FILE`";

/** Verifies a `.nxe` / `.nxr` file; returns the record or throws an `entitlement.*` NxError. */
export function verifyRecord(bytes: Uint8Array, opts: VerifyRecordOptions): LicensingRecord {
  const record = decodeRecord(bytes);
  const what = record.kind === "entitlement" ? "entitlement" : "status change";
  const details = recordDetails(record);
  const fail = (code: ErrorCode, reason: string, hint: string, extra = {}) =>
    deny(code, `cannot verify ${what}: ${reason}`, hint, { ...details, ...extra });

  // trust: only a key on the root's own store list may sign licensing records; bundle
  // publishers are a separate list and sign nothing here.
  const key = opts.storeKeys.get(record.keyId);
  if (key === undefined || fingerprint(key) !== record.keyId) {
    const publisher = opts.publisherKeyIds?.has(record.keyId) === true;
    throw fail(
      "entitlement.untrusted_key",
      publisher
        ? "signed by a bundle publisher's key, not a store key"
        : "signed by an untrusted key",
      publisher
        ? "publisher keys sign bundles only; a token must come from a store whose key this root " +
          "trusts (`nx licensed trust list`)"
        : "if you trust the store that issued it, add its public key: " +
          "`nx licensed trust add STORE.pub`",
      { publisherKey: publisher },
    );
  }
  // trust: strict Ed25519 (the bundle verifier's rules) over context ‖ kind ‖ body.
  if (!verifyStrict(record.signature, recordSigningMessage(record.kind, record.body), key)) {
    throw fail(
      "entitlement.bad_signature",
      "the signature does not verify",
      "the file was altered or damaged: get a fresh copy from the store that issued it",
    );
  }
  if (record.kind === "statusChange") return record;
  const token = record.token;
  const audience = opts.audience ?? LICENSING_AUDIENCE;
  if (token.audience !== audience) {
    throw fail(
      "entitlement.wrong_audience",
      `the token is for ${JSON.stringify(token.audience)}, not ${JSON.stringify(audience)}`,
      `this token is meant for another program; ${BUY_HINT}`,
      { audience: token.audience, expected: audience },
    );
  }
  if (token.deviceFp !== opts.deviceFp) {
    throw fail(
      "entitlement.wrong_device",
      "the token was issued for another device",
      `tokens are bound to one device (\`nx licensed device\` shows this one); ${BUY_HINT}`,
      { deviceFp: token.deviceFp, expected: opts.deviceFp },
    );
  }
  if (opts.now !== undefined && token.exp <= opts.now) {
    throw fail(
      "entitlement.expired",
      "the token has already expired",
      `renew it: ${BUY_HINT}`,
      { exp: token.exp, now: opts.now },
    );
  }
  return record;
}

function deny(
  code: ErrorCode,
  message: string,
  hint: string,
  details: Record<string, unknown>,
): NxError {
  return new NxError(code, message, { hint, details });
}
