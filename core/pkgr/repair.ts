/**
 * What reinstall and repair need from the tree: the active version's files against its record
 * (missing, changed, unexpected), and the verifier of the staged copy (`verify-staged`).
 */
import { NxError } from "../errors.ts";
import type { StagedVerifier } from "../apply/mod.ts";
import type { AppRecord } from "../api/mod.ts";
import type { Damage } from "../plan/mod.ts";
import { appPaths, exists, readBundle } from "../store/mod.ts";
import { silentReporter } from "./context.ts";
import type { OpContext } from "./context.ts";
import type { Session } from "./session.ts";
import { verifyAt } from "./verify.ts";

/** The active version's tree against the record's file list (one read, every file hashed). */
export async function damageOf(record: AppRecord, ctx: OpContext): Promise<Damage> {
  const dir = appPaths(ctx.paths, record.id).version(record.version);
  const expected = new Map(
    record.versions.find((v) => v.version === record.version)!.files.map((f) => [f.path, f]),
  );
  const damage: Damage = { missing: [], changed: [], unexpected: [] };
  if (!(await exists(dir))) {
    damage.missing.push(...[...expected.keys()].sort());
    return damage;
  }
  const facts = await readBundle(dir, () => undefined);
  for (const entry of facts.entries) {
    if (entry.type === "dir") continue;
    const want = expected.get(entry.path);
    const got = facts.files[entry.path];
    if (!want) damage.unexpected.push(entry.path);
    else if (!got || got.size !== want.size || got.sha256 !== want.sha256) {
      damage.changed.push(entry.path);
    }
    expected.delete(entry.path);
  }
  damage.missing.push(...expected.keys());
  for (const list of Object.values(damage)) list.sort();
  return damage;
}

/**
 * trust: the staged copy is verified as `nx pkg verify` verifies a bundle (the signed index,
 * every digest, the root's current policy), and must be the plan's app and version, from the
 * publisher the registry holds; a copy trusted only through a lenient mode needs dev-mode, as
 * install does.
 */
export function stagedVerifier(s: Session, ctx: OpContext): StagedVerifier {
  return async (dir, version, plan) => {
    const bundle = await verifyAt(dir, { ...ctx, reporter: silentReporter }, s.trust);
    const m = bundle.manifest;
    const publisher = plan.after?.publisher;
    if (m.name !== plan.appId || m.version !== version || m.publisher !== publisher) {
      throw new NxError(
        "integrity.binding_mismatch",
        `cannot restore ${plan.appId} ${version}: the staged copy is ${m.name} ${m.version} of publisher ${m.publisher}`,
      );
    }
    if (!bundle.signer.trusted && !s.trust.policy.dev_mode) {
      throw new NxError(
        "policy.untrusted",
        `cannot restore ${plan.appId} ${version}: it verifies only because the policy mode downgraded findings`,
        { hint: "trust the publisher (nx pkg trust add), or turn dev-mode on" },
      );
    }
  };
}
