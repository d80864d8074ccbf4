/**
 * What to do about a bundle the root does not trust. A `policy.publisher_unknown`,
 * `policy.key_unknown` or `policy.disabled` refusal of verify, install or upgrade gets the signer
 * in its details (`publisher`, `keyId`: the fingerprint of the signing key, "" for a payload-only
 * bundle, which names no key) and a hint with the command that would trust it. The signer is read
 * from the same bundle in audit-only mode, as `nx pkg inspect` shows it; nothing is created.
 */
import type { BundleRef } from "../api/mod.ts";
import { NxError } from "../errors.ts";
import { loadTrust } from "../store/mod.ts";
import { silentReporter } from "./context.ts";
import type { OpContext } from "./context.ts";
import { bundlePath, verifyAt } from "./verify.ts";

const EXPLAINED = new Set(["policy.publisher_unknown", "policy.key_unknown", "policy.disabled"]);

/** Runs `body`; a trust refusal it throws comes back with the signer and the command to run. */
export async function withTrustHint<T>(
  ctx: OpContext,
  bundle: BundleRef,
  body: () => Promise<T>,
): Promise<T> {
  try {
    return await body();
  } catch (e) {
    throw await explained(e, ctx, bundlePath(bundle));
  }
}

async function signerOf(ctx: OpContext, path: string) {
  const trust = await loadTrust(ctx.paths);
  const audit = { ...trust, policy: { ...trust.policy, mode: "audit-only" as const } };
  const bundle = await verifyAt(path, { ...ctx, reporter: silentReporter }, audit);
  return bundle.signer;
}

async function explained(e: unknown, ctx: OpContext, path: string): Promise<unknown> {
  if (!(e instanceof NxError) || !EXPLAINED.has(e.code) || e.hint !== undefined) return e;
  const signer = await signerOf(ctx, path).catch(() => undefined);
  if (!signer) return e;
  const { publisher, key } = signer;
  const root = `--root ${ctx.paths.root}`;
  const inspect = `\`nx pkg inspect ${path}\` shows the signer`;
  let hint: string;
  if (e.code === "policy.disabled") {
    hint = `publisher ${publisher} is disabled in this root; to trust it again, ` +
      `\`nx pkg trust remove ${publisher} ${root}\` and add its key back`;
  } else if (e.code === "policy.key_unknown") {
    hint = `publisher ${publisher} is trusted but not its key ${key}: if the publisher rotated ` +
      `to it, run \`nx pkg trust add <${key}>.pub --publisher ${publisher} ${root}\`; ${inspect}`;
  } else if (key === "" || key === publisher) {
    hint = `if you trust publisher ${publisher}, add its public key (the file whose ` +
      `fingerprint is that id): \`nx pkg trust add <${publisher}>.pub ${root}\`; ${inspect}`;
  } else {
    hint = `the root does not trust publisher ${publisher} (signing key ${key}): trust its first ` +
      `key with \`nx pkg trust add <${publisher}>.pub ${root}\`, then this one with ` +
      `\`nx pkg trust add <${key}>.pub --publisher ${publisher} ${root}\`; ${inspect}`;
  }
  return new NxError(e.code, e.message, {
    hint,
    details: { ...e.details, publisher, keyId: key },
    cause: e.cause ?? e,
  });
}
