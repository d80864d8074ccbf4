/**
 * The licensing and launch methods' requests and results (docs/licensing.md). A record travels
 * as the bytes of its file (base64), never as a path, so a call means the same over a wire; the
 * result types are the schemas' own (z.infer).
 */
import * as z from "zod";
import { ERROR_CODES } from "../errors.ts";

const nonEmpty = z.string().min(1);
/** A `.nxe` / `.nxr` file: base64 of at most 16 KiB (the decoder checks the exact cap). */
const recordFile = z.strictObject({
  /** How the caller named it (its path), shown in results and errors. */
  name: nonEmpty,
  data: z.string().max(22_000).regex(/^[A-Za-z0-9+/]*={0,2}$/),
});

export const LicensedImportRequestSchema = z.strictObject({
  records: z.array(recordFile).min(1).max(64),
});
export const LicensedListRequestSchema = z.strictObject({ app: nonEmpty.optional() });
export const LicensedStatusRequestSchema = z.strictObject({
  app: nonEmpty,
  /** The sku to ask about when the app is not installed (else the installed app's). */
  sku: nonEmpty.optional(),
});
export const LicensedDeviceRequestSchema = z.strictObject({});
export const LicensedTrustAddRequestSchema = z.strictObject({
  /** The store's Ed25519 public key as PEM text. */
  publicKey: nonEmpty,
  name: z.string().min(1).max(64).optional(),
});
export const LicensedTrustRemoveRequestSchema = z.strictObject({ id: nonEmpty });
export const LicensedTrustListRequestSchema = z.strictObject({});
export const LaunchRequestSchema = z.strictObject({
  app: nonEmpty,
  args: z.array(z.string()).max(256).optional(),
  /** Answer the gate only: run nothing. */
  check: z.boolean().optional(),
  /** Collect the program's output (bounded) into the result instead of passing it through. */
  capture: z.boolean().optional(),
});

export const TOKEN_STATES = [
  "active",
  "revoked",
  "expired",
  "not_yet_valid",
  "wrong_device",
] as const;

export const TokenViewSchema = z.strictObject({
  tokenId: z.string(),
  appId: z.string(),
  sku: z.string(),
  type: z.enum(["full", "trial"]),
  deviceFp: z.string(),
  audience: z.string(),
  /** ISO 8601 times of the token's iat, nbf and exp. */
  issuedAt: z.string(),
  notBefore: z.string(),
  expires: z.string(),
  keyId: z.string(),
  state: z.enum(TOKEN_STATES),
  /** The revoking change's reason, for a revoked token. */
  reason: z.string().optional(),
});
export type TokenView = z.infer<typeof TokenViewSchema>;

export const StatusChangeViewSchema = z.strictObject({
  recordId: z.string(),
  tokenId: z.string(),
  action: z.enum(["revoke", "restore"]),
  issuedAt: z.string(),
  serial: z.number().int().nonnegative(),
  appId: z.string(),
  sku: z.string(),
  reason: z.string(),
  keyId: z.string(),
  /** Whether it decides its token's state now (the latest change of a token that is here). */
  applies: z.boolean(),
});
export type StatusChangeView = z.infer<typeof StatusChangeViewSchema>;

export const EntitlementStatusSchema = z.strictObject({
  appId: z.string(),
  sku: z.string().optional(),
  /** The installed version, when installed. */
  version: z.string().optional(),
  /** false: the app needs no entitlement (its manifest has no sku). */
  paid: z.boolean(),
  /** May it be installed, upgraded and launched now. */
  active: z.boolean(),
  /** Why not (an `entitlement.*` code). */
  code: z.enum(ERROR_CODES).optional(),
  /** The token that makes it active, or the one the code is about. */
  token: TokenViewSchema.optional(),
});
export type EntitlementStatus = z.infer<typeof EntitlementStatusSchema>;

export const LedgerViewSchema = z.strictObject({
  /** This root's device fingerprint (null: none made yet). */
  device: z.string().nullable(),
  tokens: z.array(TokenViewSchema),
  changes: z.array(StatusChangeViewSchema),
});
export type LedgerView = z.infer<typeof LedgerViewSchema>;

export const ImportResultSchema = z.strictObject({
  device: z.string(),
  records: z.array(z.strictObject({
    name: z.string(),
    kind: z.enum(["entitlement", "statusChange"]),
    appId: z.string(),
    sku: z.string(),
    tokenId: z.string(),
    action: z.enum(["revoke", "restore"]).optional(),
    /** false: the ledger held it already (nothing changed). */
    added: z.boolean(),
  })),
  /** The state of each app and sku the records name, after the import. */
  apps: z.array(EntitlementStatusSchema),
});
export type ImportResult = z.infer<typeof ImportResultSchema>;

export const DeviceViewSchema = z.strictObject({
  fingerprint: z.string(),
  created: z.boolean(),
});
export type DeviceView = z.infer<typeof DeviceViewSchema>;

export const StoreKeyViewSchema = z.strictObject({
  id: z.string(),
  name: z.string().optional(),
  key: z.string(),
});
export type StoreKeyView = z.infer<typeof StoreKeyViewSchema>;

export const LaunchResultSchema = z.strictObject({
  app: z.string(),
  version: z.string(),
  /** false for `check`: the gate said yes, nothing ran. */
  launched: z.boolean(),
  exitCode: z.number().int().optional(),
  stdout: z.string().optional(),
  stderr: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type LaunchResult = z.infer<typeof LaunchResultSchema>;
