/** The CLI contract: --help and --json everywhere, usage errors, completions, version. */
import assert from "node:assert/strict";
import type { Command } from "@commander-js/extra-typings";
import { buildProgram } from "../cli/program.ts";
import { EnvelopeSchema } from "../core/protocol/envelope.ts";
import { FIXTURES, nx, tempDir } from "./helpers.ts";

/** Every command path of the real program tree, e.g. ["pkg", "trust", "add"]. */
function commandPaths(cmd: Command, prefix: string[] = []): string[][] {
  const visible = cmd.commands.filter((c) => !["complete", "help"].includes(c.name()));
  return visible.flatMap((c) => {
    const path = [...prefix, c.name()];
    const children = commandPaths(c as Command, path);
    return children.length > 0 ? [path, ...children] : [path];
  });
}

const program = buildProgram();
const paths = commandPaths(program);
const leaves = paths.filter((p) =>
  !paths.some((q) => q.length > p.length && p.every((s, i) => q[i] === s))
);

/** The command at `path` of `tree`. */
function at(tree: Command, path: string[]): Command | undefined {
  let cmd: Command | undefined = tree;
  for (const name of path) cmd = cmd?.commands.find((c) => c.name() === name) as Command;
  return cmd;
}

Deno.test("buildProgram(argv) builds only the branch argv runs, the same as in the whole tree", async (t) => {
  for (const path of paths) {
    await t.step(path.join(" "), () => {
      const branch = buildProgram([...path, "--json"]) as unknown as Command;
      const cmd = at(branch, path);
      assert.ok(cmd, `no ${path.join(" ")} in the tree built for it`);
      assert.equal(cmd.helpInformation(), at(program, path)!.helpInformation());
      if (path[0] === "pkg" && path.length > 1) {
        assert.deepEqual(branch.commands.map((c) => c.name()), ["pkg"]);
        assert.deepEqual(branch.commands[0].commands.map((c) => c.name()), [path[1]]);
      }
    });
  }
  assert.equal(buildProgram(["--version"]).commands.length, 0);
  // Help, a typo and completion see every command (of the group named, if any).
  const pkgPaths = paths.filter((p) => p[0] === "pkg");
  const cases: [string[], string[][]][] = [
    [["--help"], paths],
    [["help", "pkg"], paths],
    [["nope"], paths],
    [["complete", "--", "pkg"], paths],
    [["pkg"], pkgPaths],
    [["pkg", "--help"], pkgPaths],
    [["pkg", "instal"], pkgPaths],
  ];
  for (const [argv, expected] of cases) {
    const tree = buildProgram(argv) as unknown as Command;
    assert.deepEqual(commandPaths(tree), expected, argv.join(" "));
  }
});

Deno.test("every command has --help", async (t) => {
  for (const path of [[], ...paths]) {
    await t.step(path.join(" ") || "nx", async () => {
      const r = await nx([...path, "--help"]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^Usage: nx/);
      assert.match(r.stdout, /\nGlobal Options:\n|^Usage: nx \[options\]/);
      assert.match(r.stdout, /\nExamples:\n {2}\S/);
    });
  }
});

Deno.test("every command, groups too, prints exactly one JSON envelope with --json", async (t) => {
  const root = `${await tempDir()}/root`;
  const rootless = ["keygen", "pack", "completion"];
  for (const path of [[], ...paths].map((p) => (p[0] === "completion" ? [...p, "bash"] : p))) {
    await t.step(path.join(" "), async () => {
      const takesRoot = leaves.some((l) => l.join(" ") === path.join(" ")) &&
        !rootless.includes(path.at(-1) === "bash" ? "completion" : path.at(-1)!);
      const r = await nx([...path, "--json"], takesRoot ? { root } : {});
      const lines = r.stdout.trim().split("\n");
      assert.equal(lines.length, 1, r.stdout);
      const envelope = EnvelopeSchema.parse(JSON.parse(lines[0]));
      assert.equal(envelope.ok, r.code === 0);
      assert.equal(envelope.ok, envelope.class === "success");
    });
  }
});

Deno.test("a usage error exits 2 with code usage.*", async (t) => {
  const cases: [string[], string][] = [
    [["pkg", "nope", "--json"], "usage.unknown_command"],
    [["pkg", "verify", "--json"], "usage.invalid_argument"],
    [["pkg", "verify", "x.nxb", "--bogus", "--json"], "usage.invalid_argument"],
    [["pkg", "policy", "set", "no-such-key", "1", "--json"], "usage.invalid_argument"],
  ];
  for (const [args, code] of cases) {
    await t.step(args.join(" "), async () => {
      const r = await nx(args, { root: `${await tempDir()}/root` });
      assert.equal(r.code, 2);
      assert.equal(r.json?.code, code);
      assert.equal(r.json?.class, "usage");
    });
  }
});

Deno.test("human errors go to stderr as `error: … [code]` and stdout stays empty", async () => {
  const r = await nx(["pkg", "verify", "/nonexistent/x.nxb"], { root: `${await tempDir()}/root` });
  assert.equal(r.code, 3);
  assert.equal(r.stdout, "");
  assert.match(r.stderr, /^error: cannot read bundle: .* \[bundle\.not_found\]$/m);
});

Deno.test("nx completion prints a script for bash, zsh and fish, or one envelope with --json", async (t) => {
  for (const shell of ["bash", "zsh", "fish"]) {
    await t.step(shell, async () => {
      const r = await nx(["completion", shell]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(
        r.stdout,
        shell === "zsh" ? /^#compdef nx/ : new RegExp(`^# ${shell} completion for nx`),
      );
      const json = await nx(["completion", shell, "--json"]);
      assert.equal(json.json?.data.shell, shell);
      assert.equal(json.json?.data.script.trim(), r.stdout.trim());
    });
  }
});

Deno.test("nx complete suggests pkg verbs", async () => {
  const r = await nx(["complete", "--", "pkg", ""]);
  assert.equal(r.code, 0, r.stderr);
  for (const verb of ["verify", "pack", "inspect", "trust"]) {
    assert.match(r.stdout, new RegExp(`^${verb}\\b`, "m"));
  }
});

Deno.test("verify under a permissive policy says how many warnings, not ok", async () => {
  const root = `${await tempDir()}/root`;
  assert.equal((await nx(["pkg", "init", "--json"], { root })).code, 0);
  const set = await nx(["pkg", "policy", "set", "mode", "permissive", "--json"], { root });
  assert.equal(set.code, 0, set.stdout);
  const bundle = `${FIXTURES}/bundles/notes-1.0.0.nxb`; // its signer is not trusted on this root
  const human = await nx(["pkg", "verify", bundle], { root });
  assert.equal(human.code, 0, human.stderr);
  assert.match(human.stdout, /^notes@1\.0\.0 verified with 1 warning\n/);
  assert.doesNotMatch(human.stdout, /^ok/);
  const json = await nx(["pkg", "verify", bundle, "--json"], { root });
  assert.equal(json.json?.data.warnings.length, 1);
  assert.match(json.json?.message ?? "", /with 1 warning$/);
});

Deno.test("nx --version prints the version", async () => {
  const r = await nx(["--version"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout.trim(), /^\d+\.\d+\.\d+$/);
});
