/** One test per attack class a migration script could try; each expects a specific code. */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { MigrationStep } from "../bundle/meta.ts";
import { runMigrations } from "./sandbox.ts";
import { exists, failure, LIMITS, MARK, q, STEP, withWorld, type World } from "./_testing.ts";

/** Hostile scripts the Deno permission model must stop: each fails, its target untouched. */
Deno.test("runMigrations() denies what the permission flags do not grant", async (t) => {
  const cases: [string, (w: World) => string, ((w: World) => Promise<void>)?][] = [
    [
      "writing outside the data dir",
      (w) => `await Deno.writeTextFile(${q(join(w.outside, "x"))}, "pwned");\n`,
      async (w) => assert.equal(await exists(join(w.outside, "x")), false),
    ],
    [
      "spawning /bin/sh by path",
      (w) =>
        `await new Deno.Command("/bin/sh", { args: ["-c", ${
          q(`touch ${w.outside}/sh`)
        }] }).output();\n`,
      async (w) => assert.equal(await exists(join(w.outside, "sh")), false),
    ],
    [
      "node:child_process",
      (w) => `import cp from "node:child_process";\ncp.execSync(${q(`touch ${w.outside}/cp`)});\n`,
      async (w) => assert.equal(await exists(join(w.outside, "cp")), false),
    ],
    ["reading /etc/passwd", () => `console.log(await Deno.readTextFile("/etc/passwd"));\n`],
    [
      "reading /etc/passwd via node:fs",
      () => `import fs from "node:fs";\nfs.readFileSync("/etc/passwd");\n`,
    ],
    ["reading an env variable", () => `console.log(Deno.env.get("HOME"));\n`],
    ["reading the whole env via process.env", () => `console.log(JSON.stringify(process.env));\n`],
    ["calling into FFI", () => `Deno.dlopen("libc.so.6", {});\n`],
    ["reading system info", () => `console.log(Deno.hostname(), Deno.osRelease());\n`],
    ["signalling another process", () => `Deno.kill(1, "SIGCONT");\n`],
    ["creating a symlink", () => `await Deno.symlink("/", Deno.args[0] + "/root");\n`],
    [
      "a computed dynamic import of an outside file",
      (w) =>
        `const p = [${q(w.outside)}, "secret.json"].join("/");\n` +
        `await import(p, { with: { type: "json" } });\n`,
    ],
  ];
  for (const [name, script, check] of cases) {
    await t.step(name, async () => {
      await withWorld("", async (w) => {
        await Deno.writeTextFile(join(w.outside, "secret.json"), `{"secret":1}`);
        await Deno.writeTextFile(join(w.bundle, STEP.script), script(w));
        const e = await failure(
          runMigrations([STEP], w.bundle, w.data, LIMITS),
          "migration.failed",
        );
        assert.equal(e.details?.permissionDenied, true, String(e.details?.stderrTail));
        await check?.(w);
        assert.deepEqual(await Array.fromAsync(Deno.readDir(w.data)), []);
      });
    });
  }
});

Deno.test("runMigrations() fails a script that spawns `sh` by name (no PATH, no --allow-run)", async () => {
  await withWorld(
    `await new Deno.Command("sh", { args: ["-c", "echo pwned"] }).output();\n`,
    async (w) => {
      const e = await failure(runMigrations([STEP], w.bundle, w.data, LIMITS), "migration.failed");
      // The environment has no PATH, so Deno cannot even find `sh`; by path it is denied (above).
      assert.match(String(e.details?.stderrTail), /Failed to spawn 'sh'|Requires run access/);
    },
  );
});

