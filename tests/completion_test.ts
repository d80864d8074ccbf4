/**
 * Completion: the candidates `nx complete -- <words…>` prints, and the scripts of
 * `nx completion bash|zsh|fish` run in the real shells against the `nx` on PATH (a link to bin/nx,
 * as `npm link` makes). zsh and fish tests run where those shells are installed.
 *
 * The tables call the same `complete()` in-process, on the real command tree, and read the same
 * protocol text (milliseconds instead of a Deno start each); the steps that depend on the process
 * (cwd, `$HOME`, `$NX_ROOT`) and the shells run the real CLI.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { cp, mkdir, symlink, writeFile } from "node:fs/promises";
import { POLICY_KEYS } from "../core/pkgr/trust_admin.ts";
import { POLICY_MODES } from "../core/trust/mod.ts";
import { DENO, FIXTURES, nx, REPO, tempDir } from "./helpers.ts";
import { preparedRoot } from "./_roots.ts";
import { buildProgram } from "../cli/program.ts";
import { complete as completeWords, formatCompletions } from "../cli/completion.ts";
import { COMPLETION_INSTALL } from "../cli/completion_install.ts";

interface Answer {
  values: string[];
  /** value → description */
  described: Map<string, string>;
  directive: number;
}

function parse(protocol: string): Answer {
  const lines = protocol.split("\n").filter((l) => l !== "");
  const last = lines.pop() ?? "";
  assert.match(last, /^:\d+$/, protocol);
  const described = new Map(lines.map((l) => [l.split("\t")[0], l.split("\t")[1] ?? ""]));
  return { values: [...described.keys()], described, directive: Number(last.slice(1)) };
}

interface Where {
  cwd?: string;
  env?: Record<string, string>;
}

/** The real `nx complete -- <words…>`. */
async function completeCli(words: string[], where: Where = {}): Promise<Answer> {
  const r = await nx(["complete", "--", ...words], where);
  assert.equal(r.code, 0, r.stderr);
  return parse(r.stdout);
}

const program = buildProgram();

/** The same, in-process; the environment is only what `where` gives. */
async function complete(words: string[], where: Where = {}): Promise<Answer> {
  const env = { env: (n: string) => where.env?.[n], cwd: where.cwd ?? REPO };
  return parse(formatCompletions(await completeWords(program, words, env)));
}

async function denoDir(): Promise<string> {
  const out = await new Deno.Command(DENO, { args: ["info", "--json"], stdout: "piped" }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout)).denoDir;
}

const NO_FILES = 4;
const FILTER_EXT = 8;
const DIRS = 16;

/** A working directory with bundles, keys and a plain file, and a root with notes 1.1.0 active. */
async function workspace(): Promise<{ cwd: string; root: string; bin: string }> {
  const cwd = await tempDir("nx-complete-");
  await mkdir(join(cwd, "bundles", "old"), { recursive: true });
  await mkdir(join(cwd, "keys"));
  for (const id of ["notes-1.0.0", "notes-1.1.0"]) {
    await cp(join(FIXTURES, "bundles", `${id}.nxb`), join(cwd, "bundles", `${id}.nxb`), {
      recursive: true,
    });
  }
  for (const f of ["keys/me.key", "keys/me.pub", "keys/readme.txt", "notes.txt"]) {
    await writeFile(join(cwd, f), "");
  }
  const root = await preparedRoot([["install", "notes-1.0.0"], ["upgrade", "notes-1.1.0"]]);
  // Data kept by `uninstall --keep-data`: no `current` link, so not an installed app.
  await mkdir(join(root, "apps", "ghost", "data", "1.0.0"), { recursive: true });
  // A hostile directory name: a newline would forge a candidate line of the protocol.
  await mkdir(join(root, "apps", "evil\nnotes", "versions", "1.0.0"), { recursive: true });
  await symlink("versions/1.0.0", join(root, "apps", "evil\nnotes", "current"));
  const bin = await tempDir("nx-bin-");
  await symlink(join(REPO, "bin", "nx"), join(bin, "nx"));
  return { cwd, root, bin };
}

const ws = await workspace();

