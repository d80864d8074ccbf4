/**
 * The prebuilt bundle (`deno task build`, what bin/nx runs) behaves exactly as the source
 * (`deno run cli/main.ts`, the development path): for a set of command lines — help, usage
 * errors, completion, every verb on a prepared root, an injected fault, the demo — stdout, stderr
 * and the exit code are byte-identical. Each side runs the exact command line bin/nx
 * execs, on a fresh copy of the same root at the same path; only wall-clock times are masked.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { build } from "../.ci/build.ts";
import { DENO, FIXTURES, NX_PERMISSIONS, REPO, tempDir } from "./helpers.ts";

const text = new TextDecoder();
const SOURCE = [
  "run",
  ...NX_PERMISSIONS,
  "--config",
  join(REPO, "deno.json"),
  join(REPO, "cli", "main.ts"),
];
const BUNDLE = ["run", ...NX_PERMISSIONS, "--no-config", join(REPO, "build", "main.js")];
const ENV = { NO_COLOR: "1", NX_MARKERS: "", SOURCE_DATE_EPOCH: "0" };
/** Audit and install times are the only values that differ between two runs. */
const TIME = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;

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
  const mask = (b: Uint8Array) => text.decode(b).replace(TIME, "<time>");
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
