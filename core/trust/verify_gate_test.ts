/**
 * The trust gate of verifyBundle(): every policy mode × every finding the verifier can raise,
 * checking the outcome (the stable code it fails with, or the warnings it returns) and the
 * `signer.trusted` flag install relies on (preflight refuses an untrusted bundle without
 * dev_mode). Pure and in memory: bundles are assembled with the packer's pure assembleBundle(),
 * facts built as the reader builds them (manifest and meta/ kept, payload streamed through the
 * SHA-512 challenge).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  type BundleFacts,
  encodeIndex,
  encodeIndexSig,
  type EntryFact,
  type FileFact,
  INDEX_FILE,
  INDEX_SIG_FILE,
  indexSigningMessage,
  isKeptInMemory,
} from "../bundle/mod.ts";
import { toHex } from "../bytes/mod.ts";
import { type ErrorCode, NxError } from "../errors.ts";
import { assembleBundle, parseManifestToml } from "../pack/mod.ts";
import { sign } from "./ed25519.ts";
import { fingerprint, keyPairFromSeed } from "./keys.ts";
import { planChallenge } from "./challenge.ts";
import {
  POLICY_MODES,
  type PolicyMode,
  PolicySchema,
  type Publisher,
  type PublishersFile,
} from "./policy.ts";
import { verifyBundle } from "./verify.ts";

const enc = new TextEncoder();
const sha256Hex = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
const seedOf = (name: string) =>
  new Uint8Array(createHash("sha256").update(`gate test key: ${name}`).digest());
const DEV = keyPairFromSeed(seedOf("dev"));
const OTHER = keyPairFromSeed(seedOf("other"));
const DEV_ID = fingerprint(DEV.publicKey);
const PAYLOAD = new Uint8Array([0x7f, 0x45, 0x4c, 0x46, ...enc.encode("gate test payload")]);

type PayloadSig = "valid" | "invalid" | "zero";
type IndexSigKind = "valid" | "invalid" | "alg-other";

/**
 * The upstream files via assembleBundle() (payload-only style, so the manifest carries exactly
 * the payload signature asked for); with `index`, meta/index.json and meta/index.sig as
 * `nx pkg pack --key` writes them, signed by DEV (or with a bad signature, or another alg).
 */
function bundle(payloadSig: PayloadSig, index?: IndexSigKind): Map<string, Uint8Array> {
  const good = sign(PAYLOAD, DEV.seed);
  const sig = payloadSig === "zero"
    ? new Uint8Array(64)
    : payloadSig === "invalid"
    ? sign(enc.encode("another payload"), DEV.seed)
    : good;
  const toml = `name = "gate"\nversion = "1.0.0"\nmin_sdk = "1.0.0"\nabilities = ["gate.run"]\n` +
    `publisher = "${DEV_ID}"\nsig = "${toHex(sig)}"\n`;
  const { files } = assembleBundle({
    spec: parseManifestToml(toml),
    manifestToml: enc.encode(toml),
    payload: PAYLOAD,
    extraFiles: new Map(),
    sourceDateEpoch: 0,
    tool: "gate-test",
  });
  if (!index) return files;
  const indexBytes = encodeIndex(
    [...files].map(([path, b]) => ({ path, size: b.length, sha256: sha256Hex(b) })),
  );
  const message = index === "invalid"
    ? indexSigningMessage(enc.encode("another index"))
    : indexSigningMessage(indexBytes);
  files.set(INDEX_FILE, indexBytes);
  files.set(
    INDEX_SIG_FILE,
    encodeIndexSig({
      alg: index === "alg-other" ? "ed448" : "ed25519",
      publisher: DEV_ID,
      key: toHex(DEV.publicKey),
      signature: toHex(sign(message, DEV.seed)),
    }),
  );
  return files;
}

