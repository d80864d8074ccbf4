/**
 * The prebuilt bundle (`deno task build`, what bin/nx runs) behaves exactly as the source
 * (`deno run cli/main.ts`, the development path): for a set of command lines — help, usage
 * errors, completion, every verb on a prepared root, an injected fault, the demo — stdout, stderr
 * and the exit code are byte-identical. Each side runs the exact command line bin/nx
 * execs, on a fresh copy of the same root at the same path; only wall-clock times are masked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { build, BUILD_DIR } from "../.ci/build.ts";
import { startupNodeImports } from "../.ci/shims/mod.ts";
import { bundleFlags, DENO, FIXTURES, NX_PERMISSIONS, REPO, tempDir } from "./helpers.ts";

const text = new TextDecoder();
const SOURCE = [
  "run",
  ...NX_PERMISSIONS,
  "--config",
  join(REPO, "deno.json"),
  join(REPO, "cli", "main.ts"),
];
const BUNDLE = ["run", ...NX_PERMISSIONS, ...bundleFlags(), join(REPO, "build", "main.js")];
const ENV = { NO_COLOR: "1", NX_MARKERS: "", SOURCE_DATE_EPOCH: "0" };
/** Audit and install times are the only values that differ between two runs (and node's pid). */
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
const PID = /\(node:\d+\)/g;

const bundle = (id: string) => join(FIXTURES, "bundles", `${id}.nxb`);

type Setup = "none" | "trusted" | "installed" | "upgraded";
interface Case {
  args: string[];
  /** The root the command gets as `--root` (a fresh copy of this template), or none. */
  root?: Setup;
  env?: Record<string, string>;
}

const CASES: Case[] = [
  { args: ["--version"] },
  { args: [] },
  { args: ["--help"] },
  ...[["pkg"], ["pkg", "verify"], ["pkg", "trust"], ["pkg", "policy", "set"], ["demo"]].map((
    p,
  ) => ({
    args: [...p, "--help"],
  })),
  { args: ["pkg"] },
  { args: ["pkg", "nope"] },
  { args: ["pkg", "nope", "--json"] },
  { args: ["pkg", "verify"] },
  { args: ["pkg", "verify", "x.nxb", "--bogus", "--json"] },
  { args: ["pkg", "verify", "/nonexistent/x.nxb", "--color", "always"], root: "none" },
  // commander's colour decision (the bundle's node:process shim), off a terminal
  { args: ["--help"], env: { NO_COLOR: "", FORCE_COLOR: "1" } },
  { args: ["pkg"], env: { NO_COLOR: "", CLICOLOR_FORCE: "1" } },
  { args: ["pkg", "verify", "x.nxb", "--bogus"], env: { NO_COLOR: "", FORCE_COLOR: "0" } },
  ...["bash", "zsh", "fish", "powershell"].map((shell) => ({ args: ["completion", shell] })),
  { args: ["completion", "bash", "--json"] },
  { args: ["complete", "--", "pkg", "ve"] },
  { args: ["complete", "--", "pkg", "verify", "--"] },
  { args: ["complete", "--", "pkg", "info", "--root", "@ROOT", ""], root: "installed" },
  { args: ["pkg", "inspect", bundle("notes-1.0.0"), "--files"], root: "trusted" },
  { args: ["pkg", "inspect", bundle("reader-1.0.0"), "--json"], root: "none" },
  { args: ["pkg", "verify", bundle("notes-1.0.0"), "--markers"], root: "trusted" },
  { args: ["pkg", "verify", bundle("ledger-1.0.0"), "--json"], root: "trusted" },
  { args: ["pkg", "verify", bundle("notes-1.0.0")], root: "none" },
  { args: ["pkg", "verify", bundle("big-1.0.0"), "--json"], root: "trusted" },
  { args: ["pkg", "install", bundle("notes-1.0.0"), "--dry-run", "--json"], root: "trusted" },
  { args: ["pkg", "install", bundle("notes-1.0.0")], root: "trusted" },
  { args: ["pkg", "install", bundle("reader-1.0.0")], root: "installed" },
  {
    args: ["pkg", "install", bundle("notes-1.0.0"), "--json"],
    root: "trusted",
    env: { NX_FAULT: "fail:switch-current" },
  },
  { args: ["pkg", "upgrade", bundle("notes-1.1.0"), "--markers"], root: "installed" },
  { args: ["pkg", "upgrade", bundle("notes-1.1.0"), "--dry-run", "--json"], root: "installed" },
  { args: ["pkg", "rollback", "notes"], root: "upgraded" },
  { args: ["pkg", "rollback", "notes", "--json"], root: "installed" },
  { args: ["pkg", "uninstall", "notes", "--purge"], root: "installed" },
  { args: ["pkg", "list"], root: "upgraded" },
  { args: ["pkg", "list", "--json"], root: "upgraded" },
  { args: ["pkg", "list"], root: "none" },
  { args: ["pkg", "info", "notes"], root: "upgraded" },
  { args: ["pkg", "info", "nope", "--json"], root: "installed" },
  { args: ["pkg", "history"], root: "upgraded" },
  { args: ["pkg", "history", "--json"], root: "upgraded" },
  { args: ["pkg", "query", "--ability", "notes.open", "--json"], root: "installed" },
  { args: ["pkg", "doctor"], root: "upgraded" },
  { args: ["pkg", "doctor", "--json"], root: "installed" },
  { args: ["pkg", "trust", "list"], root: "trusted" },
  {
    args: ["pkg", "trust", "add", join(FIXTURES, "keys", "store.pub"), "--name", "store"],
    root: "trusted",
  },
  { args: ["pkg", "trust", "remove", "dev", "--json"], root: "trusted" },
  { args: ["pkg", "policy", "show"], root: "trusted" },
  { args: ["pkg", "policy", "set", "mode", "permissive", "--json"], root: "trusted" },
  {
    args: [
      "pkg",
      "pack",
      join(FIXTURES, "src", "notes-1.0.0"),
      "--key",
      join(FIXTURES, "keys", "dev.key"),
      "--out",
      "@ROOT/../out.nxb",
    ],
    root: "none",
  },
  { args: ["demo", "--root", "@ROOT"], root: "none" },
];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(cmd: string, args: string[], cwd: string, env = {}): Promise<Run> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd,
    env: { ...ENV, ...env },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const mask = (b: Uint8Array) => text.decode(b).replace(TIME, "<time>").replace(PID, "(node:PID)");
  return { code: out.code, stdout: mask(out.stdout), stderr: mask(out.stderr) };
}

