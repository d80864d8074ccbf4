/** Root fixtures for lifecycle tests: prepared roots, cloning, and old-or-new state snapshots. */
import assert from "node:assert/strict";
import { cp } from "node:fs/promises";
import { join } from "node:path";
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

/** The observable state: the apps tree (hashes, link targets) and the registry's app view. */
export async function observe(root: string): Promise<string> {
  const tree = [...(await snapshotTree(join(root, "apps")))].map(([k, v]) => `${k} ${v}`).join(
    "\n",
  );
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.equal(list.code, 0, list.stdout + list.stderr);
  const infos = [];
  for (const app of list.json!.data.apps) {
    const info = await nx(["pkg", "info", app.id, "--json"], { root });
    const { history: _h, installedAt: _i, updatedAt: _u, ...stable } = info.json!.data;
    infos.push(stable);
  }
  return `${tree}\n${JSON.stringify(infos)}`;
}

export async function doctorClean(root: string): Promise<void> {
  const r = await nx(["pkg", "doctor", "--json"], { root });
  assert.equal(r.json?.code, "ok", `doctor: ${r.stdout}\n${r.stderr}`);
}
