import assert from "node:assert/strict";
import { NxError } from "../core/errors.ts";
import { identityPath } from "./connect.ts";
import { remoteTargets, runsLocally, targetTexts } from "./remote.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

Deno.test("runsLocally() is true only with no target, NX_TRANSPORT unset or local, and no --targets", () => {
  assert.equal(runsLocally({}, env({})), true);
  assert.equal(runsLocally({ transport: ["local"] }, env({})), true);
  assert.equal(runsLocally({}, env({ NX_TRANSPORT: "local" })), true);
  assert.equal(runsLocally({}, env({ NX_TRANSPORT: "tcp:127.0.0.1:7070" })), false);
  assert.equal(runsLocally({ transport: ["tcp:127.0.0.1:7070"] }, env({})), false);
  // A targets file alone names agents: never the local root.
  assert.equal(runsLocally({ targets: "fleet.txt" }, env({})), false);
});

Deno.test("targetTexts(): flags win over NX_TRANSPORT", () => {
  assert.deepEqual(targetTexts({ transport: ["tcp:a:1"] }, env({ NX_TRANSPORT: "tcp:b:2" })), [
    "tcp:a:1",
  ]);
  assert.deepEqual(targetTexts({ targets: "f" }, env({ NX_TRANSPORT: "tcp:b:2" })), []);
  assert.deepEqual(targetTexts({}, env({ NX_TRANSPORT: "tcp:b:2" })), ["tcp:b:2"]);
});

Deno.test("remoteTargets() refuses --root and --registry-url with a transport, and a bad --parallel", async () => {
  for (
    const opts of [
      { transport: ["tcp:127.0.0.1:7070"], root: "/r" },
      { transport: ["tcp:127.0.0.1:7070"], registryUrl: "file:/x" },
      { transport: ["tcp:127.0.0.1:7070"], parallel: "0" },
      { transport: ["tcp:127.0.0.1:7070"], timeout: "1.5" },
    ]
  ) {
    const e = await remoteTargets(opts).catch((e) => e);
    assert.ok(e instanceof NxError);
    assert.equal(e.code, "usage.invalid_argument", JSON.stringify(opts));
  }
  const e = await remoteTargets({ transport: ["local", "tcp:127.0.0.1:7070"] }).catch((e) => e);
  assert.equal(e.code, "transport.invalid_target");
});

Deno.test("identityPath(): --identity, else NX_IDENTITY, else the config dir's identity.key", () => {
  assert.equal(identityPath({ identity: "/k" }, env({ NX_IDENTITY: "/e" })), "/k");
  assert.equal(identityPath({}, env({ NX_IDENTITY: "/e" })), "/e");
  assert.equal(identityPath({}, env({ XDG_CONFIG_HOME: "/c", HOME: "/h" })), "/c/nx/identity.key");
  assert.equal(identityPath({}, env({ HOME: "/h" })), "/h/.config/nx/identity.key");
});
