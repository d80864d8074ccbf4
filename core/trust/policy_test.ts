import assert from "node:assert/strict";
import { toHex } from "../bytes/hex.ts";
import { publicKeyFromSeed } from "./ed25519.ts";
import { fingerprint } from "./keys.ts";
import { NxError } from "../errors.ts";
import {
  decidePublisher,
  type Publisher,
  type PublishersFile,
  PublishersFileSchema,
  withPublisher,
} from "./policy.ts";

const key = publicKeyFromSeed(new Uint8Array(32).fill(7));
const other = publicKeyFromSeed(new Uint8Array(32).fill(8));
const id = fingerprint(key);

function file(p: Partial<Publisher>): PublishersFile {
  return {
    version: 1,
    publishers: [{ id, enabled: true, allowed_algs: ["ed25519"], keys: [toHex(key)], ...p }],
  };
}

Deno.test("decidePublisher() checks in upstream order", async (t) => {
  const table: [
    string,
    PublishersFile,
    { publisherId: string; alg: string; key?: Uint8Array },
    string,
  ][] = [
    ["unknown beats everything", file({ enabled: false }), {
      publisherId: "0".repeat(32),
      alg: "rsa",
      key: other,
    }, "publisher_unknown"],
    [
      "disabled before alg",
      file({ enabled: false }),
      { publisherId: id, alg: "rsa", key: other },
      "disabled",
    ],
    ["alg before key", file({}), { publisherId: id, alg: "rsa", key: other }, "alg_unsupported"],
    ["alg must be allowed for the publisher", file({ allowed_algs: [] }), {
      publisherId: id,
      alg: "ed25519",
    }, "alg_unsupported"],
    [
      "key must be listed",
      file({}),
      { publisherId: id, alg: "ed25519", key: other },
      "key_unknown",
    ],
    ["payload-only needs the id's own key", file({ keys: [toHex(other)] }), {
      publisherId: id,
      alg: "ed25519",
    }, "key_unknown"],
  ];
  for (const [name, publishers, request, reason] of table) {
    await t.step(name, () => {
      const d = decidePublisher(publishers, request);
      assert.equal(d.allow, false);
      assert.equal(!d.allow && d.reason, reason);
    });
  }
});

Deno.test("decidePublisher() allows a listed key and returns it", () => {
  const rotated = file({ keys: [toHex(key), toHex(other)] });
  const byKey = decidePublisher(rotated, { publisherId: id, alg: "ed25519", key: other });
  assert.ok(byKey.allow && toHex(byKey.key) === toHex(other));
  const byId = decidePublisher(rotated, { publisherId: id, alg: "ed25519" });
  assert.ok(byId.allow && toHex(byId.key) === toHex(key));
});

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NxError) return e.code;
    throw e;
  }
  return undefined;
}

const entry = (p: Partial<Publisher>): Publisher => ({
  id,
  enabled: true,
  allowed_algs: ["ed25519"],
  keys: [toHex(key)],
  ...p,
});

Deno.test("PublishersFileSchema refuses duplicate publishers with policy.duplicate_publisher", async (t) => {
  const otherId = fingerprint(other);
  const table: [string, Publisher[]][] = [
    ["the same publisher id twice", [entry({}), entry({ keys: [toHex(other)] })]],
    ["the same key under two publishers", [
      entry({}),
      entry({ id: otherId, keys: [toHex(other), toHex(key)] }),
    ]],
    ["the same key twice in one entry", [entry({ keys: [toHex(key), toHex(key)] })]],
  ];
  for (const [name, publishers] of table) {
    await t.step(name, () => {
      assert.equal(
        codeOf(() => PublishersFileSchema.safeParse({ version: 1, publishers })),
        "policy.duplicate_publisher",
      );
    });
  }
  await t.step("distinct ids and keys parse", () => {
    const publishers = [entry({}), entry({ id: otherId, keys: [toHex(other)] })];
    assert.equal(PublishersFileSchema.safeParse({ version: 1, publishers }).success, true);
  });
  await t.step("a malformed entry is a zod failure (policy.invalid), not a duplicate", () => {
    assert.equal(
      PublishersFileSchema.safeParse({ version: 1, publishers: [{ id }] }).success,
      false,
    );
  });
});

Deno.test("withPublisher() refuses a key another publisher holds", () => {
  const start: PublishersFile = { version: 1, publishers: [entry({})] };
  const rotated = entry({ id: fingerprint(other), keys: [toHex(other), toHex(key)] });
  assert.equal(codeOf(() => withPublisher(start, rotated)), "policy.duplicate_publisher");
  // Replacing the entry itself (same id) with more keys is fine.
  const more = withPublisher(start, entry({ keys: [toHex(key), toHex(other)] }));
  assert.equal(more.publishers.length, 1);
});
