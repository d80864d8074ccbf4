/**
 * Attacks on the state root's file handling, run against the real CLI. The attacker is the
 * unprivileged user `nobody`, owning a bundle or an app's data directory; nx runs as root.
 * `NX_FAULT=stop:<step>` freezes nx right before a step, so each swap lands exactly in the
 * window it attacks (between verification and staging, between listing and copying).
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { FIXTURES, nx, packWithDevKey, snapshotTree, stoppedAt, trustedRoot } from "./helpers.ts";

const SECRET = "nx-attack-secret-0f3c9a";

/** A scratch dir that `nobody` can traverse, with a root-only secret inside. */
async function arena(): Promise<{ dir: string; secret: string; cleanup: () => Promise<void> }> {
  const dir = await Deno.makeTempDir({ dir: "/tmp", prefix: "nx-attack-" });
  await Deno.chmod(dir, 0o755);
  await Deno.mkdir(join(dir, "vault"), { mode: 0o700 });
  const secret = join(dir, "vault", "secret.txt");
  await Deno.writeTextFile(secret, SECRET, { mode: 0o600 });
  return { dir, secret, cleanup: () => Deno.remove(dir, { recursive: true }) };
}

async function sh(command: string, user?: string): Promise<void> {
  const args = user ? ["-u", user, "--", "sh", "-c", command] : ["-c", command];
  const out = await new Deno.Command(user ? "runuser" : "sh", { args, stderr: "piped" }).output();
  assert.equal(out.code, 0, `${command}: ${new TextDecoder().decode(out.stderr)}`);
}

const asNobody = (command: string) => sh(command, "nobody");

/** A bundle fixture copied into the arena and owned by `nobody`. */
async function nobodysBundle(dir: string, fixture: string): Promise<string> {
  const target = join(dir, `${fixture}.nxb`);
  await sh(`cp -r '${join(FIXTURES, "bundles", `${fixture}.nxb`)}' '${target}'`);
  await sh(`chown -R nobody: '${target}'`);
  return target;
}

/** Runs `nx <args>` frozen before `step`, lets `attack` run, then lets nx go on. */
async function attackAt(
  step: string,
  args: string[],
  root: string,
  attack: () => Promise<void>,
) {
  const { child, output } = await stoppedAt(step, args, root);
  await attack();
  Deno.kill(child.pid, "SIGCONT");
  const out = await output;
  const stdout = new TextDecoder().decode(out.stdout);
  return { code: out.code, json: JSON.parse(stdout), stdout };
}

/** Every byte under `dir` that nx wrote, as text, for "the secret never landed" checks. */
async function contents(dir: string): Promise<string> {
  const parts: string[] = [];
  const visit = async (abs: string) => {
    for await (const e of Deno.readDir(abs)) {
      const full = join(abs, e.name);
      if (e.isDirectory) await visit(full);
      else if (e.isFile) parts.push(await Deno.readTextFile(full).catch(() => ""));
    }
  };
  await visit(dir).catch(() => {});
  return parts.join("\n");
}

Deno.test("staging attacks: a bundle file swapped after verification is never followed, read past its size or blocked on", async (t) => {
  const swaps: [string, (file: string, secret: string) => string][] = [
    ["a link to a root-only file", (f, s) => `rm '${f}' && ln -s '${s}' '${f}'`],
    ["a link to /dev/zero", (f) => `rm '${f}' && ln -s /dev/zero '${f}'`],
    ["a FIFO", (f) => `rm '${f}' && mkfifo '${f}'`],
    ["a file of the same size, other bytes", (f) => `sed -i 's/svg/SVG/' '${f}'`],
    ["a grown file", (f) => `printf x >> '${f}'`],
  ];
  for (const [what, swap] of swaps) {
    await t.step(`assets/icon.svg becomes ${what}`, async () => {
      const { dir, secret, cleanup } = await arena();
      try {
        const root = await trustedRoot(["dev"]);
        const bundle = await nobodysBundle(dir, "notes-1.0.0");
        const before = await snapshotTree(root);
        const r = await attackAt(
          "stage-version",
          ["pkg", "install", bundle],
          root,
          () => asNobody(swap(join(bundle, "assets", "icon.svg"), secret)),
        );
        assert.equal(r.json.code, "integrity.changed_after_verify", r.stdout);
        assert.equal(r.code, 3);
        assert.ok(!(await contents(root)).includes(SECRET), "the secret landed in the root");
        // The refusal is audited (the registry's bytes change); every other file is as before,
        // and the registry still lists no app.
        const after = await snapshotTree(root);
        for (const [k, v] of before) {
          if (!k.startsWith("pkg/registry.db")) assert.equal(after.get(k), v, k);
        }
        assert.deepEqual(
          [...after.keys()].filter((k) => k.startsWith("apps/") && k !== "apps/"),
          [],
        );
        assert.deepEqual((await nx(["pkg", "list", "--json", "--root", root])).json?.data, {
          apps: [],
        });
      } finally {
        await cleanup();
      }
    });
  }
  await t.step("the assets directory becomes a link to a look-alike", async () => {
    const { dir, cleanup } = await arena();
    try {
      const root = await trustedRoot(["dev"]);
      const bundle = await nobodysBundle(dir, "notes-1.0.0");
      const r = await attackAt("stage-version", ["pkg", "install", bundle], root, () =>
        asNobody(
          `cp -r '${bundle}/assets' '${dir}/look' 2>/dev/null || { mkdir '${dir}/look'; }; ` +
            `rm -r '${bundle}/assets' && ln -s '${dir}/look' '${bundle}/assets'`,
        ));
      assert.equal(r.json.code, "integrity.changed_after_verify", r.stdout);
    } finally {
      await cleanup();
    }
  });
});

