/**
 * The CLI against the contract (core/api METHODS): every command of the real command tree that
 * touches a root is exactly one method and every method is one command; what each command sends
 * is a valid request of its method; and what it prints is built from the result value alone, so
 * a result that crossed a wire (JSON out and back in) renders exactly as the local one.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import type { Command } from "@commander-js/extra-typings";
import {
  type CallContext,
  errorFromValue,
  errorValue,
  ErrorValueSchema,
  EventSchema,
  type Method,
  METHOD_NAMES,
  METHODS,
  type ProgressEvent,
} from "../core/api/mod.ts";
import { createPkgr } from "../core/pkgr/pkgr.ts";
import { rootPaths } from "../core/store/paths.ts";
import { buildProgram } from "../cli/program.ts";
import { DEV_STORE, issueEntitlement, LICENSING_AUDIENCE } from "../core/entitlement/mod.ts";
import { seedFor } from "../fixtures/catalog.ts";
import { rootCommandOf } from "../cli/root_command.ts";
import { copyFixture, FIXTURES, tempDir } from "./helpers.ts";

/** The commands that touch no state root (or, as demo, only through Pkgr calls of their own). */
// `agent` is not a root command: it is the service at the other end of `--transport`.
const NOT_ROOT_COMMANDS = [
  "pkg keygen",
  "pkg pack",
  "agent",
  "demo",
  // `selftest` is a sequence of Pkgr calls (local or over --transport), not one method.
  "selftest",
  // `nx qemu` runs a QEMU guest; the guest's root is reached with --transport, not by these.
  "qemu build",
  "qemu up",
  "qemu down",
  "qemu status",
  "qemu console",
  "qemu env",
  // `nx store` is the host's dev store: each verb is a sequence of Pkgr calls (device, import,
  // list, install), local or over --transport.
  "store catalog",
  "store buy",
  "store refund",
  "store restore",
  "completion",
  "complete",
];

/**
 * Commands that run the method of another command with a check of their own first: `licensed
 * revoke` and `restore` import a status change of that action (`licensed import` takes any).
 */
const SAME_METHOD: Record<string, string> = {
  "licensed revoke": "licensed import",
  "licensed restore": "licensed import",
};

function leaves(cmd: Command, path: string[] = []): [string, Command][] {
  if (cmd.commands.length === 0) return [[path.join(" "), cmd]];
  return cmd.commands.flatMap((c) => leaves(c as Command, [...path, c.name()]));
}

const program = () => buildProgram() as unknown as Command;
const wire = <T>(v: T): T => JSON.parse(JSON.stringify(v));

Deno.test("every root command of the CLI is exactly one method, and every method one command", () => {
  const commands = leaves(program());
  const byMethod = new Map<Method, string[]>();
  for (const [path, cmd] of commands) {
    const spec = rootCommandOf(cmd);
    if (spec === undefined) {
      assert.ok(NOT_ROOT_COMMANDS.includes(path), `\`nx ${path}\` runs no method of the contract`);
      continue;
    }
    assert.ok(!NOT_ROOT_COMMANDS.includes(path), `\`nx ${path}\` is listed as touching no root`);
    if (path in SAME_METHOD) continue;
    byMethod.set(spec.method, [...(byMethod.get(spec.method) ?? []), path]);
  }
  for (const method of METHOD_NAMES) {
    assert.equal(byMethod.get(method)?.length, 1, `${method}: ${byMethod.get(method) ?? "none"}`);
  }
  assert.deepEqual([...byMethod.keys()].sort(), [...METHOD_NAMES].sort());
  assert.deepEqual(
    commands.map(([p]) => p).filter((p) => NOT_ROOT_COMMANDS.includes(p)).sort(),
    [...NOT_ROOT_COMMANDS].sort(),
  );
});

class Parsed extends Error {
  constructor(readonly cmd: Command, readonly input: unknown[]) {
    super("parsed");
  }
}

/** The command line's command and input (arguments, then options), without running it. */
async function parse(argv: string[]): Promise<Parsed> {
  const p = program();
  p.hook("preAction", (_root, action) => {
    throw new Parsed(action as unknown as Command, [...action.processedArgs, action.opts()]);
  });
  try {
    await p.parseAsync(argv, { from: "user" });
  } catch (e) {
    if (e instanceof Parsed) return e;
    throw e;
  }
  throw new Error(`${argv.join(" ")}: no action ran`);
}