/** BundleFacts as core/store/bundle_reader.ts builds them from the same files. */
function factsOf(files: Map<string, Uint8Array>, publishers: PublishersFile): BundleFacts {
  const entries = new Map<string, EntryFact>();
  const facts: Record<string, FileFact> = {};
  const small = new Map<string, Uint8Array>();
  for (const [path, bytes] of files) {
    const parts = path.split("/");
    for (let i = 1; i < parts.length; i++) {
      const dir = parts.slice(0, i).join("/");
      entries.set(dir, { path: dir, type: "dir", size: 0, nlink: 1 });
    }
    entries.set(path, { path, type: "file", size: bytes.length, nlink: 1 });
    const kept = isKeptInMemory(path);
    facts[path] = {
      path,
      size: bytes.length,
      sha256: sha256Hex(bytes),
      head: bytes.slice(0, 16),
      bytes: kept ? bytes : undefined,
    };
    if (kept) small.set(path, bytes);
  }
  const out: BundleFacts = {
    rootType: "dir",
    entries: [...entries.values()].sort((a, b) => (a.path < b.path ? -1 : 1)),
    walkLimitHit: false,
    files: facts,
  };
  const request = planChallenge(small, publishers);
  if (request) {
    const sha512 = createHash("sha512").update(request.prefix).update(files.get(request.path)!);
    out.challenge = {
      path: request.path,
      prefixHex: toHex(request.prefix),
      sha512: new Uint8Array(sha512.digest()),
    };
  }
  return out;
}

const DEV_ENTRY: Publisher = {
  id: DEV_ID,
  enabled: true,
  allowed_algs: ["ed25519"],
  keys: [toHex(DEV.publicKey)],
};
type PublisherCase = "trusted" | "unknown" | "disabled" | "alg" | "key" | "alg-other-allowed";
function publishersFor(kind: PublisherCase): PublishersFile {
  const entry: Publisher | undefined = {
    trusted: DEV_ENTRY,
    unknown: undefined,
    disabled: { ...DEV_ENTRY, enabled: false },
    alg: { ...DEV_ENTRY, allowed_algs: [] },
    key: { ...DEV_ENTRY, keys: [toHex(OTHER.publicKey)] },
    "alg-other-allowed": { ...DEV_ENTRY, allowed_algs: ["ed25519", "ed448"] },
  }[kind];
  return { version: 1, publishers: entry ? [entry] : [] };
}

/** A fatal code, or the warnings (in order) a successful verification returns. */
type Outcome = { fails: ErrorCode } | { warns: ErrorCode[] };
const TRUSTED: Outcome = { warns: [] };
const fails = (code: ErrorCode): Outcome => ({ fails: code });
const warns = (...codes: ErrorCode[]): Outcome => ({ warns: codes });

interface Row {
  name: string;
  files: () => Map<string, Uint8Array>;
  publishers: PublisherCase;
  allowPayloadOnly?: boolean;
  expect: Record<PolicyMode, Outcome>;
}

/** Publisher denials: fatal in strict; on nx bundles a warning in permissive (docs/policy.md). */
const nxDenial = (code: ErrorCode) => ({
  strict: fails(code),
  permissive: warns(code),
  "audit-only": warns(code),
});
/** Everything else the policy can soften: fatal unless audit-only. */
const auditOnly = (...codes: ErrorCode[]) => ({
  strict: fails(codes[0]),
  permissive: fails(codes[0]),
  "audit-only": warns(...codes),
});

