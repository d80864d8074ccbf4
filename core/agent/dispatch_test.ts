import assert from "node:assert/strict";
import { join } from "node:path";
import type { Pkgr, ProgressEvent } from "../api/mod.ts";
import { createPkgr, readPublicKeyText } from "../pkgr/mod.ts";
import { type Call, dispatch, type DispatchOptions, type Reply } from "./dispatch.ts";
import { fixtureCopy, FIXTURES, freshRoot, rootWith } from "./_testing.ts";

interface Run {
  reply: Reply;
  events: ProgressEvent[];
  log: string[];
  taken: string[];
}

async function run(
  pkgr: Pkgr,
  call: Omit<Call, "id">,
  o: Partial<Omit<DispatchOptions, "pkgr" | "emit" | "log">> & {
    uploads?: Record<string, string>;
  } = {},
): Promise<Run> {
  const events: ProgressEvent[] = [];
  const log: string[] = [];
  const taken: string[] = [];
  const reply = await dispatch({ id: 7, ...call }, {
    pkgr,
    allowAdmin: o.allowAdmin ?? false,
    signal: o.signal ?? new AbortController().signal,
    takeUpload: o.takeUpload ?? ((id) => {
      taken.push(id);
      return o.uploads?.[id];
    }),
    emit: (e) => events.push(e),
    log: { emit: (e) => log.push(e.kind === "marker" ? e.text : `${e.kind}`) },
  });
  assert.equal(reply.id, 7);
  return { reply, events, log, taken };
}

function errorCode(r: Run): string {
  return r.reply.t === "error" ? r.reply.error.code : `a result: ${JSON.stringify(r.reply)}`;
}

function resultOf<T>(r: Run): T {
  if (r.reply.t !== "result") throw new Error(`an error: ${JSON.stringify(r.reply.error)}`);
  return r.reply.result as T;
}

const markers = (events: ProgressEvent[]) =>
  events.flatMap((e) => e.kind === "marker" ? [e.text] : []);

Deno.test("dispatch() refuses a method the contract does not have (agent.unknown_method)", async () => {
  const pkgr = createPkgr({ root: await freshRoot() });
  for (const method of ["format", "__proto__", "constructor", "toString"]) {
    assert.equal(errorCode(await run(pkgr, { method, request: {} })), "agent.unknown_method");
  }
});

Deno.test("dispatch() refuses trust and policy changes unless allowed (agent.forbidden)", async () => {
  const { pkgr } = await rootWith([]);
  const publicKey = await readPublicKeyText(join(FIXTURES, "keys", "store.pub"));
  const calls = [
    { method: "trustAdd", request: { publicKey } },
    { method: "trustRemove", request: { id: "dev" } },
    { method: "policySet", request: { key: "dev-mode", value: "on" } },
  ];
  for (const call of calls) assert.equal(errorCode(await run(pkgr, call)), "agent.forbidden");
  assert.deepEqual(
    resultOf<{ name?: string }[]>(await run(pkgr, { method: "trustList", request: {} })).map((p) =>
      p.name
    ),
    ["dev"],
  );
  const added = await run(pkgr, calls[0], { allowAdmin: true });
  assert.equal(resultOf<{ keys: unknown[] }>(added).keys.length, 1);
});

Deno.test("dispatch() refuses a request that fails the method's schema, with its issues", async () => {
  const pkgr = createPkgr({ root: await freshRoot() });
  const r = await run(pkgr, { method: "info", request: { app: 3, extra: true } });
  assert.equal(errorCode(r), "agent.invalid_request");
  const issues = r.reply.t === "error"
    ? r.reply.error.details?.issues as { path: unknown[] }[]
    : [];
  assert.ok(issues.some((i) => i.path[0] === "app"), JSON.stringify(issues));
  assert.equal(
    errorCode(await run(pkgr, { method: "list", request: undefined })),
    "agent.invalid_request",
  );
});

Deno.test("dispatch() refuses an upload the connection did not complete (agent.upload_unknown)", async () => {
  const pkgr = createPkgr({ root: await freshRoot() });
  const bundle = { kind: "upload", id: "u1", name: "/host/notes.nxb" };
  const r = await run(pkgr, { method: "verify", request: { bundle } });
  assert.equal(errorCode(r), "agent.upload_unknown");
  assert.deepEqual(r.taken, ["u1"]);
});

