/**
 * Hostile roots through the real CLI: links, special files, set-id and world-writable modes,
 * foreign owners, hard links and strays planted inside a state root. `doctor` must report each
 * with its finding kind and fail; `doctor --repair` must never act outside the root (sentinels
 * outside, which the old repair deleted or wrote through, stay byte-identical) and never follow a
 * link. A lost registry (deleted, emptied, without apps) makes readers and writers fail with
 * `registry.missing`; `doctor --repair` rebuilds it from the verified trees without deleting a
 * version.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { openRegistry, registryUrlForFile } from "../core/registry/mod.ts";
import { copyFixture, flipByte, nx, snapshotTree, stoppedAt, tempDir } from "./helpers.ts";
import { cloneRoot, observe, preparedRoot } from "./_roots.ts";

interface Finding {
  kind: string;
  path: string;
  repairable: boolean;
  code?: string;
  action?: string;
  hint?: string;
}

let base: Promise<string> | undefined;
/** notes 1.0.0 installed, then upgraded to 1.1.0 (both retained), cloned per case. */
async function freshRoot(): Promise<string> {
  base ??= preparedRoot([["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]]);
  return await cloneRoot(await base);
}

/** A directory outside the root that an attack would delete from or write to. */
async function sentinels(): Promise<string> {
  const outside = await tempDir("nx-outside-");
  await Deno.mkdir(join(outside, "victim/versions/9.9.9/meta"), { recursive: true });
  await Deno.writeTextFile(join(outside, "victim/precious.txt"), "do not delete\n");
  await Deno.writeTextFile(join(outside, "victim/versions/9.9.9/payload.elf"), "payload\n");
  await Deno.writeTextFile(join(outside, "victim/versions/9.9.9/meta/index.json"), "{}\n");
  await Deno.writeTextFile(join(outside, "file.txt"), "pid=none\nsentinel\n");
  return outside;
}

/** Every entry outside with its bytes, plus modes, owners and link counts. */
async function seal(dir: string): Promise<string> {
  const tree = await snapshotTree(dir);
  const lines: string[] = [];
  for (const [path, digest] of [...tree].sort()) {
    const info = await Deno.lstat(join(dir, path));
    lines.push(`${path} ${digest} ${info.mode?.toString(8)} ${info.uid} ${info.nlink}`);
  }
  return lines.join("\n");
}

async function doctor(root: string, repair = false) {
  const r = await nx(["pkg", "doctor", ...(repair ? ["--repair"] : []), "--json"], { root });
  const report = r.json?.code === "ok" ? r.json.data : r.json?.data?.details?.report;
  assert.ok(report, `no report: ${r.stdout}\n${r.stderr}`);
  return {
    code: r.json!.code,
    exit: r.code,
    findings: report.findings as Finding[],
    repaired: report.repaired as Finding[],
    stderr: r.stderr,
  };
}

const kindsOf = (fs: Finding[]) => [...new Set(fs.map((f) => f.kind))].sort();

interface AttackCase {
  name: string;
  plant: (root: string, outside: string) => Promise<void>;
  /** Finding kinds doctor must report (at least these). */
  kinds: string[];
  /** Whether --repair leaves a clean root (else the findings of `kinds` not repaired remain). */
  clean: boolean;
  /** Checked after the repair. */
  after?: (root: string, outside: string) => Promise<void>;
}

const V = "apps/notes/versions/1.1.0";
const D = "apps/notes/data/1.1.0";

async function replaceWithLink(root: string, rel: string, target: string): Promise<void> {
  await Deno.remove(join(root, rel), { recursive: true }).catch(() => {});
  await Deno.symlink(target, join(root, rel));
}

async function mkfifo(path: string): Promise<void> {
  const out = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.equal(out.code, 0, "mkfifo");
}

const isLink = async (path: string) => (await Deno.lstat(path)).isSymlink;

const CASES: AttackCase[] = [
  {
    name: "apps/<x> linked to a directory outside",
    plant: (root, out) => Deno.symlink(join(out, "victim"), join(root, "apps/evil")),
    kinds: ["unsafe-link"],
    clean: false,
    after: async (root) => assert.ok(await isLink(join(root, "apps/evil"))),
  },
  {
    name: "apps/<id>/versions linked outside",
    plant: (root, out) =>
      replaceWithLink(root, "apps/notes/versions", join(out, "victim/versions")),
    kinds: ["unsafe-link", "version-missing"],
    clean: false,
  },
  {
    name: "apps/<id>/data/<v> linked outside",
    plant: (root, out) => replaceWithLink(root, D, join(out, "victim")),
    kinds: ["data-missing", "unsafe-link"],
    clean: false,
  },
  {
    name: "a link inside app data",
    plant: (root, out) => Deno.symlink(join(out, "file.txt"), join(root, D, "evil")),
    kinds: ["unsafe-link"],
    clean: false,
    after: async (root) => assert.ok(await isLink(join(root, D, "evil")), "user data is kept"),
  },
  {
    name: "a link inside an installed version (removed, never followed)",
    plant: (root, out) => Deno.symlink(join(out, "victim"), join(root, V, "evil")),
    kinds: ["unsafe-link"],
    clean: true,
  },
  {
    name: "current linked outside (absolute)",
    plant: (root, out) => replaceWithLink(root, "apps/notes/current", join(out, "victim")),
    kinds: ["current-mismatch", "unsafe-link"],
    clean: true,
    after: async (root) =>
      assert.equal(await Deno.readLink(join(root, "apps/notes/current")), "versions/1.1.0"),
  },
  {
    name: "current escaping through ..",
    plant: (root) => replaceWithLink(root, "apps/notes/current", "versions/../../../pkg"),
    kinds: ["current-mismatch", "unsafe-link"],
    clean: true,
  },
  {
    name: "pkg/staging linked outside",
    plant: (root, out) => replaceWithLink(root, "pkg/staging", join(out, "victim")),
    kinds: ["unsafe-link"],
    clean: true,
  },
  {
    name: "a staging leftover that is a link outside",
    plant: (root, out) => Deno.symlink(join(out, "victim"), join(root, "pkg/staging/tx")),
    kinds: ["staging-leftover"],
    clean: true,
  },
  {
    name: "a staging leftover holding a retired version's data is kept, never deleted",
    plant: async (root) => {
      await Deno.mkdir(join(root, "pkg/staging/tx/retired-data"), { recursive: true });
      await Deno.writeTextFile(join(root, "pkg/staging/tx/retired-data/notes.json"), "[]");
    },
    kinds: ["staging-leftover"],
    clean: false,
    after: async (root) => {
      assert.equal(
        await Deno.readTextFile(join(root, "pkg/staging/tx/retired-data/notes.json")),
        "[]",
      );
    },
  },
  {
    name: "pkg/lock linked to a file outside",
    plant: (root, out) => replaceWithLink(root, "pkg/lock", join(out, "file.txt")),
    kinds: ["unsafe-link"],
    clean: true,
  },
  {
    name: "pkg/publishers.toml linked outside (trust state: left to a person)",
    plant: async (root, out) => {
      await Deno.copyFile(join(root, "pkg/publishers.toml"), join(out, "publishers.toml"));
      await replaceWithLink(root, "pkg/publishers.toml", join(out, "publishers.toml"));
    },
    kinds: ["unsafe-link"],
    clean: false,
  },
  {
    name: "the icon cache linked outside",
    plant: (root, out) => replaceWithLink(root, "pkg/cache/icons/notes", join(out, "victim")),
    kinds: ["unsafe-link"],
    clean: true,
  },
  {
    name: "pkg/lock is a FIFO",
    plant: async (root) => {
      await Deno.remove(join(root, "pkg/lock"));
      await mkfifo(join(root, "pkg/lock"));
    },
    kinds: ["special-file"],
    clean: false,
  },
  {
    name: "a FIFO in app data",
    plant: (root) => mkfifo(join(root, D, "pipe")),
    kinds: ["special-file"],
    clean: false,
  },
  {
    name: "a socket in pkg/",
    plant: async (root) => {
      // Closing a listener unlinks its path: move the socket first so it stays behind.
      const listener = Deno.listen({ transport: "unix", path: join(root, "pkg/sock.tmp") });
      await Deno.rename(join(root, "pkg/sock.tmp"), join(root, "pkg/sock"));
      listener.close();
      assert.ok((await Deno.lstat(join(root, "pkg/sock"))).isSocket);
    },
    kinds: ["special-file"],
    clean: false,
  },
  {
    name: "a setuid file in an installed version",
    plant: (root) => Deno.chmod(join(root, V, "payload.elf"), 0o4555),
    kinds: ["unsafe-mode"],
    clean: false,
  },
  {
    name: "a setgid app directory",
    plant: (root) => Deno.chmod(join(root, "apps/notes"), 0o2755),
    kinds: ["unsafe-mode"],
    clean: false,
  },
  {
    name: "a world-writable data directory",
    plant: (root) => Deno.chmod(join(root, D), 0o777),
    kinds: ["unsafe-mode"],
    clean: false,
  },
  {
    name: "a file owned by another user",
    plant: (root) => Deno.chown(join(root, "apps/notes/data/1.0.0/notes.json"), 65534, 65534),
    kinds: ["foreign-owner"],
    clean: false,
  },
  {
    name: "an installed file hard-linked outside",
    plant: (root, out) => Deno.link(join(root, V, "payload.elf"), join(out, "payload-alias")),
    kinds: ["hard-link"],
    clean: false,
  },
  {
    name: "stray entries in the root, pkg/ and an app directory",
    plant: async (root) => {
      await Deno.writeTextFile(join(root, "junk.txt"), "mine\n");
      await Deno.writeTextFile(join(root, "pkg/notes.txt"), "mine\n");
      await Deno.mkdir(join(root, "apps/notes/extra"));
      await Deno.writeTextFile(join(root, "apps/notes/extra/keep.txt"), "mine\n");
    },
    kinds: ["stray-entry"],
    clean: false,
    after: async (root) => {
      for (const p of ["junk.txt", "pkg/notes.txt", "apps/notes/extra/keep.txt"]) {
        assert.equal(await Deno.readTextFile(join(root, p)), "mine\n", `${p} kept`);
      }
    },
  },
  {
    name: "a temp file left by a killed atomic write",
    plant: (root) => Deno.writeTextFile(join(root, "pkg/.registry.stamp.4242.1.tmp"), "{"),
    kinds: ["temp-leftover"],
    clean: true,
  },
];

for (const c of CASES) {
  Deno.test(`doctor: ${c.name}`, async () => {
    const root = await freshRoot();
    const outside = await sentinels();
    await c.plant(root, outside);
    const sealed = await seal(outside);

    const found = await doctor(root);
    assert.equal(found.code, "doctor.findings", found.stderr);
    assert.equal(found.exit, 3);
    for (const k of c.kinds) assert.ok(kindsOf(found.findings).includes(k), `${k} reported`);
    for (const f of found.findings) assert.ok(f.hint, `${f.kind} ${f.path} names a next step`);
    assert.equal(await seal(outside), sealed, "doctor changed something outside the root");

    const fixed = await doctor(root, true);
    assert.equal(await seal(outside), sealed, "--repair changed something outside the root");
    if (c.clean) {
      assert.equal(fixed.code, "ok", JSON.stringify(fixed.findings));
      assert.ok(fixed.repaired.length > 0);
      for (const f of fixed.repaired) assert.ok(f.action, `${f.kind} says what it did`);
      assert.equal((await doctor(root)).code, "ok");
    } else {
      assert.equal(fixed.code, "doctor.findings");
      const left = kindsOf(fixed.findings.filter((f) => !f.repairable));
      assert.ok(c.kinds.some((k) => left.includes(k)), `unrepaired: ${left}`);
    }
    await c.after?.(root, outside);
    assert.equal(await seal(outside), sealed);
  });
}

// ---------------------------------------------------------------------------------------------
// A lost registry.

async function removeRegistry(root: string): Promise<void> {
  for (const suffix of ["", "-wal", "-shm"]) {
    await Deno.remove(join(root, `pkg/registry.db${suffix}`)).catch(() => {});
  }
}

const LOSSES: [string, (root: string) => Promise<void>][] = [
  ["deleted", removeRegistry],
  ["emptied (zero bytes)", async (root) => {
    await removeRegistry(root);
    await Deno.writeFile(join(root, "pkg/registry.db"), new Uint8Array());
  }],
  ["left without apps", async (root) => {
    const registry = await openRegistry(registryUrlForFile(join(root, "pkg/registry.db")));
    try {
      await registry.unregister("notes");
    } finally {
      registry.close();
    }
  }],
];

for (const [name, lose] of LOSSES) {
  Deno.test(`a registry ${name}: readers and writers fail with registry.missing; doctor --repair rebuilds it`, async () => {
    const root = await freshRoot();
    const before = await observe(root);
    const tree = await snapshotTree(join(root, "apps"));
    await lose(root);

    for (
      const args of [["pkg", "list"], ["pkg", "info", "notes"], [
        "pkg",
        "query",
        "--ability",
        "notes.open",
      ]]
    ) {
      const r = await nx([...args, "--json"], { root });
      assert.equal(r.json?.code, "registry.missing", `${args.join(" ")}: ${r.stdout}`);
      assert.equal(r.code, 5);
      assert.match(r.json?.data.hint, /doctor --repair/);
    }
    const install = await nx(["pkg", "install", await copyFixture("reader-1.0.0"), "--json"], {
      root,
    });
    assert.equal(install.json?.code, "registry.missing", install.stdout);

    const found = await doctor(root);
    assert.equal(found.code, "doctor.findings");
    assert.deepEqual(kindsOf(found.findings), ["registry-missing"]);
    assert.equal(found.findings[0].code, "registry.missing");
    assert.equal(found.findings[0].repairable, true);
    assert.deepEqual(await snapshotTree(join(root, "apps")), tree, "doctor changed the tree");

    const fixed = await doctor(root, true);
    assert.equal(fixed.code, "ok", JSON.stringify(fixed.findings));
    assert.deepEqual(fixed.repaired.map((f) => f.kind), ["registry-missing"]);
    assert.match(fixed.repaired[0].action!, /notes 1\.1\.0 \(1\.1\.0, 1\.0\.0\)/);
    assert.deepEqual(await snapshotTree(join(root, "apps")), tree, "a version was deleted");
    assert.equal(await observe(root), before, "list/info differ from before the loss");
    const history = await nx(["pkg", "history", "--json"], { root });
    assert.ok(history.json?.data.entries.some((e: { op: string }) => e.op === "repair"));
  });
}

Deno.test("a lost registry with a tampered older version: the rest is registered, the version kept", async () => {
  const root = await freshRoot();
  await removeRegistry(root);
  const old = join(root, "apps/notes/versions/1.0.0/payload.elf");
  await Deno.chmod(old, 0o644);
  await flipByte(old, 100);
  const tree = await snapshotTree(join(root, "apps"));

  const found = await doctor(root);
  const unverified = found.findings.filter((f) => f.kind === "version-unverified");
  assert.equal(unverified.length, 1);
  assert.match(unverified[0].path, /versions\/1\.0\.0$/);
  assert.match(unverified[0].code!, /^integrity\./);

  for (let i = 0; i < 2; i++) {
    const fixed = await doctor(root, true);
    assert.equal(fixed.code, "doctor.findings");
    const orphan = fixed.findings.find((f) => f.kind === "version-orphan");
    assert.ok(orphan && !orphan.repairable, "the unverified version is not repairable");
    assert.deepEqual(await snapshotTree(join(root, "apps")), tree, "a version was deleted");
  }
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.equal(list.json?.code, "ok");
  const apps = list.json?.data.apps.map((a: { version: string; retained: string[] }) => [
    a.version,
    a.retained,
  ]);
  assert.deepEqual(apps, [["1.1.0", []]]);
});

Deno.test("a lost registry whose publisher is no longer trusted: nothing registered, nothing deleted", async () => {
  const root = await freshRoot();
  await removeRegistry(root);
  const untrust = await nx(["pkg", "trust", "remove", "dev", "--json"], { root });
  assert.equal(untrust.json?.code, "ok", untrust.stdout);
  const tree = await snapshotTree(join(root, "apps"));

  const fixed = await doctor(root, true);
  assert.equal(fixed.code, "doctor.findings");
  assert.deepEqual(fixed.repaired, []);
  const missing = fixed.findings.find((f) => f.kind === "registry-missing");
  assert.ok(missing && !missing.repairable);
  const unverified = fixed.findings.filter((f) => f.kind === "version-unverified");
  assert.equal(unverified.length, 2);
  for (const f of unverified) assert.match(f.code!, /^policy\./);
  assert.deepEqual(await snapshotTree(join(root, "apps")), tree, "a version was deleted");
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.equal(list.json?.code, "registry.missing");
});

Deno.test("a first install in flight is not a lost registry: a reader sees the last committed state", async () => {
  const root = join(await tempDir(), "root");
  const trust = await nx(["pkg", "trust", "add", "fixtures/keys/dev.pub", "--name", "dev"], {
    root,
  });
  assert.equal(trust.code, 0, trust.stderr);
  // The version is published and the registry still lists no app: the writer is frozen here.
  const { child, output } = await stoppedAt(
    "commit-registry",
    ["pkg", "install", await copyFixture("notes-1.0.0")],
    root,
  );
  try {
    const list = await nx(["pkg", "list", "--json"], { root });
    assert.equal(list.json?.code, "ok", list.stdout);
    assert.deepEqual(list.json?.data.apps, []);
  } finally {
    child.kill("SIGCONT");
  }
  const out = await output;
  assert.equal(JSON.parse(new TextDecoder().decode(out.stdout)).code, "ok");
  const list = await nx(["pkg", "list", "--json"], { root });
  assert.equal(list.json?.data.apps.length, 1);
});
