/**
 * The closed set of stable error codes. A code never changes meaning and is never renamed;
 * new codes may be added. `docs/errors.md` is generated from {@link ERROR_TABLE}.
 */

/** Nexus exit classes (upstream `nx` CLI conventions). */
export const EXIT_CLASSES = {
  success: 0,
  usage: 2,
  validation_reject: 3,
  missing_dependency: 4,
  delegate_failure: 5,
  unsupported: 6,
  internal: 7,
} as const;
export type ExitClass = keyof typeof EXIT_CLASSES;

/** Upstream `InstallError` vocabulary. */
export type InstallError =
  | "none"
  | "eacces"
  | "einval"
  | "ebusy"
  | "enoent"
  | "invalidSig"
  | "unsigned";

export type ErrorCode =
  | "usage.invalid_argument"
  | "usage.unknown_command"
  | "bundle.not_found"
  | "bundle.not_directory"
  | "bundle.missing_file"
  | "bundle.symlink"
  | "bundle.hardlink"
  | "bundle.special_file"
  | "bundle.unsafe_path"
  | "bundle.too_large"
  | "bundle.too_many_files"
  | "bundle.invalid_payload"
  | "bundle.invalid_meta"
  | "bundle.invalid_migrations"
  | "manifest.decode_error"
  | "manifest.missing_field"
  | "manifest.invalid_field"
  | "manifest.unsupported_version"
  | "manifest.privilege_ceiling"
  | "manifest.export_namespace"
  | "bundle.unsupported_version"
  | "integrity.index_invalid"
  | "integrity.file_missing"
  | "integrity.file_added"
  | "integrity.file_digest_mismatch"
  | "integrity.changed_after_verify"
  | "integrity.manifest_digest_mismatch"
  | "integrity.payload_digest_mismatch"
  | "integrity.payload_size_mismatch"
  | "integrity.sbom_digest_mismatch"
  | "integrity.repro_digest_mismatch"
  | "integrity.binding_mismatch"
  | "policy.publisher_unknown"
  | "policy.disabled"
  | "policy.alg_unsupported"
  | "policy.key_unknown"
  | "policy.signature_invalid"
  | "policy.payload_only_signature"
  | "policy.unsigned"
  | "policy.publisher_mismatch"
  | "policy.invalid"
  | "policy.untrusted"
  | "policy.unsupported_version"
  | "policy.duplicate_publisher"
  | "key.invalid"
  | "key.not_found"
  | "key.exists"
  | "pack.missing_field"
  | "pack.invalid_field"
  | "pack.missing_input"
  | "pack.output_exists"
  | "pack.input_too_large"
  | "root.invalid"
  | "root.unsupported_version"
  | "root.unsafe_entry"
  | "root.not_found"
  | "policy.weakened"
  | "policy.already_trusted"
  | "policy.publisher_in_use"
  | "audit.not_found"
  | "app.not_installed"
  | "app.already_installed"
  | "upgrade.same_version"
  | "upgrade.downgrade_denied"
  | "rollback.nothing_retained"
  | "rollback.version_not_retained"
  | "repair.no_source"
  | "preflight.min_sdk"
  | "preflight.bundle_type_denied"
  | "preflight.id_collision"
  | "preflight.quota"
  | "preflight.no_space"
  | "preflight.kept_data_foreign"
  | "preflight.name_too_long"
  | "data.unsafe_entry"
  | "dependency.missing"
  | "dependency.required_by"
  | "migration.failed"
  | "migration.timeout"
  | "migration.escape"
  | "migration.chain_too_long"
  | "migration.resource_limit"
  | "migration.quota"
  | "migration.still_running"
  | "registry.corrupt"
  | "registry.unsupported_version"
  | "registry.failed"
  | "registry.missing"
  | "lock.busy"
  | "journal.corrupt"
  | "journal.recovered"
  | "lock.stale"
  | "doctor.findings"
  | "fault.injected"
  | "io.failed"
  | "io.no_space"
  | "tool.missing"
  | "op.cancelled"
  | "transport.invalid_target"
  | "transport.no_identity"
  | "transport.unreachable"
  | "transport.timeout"
  | "transport.closed"
  | "transport.protocol_version"
  | "transport.bad_frame"
  | "transport.frame_too_large"
  | "transport.unauthenticated"
  | "transport.agent_key_mismatch"
  | "agent.forbidden"
  | "agent.busy"
  | "agent.unknown_method"
  | "agent.invalid_request"
  | "agent.upload_mismatch"
  | "agent.upload_unknown"
  | "entitlement.missing"
  | "entitlement.expired"
  | "entitlement.not_yet_valid"
  | "entitlement.revoked"
  | "entitlement.wrong_device"
  | "entitlement.wrong_audience"
  | "entitlement.wrong_app"
  | "entitlement.bad_signature"
  | "entitlement.untrusted_key"
  | "entitlement.malformed"
  | "entitlement.too_large"
  | "entitlement.store_already_trusted"
  | "entitlement.store_not_trusted"
  | "app.inactive"
  | "launch.unsupported"
  | "launch.failed"
  | "store.catalog_invalid"
  | "store.unknown_sku"
  | "store.bundle_mismatch"
  | "selftest.failed"
  | "internal.unexpected";

