/**
 * The command-line shell: usage errors (one message line, one hint, the command to type),
 * `help <command…>`, examples in every help, the global options (`--json`, `-q`, `-v`, `--color`)
 * anywhere on the line, TERM=dumb, and paths shown absolute whichever command shows them.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../cli/program.ts";
import { EXAMPLES } from "../cli/help_examples.ts";
import { EnvelopeSchema } from "../core/protocol/envelope.ts";
import { DENO, FIXTURES, nx, NX_PERMISSIONS, REPO, tempDir, trustedRoot } from "./helpers.ts";

const lines = (text: string) => text.split("\n").filter((l) => l !== "");

Deno.test("a usage error: exit 2, one error line, one hint naming what to type, a one-line JSON message", async (t) => {
  const cases: [argv: string[], code: string, hint: string][] = [
    [["install", "x.nxb"], "usage.unknown_command", "`nx pkg install`"],
    [["list"], "usage.unknown_command", "`nx pkg list`"],
    [["instal", "x.nxb"], "usage.unknown_command", "`nx pkg install`"],
    [["pgk", "list"], "usage.unknown_command", "`nx pkg`"],
    [["pkg", "instal", "x.nxb"], "usage.unknown_command", "`nx pkg install`"],
    [["pkg", "trust", "ad", "k.pub"], "usage.unknown_command", "`nx pkg trust add`"],
    [["pkg", "zzzzzz"], "usage.unknown_command", "`nx pkg --help`"],
    [["pkg", "verify", "x.nxb", "--jsn"], "usage.invalid_argument", "`--json`"],
    [["pkg", "verify"], "usage.invalid_argument", "`nx pkg verify --help`"],
    [["pkg", "verify", "a.nxb", "b.nxb"], "usage.invalid_argument", "`nx pkg verify --help`"],
    [["pkg"], "usage.invalid_argument", "`nx pkg --help`"],
    [["pkg", "trust"], "usage.invalid_argument", "`nx pkg trust --help`"],
    [["--color", "sometimes", "pkg", "list"], "usage.invalid_argument", "--help"],
    [["pkg", "list", "-q", "-v"], "usage.invalid_argument", "--help"],
  ];
  for (const [argv, code, hint] of cases) {
    await t.step(argv.join(" "), async () => {
      const human = await nx(argv);
      assert.equal(human.code, 2);
      assert.equal(human.stdout, "");
      const errors = lines(human.stderr).filter((l) => l.startsWith("error: "));
      const hints = lines(human.stderr).filter((l) => l.startsWith("hint: "));
      assert.equal(errors.length, 1, human.stderr);
      assert.ok(errors[0].endsWith(` [${code}]`), human.stderr);
      assert.equal(hints.length, 1, human.stderr);
      assert.ok(hints[0].includes(hint), hints[0]);
      assert.ok(!/did you mean/i.test(human.stderr.replace(hints[0], "")), human.stderr);

      const json = await nx([...argv, "--json"]);
      assert.equal(json.code, 2);
      const envelope = EnvelopeSchema.parse(json.json);
      assert.equal(envelope.code, code);
      assert.ok(!envelope.message.includes("\n"), envelope.message);
      assert.equal(json.json?.data?.hint, hints[0].slice("hint: ".length));
      assert.equal(json.stderr, "");
    });
  }
});

Deno.test("`help <command…>` at any level shows that command's help", async (t) => {
  const same: [string[], string[]][] = [
    [["help", "pkg", "install"], ["pkg", "install", "--help"]],
    [["pkg", "help", "trust", "add"], ["pkg", "trust", "add", "--help"]],
    [["help", "pkg"], ["pkg", "--help"]],
    [["help"], ["--help"]],
  ];
  for (const [asked, direct] of same) {
    await t.step(asked.join(" "), async () => {
      const a = await nx(asked);
      const b = await nx(direct);
      assert.equal(a.code, 0, a.stderr);
      assert.equal(a.stdout, b.stdout);
      assert.match(a.stdout, new RegExp(`^Usage: nx ${direct.slice(0, -1).join(" ")}`));
    });
  }
  await t.step("help of a command that does not exist is an unknown command", async () => {
    const r = await nx(["help", "pkg", "nope", "--json"]);
    assert.equal(r.json?.code, "usage.unknown_command");
  });
});

/** Every command of the tree with its path below `nx` ("" is `nx`). */
function commands(cmd: Command, path = ""): [string, Command][] {
  const subs = cmd.commands.filter((c) => !["complete", "help"].includes(c.name()));
  return [
    [path, cmd],
    ...subs.flatMap((c) => commands(c as Command, `${path} ${c.name()}`.trim())),
  ];
}

