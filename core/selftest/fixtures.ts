/**
 * The fixture bundles the selftest installs, read on the caller's side: what each one must leave
 * on a root once installed (its files, as the registry lists them) and who signed it. Over a
 * transport these are the bytes that are uploaded, so the checks compare the agent's view with
 * exactly what was sent.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { NxError } from "../errors.ts";
import { FileIndexSchema, IndexSigSchema } from "../bundle/mod.ts";

/** A file of an installed version, as `info --files` lists it. */
export interface ExpectedFile {
  path: string;
  size: number;
  sha256: string;
}

export interface Fixture {
  /** `notes-1.0.0`: the committed bundle `bundles/notes-1.0.0.nxb`. */
  id: string;
  app: string;
  version: string;
  /** The bundle directory. */
  path: string;
  /** Every file the installed version holds: the index's entries and the index itself. */
  files: ExpectedFile[];
  /** The signer (meta/index.sig): the root must trust this publisher with this key. */
  publisher: string;
  key: string;
}

/** The fixture bundles the scenario uses (core/selftest/scenario.ts). */
export const FIXTURE_IDS = [
  "notes-1.0.0",
  "notes-1.1.0",
  "textkit-1.0.0",
  "reader-1.0.0",
  "ledger-1.0.0",
] as const;
export type FixtureId = typeof FIXTURE_IDS[number];

const sha256 = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");

async function readMeta(bundle: string, name: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(join(bundle, "meta", name));
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
    throw new NxError(
      "bundle.not_found",
      `cannot read the selftest fixture ${bundle}: no meta/${name}`,
      {
        hint:
          "pass --fixtures DIR: the folder holding bundles/<app>-<version>.nxb (the repository's fixtures/)",
        details: { path: bundle },
      },
    );
  }
}

function parseMeta<T>(bytes: Uint8Array, parse: (v: unknown) => T, bundle: string, name: string) {
  try {
    return parse(JSON.parse(new TextDecoder().decode(bytes)));
  } catch (e) {
    throw new NxError(
      "integrity.index_invalid",
      `cannot read the selftest fixture ${bundle}: meta/${name} is not valid (${e})`,
      { details: { path: bundle } },
    );
  }
}

/** Reads `<fixtures>/bundles/<id>.nxb`: its expected files and its signer. */
export async function readFixture(fixtures: string, id: string): Promise<Fixture> {
  const path = join(fixtures, "bundles", `${id}.nxb`);
  const dash = id.lastIndexOf("-");
  const indexBytes = await readMeta(path, "index.json");
  const sigBytes = await readMeta(path, "index.sig");
  const index = parseMeta(indexBytes, (v) => FileIndexSchema.parse(v), path, "index.json");
  const sig = parseMeta(sigBytes, (v) => IndexSigSchema.parse(v), path, "index.sig");
  const files = [
    ...index.files.map((f) => ({ path: f.path, size: f.size, sha256: f.sha256 })),
    { path: "meta/index.json", size: indexBytes.length, sha256: sha256(indexBytes) },
    { path: "meta/index.sig", size: sigBytes.length, sha256: sha256(sigBytes) },
  ].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    id,
    app: id.slice(0, dash),
    version: id.slice(dash + 1),
    path,
    files,
    publisher: sig.publisher,
    key: sig.key,
  };
}

export async function readFixtures(fixtures: string): Promise<Record<FixtureId, Fixture>> {
  const entries = await Promise.all(
    FIXTURE_IDS.map(async (id) => [id, await readFixture(fixtures, id)] as const),
  );
  return Object.fromEntries(entries) as Record<FixtureId, Fixture>;
}