async function copyTree(from: string, to: string): Promise<void> {
  const out = await new Deno.Command("cp", { args: ["-a", from, to] }).output();
  assert.ok(out.success, text.decode(out.stderr));
}

Deno.test("the bundle prints byte for byte what the source prints, with the same exit codes", async (t) => {
  await build();
  const scratch = await tempDir("nx-parity-");
  const templates = join(scratch, "templates");
  const source = async (args: string[], root: string) => {
    const r = await run(DENO, [...SOURCE, ...args, "--root", root, "--json"], scratch);
    assert.equal(r.code, 0, r.stdout + r.stderr);
  };
  // The templates, made once from source.
  const trusted = join(templates, "trusted");
  await source(
    ["pkg", "trust", "add", join(FIXTURES, "keys", "dev.pub"), "--name", "dev"],
    trusted,
  );
  await copyTree(trusted, join(templates, "installed"));
  await source(["pkg", "install", bundle("notes-1.0.0")], join(templates, "installed"));
  await copyTree(join(templates, "installed"), join(templates, "upgraded"));
  await source(["pkg", "upgrade", bundle("notes-1.1.0")], join(templates, "upgraded"));

  const work = join(scratch, "work");
  const root = join(work, "root");
  const fresh = async (setup?: Setup) => {
    await Deno.remove(work, { recursive: true }).catch(() => {});
    await Deno.mkdir(work);
    if (setup && setup !== "none") await copyTree(join(templates, setup), root);
  };
  for (const c of CASES) {
    const args = c.args.map((a) => a.replaceAll("@ROOT", root));
    if (c.root && !args.includes(root)) args.push("--root", root);
    await t.step(`nx ${c.args.join(" ")}${c.root ? ` (root: ${c.root})` : ""}`, async () => {
      await fresh(c.root);
      const fromSource = await run(DENO, [...SOURCE, ...args], work, c.env);
      await fresh(c.root);
      const fromBundle = await run(DENO, [...BUNDLE, ...args], work, c.env);
      assert.deepEqual(fromBundle, fromSource);
    });
  }
  await Deno.remove(scratch, { recursive: true });
});

