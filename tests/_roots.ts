/** Root fixtures for lifecycle tests: prepared roots, cloning, and old-or-new state snapshots. */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
import {
  type AuditEntry,
  openRegistry,
  type Registry,
  registryUrlForFile,
} from "../core/registry/mod.ts";
import { copyFixture, nx, snapshotTree, tempDir, trustedRoot } from "./helpers.ts";

/** A root that trusts dev, with fixtures installed/upgraded (or an app rolled back) in order. */
export async function preparedRoot(
  steps: [verb: "install" | "upgrade" | "rollback", fixtureOrApp: string][],
): Promise<string> {
  const root = await trustedRoot(["dev"]);
  for (const [verb, fixture] of steps) {
    const target = verb === "rollback" ? fixture : await copyFixture(fixture);
    const r = await nx(["pkg", verb, target, "--json"], { root });
    assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
    if (fixture.startsWith("notes-1.0.0")) {
      await Deno.writeTextFile(
        join(root, "apps/notes/data/1.0.0/notes.json"),
        '[{"text":"alpha\\nbeta"}]',
      );
    }
  }
  return root;
}

export async function cloneRoot(root: string): Promise<string> {
  const copy = join(await tempDir("nx-clone-"), "root");
  await cp(root, copy, { recursive: true, verbatimSymlinks: true });
  return copy;
}

/**
 * The observable state: the apps tree (hashes, link targets) and everything the registry holds
 * for every app (versions, files, manifests, permission diff, state), times left out. Read
 * in-process (read-only), so an observation costs no CLI run; the first command after a crash
 * is the test's own (doctorClean), which recovers and checks the root.
 */
export async function observe(root: string): Promise<string> {
  const tree = [...(await snapshotTree(join(root, "apps")))].map(([k, v]) => `${k} ${v}`).join(
    "\n",
  );
  const apps = await readRegistry(root, (r) => r.list());
  const timeless = (key: string, value: unknown) =>
    key === "installedAt" || key === "updatedAt" ? undefined : value;
  return `${tree}\n${JSON.stringify(apps, timeless)}`;
}

/** Reads the root's registry in-process, read-only (no CLI run, no recovery). */
async function readRegistry<T>(root: string, read: (r: Registry) => Promise<T>): Promise<T> {
  const url = registryUrlForFile(join(root, "pkg", "registry.db"));
  const registry = await openRegistry(url, { readOnly: true });
  try {
    return await read(registry);
  } finally {
    registry.close();
  }
}

/** The audit log, oldest first, read in-process. */
export function auditLog(root: string): Promise<AuditEntry[]> {
  return readRegistry(root, (r) => r.history());
}

export async function doctorClean(root: string): Promise<void> {
  const r = await nx(["pkg", "doctor", "--json"], { root });
  assert.equal(r.json?.code, "ok", `doctor: ${r.stdout}\n${r.stderr}`);
}