Deno.test("runMigrations() denies a fetch to 127.0.0.1 and the server sees no connection", async () => {
  const server = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  let connections = 0;
  const accepting = (async () => {
    try {
      for await (const conn of server) {
        connections++;
        conn.close();
      }
    } catch {
      // closed
    }
  })();
  try {
    const url = `http://127.0.0.1:${server.addr.port}/`;
    await withWorld(`await fetch(${q(url)});\n`, async (w) => {
      const e = await failure(runMigrations([STEP], w.bundle, w.data, LIMITS), "migration.failed");
      assert.equal(e.details?.permissionDenied, true);
      assert.match(String(e.details?.stderrTail), /net access/);
    });
  } finally {
    server.close();
    await accepting;
  }
  assert.equal(connections, 0);
});

Deno.test("runMigrations() refuses a script that statically imports outside its bundle", async (t) => {
  const cases: [string, (w: World) => string][] = [
    [
      "a static JSON import",
      (w) =>
        `import s from ${q(join(w.outside, "secret.json"))} with { type: "json" };\n${MARK}` +
        `await Deno.writeTextFile(Deno.args[0] + "/leak", JSON.stringify(s));\n`,
    ],
    [
      "a static text import of /etc/passwd",
      () =>
        `import s from "/etc/passwd" with { type: "text" };\n${MARK}` +
        `await Deno.writeTextFile(Deno.args[0] + "/leak", s);\n`,
    ],
    [
      "an analyzable dynamic import",
      (w) =>
        `${MARK}const s = await import(${
          q(join(w.outside, "secret.json"))
        }, { with: { type: "json" } });\n` +
        `await Deno.writeTextFile(Deno.args[0] + "/leak", JSON.stringify(s));\n`,
    ],
    [
      "an import hidden in a bundle helper",
      (w) => `import "./_helper.ts";\n${MARK}// the helper imports from ${w.outside}\n`,
    ],
    ["a data: module", () => `import "data:application/javascript,export default 1";\n${MARK}`],
  ];
  for (const [name, script] of cases) {
    await t.step(name, async () => {
      await withWorld("", async (w) => {
        await Deno.writeTextFile(join(w.outside, "secret.json"), `{"secret":1}`);
        await Deno.writeTextFile(
          join(w.bundle, "migrations/_helper.ts"),
          `import s from ${
            q(join(w.outside, "secret.json"))
          } with { type: "json" };\nexport default s;\n`,
        );
        await Deno.writeTextFile(join(w.bundle, STEP.script), script(w));
        const e = await failure(
          runMigrations([STEP], w.bundle, w.data, LIMITS),
          "migration.escape",
        );
        assert.equal(typeof e.details?.specifier, "string");
        assert.deepEqual(await Array.fromAsync(Deno.readDir(w.data)), []);
      });
    });
  }
});

Deno.test("runMigrations() refuses links in the data dir before the script runs", async (t) => {
  const cases: [string, (w: World) => Promise<void>][] = [
    ["a symlink leading outside", (w) => Deno.symlink(w.outside, join(w.data, "link"))],
    ["a nested symlink to /etc", async (w) => {
      await Deno.mkdir(join(w.data, "a/b"), { recursive: true });
      await Deno.symlink("/etc", join(w.data, "a/b/etc"));
    }],
    ["a symlink that stays inside (fail-closed rule)", async (w) => {
      await Deno.writeTextFile(join(w.data, "real.json"), "{}");
      await Deno.symlink("real.json", join(w.data, "alias.json"));
    }],
    ["a dangling symlink", (w) => Deno.symlink("/nonexistent/x", join(w.data, "dangling"))],
    ["a hard link to an outside file", async (w) => {
      await Deno.writeTextFile(join(w.outside, "shared"), "outside inode");
      await Deno.link(join(w.outside, "shared"), join(w.data, "shared"));
    }],
  ];
  for (const [name, arrange] of cases) {
    await t.step(name, async () => {
      await withWorld(MARK, async (w) => {
        await arrange(w);
        const e = await failure(
          runMigrations([STEP], w.bundle, w.data, LIMITS),
          "migration.escape",
        );
        assert.equal(typeof e.details?.path, "string");
        assert.equal(await exists(join(w.data, "ran")), false);
      });
    });
  }
});