export interface ErrorInfo {
  readonly exitClass: Exclude<ExitClass, "success">;
  readonly summary: string;
  /** The upstream InstallError this code maps to, where one exists. */
  readonly installError?: InstallError;
}

/** code → exit class → summary. `Record<ErrorCode, …>` makes the compiler keep it complete. */
export const ERROR_TABLE: Readonly<Record<ErrorCode, ErrorInfo>> = {
  "usage.invalid_argument": { exitClass: "usage", summary: "an argument or option is invalid" },
  "usage.unknown_command": { exitClass: "usage", summary: "no such command" },
  "bundle.not_found": {
    exitClass: "validation_reject",
    summary: "the bundle path does not exist",
    installError: "enoent",
  },
  "bundle.not_directory": {
    exitClass: "validation_reject",
    summary: "a bundle must be a directory named <name>.nxb",
    installError: "einval",
  },
  "bundle.missing_file": {
    exitClass: "validation_reject",
    summary: "a file the bundle layout requires is missing",
    installError: "einval",
  },
  "bundle.symlink": {
    exitClass: "validation_reject",
    summary: "the bundle contains a symbolic link",
    installError: "einval",
  },
  "bundle.hardlink": {
    exitClass: "validation_reject",
    summary: "the bundle contains a file with more than one hard link",
    installError: "einval",
  },
  "bundle.special_file": {
    exitClass: "validation_reject",
    summary: "the bundle contains a device, fifo or socket",
    installError: "einval",
  },
  "bundle.unsafe_path": {
    exitClass: "validation_reject",
    summary: "a path is absolute, contains `..` or characters outside the allowed set",
    installError: "einval",
  },
  "bundle.too_large": {
    exitClass: "validation_reject",
    summary: "a file or the bundle exceeds a size cap",
    installError: "einval",
  },
  "bundle.too_many_files": {
    exitClass: "validation_reject",
    summary: "the bundle has more files or deeper nesting than allowed",
    installError: "einval",
  },
  "bundle.invalid_payload": {
    exitClass: "validation_reject",
    summary: "the payload does not match its payload kind",
    installError: "einval",
  },
  "bundle.invalid_meta": {
    exitClass: "validation_reject",
    summary: "meta/sbom.json or meta/repro.env.json is malformed",
    installError: "einval",
  },
  "bundle.invalid_migrations": {
    exitClass: "validation_reject",
    summary: "meta/migrations.json is malformed or names a missing script",
    installError: "einval",
  },
  "manifest.decode_error": {
    exitClass: "validation_reject",
    summary: "manifest.nxb is not a well-formed Cap'n Proto BundleManifest",
    installError: "einval",
  },
  "manifest.missing_field": {
    exitClass: "validation_reject",
    summary: "a required manifest field is missing",
    installError: "einval",
  },
  "manifest.invalid_field": {
    exitClass: "validation_reject",
    summary: "a manifest field has an invalid value",
    installError: "einval",
  },
  "manifest.unsupported_version": {
    exitClass: "unsupported",
    summary: "the manifest schemaVersion is not one nx reads",
    installError: "einval",
  },
  "manifest.privilege_ceiling": {
    exitClass: "validation_reject",
    summary: "a capability needs a bundle type the bundle does not have",
    installError: "eacces",
  },
  "manifest.export_namespace": {
    exitClass: "validation_reject",
    summary: "an export permission is not of the form app.<name>.<CAP>",
    installError: "einval",
  },
  "bundle.unsupported_version": {
    exitClass: "unsupported",
    summary: "a meta/ file carries a format version nx does not read",
    installError: "einval",
  },
  "integrity.index_invalid": {
    exitClass: "validation_reject",
    summary: "meta/index.json or meta/index.sig is malformed",
    installError: "invalidSig",
  },
  "integrity.file_missing": {
    exitClass: "validation_reject",
    summary: "a file listed in the signed index is missing (removed or renamed)",
    installError: "invalidSig",
  },
  "integrity.file_added": {
    exitClass: "validation_reject",
    summary: "a file that the signed index does not list is present",
    installError: "invalidSig",
  },
  "integrity.file_digest_mismatch": {
    exitClass: "validation_reject",
    summary: "a file's size or SHA-256 differs from the signed index",
    installError: "invalidSig",
  },
  "integrity.changed_after_verify": {
    exitClass: "validation_reject",
    summary:
      "a bundle file changed (content, type, size or identity) between verification and staging",
    installError: "invalidSig",
  },
  "integrity.manifest_digest_mismatch": {
    exitClass: "validation_reject",
    summary: "manifest.nxb differs from the signed index",
    installError: "invalidSig",
  },
  "integrity.payload_digest_mismatch": {
    exitClass: "validation_reject",
    summary: "the payload differs from its signed digest",
    installError: "invalidSig",
  },
  "integrity.payload_size_mismatch": {
    exitClass: "validation_reject",
    summary: "the payload size differs from manifest.payloadSize",
    installError: "invalidSig",
  },
  "integrity.sbom_digest_mismatch": {
    exitClass: "validation_reject",
    summary: "meta/sbom.json differs from its signed digest",
    installError: "invalidSig",
  },
  "integrity.repro_digest_mismatch": {
    exitClass: "validation_reject",
    summary: "meta/repro.env.json differs from its signed digest",
    installError: "invalidSig",
  },
  "integrity.binding_mismatch": {
    exitClass: "validation_reject",
    summary: "the repro record is bound to a different manifest",
    installError: "invalidSig",
  },
  "policy.publisher_unknown": {
    exitClass: "validation_reject",
    summary: "the publisher is not in the trust policy",
    installError: "eacces",
  },
  "policy.disabled": {
    exitClass: "validation_reject",
    summary: "the publisher is disabled in the trust policy",
    installError: "eacces",
  },
  "policy.alg_unsupported": {
    exitClass: "validation_reject",
    summary: "the signature algorithm is not allowed for this publisher",
    installError: "eacces",
  },
  "policy.key_unknown": {
    exitClass: "validation_reject",
    summary: "the signing key is not one of the publisher's keys",
    installError: "eacces",
  },
  "policy.signature_invalid": {
    exitClass: "validation_reject",
    summary: "an Ed25519 signature does not verify (strict RFC 8032)",
    installError: "invalidSig",
  },
  "policy.payload_only_signature": {
    exitClass: "validation_reject",
    summary: "the bundle carries only the upstream payload signature and the policy forbids that",
    installError: "invalidSig",
  },
  "policy.unsigned": {
    exitClass: "validation_reject",
    summary: "the bundle is not signed",
    installError: "unsigned",
  },
  "policy.publisher_mismatch": {
    exitClass: "validation_reject",
    summary: "manifest.publisher differs from the publisher that signed the index",
    installError: "invalidSig",
  },
  "policy.untrusted": {
    exitClass: "validation_reject",
    summary:
      "the bundle verified only because the policy mode downgraded findings; installing it needs dev-mode",
    installError: "eacces",
  },
  "policy.invalid": {
    exitClass: "validation_reject",
    summary: "the root's policy or publishers file is malformed",
  },
  "policy.unsupported_version": {
    exitClass: "unsupported",
    summary: "the policy file's version is not one nx reads",
  },
  "policy.duplicate_publisher": {
    exitClass: "validation_reject",
    summary: "publishers.toml names the same publisher or key twice",
  },
  "key.invalid": { exitClass: "validation_reject", summary: "a key file is malformed" },
  "key.not_found": { exitClass: "usage", summary: "the key file does not exist" },
  "key.exists": {
    exitClass: "usage",
    summary: "a key file of that name exists (pass --force to replace it)",
  },
  "pack.missing_field": {
    exitClass: "validation_reject",
    summary: "manifest.toml lacks a required key",
  },
  "pack.invalid_field": {
    exitClass: "validation_reject",
    summary: "a manifest.toml value is invalid",
  },
  "pack.missing_input": {
    exitClass: "validation_reject",
    summary: "the pack source lacks manifest.toml, the payload or a listed file",
  },
  "pack.output_exists": {
    exitClass: "usage",
    summary: "the output bundle already exists (pass --force to replace it)",
  },
  "pack.input_too_large": {
    exitClass: "validation_reject",
    summary: "a pack input file (such as manifest.toml) is larger than nx reads",
    installError: "einval",
  },
  "root.invalid": { exitClass: "validation_reject", summary: "the state root is malformed" },
  "root.unsupported_version": {
    exitClass: "unsupported",
    summary: "the state root's layout version is not one nx reads",
  },
  "root.unsafe_entry": {
    exitClass: "delegate_failure",
    summary:
      "a link, special file or foreign entry stands where the root layout has none; nx does not traverse it",
    installError: "eacces",
  },
  "root.not_found": {
    exitClass: "usage",
    summary: "the state root does not exist (create it with `nx pkg init` or `nx pkg trust add`)",
  },
  "policy.weakened": {
    exitClass: "validation_reject",
    summary: "warning: a policy change lowered what the root checks (mode, dev-mode, …)",
  },
  "policy.already_trusted": {
    exitClass: "usage",
    summary: "the key is already trusted; trust add changes no name or state silently",
  },
  "policy.publisher_in_use": {
    exitClass: "validation_reject",
    summary: "warning: apps of a publisher that is no longer trusted stay installed",
  },
  "audit.not_found": { exitClass: "usage", summary: "no audit entry has that id" },
  "app.not_installed": {
    exitClass: "validation_reject",
    summary: "the app is not installed",
    installError: "enoent",
  },
  "app.already_installed": {
    exitClass: "validation_reject",
    summary: "the app is already installed (use upgrade)",
    installError: "ebusy",
  },
  "upgrade.same_version": {
    exitClass: "validation_reject",
    summary: "the bundle has the installed version",
  },
  "upgrade.downgrade_denied": {
    exitClass: "validation_reject",
    summary: "a lower version needs dev-mode on and --allow-downgrade",
  },
  "rollback.nothing_retained": {
    exitClass: "validation_reject",
    summary: "no previous version is retained to roll back to",
  },
  "rollback.version_not_retained": {
    exitClass: "validation_reject",
    summary: "the requested version is not retained",
  },
  "repair.no_source": {
    exitClass: "validation_reject",
    summary: "a damaged file of an installed version has no intact copy to restore it from",
  },
  "preflight.min_sdk": {
    exitClass: "validation_reject",
    summary: "the bundle needs a newer SDK than the root provides",
  },
  "preflight.bundle_type_denied": {
    exitClass: "validation_reject",
    summary: "this root's role does not accept the bundle type",
    installError: "eacces",
  },
  "preflight.id_collision": {
    exitClass: "validation_reject",
    summary: "another publisher's app already uses this id",
    installError: "eacces",
  },
  "preflight.quota": {
    exitClass: "validation_reject",
    summary: "the app would exceed its quota",
  },
  "preflight.no_space": {
    exitClass: "delegate_failure",
    summary: "not enough free space on the root's file system",
  },
  "preflight.kept_data_foreign": {
    exitClass: "validation_reject",
    summary: "data kept from an uninstalled app belongs to another publisher; purge it first",
    installError: "eacces",
  },
  "preflight.name_too_long": {
    exitClass: "validation_reject",
    summary: "an app id or version does not fit the file system's name limits",
    installError: "einval",
  },
  "data.unsafe_entry": {
    exitClass: "validation_reject",
    summary:
      "the app data holds a special file, a hard link or an entry swapped while being copied",
    installError: "eacces",
  },
  "dependency.missing": {
    exitClass: "missing_dependency",
    summary: "a dependency is not installed or no installed version satisfies it",
  },
  "dependency.required_by": {
    exitClass: "validation_reject",
    summary: "another installed app depends on this app at a version the operation would remove",
  },
  "migration.failed": {
    exitClass: "delegate_failure",
    summary: "a migration script exited non-zero or crashed",
  },
  "migration.timeout": {
    exitClass: "delegate_failure",
    summary: "a migration script ran past its time limit and was killed",
  },
  "migration.escape": {
    exitClass: "validation_reject",
    summary:
      "the data directory holds a link leading out of it, or the script is not a plain file inside the bundle",
    installError: "eacces",
  },
  "migration.chain_too_long": {
    exitClass: "validation_reject",
    summary: "the migration chain has more steps than the policy allows",
  },
  "migration.resource_limit": {
    exitClass: "delegate_failure",
    summary: "a migration hit a resource limit (memory, file size, processes) and was stopped",
  },
  "migration.quota": {
    exitClass: "validation_reject",
    summary: "the app's data exceeds its quota after migrating",
  },
  "migration.still_running": {
    exitClass: "delegate_failure",
    summary: "a migration process of an interrupted transaction is still running",
    installError: "ebusy",
  },
  "registry.corrupt": {
    exitClass: "delegate_failure",
    summary: "pkg/registry.db is not a readable nx registry",
  },
  "registry.unsupported_version": {
    exitClass: "unsupported",
    summary: "the registry schema is newer than this nx",
  },
  "registry.failed": {
    exitClass: "delegate_failure",
    summary: "a registry operation failed",
  },
  "registry.missing": {
    exitClass: "delegate_failure",
    summary: "the registry is missing or empty on a root that has installed apps",
  },
  "lock.busy": {
    exitClass: "delegate_failure",
    summary: "another nx process is changing this root",
    installError: "ebusy",
  },
  "journal.corrupt": {
    exitClass: "delegate_failure",
    summary: "the transaction journal cannot be read",
  },
  "journal.recovered": {
    exitClass: "delegate_failure",
    summary: "warning: an interrupted transaction was finished or undone before this command",
  },
  "lock.stale": {
    exitClass: "delegate_failure",
    summary: "warning: the lock of a crashed nx process was taken over",
  },
  "doctor.findings": {
    exitClass: "validation_reject",
    summary: "doctor found inconsistencies",
  },
  "fault.injected": {
    exitClass: "delegate_failure",
    summary: "a failure injected by NX_FAULT (tests only)",
  },
  "io.failed": { exitClass: "delegate_failure", summary: "a file system operation failed" },
  "io.no_space": {
    exitClass: "delegate_failure",
    summary: "the file system is full (ENOSPC)",
    installError: "ebusy",
  },
  "tool.missing": {
    exitClass: "missing_dependency",
    summary: "an external tool nx needs is not installed or not reachable",
  },
  "op.cancelled": {
    exitClass: "delegate_failure",
    summary: "the caller cancelled the operation; a transaction in progress was undone",
  },
  "transport.invalid_target": {
    exitClass: "usage",
    summary: "a --transport, --listen or --targets value is not a valid address",
  },
  "transport.no_identity": {
    exitClass: "usage",
    summary: "no identity key to authenticate with (--identity, NX_IDENTITY or the default file)",
  },
  "transport.unreachable": {
    exitClass: "delegate_failure",
    summary: "the agent could not be reached (refused, no such socket or device)",
  },
  "transport.timeout": {
    exitClass: "delegate_failure",
    summary: "the agent or the host did not answer in time (handshake, idle or request timeout)",
  },
  "transport.closed": {
    exitClass: "delegate_failure",
    summary: "the connection closed in the middle of a call",
  },
  "transport.protocol_version": {
    exitClass: "unsupported",
    summary: "the peer speaks a protocol version this nx does not",
  },
  "transport.bad_frame": {
    exitClass: "delegate_failure",
    summary:
      "a frame was torn, corrupt, of an unknown type or out of order; the connection was closed",
  },
  "transport.frame_too_large": {
    exitClass: "delegate_failure",
    summary: "a frame's length is over the protocol's limit; the connection was closed",
  },
  "transport.unauthenticated": {
    exitClass: "validation_reject",
    summary:
      "the handshake failed: the key is not authorised, or a signature or MAC did not verify",
  },
  "transport.agent_key_mismatch": {
    exitClass: "validation_reject",
    summary: "the agent's host key differs from the one pinned in known_agents",
  },
  "agent.forbidden": {
    exitClass: "validation_reject",
    summary:
      "the agent refuses this method over a transport (trust and policy changes need --allow-admin)",
  },
  "agent.busy": {
    exitClass: "delegate_failure",
    summary: "the agent has too many connections or calls; try again later",
  },
  "agent.unknown_method": {
    exitClass: "unsupported",
    summary: "the agent does not serve this method",
  },
  "agent.invalid_request": {
    exitClass: "usage",
    summary: "the call's parameters do not match the method's schema",
  },
  "agent.upload_mismatch": {
    exitClass: "validation_reject",
    summary: "uploaded bytes do not match the announced size or SHA-256",
  },
  "agent.upload_unknown": {
    exitClass: "usage",
    summary: "the call names an upload this connection did not complete",
  },
  "entitlement.missing": {
    exitClass: "validation_reject",
    summary: "the app's sku needs an entitlement and this root holds none for it",
    installError: "eacces",
  },
  "entitlement.expired": {
    exitClass: "validation_reject",
    summary: "the entitlement's validity ended (exp is in the past)",
    installError: "eacces",
  },
  "entitlement.not_yet_valid": {
    exitClass: "validation_reject",
    summary: "the entitlement is not valid yet (nbf is over 300 s ahead)",
    installError: "eacces",
  },
  "entitlement.revoked": {
    exitClass: "validation_reject",
    summary: "the entitlement was revoked by its store",
    installError: "eacces",
  },
  "entitlement.wrong_device": {
    exitClass: "validation_reject",
    summary: "the entitlement was issued for another device",
    installError: "eacces",
  },
  "entitlement.wrong_audience": {
    exitClass: "validation_reject",
    summary: "the entitlement is meant for another consumer (aud)",
    installError: "eacces",
  },
  "entitlement.wrong_app": {
    exitClass: "validation_reject",
    summary: "the entitlement is for another app or sku",
    installError: "eacces",
  },
  "entitlement.bad_signature": {
    exitClass: "validation_reject",
    summary: "the entitlement or revocation's Ed25519 signature does not verify",
    installError: "invalidSig",
  },
  "entitlement.untrusted_key": {
    exitClass: "validation_reject",
    summary: "the record is signed by a key that is not a trusted store key",
    installError: "invalidSig",
  },
  "entitlement.malformed": {
    exitClass: "validation_reject",
    summary: "the token or revocation file is not a canonical nx licensing record",
    installError: "einval",
  },
  "entitlement.too_large": {
    exitClass: "validation_reject",
    summary: "the token or revocation file is larger than a licensing record can be",
    installError: "einval",
  },
  "entitlement.store_already_trusted": {
    exitClass: "validation_reject",
    summary: "the store key is already trusted",
  },
  "entitlement.store_not_trusted": {
    exitClass: "validation_reject",
    summary: "no trusted store key has this id",
  },
  "app.inactive": {
    exitClass: "validation_reject",
    summary: "the app is inactive (its entitlement is revoked, expired or missing)",
    installError: "eacces",
  },
  "launch.unsupported": {
    exitClass: "unsupported",
    summary: "the app's payload is not a program this machine can run",
  },
  "launch.failed": {
    exitClass: "delegate_failure",
    summary: "the launched program exited with a failure or was killed",
  },
  "store.catalog_invalid": {
    exitClass: "validation_reject",
    summary: "the store catalog is malformed or its signature does not verify",
  },
  "store.unknown_sku": {
    exitClass: "usage",
    summary: "the store catalog has no such sku",
  },
  "store.bundle_mismatch": {
    exitClass: "validation_reject",
    summary: "the bundle differs from the one the signed catalog names",
  },
  "selftest.failed": {
    exitClass: "validation_reject",
    summary: "a selftest check did not pass",
  },
  "internal.unexpected": { exitClass: "internal", summary: "an unexpected internal error" },
};

export const ERROR_CODES = Object.keys(ERROR_TABLE) as ErrorCode[];

export interface NxErrorOptions {
  /** A hint shown on its own line under the message. */
  hint?: string;
  /** Serialisable details for the JSON envelope. */
  details?: Record<string, unknown>;
  cause?: unknown;
}

/** The one error class of nx. Messages read "cannot <action>: <reason>". */
export class NxError extends Error {
  readonly code: ErrorCode;
  readonly hint?: string;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, options: NxErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "NxError";
    this.code = code;
    this.hint = options.hint;
    this.details = options.details;
  }

  get exitClass(): Exclude<ExitClass, "success"> {
    return ERROR_TABLE[this.code].exitClass;
  }
}

export function isNxError(e: unknown): e is NxError {
  return e instanceof NxError;
}