function flagsOf(cmd: Command): Set<string> {
  const flags = new Set<string>();
  for (let c: Command | null = cmd; c; c = c.parent as Command | null) {
    for (const o of c.options) [o.long, o.short].forEach((f) => f && flags.add(f));
  }
  return flags;
}

Deno.test("every command's help has examples, each an `nx` line of that command with options it takes", async (t) => {
  const program = buildProgram();
  for (const [path, cmd] of commands(program)) {
    await t.step(path || "nx", () => {
      const examples = EXAMPLES[path];
      assert.ok(
        examples && examples.length > 0,
        `no examples for "${path}" in cli/help_examples.ts`,
      );
      assert.match(cmd.helpInformation() + "", /Usage: nx/);
      for (const example of examples) {
        // Each `nx …` in the line (the completion install lines hold one after a `mkdir`).
        const calls = [...example.split(" #")[0].matchAll(/(?:^|&& )nx ([^&>|;]*)/g)];
        assert.ok(calls.length > 0, example);
        for (const [, call] of calls) {
          const words = call.trim().split(/\s+/);
          let target: Command = program;
          for (const w of words) {
            const sub = target.commands.find((c) => c.name() === w);
            if (!sub || w.startsWith("-")) break;
            target = sub as Command;
          }
          if (path !== "") {
            assert.ok(
              `${words.join(" ")} `.startsWith(`${path} `),
              `"${example}" is not an example of nx ${path}`,
            );
          }
          const known = flagsOf(target);
          // After a bare `--` the words are the launched program's, not nx's options.
          const own = words.includes("--") ? words.slice(0, words.indexOf("--")) : words;
          for (const w of own.filter((w) => w.startsWith("-"))) {
            assert.ok(known.has(w.split("=")[0]), `"${example}": ${w} is not an option`);
          }
        }
      }
    });
  }
});

Deno.test("the global options work before and after the verb, and on every group", async (t) => {
  const root = await trustedRoot();
  await t.step("--json before the verb, after it, and on a group", async () => {
    const before = await nx(["--json", "pkg", "trust", "list"], { root });
    const after = await nx(["pkg", "trust", "list", "--json"], { root });
    assert.equal(before.code, 0, before.stderr);
    assert.equal(before.stdout, after.stdout);
    for (const group of [["pkg", "trust"], ["pkg", "policy"], ["pkg"], []]) {
      const r = await nx([...group, "--json"]);
      assert.equal(r.json?.code, "usage.invalid_argument", `${group.join(" ")}: ${r.stdout}`);
    }
  });
  await t.step(
    "keygen takes no --root or --markers, pack no --root (they use no root)",
    async () => {
      const dir = await tempDir();
      for (
        const argv of [
          ["pkg", "keygen", "--out", dir, "--name", "k", "--root", dir],
          ["pkg", "keygen", "--out", dir, "--name", "k", "--markers"],
          ["pkg", "pack", join(FIXTURES, "src", "notes-1.0.0"), "--root", dir],
        ]
      ) {
        const r = await nx([...argv, "--json"]);
        assert.equal(r.json?.code, "usage.invalid_argument", argv.join(" "));
      }
      const help = await nx(["pkg", "keygen", "--help"]);
      assert.doesNotMatch(help.stdout, /--root|--markers/);
      assert.doesNotMatch((await nx(["pkg", "pack", "--help"])).stdout, /--root/);
    },
  );
  await t.step("demo's --root says its own default, not $NX_ROOT", async () => {
    const help = await nx(["demo", "--help"]);
    const line = help.stdout.split("\n").find((l) => l.includes("--root"));
    assert.ok(line && !line.includes("$NX_ROOT,"), String(line));
    assert.match(help.stdout, /\.nx-demo\/root/);
  });
});