Deno.test("runMigrations() checks the data dir again before each step", async () => {
  // Step 1 cannot make a link itself (Deno.symlink needs unscoped permissions), so another
  // writer makes it between the steps, from the onStep callback.
  await withWorld(MARK, async (w) => {
    const second = { from: "1.1.0", to: "1.2.0", script: "migrations/second.ts" };
    await Deno.writeTextFile(
      join(w.bundle, second.script),
      `await Deno.writeTextFile(Deno.args[0] + "/second", "yes");\n`,
    );
    const e = await failure(
      runMigrations([STEP, second], w.bundle, w.data, LIMITS, {
        onStep: () => Deno.symlinkSync(w.outside, join(w.data, "late-link")),
      }),
      "migration.escape",
    );
    assert.deepEqual(e.details?.step, second);
    assert.ok(await exists(join(w.data, "ran")));
    assert.equal(await exists(join(w.data, "second")), false);
  });
});

Deno.test("runMigrations() refuses a script that is not a plain file of the bundle", async (t) => {
  const evil = `await Deno.writeTextFile(Deno.args[0] + "/ran", "evil");\n`;
  const cases: [string, (w: World) => Promise<MigrationStep>][] = [
    ["a symlinked script", async (w) => {
      await Deno.writeTextFile(join(w.outside, "evil.ts"), evil);
      await Deno.remove(join(w.bundle, STEP.script));
      await Deno.symlink(join(w.outside, "evil.ts"), join(w.bundle, STEP.script));
      return STEP;
    }],
    ["a script under a symlinked directory", async (w) => {
      await Deno.writeTextFile(join(w.outside, "evil.ts"), evil);
      await Deno.symlink(w.outside, join(w.bundle, "linked"));
      return { ...STEP, script: "linked/evil.ts" };
    }],
    ["a path that climbs out with ..", async (w) => {
      await Deno.writeTextFile(join(w.outside, "evil.ts"), evil);
      return { ...STEP, script: "../outside/evil.ts" };
    }],
    ["an absolute path", async (w) => {
      await Deno.writeTextFile(join(w.outside, "evil.ts"), evil);
      return { ...STEP, script: join(w.outside, "evil.ts") };
    }],
    ["a directory", () => Promise.resolve({ ...STEP, script: "migrations" })],
    ["a missing file", () => Promise.resolve({ ...STEP, script: "migrations/missing.ts" })],
  ];
  for (const [name, arrange] of cases) {
    await t.step(name, async () => {
      await withWorld(evil, async (w) => {
        const step = await arrange(w);
        const e = await failure(
          runMigrations([step], w.bundle, w.data, LIMITS),
          "migration.escape",
        );
        assert.deepEqual(e.details?.step, step);
        assert.equal(await exists(join(w.data, "ran")), false);
      });
    });
  }
});

Deno.test("runMigrations() refuses a data dir it cannot grant on its own", async (t) => {
  await t.step("a comma in the path (Deno splits grants on commas)", async () => {
    await withWorld(MARK, async (w) => {
      const data = join(w.root, "da,ta");
      await Deno.mkdir(data);
      await failure(runMigrations([STEP], w.bundle, data, LIMITS), "migration.escape");
      assert.equal(await exists(join(data, "ran")), false);
    });
  });
  await t.step("a data dir inside the bundle", async () => {
    await withWorld(MARK, async (w) => {
      const data = join(w.bundle, "data");
      await Deno.mkdir(data);
      await failure(runMigrations([STEP], w.bundle, data, LIMITS), "migration.escape");
      assert.equal(await exists(join(data, "ran")), false);
    });
  });
  await t.step("a data dir that is a symlink", async () => {
    await withWorld(MARK, async (w) => {
      const data = join(w.root, "data-link");
      await Deno.symlink(w.data, data);
      await failure(runMigrations([STEP], w.bundle, data, LIMITS), "migration.escape");
      assert.equal(await exists(join(w.data, "ran")), false);
    });
  });
});