Deno.test("staging attacks: staging is never readable by others while it holds unverified bytes", async () => {
  const { dir, cleanup } = await arena();
  try {
    const root = await trustedRoot(["dev"]);
    const bundle = await nobodysBundle(dir, "notes-1.0.0");
    let probe = "";
    // deno-lint-ignore require-await -- attackAt takes an async attack; this probe is synchronous
    const r = await attackAt("publish-version", ["pkg", "install", bundle], root, async () => {
      const staging = join(root, "pkg", "staging");
      const [tx] = [...Deno.readDirSync(staging)].map((e) => e.name);
      probe = (Deno.statSync(join(staging, tx)).mode! & 0o777).toString(8);
    });
    assert.equal(r.json.code, "ok", r.stdout);
    assert.equal(probe, "700");
  } finally {
    await cleanup();
  }
});

/** notes 1.0.0 installed, its data directory handed to `nobody`, and the 1.1.0 bundle. */
async function nobodysData(dir: string) {
  const root = join(dir, "root");
  const t = await nx(["pkg", "trust", "add", join(FIXTURES, "keys", "dev.pub"), "--json"], {
    root,
  });
  assert.equal(t.json?.code, "ok", t.stdout);
  const r = await nx(["pkg", "install", await nobodysBundle(dir, "notes-1.0.0"), "--json"], {
    root,
  });
  assert.equal(r.json?.code, "ok", r.stdout);
  const data = join(root, "apps", "notes", "data", "1.0.0");
  await Deno.writeTextFile(join(data, "notes.json"), '[{"text":"a"}]');
  await sh(`chmod 755 '${root}' '${root}/apps' '${root}/apps/notes' '${root}/apps/notes/data'`);
  await sh(`chown -R nobody: '${data}'`);
  return { root, data, upgrade: await nobodysBundle(dir, "notes-1.1.0") };
}

Deno.test("data attacks: the upgrade's data copy never follows a link, widens a mode or copies a special", async (t) => {
  await t.step("a data file swapped for a link to a root-only file", async () => {
    const { dir, secret, cleanup } = await arena();
    try {
      const { root, data, upgrade } = await nobodysData(dir);
      const before = await snapshotTree(join(root, "apps"));
      const r = await attackAt(
        "prepare-data",
        ["pkg", "upgrade", upgrade],
        root,
        () => asNobody(`rm '${data}/notes.json' && ln -s '${secret}' '${data}/notes.json'`),
      );
      // The link is copied as a link, never read; the sandbox then refuses a link leading out.
      assert.equal(r.json.code, "migration.escape", r.stdout);
      assert.ok(!(await contents(root)).includes(SECRET), "the secret landed in the root");
      const after = await snapshotTree(join(root, "apps"));
      assert.equal(after.get("notes/current"), before.get("notes/current"));
      assert.deepEqual([...after.keys()].filter((k) => k.includes("1.1.0")), []);
    } finally {
      await cleanup();
    }
  });
  for (
    const [what, plant] of [
      ["a FIFO", (d: string) => `mkfifo '${d}/pipe'`],
      ["a hard link", (d: string) => `ln '${d}/notes.json' '${d}/twin'`],
      ["a directory swapped for a FIFO", (d: string) => `rm -r '${d}/sub' && mkfifo '${d}/sub'`],
    ] as const
  ) {
    await t.step(`${what} in the data is refused`, async () => {
      const { dir, cleanup } = await arena();
      try {
        const { root, data, upgrade } = await nobodysData(dir);
        await asNobody(`mkdir '${data}/sub' && echo x > '${data}/sub/f'`);
        const r = await attackAt(
          "prepare-data",
          ["pkg", "upgrade", upgrade],
          root,
          () => asNobody(plant(data)),
        );
        assert.equal(r.json.code, "data.unsafe_entry", r.stdout);
        const info = await nx(["pkg", "info", "notes", "--json"], { root });
        assert.equal(info.json?.data.version, "1.0.0");
      } finally {
        await cleanup();
      }
    });
  }
  await t.step("modes are never widened, set-id bits dropped, owners kept", async () => {
    const { dir, cleanup } = await arena();
    try {
      const { root, data, upgrade } = await nobodysData(dir);
      await asNobody(
        `chmod 600 '${data}/notes.json' && echo x > '${data}/tool' && chmod 4755 '${data}/tool'`,
      );
      const r = await nx(["pkg", "upgrade", upgrade, "--json"], { root });
      assert.equal(r.json?.code, "ok", r.stdout);
      const next = join(root, "apps", "notes", "data", "1.1.0");
      const tool = await Deno.lstat(join(next, "tool"));
      assert.equal((tool.mode! & 0o7777).toString(8), "755");
      const notes = await Deno.lstat(join(next, "notes.json"));
      assert.equal((notes.mode! & 0o777).toString(8), "600");
      const nobody = (await Deno.lstat(data)).uid;
      assert.equal(tool.uid, nobody);
    } finally {
      await cleanup();
    }
  });
});

