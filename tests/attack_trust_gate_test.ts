/**
 * The trust gate through the real CLI: `nx pkg install` into roots in each policy mode with
 * dev-mode off. A finding a mode only downgrades to a warning must still stop the install
 * (`policy.untrusted`, exit 3), every other finding fails with its own code, and a refused
 * install leaves the root as it was (no app, policy files untouched; only the audit log records
 * the refusal). core/trust/verify_gate_test.ts holds the full mode × finding table, in memory.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { ERROR_TABLE, type ErrorCode, EXIT_CLASSES } from "../core/errors.ts";
import { POLICY_MODES, type PolicyMode } from "../core/trust/policy.ts";
import { cloneRoot } from "./_roots.ts";
import { copyFixture, flipByte, nx, snapshotTree, trustedRoot } from "./helpers.ts";

type Expected = ErrorCode | "ok";

interface Row {
  name: string;
  /** The root's trusted keys (fixture key names). */
  trusts: "dev" | "store";
  bundle: () => Promise<string>;
  /** The app id the bundle installs as. */
  app: string;
  expect: Record<PolicyMode, Expected>;
  /** For policy.untrusted: the warnings verification downgraded. */
  warnings?: ErrorCode[];
}

/** Changes one hex digit of the signature in meta/index.sig (still valid JSON and hex). */
async function corruptIndexSig(bundle: string): Promise<void> {
  const path = join(bundle, "meta", "index.sig");
  const text = await Deno.readTextFile(path);
  const at = text.indexOf('"signature": "') + '"signature": "'.length + 10;
  const digit = text[at] === "0" ? "1" : "0";
  await Deno.writeTextFile(path, text.slice(0, at) + digit + text.slice(at + 1));
}

const ROWS: Row[] = [
  {
    name: "a clean bundle of a trusted publisher",
    trusts: "dev",
    bundle: () => copyFixture("notes-1.0.0"),
    app: "notes",
    expect: { strict: "ok", permissive: "ok", "audit-only": "ok" },
  },
  {
    name: "a corrupted meta/index.sig",
    trusts: "dev",
    bundle: async () => {
      const dir = await copyFixture("notes-1.0.0");
      await corruptIndexSig(dir);
      return dir;
    },
    app: "notes",
    expect: {
      strict: "policy.signature_invalid",
      permissive: "policy.signature_invalid",
      "audit-only": "policy.untrusted",
    },
    warnings: ["policy.signature_invalid"],
  },
  {
    name: "a bundle of an unknown publisher",
    trusts: "store",
    bundle: () => copyFixture("notes-1.0.0"),
    app: "notes",
    expect: {
      strict: "policy.publisher_unknown",
      permissive: "policy.untrusted",
      "audit-only": "policy.untrusted",
    },
    warnings: ["policy.publisher_unknown"],
  },
  {
    name: "a payload-only bundle while payload-only signatures are off",
    trusts: "dev",
    bundle: () => copyFixture("legacy-1.0.0"),
    app: "legacy",
    expect: {
      strict: "policy.payload_only_signature",
      permissive: "policy.payload_only_signature",
      "audit-only": "policy.untrusted",
    },
    warnings: ["policy.payload_only_signature"],
  },
  {
    name: "a changed payload byte (never downgraded)",
    trusts: "dev",
    bundle: async () => {
      const dir = await copyFixture("notes-1.0.0");
      await flipByte(join(dir, "payload.elf"), -1);
      return dir;
    },
    app: "notes",
    expect: {
      strict: "integrity.payload_digest_mismatch",
      permissive: "integrity.payload_digest_mismatch",
      "audit-only": "integrity.payload_digest_mismatch",
    },
  },
];

/** One template root per (mode, trusted key), dev-mode off; each case installs into a clone. */
const templates = new Map<string, Promise<string>>();
function template(mode: PolicyMode, trusts: Row["trusts"]): Promise<string> {
  const id = `${mode}/${trusts}`;
  if (!templates.has(id)) {
    templates.set(
      id,
      (async () => {
        const root = await trustedRoot([trusts]);
        const r = await nx(["pkg", "policy", "set", "mode", mode, "--json"], { root });
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const show = await nx(["pkg", "policy", "show", "--json"], { root });
        assert.equal(show.json?.data.mode, mode);
        assert.equal(show.json?.data.dev_mode, false);
        return root;
      })(),
    );
  }
  return templates.get(id)!;
}

/** What a refused install must leave as it was: the apps tree and the policy files. */
async function observable(root: string): Promise<string> {
  const apps = [...await snapshotTree(join(root, "apps"))].join("\n");
  const pkg = await Promise.all(
    ["policy.toml", "publishers.toml", "root.json"].map((f) =>
      Deno.readTextFile(join(root, "pkg", f))
    ),
  );
  return `${apps}\n${pkg.join("\n")}`;
}

async function installInto(mode: PolicyMode, row: Row, devMode = false) {
  const root = await cloneRoot(await template(mode, row.trusts));
  if (devMode) {
    const r = await nx(["pkg", "policy", "set", "dev-mode", "on", "--json"], { root });
    assert.equal(r.code, 0, r.stdout + r.stderr);
  }
  const before = await observable(root);
  const r = await nx(["pkg", "install", await row.bundle(), "--json"], { root });
  const apps = (await nx(["pkg", "list", "--json"], { root })).json?.data.apps ?? [];
  return { r, root, before, apps };
}

Deno.test("install enforces the trust gate in every mode with dev-mode off", async (t) => {
  for (const row of ROWS) {
    for (const mode of POLICY_MODES) {
      const want = row.expect[mode];
      await t.step(`${mode}: ${row.name} → ${want}`, async () => {
        const { r, root, before, apps } = await installInto(mode, row);
        assert.equal(r.json?.code, want, `stdout: ${r.stdout}\nstderr: ${r.stderr}`);
        if (want === "ok") {
          assert.equal(r.code, 0);
          assert.deepEqual(apps.map((a: { id: string }) => a.id), [row.app]);
          return;
        }
        assert.equal(r.json?.ok, false);
        assert.equal(r.code, EXIT_CLASSES[ERROR_TABLE[want].exitClass]);
        assert.deepEqual(apps, [], "a refused install left an app behind");
        assert.equal(await observable(root), before, "a refused install changed the root");
        if (want === "policy.untrusted") {
          const codes = r.json?.data?.details?.warnings?.map((w: { code: string }) => w.code);
          assert.deepEqual(codes, row.warnings);
        }
      });
    }
  }
});

Deno.test("install with dev-mode on takes a bundle audit-only verified with warnings", async () => {
  const row = ROWS.find((r) => r.name === "a corrupted meta/index.sig")!;
  const { r, apps } = await installInto("audit-only", row, true);
  assert.equal(r.json?.code, "ok", r.stdout + r.stderr);
  assert.deepEqual(apps.map((a: { id: string }) => a.id), ["notes"]);
});
