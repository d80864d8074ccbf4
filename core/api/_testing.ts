/** Representative values of the contract for the schema tests (core/api, core/protocol). */
import type { ManifestView } from "../bundle/mod.ts";
import type { Policy, Publisher, VerifiedBundle } from "../trust/mod.ts";
import type { AuditEntry, QueryHit } from "./records.ts";
import type { AppInfo, DoctorReport, Finding, InspectReport, OpResult } from "./results.ts";
import type { Method, RequestOf, ResultOf } from "./methods.ts";
import type { EntitlementStatus, StoreKeyView, TokenView } from "./licensing.ts";

export const hex = (n: number, c = "a") => c.repeat(n * 2);
/** JSON out and back in: what a value looks like after crossing the wire. */
export const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v));

export const MANIFEST: ManifestView = {
  schemaVersion: 2,
  name: "notes",
  version: "1.1.0",
  abilities: ["notes.open"],
  capabilities: ["nexus.permission.STORAGE"],
  minSdk: "1.0.0",
  publisher: hex(16),
  signature: hex(64, "b"),
  payloadDigest: hex(32, "c"),
  payloadSize: 4608,
  sbomDigest: hex(32, "d"),
  reproDigest: "",
  bundleType: "app",
  dependencies: [{ name: "textkit", versionConstraint: "^1.0.0" }],
  providedServices: [],
  resources: [{ path: "assets/icon.svg", kind: "icon" }],
  payloadKind: "elf",
  exports: [{ ability: "notes.share", permission: "app.notes.SHARE" }],
  sku: "NOTES-1",
};

export const MIGRATION = { from: "1.0.0", to: "1.1.0", script: "migrations/1.0.0_to_1.1.0.ts" };

export const VERIFIED: VerifiedBundle = {
  manifest: MANIFEST,
  scheme: "nx-index",
  signer: { publisher: hex(16), key: hex(16), trusted: false },
  files: [{ path: "payload.elf", size: 4608, sha256: hex(32, "c") }],
  totalSize: 4608,
  migrations: [MIGRATION],
  warnings: [{ code: "policy.publisher_unknown", message: "cannot trust publisher" }],
};

export const DIFF = {
  from: "1.0.0",
  to: "1.1.0",
  added: ["nexus.permission.NET"],
  removed: [],
  exportsAdded: [],
  exportsRemoved: ["app.notes.OLD"],
};

/** Every step and post-step kind once. */
export const OP: OpResult = {
  op: "upgrade",
  appId: "notes",
  fromVersion: "1.0.0",
  toVersion: "1.1.0",
  dryRun: false,
  steps: [
    { kind: "create-app-dir" },
    { kind: "stage-version", version: "1.1.0" },
    { kind: "prepare-data", from: "1.0.0" },
    { kind: "prepare-data", from: null },
    { kind: "run-migrations", chain: [MIGRATION] },
    { kind: "retire-version", version: "1.1.0" },
    { kind: "publish-version", version: "1.1.0" },
    { kind: "publish-data", version: "1.1.0" },
    { kind: "switch-current", to: "1.1.0", from: null },
    { kind: "commit-registry" },
    { kind: "detach-app", keepData: true },
    { kind: "verify-staged", version: "1.1.0" },
    { kind: "retire-files", version: "1.1.0" },
    { kind: "detach-data" },
    { kind: "create-data", versions: ["1.1.0", "1.0.0"] },
  ],
  post: [
    { kind: "gc-versions", versions: ["0.9.0"] },
    { kind: "warm-icon-cache", version: "1.1.0", icon: "assets/icon.svg" },
    { kind: "drop-icon-cache" },
    { kind: "notify-registry" },
    { kind: "purge-staging" },
  ],
  diff: DIFF,
  warnings: [{ code: "registry.failed", message: "cannot write the audit entry" }],
};

export const AUDIT: AuditEntry = {
  seq: 3,
  time: "2024-01-01T00:00:00.000Z",
  op: "repair",
  fromVersion: "1.0.0",
  toVersion: "1.1.0",
  result: "doctor.findings",
  details: { repaired: ["version-orphan /x"], nested: { n: 1 } },
};

export const INFO: AppInfo = {
  id: "notes",
  version: "1.1.0",
  state: "pending",
  publisher: hex(16),
  bundleType: "app",
  sku: "NOTES-1",
  retained: ["1.0.0"],
  size: 9000,
  dataSize: 12,
  capabilities: ["nexus.permission.STORAGE"],
  abilities: ["notes.open"],
  exports: [{ ability: "notes.share", permission: "app.notes.SHARE" }],
  lastDiff: DIFF,
  installedAt: "2024-01-01T00:00:00.000Z",
  updatedAt: "2024-01-02T00:00:00.000Z",
  history: [AUDIT, { time: "t", op: "install", appId: "notes", result: "ok" }],
  dependencies: [{ name: "textkit", versionConstraint: "^1.0.0" }],
  path: "/var/lib/nx/apps/notes/versions/1.1.0",
  dataPath: "/var/lib/nx/apps/notes/data/1.1.0",
  files: [{ path: "payload.elf", size: 10, sha256: hex(32) }],
};

