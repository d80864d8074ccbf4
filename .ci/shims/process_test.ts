import assert from "node:assert/strict";
import nodeProcess from "node:process";
import { WriteStream } from "node:tty";
import process from "./process.ts";
import { colorDepth } from "./_tty.ts";

Deno.test("process shim: what commander reads equals node:process's, off a terminal", () => {
  for (const name of ["PATH", "HOME", "NX_SURELY_UNSET_VARIABLE"]) {
    assert.equal(process.env[name], nodeProcess.env[name], name);
    assert.equal(name in process.env, name in nodeProcess.env, name);
  }
  assert.deepEqual(process.argv, nodeProcess.argv);
  assert.deepEqual(process.execArgv, nodeProcess.execArgv);
  assert.equal(process.platform, nodeProcess.platform);
  assert.equal(process.execPath, nodeProcess.execPath);
  assert.equal(process.versions.electron, nodeProcess.versions.electron);
  assert.equal(process.exitCode, nodeProcess.exitCode);
  for (const stream of ["stdout", "stderr"] as const) {
    assert.equal(Boolean(process[stream].isTTY), Boolean(nodeProcess[stream].isTTY), stream);
    if (!nodeProcess[stream].isTTY) assert.equal(process[stream].columns, undefined, stream);
  }
});

Deno.test("colorDepth() gives the colour counts node's getColorDepth gives, per environment", () => {
  const tables: Record<string, string>[] = [
    {},
    { TERM: "dumb" },
    { TERM: "xterm" },
    { TERM: "xterm-256color" },
    { TERM: "screen.xterm-new" },
    { TERM: "rxvt-unicode-24bit" },
    { TERM: "KONSOLE" },
    { TERM: "vt100" },
    { TERM: "constructor" },
    { TERM: "constructor", COLORTERM: "x" },
    { TERM: "unknown", COLORTERM: "1" },
    { COLORTERM: "truecolor" },
    { COLORTERM: "24bit" },
    { TMUX: "1", TERM: "dumb" },
    { TMUX: "1" },
    { NO_COLOR: "1", TERM: "xterm" },
    { NO_COLOR: "", TERM: "xterm" },
    { NODE_DISABLE_COLORS: "1" },
    { FORCE_COLOR: "0" },
    { FORCE_COLOR: "1" },
    { FORCE_COLOR: "" },
    { FORCE_COLOR: "true" },
    { FORCE_COLOR: "2" },
    { FORCE_COLOR: "3" },
    { FORCE_COLOR: "4" },
    { CI: "1" },
    { CI: "1", GITHUB_ACTIONS: "true" },
    { CI: "1", GITLAB_CI: "1" },
    { CI: "1", CI_NAME: "codeship" },
    { TF_BUILD: "1", AGENT_NAME: "x" },
    { TEAMCITY_VERSION: "9.1.0" },
    { TEAMCITY_VERSION: "8.0" },
    { TEAMCITY_VERSION: "2024.1" },
    { TERM_PROGRAM: "iTerm.app" },
    { TERM_PROGRAM: "iTerm.app", TERM_PROGRAM_VERSION: "3.4" },
    { TERM_PROGRAM: "iTerm.app", TERM_PROGRAM_VERSION: "2.9" },
    { TERM_PROGRAM: "Apple_Terminal" },
    { TERM_PROGRAM: "HyperTerm" },
  ];
  const node = WriteStream.prototype.getColorDepth as (env: Record<string, string>) => number;
  for (const table of tables) {
    const env = { get: (n: string) => table[n], has: (n: string) => Object.hasOwn(table, n) };
    // hasColors(count) is count <= 2 ** depth (TERM=constructor: node's depth is a function)
    for (const count of [2, 16, 256, 2 ** 24]) {
      assert.equal(count <= 2 ** colorDepth(env), count <= 2 ** node(table), JSON.stringify(table));
    }
  }
});

Deno.test("process shim: the executable-subcommand paths fail with an internal error", () => {
  assert.throws(() => process.on(), { code: "internal.unexpected" });
});