Deno.test("-q keeps only errors and asked-for markers on stderr; -v adds timed steps, never markers", async (t) => {
  const root = await trustedRoot();
  const bundle = join(FIXTURES, "bundles", "ledger-1.0.0.nxb"); // not signed by dev
  const set = await nx(["pkg", "policy", "set", "mode", "permissive", "--json"], { root });
  assert.equal(set.code, 0, set.stderr);
  await t.step("a warning shows without -q, not with it; data stays on stdout", async () => {
    const loud = await nx(["pkg", "verify", bundle], { root });
    assert.equal(loud.code, 0, loud.stderr);
    assert.match(loud.stderr, /^warning: .*\(policy\.publisher_unknown\)$/m);
    const quiet = await nx(["pkg", "verify", bundle, "-q"], { root });
    assert.equal(quiet.stderr, "");
    assert.equal(quiet.stdout, loud.stdout);
  });
  await t.step("an error and its hint still show with -q", async () => {
    const r = await nx(["pkg", "install", join(await tempDir(), "missing.nxb"), "-q"], { root });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /^error: .*\[bundle\.not_found\]$/m);
  });
  await t.step("markers asked for still show with -q", async () => {
    const r = await nx([
      "-q",
      "pkg",
      "verify",
      join(FIXTURES, "bundles", "notes-1.0.0.nxb"),
      "--markers",
    ], {
      root,
    });
    assert.deepEqual(lines(r.stderr), ["pkgr: verified ok"]);
  });
  await t.step(
    "-v: the root and each step with its time; no marker line without --markers",
    async () => {
      const r = await nx(["pkg", "install", join(FIXTURES, "bundles", "notes-1.0.0.nxb"), "-v"], {
        root,
      });
      assert.equal(r.code, 0, r.stderr);
      const verbose = lines(r.stderr).filter((l) => l.startsWith("verbose: "));
      assert.ok(verbose.every((l) => /^verbose: \+\d+\.\d{3}s \S/.test(l)), r.stderr);
      assert.ok(verbose.some((l) => l.endsWith(`root ${root} (from --root)`)), r.stderr);
      assert.ok(verbose.some((l) => l.endsWith(`registry file:${root}/pkg/registry.db`)), r.stderr);
      assert.ok(verbose.some((l) => l.endsWith(" verified ok")), r.stderr);
      assert.ok(verbose.some((l) => l.endsWith(" install app=notes v=1.0.0")), r.stderr);
      assert.ok(!lines(r.stderr).some((l) => l.startsWith("pkgr: ")), r.stderr);
    },
  );
});

const RED_ERROR = "\x1b[31merror\x1b[0m: ";

Deno.test("--color always|never|auto and NO_COLOR on a pipe", async (t) => {
  const missing = join(await tempDir(), "missing.nxb");
  const cases: [args: string[], env: Record<string, string>, coloured: boolean][] = [
    [["--color", "always"], { NO_COLOR: "" }, true],
    [["--color=always"], { NO_COLOR: "1" }, true], // the flag wins over the environment
    [["--color", "never"], { NO_COLOR: "" }, false],
    [["--color", "auto"], { NO_COLOR: "" }, false], // stderr is a pipe
    [[], { NO_COLOR: "" }, false],
  ];
  for (const [args, env, coloured] of cases) {
    await t.step(`${args.join(" ") || "(none)"} NO_COLOR=${env.NO_COLOR}`, async () => {
      const r = await nx(["pkg", "verify", missing, ...args], { env });
      assert.equal(r.stderr.startsWith(RED_ERROR), coloured, JSON.stringify(r.stderr));
      assert.equal(r.stderr.includes("\x1b"), coloured);
    });
  }
});