Deno.test("dispatch() refuses a bundle named by a path of the agent's machine", async () => {
  const pkgr = createPkgr({ root: await freshRoot() });
  for (const method of ["verify", "inspect", "install", "upgrade"]) {
    const request = { bundle: { kind: "path", path: "/etc" } };
    assert.equal(errorCode(await run(pkgr, { method, request })), "agent.invalid_request");
  }
});

Deno.test("dispatch() runs an upload as the host's bundle: its name, events and markers", async (t) => {
  const { pkgr } = await rootWith([]);
  const dir = await fixtureCopy("notes-1.0.0");
  const name = "/host/work/notes.nxb";
  const upload = { bundle: { kind: "upload", id: "u1", name } };
  const uploads = { u1: dir };

  await t.step("verify", async () => {
    const r = await run(pkgr, { method: "verify", request: upload }, { uploads });
    assert.equal(resultOf<{ manifest: { name: string } }>(r).manifest.name, "notes");
    assert.deepEqual(markers(r.events), ["pkgr: verified ok"]);
    assert.deepEqual(r.log, ["pkgr: verified ok", "bundle: verify ok app=notes"]);
  });
  await t.step("inspect shows the name, not the upload directory", async () => {
    const r = await run(pkgr, { method: "inspect", request: upload }, { uploads });
    assert.equal(resultOf<{ path: string }>(r).path, name);
    assert.ok(!JSON.stringify(r.reply).includes(dir));
  });
  await t.step("install, then uninstall", async () => {
    const r = await run(pkgr, { method: "install", request: upload }, { uploads });
    assert.equal(resultOf<{ toVersion: string }>(r).toVersion, "1.0.0");
    assert.deepEqual(r.log, [
      "pkgr: verified ok",
      "pkgr: install app=notes v=1.0.0",
      "pkgr: activate current=1.0.0",
      "bundle: verify ok app=notes",
      "bundle: install ok notes@1.0.0",
    ]);
    const gone = await run(pkgr, { method: "uninstall", request: { app: "notes" } });
    assert.equal(resultOf<{ op: string }>(gone).op, "uninstall");
    assert.deepEqual(gone.log, ["bundle: uninstall ok notes"]);
  });
  await t.step("a dry run installs nothing and says so", async () => {
    const r = await run(pkgr, { method: "install", request: { ...upload, dryRun: true } }, {
      uploads,
    });
    assert.equal(resultOf<{ dryRun: boolean }>(r).dryRun, true);
    assert.deepEqual(r.log, ["pkgr: verified ok", "bundle: verify ok app=notes"]);
  });
});

Deno.test("dispatch() sends a failure as a value that names the host's bundle", async () => {
  const pkgr = createPkgr({ root: await freshRoot() });
  const dir = await fixtureCopy("notes-1.0.0");
  const name = "/host/notes.nxb";
  const r = await run(pkgr, {
    method: "install",
    request: { bundle: { kind: "upload", id: "u1", name } },
  }, { uploads: { u1: dir } });
  assert.equal(errorCode(r), "policy.publisher_unknown");
  assert.ok(!JSON.stringify(r.reply).includes(dir), JSON.stringify(r.reply));
  assert.deepEqual(r.log, []);
});

Deno.test("dispatch() of a cancelled call is op.cancelled", async () => {
  const { pkgr } = await rootWith([]);
  const controller = new AbortController();
  controller.abort();
  const request = { bundle: { kind: "upload", id: "u1", name: "notes.nxb" } };
  const uploads = { u1: await fixtureCopy("notes-1.0.0") };
  const r = await run(pkgr, { method: "install", request }, { signal: controller.signal, uploads });
  assert.equal(errorCode(r), "op.cancelled");
});

Deno.test("dispatch() never sends a result that fails its schema (internal.unexpected)", async () => {
  const real = createPkgr({ root: await freshRoot() });
  const broken: Pkgr = { ...real, list: () => Promise.resolve([{ id: 1 }] as never) };
  assert.equal(
    errorCode(await run(broken, { method: "list", request: {} })),
    "internal.unexpected",
  );
});