const ROWS: Row[] = [
  {
    name: "nx bundle, clean",
    files: () => bundle("valid", "valid"),
    publishers: "trusted",
    expect: { strict: TRUSTED, permissive: TRUSTED, "audit-only": TRUSTED },
  },
  {
    name: "nx bundle, publisher unknown",
    files: () => bundle("valid", "valid"),
    publishers: "unknown",
    expect: nxDenial("policy.publisher_unknown"),
  },
  {
    name: "nx bundle, publisher disabled",
    files: () => bundle("valid", "valid"),
    publishers: "disabled",
    expect: nxDenial("policy.disabled"),
  },
  {
    name: "nx bundle, ed25519 not in allowed_algs",
    files: () => bundle("valid", "valid"),
    publishers: "alg",
    expect: nxDenial("policy.alg_unsupported"),
  },
  {
    name: "nx bundle, signing key not listed",
    files: () => bundle("valid", "valid"),
    publishers: "key",
    expect: nxDenial("policy.key_unknown"),
  },
  {
    name: "nx bundle, index.sig alg nx does not implement",
    files: () => bundle("valid", "alg-other"),
    publishers: "alg-other-allowed",
    expect: {
      strict: fails("policy.alg_unsupported"),
      permissive: fails("policy.alg_unsupported"),
      "audit-only": fails("policy.alg_unsupported"),
    },
  },
  {
    name: "nx bundle, bad index signature (trusted publisher)",
    files: () => bundle("valid", "invalid"),
    publishers: "trusted",
    expect: auditOnly("policy.signature_invalid"),
  },
  {
    name: "nx bundle, bad payload signature (trusted publisher)",
    files: () => bundle("invalid", "valid"),
    publishers: "trusted",
    expect: auditOnly("policy.signature_invalid"),
  },
  {
    name: "nx bundle, all-zero payload signature (trusted publisher)",
    files: () => bundle("zero", "valid"),
    publishers: "trusted",
    expect: auditOnly("policy.unsigned"),
  },
  {
    name: "nx bundle, publisher unknown and a bad index signature",
    files: () => bundle("valid", "invalid"),
    publishers: "unknown",
    expect: {
      strict: fails("policy.publisher_unknown"),
      permissive: fails("policy.signature_invalid"),
      "audit-only": warns("policy.publisher_unknown", "policy.signature_invalid"),
    },
  },
  {
    name: "payload-only, clean, allowed by policy",
    files: () => bundle("valid"),
    publishers: "trusted",
    allowPayloadOnly: true,
    expect: { strict: TRUSTED, permissive: TRUSTED, "audit-only": TRUSTED },
  },
  {
    name: "payload-only, not allowed by policy (trusted publisher)",
    files: () => bundle("valid"),
    publishers: "trusted",
    expect: auditOnly("policy.payload_only_signature"),
  },
  ...(["unknown", "disabled", "alg", "key"] as const).map((kind): Row => {
    const code = ({
      unknown: "policy.publisher_unknown",
      disabled: "policy.disabled",
      alg: "policy.alg_unsupported",
      key: "policy.key_unknown",
    } as const)[kind];
    // Without a trusted key the payload signature cannot be checked: a second warning.
    return {
      name: `payload-only, publisher decision ${code}`,
      files: () => bundle("valid"),
      publishers: kind,
      allowPayloadOnly: true,
      expect: auditOnly(code, "policy.signature_invalid"),
    };
  }),
  {
    name: "payload-only, bad payload signature (trusted publisher)",
    files: () => bundle("invalid"),
    publishers: "trusted",
    allowPayloadOnly: true,
    expect: auditOnly("policy.signature_invalid"),
  },
  {
    name: "payload-only, all-zero payload signature (trusted publisher)",
    files: () => bundle("zero"),
    publishers: "trusted",
    allowPayloadOnly: true,
    expect: auditOnly("policy.unsigned"),
  },
];

function run(row: Row, mode: PolicyMode): Outcome & { trusted?: boolean } {
  const publishers = publishersFor(row.publishers);
  const policy = PolicySchema.parse({
    version: 1,
    mode,
    allow_payload_only_signatures: row.allowPayloadOnly ?? false,
  });
  try {
    const verified = verifyBundle(
      factsOf(row.files(), publishers),
      { policy, publishers, now: new Date(0) },
      "gate.nxb",
    );
    return { warns: verified.warnings.map((w) => w.code), trusted: verified.signer.trusted };
  } catch (e) {
    if (e instanceof NxError) return { fails: e.code };
    throw e;
  }
}

Deno.test("verifyBundle() sets signer.trusted only when nothing was downgraded", async (t) => {
  for (const row of ROWS) {
    for (const mode of POLICY_MODES) {
      await t.step(`${mode}: ${row.name}`, () => {
        const want = row.expect[mode];
        const got = run(row, mode);
        if ("fails" in want) {
          assert.deepEqual(got, want);
          return;
        }
        assert.deepEqual(got, { ...want, trusted: want.warns.length === 0 });
      });
    }
  }
});

Deno.test("the gate table covers every mode and every downgradable finding", () => {
  const downgradable = new Set<ErrorCode>([
    "policy.publisher_unknown",
    "policy.disabled",
    "policy.alg_unsupported",
    "policy.key_unknown",
    "policy.signature_invalid",
    "policy.unsigned",
    "policy.payload_only_signature",
  ]);
  const warned = new Set(
    ROWS.flatMap((r) =>
      POLICY_MODES.flatMap((m) => "warns" in r.expect[m] ? r.expect[m].warns : [])
    ),
  );
  assert.deepEqual([...warned].sort(), [...downgradable].sort());
  // Each finding that leaves the publisher trusted must be exercised in audit-only: these are the
  // rows where only the warnings keep `trusted` false.
  for (const code of ["policy.signature_invalid", "policy.unsigned"] as const) {
    assert.ok(ROWS.some((r) =>
      r.publishers === "trusted" && "warns" in r.expect["audit-only"] &&
      r.expect["audit-only"].warns.includes(code)
    ));
  }
});
