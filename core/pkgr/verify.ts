/** `verify` and `inspect`: one read of the bundle, then pure verification. No session. */
import type { BundleRef, InspectReport } from "../api/mod.ts";
import { type BundleFacts, decodeManifest, MANIFEST_FILE } from "../bundle/mod.ts";
import {
  loadTrust,
  readBundle,
  readSourceFile,
  type StageSink,
  type TrustState,
} from "../store/mod.ts";
import { planChallenge, type VerifiedBundle, verifyBundle } from "../trust/mod.ts";
import { NxError } from "../errors.ts";
import { marker, type OpContext, silentReporter } from "./context.ts";

/**
 * The bundle directory a reference names on this machine. An upload is resolved by the agent
 * that received it (core/agent) before the call reaches the service: here it is unknown.
 */
export function bundlePath(ref: BundleRef): string {
  switch (ref.kind) {
    case "path":
      return ref.path;
    case "upload":
      throw new NxError("agent.upload_unknown", `cannot open upload ${ref.id}: no such upload`);
  }
}

/** How the caller named the bundle: what results, errors and audit entries show. */
export function bundleName(ref: BundleRef): string {
  return ref.kind === "path" ? ref.name ?? ref.path : ref.name;
}

/**
 * A bundle error on a directory that holds `manifest.toml`: a source tree given where a packed
 * bundle belongs. The same code, with the next step as its hint.
 */
async function sourceTreeHint(e: unknown, path: string): Promise<unknown> {
  if (!(e instanceof NxError) || !e.code.startsWith("bundle.") || e.code === "bundle.not_found") {
    return e;
  }
  if (await readSourceFile(path, "manifest.toml").catch(() => undefined) === undefined) return e;
  return new NxError(e.code, `${e.message} (${path} is a source directory)`, {
    cause: e,
    details: e.details,
    hint: `pack it first: \`nx pkg pack ${path} --key <your.key>\`, then use the .nxb it builds`,
  });
}

/** Verifies the bundle at `bundlePath`; with `stage`, the same read writes the staging copy. */
export async function verifyAt(
  bundlePath: string,
  ctx: OpContext,
  trust?: TrustState,
  stage?: StageSink,
): Promise<VerifiedBundle> {
  const { policy, publishers } = trust ?? await loadTrust(ctx.paths);
  let verified: VerifiedBundle;
  try {
    const facts = await readBundle(bundlePath, (small) => planChallenge(small, publishers), stage);
    verified = verifyBundle(facts, { policy, publishers, now: ctx.now }, bundlePath);
  } catch (e) {
    throw await sourceTreeHint(e, bundlePath);
  }
  for (const w of verified.warnings) ctx.reporter.emit({ kind: "warning", ...w });
  // The marker means "every check passed": not printed when a mode downgraded a finding.
  if (verified.warnings.length === 0) marker(ctx, "pkgr: verified ok");
  return verified;
}

/** Like verify, but a verification failure is data, not an error. */
export async function inspectAt(bundlePath: string, ctx: OpContext): Promise<InspectReport> {
  const trust = await loadTrust(ctx.paths);
  const quiet = { ...ctx, reporter: silentReporter };
  try {
    const bundle = await verifyAt(bundlePath, quiet, trust);
    return { path: bundlePath, verified: true, bundle };
  } catch (e) {
    const notABundle = e instanceof NxError &&
      (e.code === "bundle.not_found" || e.code === "bundle.not_directory");
    if (!(e instanceof NxError) || e.exitClass !== "validation_reject" || notABundle) throw e;
    // Show what can be shown: the same bytes (read once more) verified in audit-only mode and
    // marked untrusted; failing that, the identity its manifest claims.
    const { publishers } = trust;
    const facts = await readBundle(bundlePath, (small) => planChallenge(small, publishers))
      .catch(() => undefined);
    const bundle = facts ? auditOnly(facts, trust, ctx.now, bundlePath) : undefined;
    const claimed = facts && !bundle ? claimedIdentity(facts) : undefined;
    return {
      path: bundlePath,
      verified: false,
      code: e.code,
      message: e.message,
      ...(bundle ? { bundle } : {}),
      ...(claimed ? { claimed } : {}),
    };
  }
}

/** `facts` verified as audit-only mode would (every finding a warning), if it verifies at all. */
function auditOnly(
  facts: BundleFacts,
  trust: TrustState,
  now: Date,
  bundlePath: string,
): VerifiedBundle | undefined {
  const policy = { ...trust.policy, mode: "audit-only" as const };
  try {
    return verifyBundle(facts, { policy, publishers: trust.publishers, now }, bundlePath);
  } catch {
    return undefined;
  }
}

/** The name and version a bundle's manifest claims, when it decodes at all (nothing verified). */
function claimedIdentity(facts: BundleFacts): { name: string; version: string } | undefined {
  const bytes = facts.files[MANIFEST_FILE]?.bytes;
  if (bytes === undefined) return undefined;
  try {
    const m = decodeManifest(bytes);
    if (m.name === undefined || m.semver === undefined) return undefined;
    return { name: m.name, version: m.semver };
  } catch {
    return undefined;
  }
}
