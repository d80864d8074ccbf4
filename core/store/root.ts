/**
 * The state root: every path derives from one injected root directory. Holds the layout version
 * (`pkg/root.json`) and the trust policy files (`pkg/policy.toml`, `pkg/publishers.toml`).
 */
import { parse as parseToml, stringify as stringifyToml } from "smol-toml";
import * as z from "zod/mini";
import { NxError } from "../errors.ts";
import { firstIssue } from "../schema/mod.ts";
import {
  defaultPolicy,
  emptyPublishers,
  type Policy,
  POLICY_VERSION,
  PolicySchema,
  PUBLISHERS_VERSION,
  type PublishersFile,
  PublishersFileSchema,
} from "../trust/mod.ts";
import { dirname } from "node:path";
import {
  exists,
  lstatAt,
  mkdirp,
  readFileOr,
  removeIfEmpty,
  removeTree,
  writeFileAtomic,
} from "./fs.ts";
import { listDir } from "./apps.ts";

export { resolveRootDir, ROOT_FORMAT, ROOT_VERSION, type RootPaths, rootPaths } from "./paths.ts";
import { ROOT_FORMAT, ROOT_VERSION, type RootPaths } from "./paths.ts";

const RootFileSchema = z.object({ format: z.literal(ROOT_FORMAT), version: z.int() });

/** Refuses a root whose layout version nx does not know; a root without the file is new. */
export async function checkRootVersion(paths: RootPaths): Promise<void> {
  const bytes = await readFileOr(paths.rootFile, undefined);
  if (bytes === undefined) return;
  let parsed;
  try {
    parsed = RootFileSchema.safeParse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    parsed = undefined;
  }
  if (!parsed?.success) {
    throw new NxError("root.invalid", `cannot read ${paths.rootFile}: malformed`);
  }
  if (parsed.data.version !== ROOT_VERSION) {
    throw new NxError(
      "root.unsupported_version",
      `cannot use root: layout version ${parsed.data.version}`,
      {
        details: { version: parsed.data.version, supported: ROOT_VERSION },
      },
    );
  }
}

/**
 * Whether the root exists: its `pkg/` entry is there. Whatever stands there counts (a link or a
 * file is for the commands and doctor to report, never silently replaced).
 */
export async function rootExists(paths: RootPaths): Promise<boolean> {
  return (await lstatAt(paths.pkg)) !== undefined;
}

/** The error of a command that needs an existing root (`root.not_found`). */
export function rootNotFound(paths: RootPaths, action: string): NxError {
  return new NxError(
    "root.not_found",
    `cannot ${action}: no state root at ${paths.root}`,
    {
      details: { root: paths.root },
      hint:
        `check --root / $NX_ROOT, or create it with \`nx pkg init --root ${paths.root}\` (or \`nx pkg trust add\`)`,
    },
  );
}

/** Refuses a missing root with `root.not_found`; creates nothing. */
export async function requireRoot(paths: RootPaths, action: string): Promise<void> {
  if (!(await rootExists(paths))) throw rootNotFound(paths, action);
}

/**
 * Creates the skeleton of a missing root and says what it created (the directories, outermost
 * first, from the first missing ancestor of the root down to `apps/` and `pkg/`), so that
 * {@link removeCreatedRoot} can take exactly that away again. `undefined`: the root existed.
 */
export async function createRoot(paths: RootPaths): Promise<string[] | undefined> {
  if (await rootExists(paths)) return undefined;
  const created: string[] = [];
  for (let dir = paths.root; !(await exists(dir)); dir = dirname(dir)) {
    created.unshift(dir);
    if (dirname(dir) === dir) break;
  }
  if (!(await exists(paths.apps))) created.push(paths.apps);
  created.push(paths.pkg);
  try {
    await initRoot(paths);
  } catch (e) {
    // Nothing half-made stays behind (a parent it could create, a pkg/ it could not finish).
    await removeCreatedRoot(paths, created).catch(() => {});
    throw e;
  }
  return created;
}

/**
 * Removes a root {@link createRoot} made, when it holds nothing but what an operation that
 * changed nothing leaves: no journal (an interrupted transaction stays for recovery) and an empty
 * `apps/`. Returns whether it was removed. The caller holds the root's lock.
 */
export async function removeCreatedRoot(paths: RootPaths, created: string[]): Promise<boolean> {
  if (await exists(paths.journal)) return false;
  if (created.includes(paths.apps) && (await listDir(paths.apps)).length > 0) return false;
  await removeTree(paths.pkg);
  for (const dir of [...created].reverse()) {
    if (dir !== paths.pkg) await removeIfEmpty(dir);
  }
  return true;
}

/** Creates the root's skeleton (idempotent). */
export async function initRoot(paths: RootPaths): Promise<void> {
  await checkRootVersion(paths);
  await mkdirp(paths.pkg);
  await mkdirp(paths.apps);
  if ((await readFileOr(paths.rootFile, undefined)) === undefined) {
    const text = JSON.stringify({ format: ROOT_FORMAT, version: ROOT_VERSION }) + "\n";
    await writeFileAtomic(paths.rootFile, new TextEncoder().encode(text));
  }
}

/** Reads a versioned TOML file of the root (`fallback` when missing), checked by `schema`. */
export async function loadToml<T extends { version: number }>(
  path: string,
  schema: z.core.$ZodType<T>,
  version: number,
  fallback: T,
): Promise<T> {
  const bytes = await readFileOr(path, undefined);
  if (bytes === undefined) return fallback;
  let raw: unknown;
  try {
    raw = parseToml(new TextDecoder("utf-8", { fatal: true }).decode(bytes));
  } catch (e) {
    throw new NxError(
      "policy.invalid",
      `cannot parse ${path}: ${(e as Error).message.split("\n")[0]}`,
    );
  }
  const v = (raw as { version?: unknown }).version;
  if (typeof v === "number" && v !== version) {
    throw new NxError("policy.unsupported_version", `cannot read ${path}: version ${v}`);
  }
  const parsed = z.safeParse(schema, raw);
  if (!parsed.success) {
    throw new NxError("policy.invalid", `cannot read ${path}: ${firstIssue(parsed.error)}`);
  }
  return parsed.data;
}

export interface TrustState {
  policy: Policy;
  publishers: PublishersFile;
}

export async function loadTrust(paths: RootPaths): Promise<TrustState> {
  await checkRootVersion(paths);
  const policy = await loadToml(paths.policyFile, PolicySchema, POLICY_VERSION, defaultPolicy());
  const publishers = await loadToml(
    paths.publishersFile,
    PublishersFileSchema,
    PUBLISHERS_VERSION,
    emptyPublishers(),
  );
  return { policy, publishers };
}

/** A TOML file of the root: a `# header` comment line, then `value`. */
export function tomlBytes(value: unknown, header: string): Uint8Array {
  return new TextEncoder().encode(
    `# ${header}\n${stringifyToml(value as Record<string, unknown>)}\n`,
  );
}

export async function savePolicy(paths: RootPaths, policy: Policy): Promise<void> {
  await initRoot(paths);
  await writeFileAtomic(paths.policyFile, tomlBytes(policy, "nx trust policy (nx pkg policy set)"));
}

export async function savePublishers(paths: RootPaths, file: PublishersFile): Promise<void> {
  await initRoot(paths);
  await writeFileAtomic(
    paths.publishersFile,
    tomlBytes(file, "trusted publishers (nx pkg trust add)"),
  );
}