Deno.test("the bundle's start-up graph loads no node: module, and the bundle holds one commander", async () => {
  await build();
  assert.deepEqual(await startupNodeImports(BUILD_DIR), {});
  const sections = new Set<string>();
  for await (const e of Deno.readDir(BUILD_DIR)) {
    if (!e.name.endsWith(".js")) continue;
    const code = await Deno.readTextFile(join(BUILD_DIR, e.name));
    for (const m of code.matchAll(/^\/\/ (\S*commander\/lib\/command\.js)$/gm)) sections.add(m[1]);
    // a literal would put its chunk into every command's start-up graph (.ci/defer_imports.ts)
    assert.doesNotMatch(code, /\bimport\("\.\//, `${e.name} has a literal import() of a chunk`);
  }
  assert.equal(sections.size, 1, [...sections].join(", "));
  assert.match([...sections][0], /^build\/\.vendor\//);
});

/** Command lines on a pseudo-terminal of a given width: help wraps to it, colours follow TERM. */
interface TerminalCase {
  args: string[];
  /** The terminal's width (`stty cols`); none: the kernel reports 0 columns. */
  columns?: number;
  env?: Record<string, string>;
}

const TERMINAL_CASES: TerminalCase[] = [
  { args: ["--help"], columns: 50 },
  { args: ["--help"], columns: 120, env: { TERM: "xterm-256color", NO_COLOR: "" } },
  { args: ["--help"] },
  { args: ["pkg", "--help"], columns: 64, env: { TERM: "dumb", NO_COLOR: "" } },
  { args: ["pkg", "verify", "--help"], columns: 40 },
  // the group's help, written to stderr as the usage error's
  { args: ["pkg"], columns: 60, env: { TERM: "xterm", NO_COLOR: "" } },
  { args: ["pkg", "nope"], columns: 60, env: { TERM: "xterm", NO_COLOR: "" } },
  // node warns that FORCE_COLOR overrides NODE_DISABLE_COLORS
  {
    args: ["--help"],
    columns: 50,
    env: { NO_COLOR: "", FORCE_COLOR: "", NODE_DISABLE_COLORS: "1" },
  },
  { args: ["--version"], columns: 80 },
];

/** Deno's own progress line on a terminal, cleared as many times as module loading takes. */
const DENO_PROGRESS = "\x1b[0G\x1b[2K\x1b[J";

const haveScript = await new Deno.Command("script", {
  args: ["--version"],
  stdout: "null",
  stderr: "null",
}).output().then((o) => o.success, () => false);

Deno.test({
  name: "on a terminal, the bundle prints byte for byte what the source prints",
  ignore: !haveScript,
  fn: async (t) => {
    await build();
    const cwd = await tempDir("nx-parity-tty-");
    const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
    const onTerminal = async (side: string[], c: TerminalCase) => {
      const size = c.columns === undefined ? "" : `stty cols ${c.columns} rows 24 && `;
      const line = `${size}exec ${[DENO, ...side, ...c.args].map(quote).join(" ")}`;
      const out = await new Deno.Command("script", {
        args: ["-qec", line, "/dev/null"],
        cwd,
        env: { ...ENV, ...c.env },
        stdin: "null",
        stdout: "piped",
        stderr: "piped",
      }).output();
      const mask = (b: Uint8Array) =>
        text.decode(b).replace(TIME, "<time>").replace(PID, "(node:PID)")
          .replaceAll(DENO_PROGRESS, "");
      return { code: out.code, terminal: mask(out.stdout), stderr: mask(out.stderr) };
    };
    for (const c of TERMINAL_CASES) {
      const env = Object.entries(c.env ?? {}).map(([k, v]) => `${k}=${v}`).join(" ");
      await t.step(
        `nx ${c.args.join(" ")} (${c.columns ?? 0} columns${env ? `, ${env}` : ""})`,
        async () => {
          const fromSource = await onTerminal(SOURCE, c);
          assert.ok(fromSource.terminal.length > 0, fromSource.stderr);
          assert.deepEqual(await onTerminal(BUNDLE, c), fromSource);
        },
      );
    }
  },
});