export const HIT: QueryHit = {
  appId: "notes",
  version: "1.1.0",
  state: "active",
  match: "notes.open",
  launchable: true,
};

export const FINDING: Finding = {
  kind: "version-orphan",
  app: "notes",
  path: "/r/apps/notes/versions/0.1.0",
  message: "not in the registry",
  repairable: true,
};

export const DOCTOR: DoctorReport = {
  ok: true,
  apps: 1,
  files: 5,
  recovered: "upgrade of notes: rolled back",
  findings: [],
  repaired: [FINDING, {
    kind: "staging-leftover",
    path: "/r/pkg/staging/x",
    message: "m",
    repairable: true,
    action: "removed",
  }],
};

export const INSPECT: InspectReport = {
  path: "notes.nxb",
  verified: false,
  code: "policy.publisher_unknown",
  message: "cannot trust publisher",
  bundle: VERIFIED,
};

export const PUBLISHER: Publisher = {
  id: hex(16),
  name: "dev",
  enabled: true,
  allowed_algs: ["ed25519"],
  keys: [hex(32, "e")],
};

export const POLICY: Policy = {
  version: 1,
  mode: "strict",
  dev_mode: false,
  allow_payload_only_signatures: false,
  sdk_version: "1.0.0",
  root_role: "system",
  retain_versions: 2,
  migration_max_steps: 64,
  migration_step_timeout_ms: 4000,
  app_quota_mib: 0,
};

const bundle = { kind: "path" as const, path: "notes.nxb" };
const TOKEN: TokenView = {
  tokenId: hex(32),
  appId: "ledger",
  sku: "ledger.pro",
  type: "full",
  deviceFp: hex(16),
  audience: "nx.pkgr",
  issuedAt: "2026-12-02T00:00:00.000Z",
  notBefore: "2026-12-02T00:00:00.000Z",
  expires: "2027-12-02T00:00:00.000Z",
  keyId: hex(16),
  state: "active",
};
const ENTITLED: EntitlementStatus = {
  appId: "ledger",
  sku: "ledger.pro",
  version: "1.0.0",
  paid: true,
  active: true,
  token: TOKEN,
};
const STORE_KEY: StoreKeyView = { id: hex(16), name: "dev-store", key: hex(32) };
const PEM = "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----\n";

