import assert from "node:assert/strict";
import { z } from "zod";
import { errorValue, METHOD_NAMES } from "../api/mod.ts";
import { INFO, looseObjects, SAMPLES, wire } from "../api/_testing.ts";
import { NxError } from "../errors.ts";
import {
  AppSummaryListSchema,
  AuditEntryListSchema,
  KeygenResultSchema,
  PackResultSchema,
  type PkgrCall,
  PkgrCallSchema,
  PkgrEventSchema,
  PkgrReplySchema,
  PublisherListSchema,
  QueryHitListSchema,
} from "./mod.ts";

/** A call of every method, with every sample request of the contract. */
const CALLS: PkgrCall[] = METHOD_NAMES.flatMap((method) =>
  SAMPLES[method].requests.map((params, i) =>
    ({ version: 1, id: `${method}-${i}`, method, params }) as PkgrCall
  )
);

Deno.test("PkgrCallSchema parses a call of every method and round-trips it", async (t) => {
  assert.deepEqual([...new Set(CALLS.map((c) => c.method))], METHOD_NAMES);
  for (const c of CALLS) {
    await t.step(`${c.method} ${JSON.stringify(c.params)}`, () => {
      assert.deepEqual(PkgrCallSchema.parse(wire(c)), c);
    });
  }
});

Deno.test("PkgrCallSchema rejects malformed calls", async (t) => {
  const ok = { version: 1, id: "1", method: "info", params: { app: "notes" } };
  const cases: [string, unknown][] = [
    ["unknown method", { ...ok, method: "frobnicate" }],
    ["wrong version", { ...ok, version: 2 }],
    ["version as a string", { ...ok, version: "1" }],
    ["no version", { id: "1", method: "info", params: { app: "notes" } }],
    ["no id", { version: 1, method: "info", params: { app: "notes" } }],
    ["empty id", { ...ok, id: "" }],
    ["numeric id", { ...ok, id: 1 }],
    ["no params", { version: 1, id: "1", method: "info" }],
    ["extra top-level key", { ...ok, extra: true }],
    ["extra params key", { ...ok, params: { app: "notes", force: true } }],
    ["params of another method", { ...ok, params: { bundle: { kind: "path", path: "n" } } }],
    ["a bundle as a bare path", {
      ...ok,
      method: "install",
      params: { bundle: "notes.nxb" },
    }],
    ["not an object", "info notes"],
    ["null", null],
  ];
  for (const [name, value] of cases) {
    await t.step(name, () => assert.equal(PkgrCallSchema.safeParse(value).success, false));
  }
});

Deno.test("PkgrReplySchema carries a method's result or a failure, never an envelope", async (t) => {
  for (const method of METHOD_NAMES) {
    for (const [i, result] of SAMPLES[method].results.entries()) {
      await t.step(`${method} result ${i}`, () => {
        const reply = wire({ version: 1, id: "9", method, ok: true, result });
        assert.deepEqual(PkgrReplySchema.parse(reply), reply);
      });
    }
  }
  await t.step("a failure round-trips", () => {
    const error = errorValue(
      new NxError("app.not_installed", "cannot show notes: it is not installed"),
    );
    const reply = { version: 1, id: "9", method: "info", ok: false, error };
    assert.deepEqual(PkgrReplySchema.parse(wire(reply)), reply);
  });
  const good = { version: 1, id: "9", method: "info", ok: true, result: INFO };
  const bad: [string, unknown][] = [
    ["wrong version", { ...good, version: 0 }],
    ["no id", { ...good, id: undefined }],
    ["no method", { ...good, method: undefined }],
    ["the result of another method", { ...good, method: "list" }],
    ["a result with a failure", { ...good, error: { code: "io.failed", message: "m" } }],
    ["an envelope", {
      version: 1,
      id: "9",
      envelope: { ok: true, class: "success", code: "ok", message: "m", data: INFO },
    }],
    ["an unknown code", {
      version: 1,
      id: "9",
      method: "info",
      ok: false,
      error: { code: "no.such_code", message: "m" },
    }],
  ];
  for (const [name, value] of bad) {
    await t.step(`rejects: ${name}`, () => {
      assert.equal(PkgrReplySchema.safeParse(wire(value)).success, false);
    });
  }
});

Deno.test("PkgrEventSchema carries one event of a call", () => {
  const event = { version: 1, id: "9", event: { kind: "marker", text: "pkgr: verified ok" } };
  assert.deepEqual(PkgrEventSchema.parse(wire(event)), event);
  assert.equal(PkgrEventSchema.safeParse({ ...event, event: { kind: "log" } }).success, false);
  assert.equal(PkgrEventSchema.safeParse({ ...event, extra: 1 }).success, false);
});

Deno.test("the CLI's data schemas parse their wrappers and refuse the bare results", async (t) => {
  const cases: [string, z.ZodType, unknown][] = [
    ["list", AppSummaryListSchema, { apps: SAMPLES.list.results[1] }],
    ["history", AuditEntryListSchema, { entries: SAMPLES.history.results[0] }],
    ["query", QueryHitListSchema, { hits: SAMPLES.query.results[0] }],
    ["trust list", PublisherListSchema, { publishers: SAMPLES.trustList.results[0] }],
    ["pack", PackResultSchema, {
      name: "notes",
      version: "1.0.0",
      out: "notes.nxb",
      publisher: "a".repeat(32),
      scheme: "payload-only",
      files: [{ path: "manifest.nxm", size: 300 }],
    }],
    ["keygen", KeygenResultSchema, {
      name: "dev",
      publisher: "a".repeat(32),
      secretKey: "/k/dev.key",
      publicKey: "/k/dev.pub",
    }],
  ];
  for (const [name, schema, value] of cases) {
    await t.step(name, () => assert.deepEqual(schema.parse(wire(value)), value));
  }
  await t.step("list data is an object, not the bare array", () => {
    assert.equal(AppSummaryListSchema.safeParse([]).success, false);
  });
});

Deno.test("every message schema is strict in its JSON Schema", async (t) => {
  const all: [string, z.ZodType][] = [
    ["call", PkgrCallSchema],
    ["event", PkgrEventSchema],
    ["reply", PkgrReplySchema],
    ["list data", AppSummaryListSchema],
    ["pack", PackResultSchema],
    ["keygen", KeygenResultSchema],
  ];
  for (const [name, schema] of all) {
    await t.step(name, () => {
      const json = z.toJSONSchema(schema, { io: "input", unrepresentable: "any" });
      assert.deepEqual(looseObjects(json), []);
    });
  }
});
