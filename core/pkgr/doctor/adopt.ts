/**
 * Registry records rebuilt from the installed trees. Each `apps/<id>/versions/<v>/` holds the
 * bundle's own signed files (staging copies exactly the verified bundle's files), so it is
 * verified again against the root's trust policy exactly as `nx pkg verify` does, and its record
 * is built the way install builds it (core/plan/records.ts). The active version is the one the
 * `current` link names. A version that does not verify is reported and kept on disk: nothing here
 * ever deletes.
 */
import { type ErrorCode, NxError } from "../../errors.ts";
import { activate, permissionDiff, versionRecord } from "../../plan/mod.ts";
import type { AppRecord, VersionRecord } from "../../registry/mod.ts";
import type { VerifiedBundle } from "../../trust/mod.ts";
import { compareVersions, isStrictSemver } from "../../version/mod.ts";
import { silentReporter } from "../context.ts";
import type { OpContext } from "../context.ts";
import type { Session } from "../session.ts";
import { verifyAt } from "../verify.ts";
import { currentVersionOf } from "./layout.ts";
import { type Finding, finding } from "./types.ts";
import type { AppTree } from "./walk.ts";

export type Verdict =
  | { ok: true; bundle: VerifiedBundle }
  | { ok: false; code?: ErrorCode; reason: string };

/** One version directory verified as `nx pkg verify` would, and bound to its app and version. */
export async function verifyVersion(
  dir: string,
  appId: string,
  version: string,
  s: Session,
  ctx: OpContext,
): Promise<Verdict> {
  if (!isStrictSemver(version)) return { ok: false, reason: "its name is not a version" };
  let bundle: VerifiedBundle;
  try {
    bundle = await verifyAt(dir, { ...ctx, reporter: silentReporter }, s.trust);
  } catch (e) {
    if (!(e instanceof NxError)) throw e;
    return { ok: false, code: e.code, reason: e.message };
  }
  const m = bundle.manifest;
  if (m.name !== appId || m.version !== version) {
    return { ok: false, reason: `it holds ${m.name} ${m.version}, not ${appId} ${version}` };
  }
  // trust: the same gate as install — a bundle trusted only through a lenient mode needs dev-mode
  if (!bundle.signer.trusted && !s.trust.policy.dev_mode) {
    return {
      ok: false,
      code: "policy.untrusted",
      reason: "it verifies only because the policy mode downgraded findings",
    };
  }
  return { ok: true, bundle };
}

export interface Adoption {
  /** The record to register, when the active version verifies. */
  record?: AppRecord;
  /** Why there is no record. */
  reason?: string;
  /** One finding per version directory that does not verify (kept on disk). */
  unverified: Finding[];
}

/**
 * The record of an app rebuilt from its tree: every verified version of the active version's
 * publisher, the active one first, then the others newest first (the activation order is not on
 * disk). `lastDiff` is the diff from the next retained version; `installedAt`/`updatedAt` are
 * this command's reference time (the original times and the audit log are not on disk).
 */
export async function adoptApp(
  t: AppTree,
  s: Session,
  ctx: OpContext,
  versionDir: (v: string) => string,
): Promise<Adoption> {
  const names = [...t.versions.keys()].sort((a, b) =>
    isStrictSemver(a) && isStrictSemver(b) ? compareVersions(b, a) : a < b ? -1 : 1
  );
  const verified = new Map<string, VerifiedBundle>();
  const unverified: Finding[] = [];
  const reject = (v: string, reason: string, code?: ErrorCode) =>
    unverified.push(finding(
      "version-unverified",
      versionDir(v),
      `does not verify under this root's policy (${reason}): kept on disk, not registered`,
      false,
      { app: t.id, code },
    ));
  for (const v of names) {
    const verdict = await verifyVersion(versionDir(v), t.id, v, s, ctx);
    if (verdict.ok) verified.set(v, verdict.bundle);
    else reject(v, verdict.reason, verdict.code);
  }
  const activeName = t.current.kind === "link" ? currentVersionOf(t.current.target) : undefined;
  const active = activeName === undefined ? undefined : verified.get(activeName);
  if (!active) {
    const reason = activeName === undefined
      ? "its current link does not name a version"
      : verified.size === 0 && unverified.length === 0
      ? `its current link names ${activeName}, which is not installed`
      : `its active version ${activeName} does not verify`;
    return { reason, unverified };
  }
  const m = active.manifest;
  const now = ctx.now.toISOString();
  const previous: VersionRecord[] = [];
  for (const [v, bundle] of verified) {
    if (v === activeName) continue;
    if (bundle.manifest.publisher !== m.publisher) {
      reject(v, `published by ${bundle.manifest.publisher}, the active version by ${m.publisher}`);
    } else previous.push(versionRecord(bundle, now));
  }
  const { record } = activate(
    {
      id: t.id,
      state: "active",
      publisher: m.publisher,
      bundleType: m.bundleType,
      ...(m.sku ? { sku: m.sku } : {}),
      installedAt: now,
    },
    versionRecord(active, now),
    previous,
    previous.length,
    permissionDiff(previous[0]?.manifest, m),
    now,
  );
  return { record, unverified };
}

/** A short description of a record, for repair messages: `notes 1.1.0 (1.1.0, 1.0.0)`. */
export function describeRecord(r: AppRecord): string {
  return `${r.id} ${r.version} (${r.versions.map((v) => v.version).join(", ")})`;
}