Deno.test("nx complete: commands, verbs and options", async (t) => {
  await t.step("top level offers every command of nx but the hidden complete", async () => {
    const a = await completeCli([""]);
    const commands = buildProgram().commands.map((c) => c.name()).filter((n) => n !== "complete");
    assert.ok(commands.includes("pkg") && commands.includes("agent"));
    assert.deepEqual(a.values.sort(), commands.sort());
    assert.equal(a.directive, NO_FILES);
  });
  await t.step("pkg verbs, filtered by the prefix", async () => {
    const a = await complete(["pkg", "u"]);
    assert.deepEqual(a.values.sort(), ["uninstall", "upgrade"]);
  });
  await t.step("options of the verb, without those already given", async () => {
    const a = await complete(["pkg", "verify", "--json", "--"]);
    assert.ok(a.values.includes("--root"), a.values.join(" "));
    assert.ok(a.values.includes("--markers"));
    assert.ok(!a.values.includes("--json"));
  });
  await t.step("completion shells", async () => {
    const a = await complete(["completion", ""]);
    assert.deepEqual(a.values, ["bash", "zsh", "fish", "powershell"]);
  });
});

Deno.test("nx complete: paths by what the argument is", async (t) => {
  const cases: [string[], number, string[]][] = [
    [["pkg", "verify", ""], FILTER_EXT, ["nxb"]],
    [["pkg", "install", "--dry-run", "bundles/"], FILTER_EXT, ["nxb"]],
    [["pkg", "upgrade", ""], FILTER_EXT, ["nxb"]],
    [["pkg", "inspect", "--files", ""], FILTER_EXT, ["nxb"]],
    [["pkg", "pack", ""], DIRS, []],
    [["pkg", "pack", "src", "--key", ""], FILTER_EXT, ["key"]],
    [["pkg", "pack", "src", "--key=k"], FILTER_EXT, ["key"]],
    [["pkg", "pack", "src", "--out", ""], DIRS, []],
    [["pkg", "keygen", "--out", ""], DIRS, []],
    [["pkg", "trust", "add", ""], FILTER_EXT, ["pub"]],
    [["pkg", "list", "--root", ""], DIRS, []],
    [["pkg", "list", "--root="], DIRS, []],
  ];
  for (const [words, directive, values] of cases) {
    await t.step(words.join(" "), async () => {
      const a = await complete(words);
      assert.equal(a.directive, directive);
      assert.deepEqual(a.values, values);
    });
  }
});

Deno.test("nx complete: installed app ids come from the root the command line names", async (t) => {
  const { root } = ws;
  for (const verb of ["info", "uninstall", "rollback", "history"]) {
    await t.step(`${verb} --root <root>`, async () => {
      const a = await complete(["pkg", verb, "--root", root, ""]);
      assert.deepEqual(a.values, ["notes"]); // not ghost (kept data), not the hostile name
      assert.equal(a.described.get("notes"), "active 1.1.0");
      assert.equal(a.directive, NO_FILES);
    });
  }
  await t.step("$NX_ROOT when there is no --root", async () => {
    const a = await completeCli(["pkg", "info", ""], { env: { NX_ROOT: root } });
    assert.deepEqual(a.values, ["notes"]);
  });
  await t.step("--root wins over $NX_ROOT, --root=DIR too", async () => {
    const empty = await tempDir();
    const a = await complete(["pkg", "info", "--root", empty, ""], { env: { NX_ROOT: root } });
    assert.deepEqual(a.values, []);
    const b = await complete(["pkg", "info", `--root=${root}`, "n"], { env: { NX_ROOT: empty } });
    assert.deepEqual(b.values, ["notes"]);
  });
  await t.step("a relative --root is resolved from the cwd, ~/ from $HOME", async () => {
    const home = await tempDir("nx-home-");
    await symlink(root, join(home, "root-link"));
    const a = await completeCli(["pkg", "info", "--root", "root-link", ""], { cwd: home });
    assert.deepEqual(a.values, ["notes"]);
    // Deno's cache stays where it is (its default follows $HOME).
    const b = await completeCli(["pkg", "info", "--root", "~/root-link", ""], {
      env: { HOME: home, DENO_DIR: await denoDir() },
    });
    assert.deepEqual(b.values, ["notes"]);
  });
  await t.step("a missing root offers nothing and creates nothing", async () => {
    const missing = join(await tempDir(), "nope");
    const a = await complete(["pkg", "uninstall", "--root", missing, ""]);
    assert.deepEqual(a.values, []);
    await assert.rejects(Deno.lstat(missing), Deno.errors.NotFound);
  });
  await t.step("rollback --to offers the retained versions but not the active one", async () => {
    const a = await complete(["pkg", "rollback", "--root", root, "notes", "--to", ""]);
    assert.deepEqual(a.values, ["1.0.0"]);
  });
  await t.step("trust remove offers the trusted publishers", async () => {
    const a = await complete(["pkg", "trust", "remove", "--root", root, ""]);
    assert.equal(a.values.length, 1);
    assert.equal(a.described.get(a.values[0]), "dev");
  });
});