const KEY = join(FIXTURES, "keys", "dev.pub");
const SECRET = join(FIXTURES, "keys", "dev.key");
const STORE_KEY = join(FIXTURES, "keys", "licensing.pub");
/** Any file: `licensed import` sends its bytes; the service decides what they are. */
const TOKEN = join(FIXTURES, "store", "catalog.toml.sig");

/** A year's ledger.pro token for `deviceFp`, signed by the dev store's key. */
function devStoreToken(deviceFp: string): Uint8Array {
  const now = Math.floor(Date.now() / 1000);
  return issueEntitlement({
    version: 1,
    appId: "ledger",
    sku: "ledger.pro",
    type: "full",
    deviceFp,
    audience: LICENSING_AUDIENCE,
    iat: now,
    nbf: now,
    exp: now + 365 * 86_400,
    meta: [],
  }, seedFor("licensing"));
}

/** A command line of every root command (several where options change the request). */
const COMMAND_LINES: string[][] = [
  ["pkg", "verify", "notes.nxb"],
  ["pkg", "inspect", "notes.nxb", "--files"],
  ["pkg", "install", "notes.nxb"],
  ["pkg", "install", "notes.nxb", "--dry-run", "--allow-downgrade", "--json"],
  ["pkg", "upgrade", "notes.nxb", "--dry-run"],
  ["pkg", "rollback", "notes"],
  ["pkg", "rollback", "notes", "--to", "1.0.0", "--dry-run"],
  ["pkg", "uninstall", "notes", "--keep-data"],
  ["pkg", "uninstall", "notes", "--purge", "--dry-run"],
  ["pkg", "install", "notes.nxb", "--reinstall"],
  ["pkg", "repair", "notes", "--dry-run"],
  ["pkg", "clear-data", "notes"],
  ["pkg", "list", "--registry-url", "file:/tmp/r.db"],
  ["pkg", "info", "notes"],
  ["pkg", "info", "notes", "--files"],
  ["pkg", "history"],
  ["pkg", "history", "notes", "--limit", "3"],
  ["pkg", "history", "--id", "3"],
  ["pkg", "init"],
  ["pkg", "query", "--ability", "notes.open"],
  ["pkg", "query", "--export", "app.notes.SHARE"],
  ["pkg", "doctor", "--repair"],
  ["pkg", "trust", "add", KEY, "--name", "dev"],
  ["pkg", "trust", "add", SECRET, "--disabled", "--publisher", "a".repeat(32)],
  ["pkg", "trust", "remove", "dev"],
  ["pkg", "trust", "list"],
  ["pkg", "policy", "show"],
  ["pkg", "policy", "set", "dev-mode", "on"],
  ["pkg", "launch", "notes"],
  ["pkg", "launch", "notes", "--check", "--", "--fail", "x"],
  ["licensed", "import", TOKEN],
  ["licensed", "list", "--app", "ledger"],
  ["licensed", "status", "ledger", "--sku", "ledger.pro"],
  ["licensed", "device"],
  ["licensed", "trust", "add", STORE_KEY, "--name", "dev-store"],
  ["licensed", "trust", "remove", "a".repeat(32)],
  ["licensed", "trust", "list"],
];

Deno.test("each command line becomes a valid request of its method, as JSON would carry it", async (t) => {
  const covered = new Set<Method>();
  for (const argv of COMMAND_LINES) {
    await t.step(argv.join(" "), async () => {
      const { cmd, input } = await parse(argv);
      const spec = rootCommandOf(cmd)!;
      covered.add(spec.method);
      const request = await spec.toRequest(...input);
      assert.deepEqual(request, wire(request), "a request is plain JSON data");
      assert.deepEqual(METHODS[spec.method].request.parse(wire(request)), request);
    });
  }
  await t.step("every method has a command line above", () => {
    assert.deepEqual([...covered].sort(), [...METHOD_NAMES].sort());
  });
  await t.step("trust add of a secret key file sends only its public half", async () => {
    const { cmd, input } = await parse(["pkg", "trust", "add", SECRET]);
    const request = await rootCommandOf(cmd)!.toRequest(...input) as { publicKey: string };
    assert.equal(request.publicKey, await Deno.readTextFile(KEY));
    assert.doesNotMatch(JSON.stringify(request), /PRIVATE/);
  });
});