/** `nx <args>` on a pseudo-terminal (util-linux `script`): everything it wrote, as one text. */
async function onTerminal(args: string[], env: Record<string, string>): Promise<string> {
  const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
  const line = [DENO, "run", ...NX_PERMISSIONS, join(REPO, "cli", "main.ts"), ...args].map(quote)
    .join(" ");
  const out = await new Deno.Command("script", {
    args: ["-qec", line, "/dev/null"],
    env: { NX_MARKERS: "", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return new TextDecoder().decode(out.stdout);
}

const haveScript = new Deno.Command("script", { args: ["--version"], stdout: "null" }).output()
  .then((o) => o.success, () => false);

Deno.test({
  name: "on a terminal: colour and progress unless NO_COLOR / TERM=dumb",
  ignore: !(await haveScript),
  fn: async (t) => {
    const missing = join(await tempDir(), "missing.nxb");
    await t.step(
      "an error label is coloured on a terminal, not with TERM=dumb or NO_COLOR",
      async () => {
        const argv = ["pkg", "verify", missing];
        assert.ok((await onTerminal(argv, { TERM: "xterm", NO_COLOR: "" })).includes(RED_ERROR));
        assert.ok(!(await onTerminal(argv, { TERM: "dumb", NO_COLOR: "" })).includes("\x1b"));
        assert.ok(!(await onTerminal(argv, { TERM: "xterm", NO_COLOR: "1" })).includes("\x1b"));
      },
    );
    await t.step(
      "install draws its progress line on a terminal, not with TERM=dumb or -q",
      async () => {
        const bundle = join(FIXTURES, "bundles", "notes-1.0.0.nxb");
        const drawn = async (extra: string[], term: string) => {
          const root = await trustedRoot();
          const text = await onTerminal(["pkg", "install", bundle, "--root", root, ...extra], {
            TERM: term,
            NO_COLOR: "1",
          });
          assert.match(text, /installed notes 1\.0\.0/);
          return text.includes("staging 7/7\x1b[K");
        };
        assert.equal(await drawn([], "xterm"), true);
        assert.equal(await drawn([], "dumb"), false);
        assert.equal(await drawn(["-q"], "xterm"), false);
      },
    );
  },
});

Deno.test("paths on the command line are shown absolute, whichever command shows them", async (t) => {
  const cwd = await tempDir();
  const root = await trustedRoot();
  for (const verb of ["verify", "inspect", "install", "upgrade"]) {
    await t.step(`${verb} of a relative path that does not exist`, async () => {
      const r = await nx(["pkg", verb, "nope.nxb", "--json"], { root, cwd });
      assert.equal(r.json?.code, "bundle.not_found", r.stdout);
      assert.ok(r.json?.message.includes(join(cwd, "nope.nxb")), r.json?.message);
    });
  }
  await t.step("keygen and pack report absolute paths", async () => {
    const k = await nx(["pkg", "keygen", "--out", "keys", "--name", "me", "--json"], { cwd });
    assert.equal(k.json?.data.secretKey, join(cwd, "keys", "me.key"));
    const p = await nx([
      "pkg",
      "pack",
      join(FIXTURES, "src", "notes-1.0.0"),
      "--key",
      "keys/me.key",
      "--out",
      "out.nxb",
      "--json",
    ], { cwd });
    assert.equal(p.json?.data.out, join(cwd, "out.nxb"), p.stdout);
  });
});

Deno.test("a reader that goes away (`nx --help | head -1`) ends nx quietly", async () => {
  const line = `set -o pipefail; '${DENO}' run ${NX_PERMISSIONS.join(" ")} '${
    join(REPO, "cli", "main.ts")
  }' --help | head -c 5`;
  const out = await new Deno.Command("bash", {
    args: ["-c", line],
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  assert.equal(new TextDecoder().decode(out.stderr), "");
  assert.equal(out.code, 0);
});

Deno.test("nx's own messages are one line; a quoted name stays exact in JSON, the envelope one line", async () => {
  const dir = await tempDir();
  const name = join(dir, "x\nforged.nxb");
  const r = await nx(["pkg", "verify", name, "--json"]);
  assert.equal(r.json?.code, "bundle.not_found");
  assert.equal(r.stdout.trim().split("\n").length, 1);
  assert.equal(r.json?.message.replace(name, "NAME").includes("\n"), false, r.json?.message);
  assert.ok(r.json?.message.includes(name));
});