Deno.test("pack attacks: a linked assets/, migrations/ or payload is refused, never signed", async (t) => {
  for (const target of ["assets", "migrations", "payload.elf", "manifest.toml"]) {
    await t.step(`${target} as a link`, async () => {
      const { dir, cleanup } = await arena();
      try {
        const src = join(dir, "src");
        await sh(`cp -r '${join(FIXTURES, "src", "notes-1.1.0")}' '${src}'`);
        await sh(`mv '${src}/${target}' '${dir}/real' && ln -s '${dir}/real' '${src}/${target}'`);
        const out = join(dir, "out.nxb");
        const r = await packWithDevKey(src, out);
        assert.equal(r.json?.code, "bundle.symlink", r.stdout);
        await assert.rejects(Deno.lstat(out));
      } finally {
        await cleanup();
      }
    });
  }
});

Deno.test("root attacks: a link planted inside the root is never traversed, written or truncated through", async (t) => {
  const cases: [string, string, (root: string, outside: string) => Promise<void>, string[]][] = [
    ["pkg/lock", "a file", async (root, out) => {
      await Deno.remove(join(root, "pkg", "lock")).catch(() => {});
      await Deno.writeTextFile(join(out, "precious"), "keep me");
      await Deno.symlink(join(out, "precious"), join(root, "pkg", "lock"));
    }, ["pkg", "uninstall", "notes", "--json"]],
    ["pkg/registry.db", "a file", async (root, out) => {
      const db = join(root, "pkg", "registry.db");
      await Deno.copyFile(db, join(out, "registry.db"));
      await Deno.remove(db);
      await Deno.symlink(join(out, "registry.db"), db);
    }, ["pkg", "uninstall", "notes", "--json"]],
    ["pkg/staging", "a dir", async (root, out) => {
      await Deno.remove(join(root, "pkg", "staging"), { recursive: true }).catch(() => {});
      await Deno.symlink(out, join(root, "pkg", "staging"));
    }, ["pkg", "upgrade", join(FIXTURES, "bundles", "notes-1.1.0.nxb"), "--json"]],
    ["apps/notes/versions", "a dir", async (root, out) => {
      const versions = join(root, "apps", "notes", "versions");
      await sh(`cp -a '${versions}/.' '${out}/' && rm -r '${versions}'`);
      await Deno.symlink(out, versions);
    }, ["pkg", "upgrade", join(FIXTURES, "bundles", "notes-1.1.0.nxb"), "--json"]],
    ["apps/notes", "a dir", async (root, out) => {
      const app = join(root, "apps", "notes");
      await sh(`cp -a '${app}/.' '${out}/' && rm -r '${app}'`);
      await Deno.symlink(out, app);
    }, ["pkg", "uninstall", "notes", "--json"]],
  ];
  for (const [where, what, plant, args] of cases) {
    await t.step(`${where} as a link to ${what} outside`, async () => {
      const { dir, cleanup } = await arena();
      try {
        const root = await trustedRoot(["dev"]);
        const i = await nx(
          ["pkg", "install", join(FIXTURES, "bundles", "notes-1.0.0.nxb"), "--json"],
          { root },
        );
        assert.equal(i.json?.code, "ok", i.stdout);
        const outside = join(dir, "outside");
        await Deno.mkdir(outside);
        await plant(root, outside);
        const before = await snapshotTree(outside);
        const r = await nx(args, { root });
        assert.equal(r.json?.code, "root.unsafe_entry", r.stdout + r.stderr);
        assert.deepEqual(await snapshotTree(outside), before, "something outside the root changed");
      } finally {
        await cleanup();
      }
    });
  }
});

Deno.test("walk attacks: a bundle file name that is not valid UTF-8 is bundle.unsafe_path", async () => {
  const { dir, cleanup } = await arena();
  try {
    const root = await trustedRoot(["dev"]);
    const bundle = await nobodysBundle(dir, "notes-1.0.0");
    await asNobody(`touch "${bundle}/assets/$(printf 'bad\\377')"`);
    const r = await nx(["pkg", "verify", bundle, "--json"], { root });
    assert.equal(r.json?.code, "bundle.unsafe_path", r.stdout);
  } finally {
    await cleanup();
  }
});