/** Records what a call reports, checking each event against its schema. */
function recorder(): { call: CallContext; events: ProgressEvent[] } {
  const events: ProgressEvent[] = [];
  return {
    events,
    call: {
      now: new Date(),
      reporter: { emit: (e) => events.push(EventSchema.parse(wire(e)) as ProgressEvent) },
    },
  };
}

Deno.test("a result renders the same after crossing a wire, for every method", async (t) => {
  const root = join(await tempDir(), "root");
  const v1 = await copyFixture("notes-1.0.0");
  const v11 = await copyFixture("notes-1.1.0");
  const pkgr = createPkgr({ root: rootPaths(root) });
  /** Runs the command line's request through the local Pkgr and compares the two renderings. */
  const check = async (argv: string[]) => {
    const { cmd, input } = await parse(argv);
    const spec = rootCommandOf(cmd)!;
    const request = await spec.toRequest(...input);
    const { call } = recorder();
    const method = pkgr[spec.method] as (r: unknown, c: CallContext) => Promise<never>;
    const result = await method(request, call);
    assert.deepEqual(result, wire(result), `${spec.method}: the result is plain JSON data`);
    const received = METHODS[spec.method].result.parse(wire(result));
    assert.deepEqual(received, wire(result), `${spec.method}: nothing filled in or stripped`);
    assert.deepEqual(spec.render(received, ...input), spec.render(result, ...input));
    return spec.method;
  };
  const covered = new Set<Method>();
  const lines = [
    ["pkg", "inspect", v1], // untrusted yet: verification failed, as data
    ["pkg", "init"],
    ["pkg", "trust", "add", KEY, "--name", "dev"],
    ["pkg", "trust", "list"],
    ["pkg", "policy", "set", "retain-versions", "3"],
    ["pkg", "policy", "show"],
    ["pkg", "verify", v1],
    ["pkg", "inspect", v1, "--files"],
    ["pkg", "install", v1, "--dry-run"],
    ["pkg", "install", v1],
    ["pkg", "upgrade", v11],
    ["pkg", "rollback", "notes"],
    ["pkg", "list"],
    ["pkg", "info", "notes", "--files"],
    ["pkg", "install", v1, "--reinstall"],
    ["pkg", "repair", "notes"],
    ["pkg", "clear-data", "notes", "--dry-run"],
    ["pkg", "history", "notes", "--limit", "2"],
    ["pkg", "history", "--id", "1"],
    ["pkg", "query", "--ability", "notes.open"],
    ["pkg", "doctor"],
    ["pkg", "launch", "notes", "--check"],
    ["licensed", "trust", "add", STORE_KEY, "--name", "dev-store"],
    ["licensed", "trust", "list"],
    ["licensed", "device"],
    ["pkg", "uninstall", "notes", "--keep-data"],
    ["pkg", "trust", "add", join(FIXTURES, "keys", "store.pub")],
    ["pkg", "trust", "remove", "dev"],
  ].map((argv) => [...argv, "--root", root]);
  for (const argv of lines) {
    await t.step(argv.slice(0, 3).join(" "), async () => {
      covered.add(await check(argv));
    });
  }
  // A token for this root's device, from the dev store, then the ledger's views of it.
  const { call } = recorder();
  const device = await pkgr.licensedDevice({}, call);
  const token = join(await tempDir(), "ledger.nxe");
  await Deno.writeFile(token, devStoreToken(device.fingerprint));
  for (
    const argv of [
      ["licensed", "import", token],
      ["licensed", "list"],
      ["licensed", "status", "ledger", "--sku", "ledger.pro"],
      ["licensed", "trust", "remove", DEV_STORE.keyId],
    ].map((argv) => [...argv, "--root", root])
  ) {
    await t.step(argv.slice(0, 3).join(" "), async () => {
      covered.add(await check(argv));
    });
  }
  await t.step("every method ran", () => {
    assert.deepEqual([...covered].sort(), [...METHOD_NAMES].sort());
  });
  await t.step("a failure renders the same after crossing a wire", async () => {
    const { call } = recorder();
    const error = await pkgr.info({ app: "notes" }, call).then(
      () => assert.fail("info of an uninstalled app succeeded"),
      (e) => e,
    );
    const back = errorFromValue(ErrorValueSchema.parse(wire(errorValue(error))));
    assert.equal(back.code, "app.not_installed");
    assert.deepEqual(errorValue(back), errorValue(error));
  });
});