Deno.test("nx complete: policy set offers the policy keys and each key's values", async (t) => {
  await t.step("keys", async () => {
    const a = await complete(["pkg", "policy", "set", ""]);
    assert.deepEqual(a.values.sort(), [...POLICY_KEYS].sort());
  });
  await t.step("mode", async () => {
    const a = await complete(["pkg", "policy", "set", "mode", ""]);
    assert.deepEqual(a.values, [...POLICY_MODES]);
  });
  await t.step("a switch", async () => {
    const a = await complete(["pkg", "policy", "set", "dev-mode", "o"]);
    assert.deepEqual(a.values, ["on", "off"]);
  });
  await t.step("a number: nothing, and no files", async () => {
    const a = await complete(["pkg", "policy", "set", "retain-versions", ""]);
    assert.deepEqual(a.values, []);
    assert.equal(a.directive, NO_FILES);
  });
});

// ---- the scripts in real shells --------------------------------------------------------------

async function run(
  shell: string,
  args: string[],
  script: string,
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command(shell, {
    args: [...args, script],
    cwd: ws.cwd,
    env: { PATH: `${ws.bin}:${Deno.env.get("PATH")}`, NX_ROOT: ws.root, NO_COLOR: "1", ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder();
  assert.equal(out.code, 0, text.decode(out.stderr));
  return text.decode(out.stdout);
}

async function scriptFile(shell: string): Promise<string> {
  const r = await nx(["completion", shell]);
  assert.equal(r.code, 0, r.stderr);
  const file = join(await tempDir(), `nx.${shell}`);
  await Deno.writeTextFile(file, r.stdout);
  return file;
}

const BASH_CASES: [line: string[], expected: string[]][] = [
  // Directories without their "/": bash adds it (-o filenames).
  [["pkg", "verify", ""], ["bundles", "keys"]],
  [["pkg", "verify", "bundles/"], [
    "bundles/notes-1.0.0.nxb",
    "bundles/notes-1.1.0.nxb",
    "bundles/old",
  ]],
  [["pkg", "install", "bundles/notes-1.1"], ["bundles/notes-1.1.0.nxb"]],
  [["pkg", "pack", "fixtures", "--key", "keys/"], ["keys/me.key"]],
  [["pkg", "trust", "add", "keys/"], ["keys/me.pub"]],
  [["pkg", "list", "--root", "bund"], ["bundles"]],
  // bash splits --root=DIR at "=": the script joins it back for nx.
  [["pkg", "info", "--root", "=", ws.root, ""], ["notes"]],
  [["pkg", "info", "--root", "=", "bun"], ["bundles"]],
  [["pkg", "uninstall", ""], ["notes"]],
  [["pkg", "rollback", "notes", "--to", ""], ["1.0.0"]],
  [["pkg", "policy", "set", "mode", "p"], ["permissive"]],
  [["pkg", "in"], ["init", "inspect", "install", "info"]],
  // Words as typed, quotes included: the script removes the quoting before asking nx.
  [["pkg", "info", "--root", `'${ws.root}'`, ""], ["notes"]],
  [["pkg", "verify", `"bundles/notes-1.0`], ["bundles/notes-1.0.0.nxb"]],
];

Deno.test("bash: the script works in plain bash without the bash-completion package", async (t) => {
  const file = await scriptFile("bash");
  const calls = BASH_CASES.map(([line]) => {
    const words = ["nx", ...line].map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
    return `t ${words}`;
  });
  const script = [
    // --norc/--noprofile: nothing from bash-completion is loaded; prove it.
    "if declare -F _get_comp_words_by_ref >/dev/null; then echo 'bash-completion loaded'; exit 1; fi",
    `. '${file}'`,
    "complete -p nx",
    't() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=();',
    '  _nx 2>/dev/null; local IFS="|"; echo "${COMPREPLY[*]}"; }',
    ...calls,
  ].join("\n");
  const lines = (await run("bash", ["--norc", "--noprofile", "-c"], script)).split("\n");
  await t.step("complete -p nx", () => assert.equal(lines[0], "complete -F _nx nx"));
  for (const [i, [line, expected]] of BASH_CASES.entries()) {
    await t.step(line.join(" ") || "(empty)", () => {
      assert.deepEqual(lines[i + 1].split("|").filter((x) => x).sort(), [...expected].sort());
    });
  }
});

Deno.test("the install lines of the README, the scripts and the help are the same", async () => {
  const readme = await Deno.readTextFile(join(REPO, "README.md"));
  const help = await nx(["completion", "--help"]);
  for (const shell of ["bash", "zsh", "fish"] as const) {
    const install = COMPLETION_INSTALL[shell];
    assert.ok(readme.split("\n").includes(install), `README.md lacks the line: ${install}`);
    assert.ok(help.stdout.includes(install), `nx completion --help lacks: ${install}`);
    const script = (await nx(["completion", shell])).stdout;
    for (const part of install.split(" && ").filter((p) => !p.startsWith("echo"))) {
      assert.ok(script.includes(part), `the ${shell} script's header lacks: ${part}`);
    }
  }
});

Deno.test("bash: the install line registers the completion in a new interactive shell", async () => {
  const home = await tempDir("nx-home-");
  await run("bash", ["--norc", "--noprofile", "-c"], COMPLETION_INSTALL.bash, { HOME: home });
  const out = await run("bash", ["-i", "-c"], "complete -p nx", { HOME: home });
  assert.match(out, /^complete -F _nx nx$/m);
});

const have = (shell: string) =>
  Deno.env.get("PATH")!.split(":").some((d) => {
    try {
      return Deno.statSync(join(d, shell)).isFile;
    } catch {
      return false;
    }
  });

Deno.test({
  name: "zsh: the script asks nx and hands zsh's own completers the right kind",
  ignore: !have("zsh"),
  fn: async () => {
    const file = await scriptFile("zsh");
    // zsh completes only inside its line editor: stand in for its completers, and record calls.
    const script = [
      '_files() { print -r -- "_files $*" }',
      '_describe() { print -r -- "_describe ${(P)4}" }',
      'compset() { print -r -- "compset $*" }',
      'compdef() { print -r -- "compdef $*" }',
      `source '${file}'`,
      't() { words=("$@"); CURRENT=$#; PREFIX=${words[-1]}; _nx }',
      "t nx pkg verify ''",
      "t nx pkg pack src --key ''",
      "t nx pkg trust add ''",
      "t nx pkg list --root=/tm",
      `t nx pkg info --root "'${ws.root}'" ''`,
      "t nx pkg policy set dev-mode ''",
    ].join("\n");
    const out = await run("zsh", ["-f", "-c"], script);
    assert.deepEqual(out.trim().split("\n"), [
      "compdef _nx nx",
      "_files -g *.nxb",
      "_files -g *.key",
      "_files -g *.pub",
      "compset -P *=",
      "_files -/",
      "_describe notes:active 1.1.0",
      "_describe on off",
    ]);
  },
});

Deno.test({
  name: "fish: the script completes paths, app ids and policy values",
  ignore: !have("fish"),
  fn: async (t) => {
    const file = await scriptFile("fish");
    const cases: [string, string[]][] = [
      ["nx pkg verify ", ["bundles/", "keys/"]],
      ["nx pkg verify bundles/", [
        "bundles/notes-1.0.0.nxb/",
        "bundles/notes-1.1.0.nxb/",
        "bundles/old/",
      ]],
      ["nx pkg pack src --key keys/", ["keys/me.key"]],
      ["nx pkg trust add keys/", ["keys/me.pub"]],
      ["nx pkg info ", ["notes\tactive 1.1.0"]],
      ["nx pkg list --root=bun", ["--root=bundles/"]],
      ["nx pkg policy set mode s", ["strict"]],
    ];
    for (const [line, expected] of cases) {
      await t.step(line, async () => {
        const out = await run(
          "fish",
          ["--no-config", "-c"],
          `source '${file}'; complete -C '${line}'`,
        );
        assert.deepEqual(out.split("\n").filter((x) => x).sort(), [...expected].sort());
      });
    }
  },
});

Deno.test({
  name:
    "zsh: the install line, run in zsh with a new $HOME, makes a new interactive zsh complete nx",
  ignore: !have("zsh"),
  fn: async () => {
    const home = await tempDir("nx-home-");
    await run("zsh", ["-f", "-c"], COMPLETION_INSTALL.zsh, { HOME: home });
    const out = await run("zsh", ["-i", "-c"], "print -r -- $_comps[nx]", { HOME: home });
    assert.equal(out.trim().split("\n").at(-1), "_nx");
  },
});

Deno.test({
  name: "fish: the install line, run in fish with a new $HOME, makes fish complete nx",
  ignore: !have("fish"),
  fn: async () => {
    const home = await tempDir("nx-home-");
    const env = { HOME: home, XDG_CONFIG_HOME: join(home, ".config") };
    await run("fish", ["-c"], COMPLETION_INSTALL.fish, env);
    const out = await run("fish", ["-c"], "complete -C 'nx pk'", env);
    assert.match(out, /^pkg\t/m);
  },
});