/** At least one request and one result of every method (the compiler keeps the table complete). */
export const SAMPLES: { [M in Method]: { requests: RequestOf<M>[]; results: ResultOf<M>[] } } = {
  verify: { requests: [{ bundle }], results: [VERIFIED] },
  inspect: {
    requests: [{ bundle }],
    results: [INSPECT, { path: "n.nxb", verified: true, bundle: VERIFIED }, {
      path: "t.nxb",
      verified: false,
      code: "integrity.file_added",
      message: "cannot verify bundle",
      claimed: { name: "notes", version: "1.0.0" },
    }],
  },
  install: {
    requests: [{ bundle }, { bundle, dryRun: true }, { bundle, allowDowngrade: true }],
    results: [{ ...OP, op: "install", fromVersion: null, dryRun: true, warnings: [] }],
  },
  upgrade: { requests: [{ bundle, dryRun: false, allowDowngrade: true }], results: [OP] },
  rollback: {
    requests: [{ app: "notes" }, { app: "notes", to: "1.0.0", dryRun: true }],
    results: [{ ...OP, op: "rollback" }],
  },
  uninstall: {
    requests: [{ app: "notes", keepData: true }, { app: "notes", purge: true, dryRun: true }],
    results: [{
      ...OP,
      op: "uninstall",
      toVersion: null,
      paths: [{ path: "apps/notes/versions/1.1.0", size: 9000, action: "remove" }, {
        path: "apps/notes/data/1.1.0",
        size: 12,
        action: "keep",
      }],
    }],
  },
  repair: {
    requests: [{ app: "notes" }, { app: "notes", dryRun: true }],
    results: [{
      ...OP,
      op: "repair",
      fromVersion: "1.1.0",
      restored: { source: "kept", missing: [], changed: [], unexpected: ["extra"] },
    }],
  },
  clearData: {
    requests: [{ app: "notes" }, { app: "notes", dryRun: true }],
    results: [{
      ...OP,
      op: "clear-data",
      paths: [{ path: "apps/notes/data/1.1.0", size: 12, action: "remove" }],
    }],
  },
  list: {
    requests: [{}],
    results: [[], [{
      id: "notes",
      version: "1.1.0",
      state: "active",
      publisher: hex(16),
      bundleType: "app",
      retained: [],
      size: 1,
    }]],
  },
  info: { requests: [{ app: "notes" }, { app: "notes", files: true }], results: [INFO] },
  history: {
    requests: [{}, { app: "notes", limit: 5 }, { id: 3 }],
    results: [[AUDIT], [{
      seq: 4,
      time: "t",
      op: "policy-set",
      result: "ok",
      actor: { uid: 1000, user: "alice", nxVersion: "0.1.0" },
      details: { key: "mode", from: "strict", to: "permissive", weakened: true },
    }]],
  },
  query: {
    requests: [
      { ability: "notes.open" },
      { capability: "nexus.permission.STORAGE" },
      { export: "app.notes.SHARE" },
    ],
    results: [[HIT], []],
  },
  doctor: { requests: [{}, { repair: true }], results: [DOCTOR] },
  trustAdd: {
    requests: [{ publicKey: PEM }, {
      publicKey: PEM,
      publisher: hex(16),
      name: "dev",
      enabled: false,
    }],
    results: [PUBLISHER],
  },
  trustRemove: { requests: [{ id: "dev" }], results: [PUBLISHER] },
  trustList: { requests: [{}], results: [[PUBLISHER], []] },
  policyShow: { requests: [{}], results: [POLICY] },
  policySet: {
    requests: [{ key: "dev-mode", value: "on" }],
    results: [{ ...POLICY, dev_mode: true }],
  },
  init: {
    requests: [{}],
    results: [{ root: "/var/lib/nx", created: true, publishers: 0 }, {
      root: "/var/lib/nx",
      created: false,
      publishers: 2,
    }],
  },
  licensedImport: {
    requests: [{ records: [{ name: "ledger.nxe", data: "AAEC" }] }],
    results: [{
      device: hex(16),
      records: [{
        name: "ledger.nxe",
        kind: "entitlement",
        appId: "ledger",
        sku: "ledger.pro",
        tokenId: hex(32),
        added: true,
      }, {
        name: "r.nxr",
        kind: "statusChange",
        appId: "ledger",
        sku: "ledger.pro",
        tokenId: hex(32),
        action: "revoke",
        added: false,
      }],
      apps: [ENTITLED, {
        appId: "ledger",
        sku: "ledger.pro",
        paid: true,
        active: false,
        code: "entitlement.revoked",
      }],
    }],
  },
  licensedList: {
    requests: [{}, { app: "ledger" }],
    results: [{ device: null, tokens: [], changes: [] }, {
      device: hex(16),
      tokens: [TOKEN],
      changes: [{
        recordId: hex(32),
        tokenId: hex(32),
        action: "revoke",
        issuedAt: "2026-12-02T00:00:00.000Z",
        serial: 7,
        appId: "ledger",
        sku: "ledger.pro",
        reason: "refund",
        keyId: hex(16),
        applies: true,
      }],
    }],
  },
  licensedStatus: {
    requests: [{ app: "ledger" }, { app: "ledger", sku: "ledger.pro" }],
    results: [ENTITLED, { appId: "notes", version: "1.0.0", paid: false, active: true }],
  },
  licensedDevice: { requests: [{}], results: [{ fingerprint: hex(16), created: true }] },
  licensedTrustAdd: {
    requests: [{ publicKey: PEM }, { publicKey: PEM, name: "dev-store" }],
    results: [STORE_KEY],
  },
  licensedTrustRemove: { requests: [{ id: hex(16) }], results: [STORE_KEY] },
  licensedTrustList: { requests: [{}], results: [[STORE_KEY], []] },
  launch: {
    requests: [{ app: "notes" }, { app: "notes", args: ["a"], check: true, capture: true }],
    results: [{ app: "notes", version: "1.0.0", launched: false }, {
      app: "notes",
      version: "1.0.0",
      launched: true,
      exitCode: 0,
      stdout: "notes 1.0.0: hello a\n",
      stderr: "",
      durationMs: 3,
    }],
  },
};

/** Every object node of a JSON Schema that allows other keys (any with `properties` must not). */
export function looseObjects(node: unknown, path = "#"): string[] {
  if (Array.isArray(node)) return node.flatMap((n, i) => looseObjects(n, `${path}/${i}`));
  if (node === null || typeof node !== "object") return [];
  const obj = node as Record<string, unknown>;
  const here = "properties" in obj && obj.additionalProperties !== false ? [path] : [];
  return [...here, ...Object.entries(obj).flatMap(([k, v]) => looseObjects(v, `${path}/${k}`))];
}
