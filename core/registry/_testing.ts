/** Records, temp databases and assertions for the registry tests. */
import assert from "node:assert/strict";
import { join } from "node:path";
import { type ErrorCode, NxError } from "../errors.ts";
import type { AppRecord, VersionRecord } from "./types.ts";
import { registryUrlForFile } from "./_open.ts";

export interface Declares {
  abilities?: string[];
  capabilities?: string[];
  exports?: { ability: string; permission: string }[];
}

export function versionRecord(id: string, version: string, d: Declares = {}): VersionRecord {
  return {
    version,
    size: 4096 + version.length,
    files: [
      { path: "manifest.nxb", size: 512, sha256: "a".repeat(64) },
      { path: "payload.elf", size: 3584, sha256: "b".repeat(64) },
    ],
    manifest: {
      schemaVersion: 1,
      name: id,
      version,
      abilities: d.abilities ?? [`${id}.MAIN`],
      capabilities: d.capabilities ?? [],
      minSdk: "1.0.0",
      publisher: "0123456789abcdef0123456789abcdef",
      signature: "ab".repeat(64),
      payloadDigest: "c".repeat(64),
      payloadSize: 3584,
      sbomDigest: "d".repeat(64),
      reproDigest: "e".repeat(64),
      bundleType: "app",
      dependencies: [{ name: "libfoo", versionConstraint: "^1.0.0" }],
      providedServices: [],
      resources: [{ path: "res/icon.png", kind: "icon" }],
      payloadKind: "elf",
      exports: d.exports ?? [],
    },
    scheme: "nx-index",
    installedAt: `2024-01-0${version.split(".")[0]}T00:00:00Z`,
  };
}

/** A record whose versions are given newest first; the first is current. */
export function appRecord(id: string, versions: VersionRecord[], extra: Partial<AppRecord> = {}) {
  const record: AppRecord = {
    id,
    version: versions[0].version,
    state: "active",
    publisher: "0123456789abcdef0123456789abcdef",
    bundleType: "app",
    versions,
    installedAt: "2024-01-01T00:00:00Z",
    updatedAt: "2024-01-02T00:00:00Z",
    ...extra,
  };
  return record;
}

export async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "nx-registry-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

export function dbUrl(dir: string, name = "registry.db"): string {
  return registryUrlForFile(join(dir, name));
}

export async function rejectsWith(p: Promise<unknown>, code: ErrorCode): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof NxError, `expected NxError ${code}, got ${e}`);
    assert.equal(e.code, code, e.message);
    return true;
  });
}
