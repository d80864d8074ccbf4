/**
 * Every bad licensing input of issue 11 through the real CLI, each with its code: refused at
 * import (the ledger and the root as they were, the refusal audited once) or imported and then
 * denied by the gate at install (again nothing written but the audit entry). Records are issued
 * here with the fixture seeds; non-canonical encodings are built word by word.
 */
import assert from "node:assert/strict";
import { frameSegments } from "../core/bundle/capnp/mod.ts";
import {
  encodeEntitlement,
  encodeSignedRecord,
  issueEntitlement,
  issueRecord,
  issueStatusChange,
  keyIdOfSeed,
  recordSigningMessage,
} from "../core/entitlement/mod.ts";
import { sign } from "../core/trust/mod.ts";
import { seedFor } from "../fixtures/catalog.ts";
import { EntitlementStatusSchema, ImportResultSchema } from "../core/api/mod.ts";
import {
  changeFields,
  changeFile,
  LEDGER,
  licensedRoot,
  ok,
  refused,
  STORE_SEED,
  tokenFields,
  tokenFile,
  unchanged,
  writeRecord,
} from "./_licensed.ts";
import { nxCommandLine } from "./helpers.ts";

const OTHER_DEVICE = "00112233445566778899aabbccddeeff";

/** The single segment of a canonical framed message plus one zero word: same values. */
function withTrailingZeroWord(message: Uint8Array): Uint8Array {
  return frameSegments([new Uint8Array([...message.subarray(8), ...new Uint8Array(8)])]);
}

function flipped(bytes: Uint8Array, at: number): Uint8Array {
  const copy = bytes.slice();
  copy[at < 0 ? copy.length + at : at] ^= 0x01;
  return copy;
}

/** A validly signed token whose exp is `exp` (the encoder refuses exp ≤ nbf: patched after). */
function tokenWithExp(device: string, exp: number): Uint8Array {
  const fields = tokenFields(device);
  const body = encodeEntitlement(fields);
  // Canonical layout: header (8), root pointer (8), data section; exp is its 4th word.
  new DataView(body.buffer, body.byteOffset).setBigInt64(16 + 24, BigInt(exp), true);
  return issueRecord("entitlement", body, STORE_SEED);
}

interface ImportCase {
  name: string;
  file: (device: string) => Promise<string>;
  code: string;
}

const at = (device: string) => tokenFields(device);
const token = (device: string, seed = STORE_SEED) => issueEntitlement(at(device), seed);

const IMPORT_CASES: ImportCase[] = [
  {
    name: "a flipped byte in the signature",
    file: (d) => writeRecord(flipped(token(d), -1)),
    code: "entitlement.bad_signature",
  },
  {
    name: "a flipped byte in the signed body (the app id)",
    file: (d) => {
      const bytes = token(d);
      const appId = new TextDecoder("latin1").decode(bytes).indexOf("ledger\0");
      return writeRecord(flipped(bytes, appId + 1));
    },
    code: "entitlement.bad_signature",
  },
  {
    name: "a flipped byte in the segment table",
    file: (d) => writeRecord(flipped(token(d), 0)),
    code: "entitlement.malformed",
  },
  {
    name: "signed by an untrusted key",
    file: (d) => writeRecord(token(d, seedFor("rogue"))),
    code: "entitlement.untrusted_key",
  },
  {
    name: "signed by a bundle publisher's key (dev)",
    file: (d) => writeRecord(token(d, seedFor("dev"))),
    code: "entitlement.untrusted_key",
  },
  {
    name: "signed by the root's own trusted publisher key (store)",
    file: (d) => writeRecord(token(d, seedFor("store"))),
    code: "entitlement.untrusted_key",
  },
  {
    name: "a status change's signature on a token (kind byte differs)",
    file: (d) => {
      const body = encodeEntitlement(at(d));
      const signature = sign(recordSigningMessage("statusChange", body), STORE_SEED);
      const keyId = keyIdOfSeed(STORE_SEED);
      return writeRecord(encodeSignedRecord({ kind: "entitlement", body, keyId, signature }));
    },
    code: "entitlement.bad_signature",
  },
  {
    name: "for another device",
    file: async () => (await tokenFile(OTHER_DEVICE)).path,
    code: "entitlement.wrong_device",
  },
  {
    name: "for another audience",
    file: async (d) => (await tokenFile(d, { audience: "other.consumer" })).path,
    code: "entitlement.wrong_audience",
  },
  {
    name: "expired",
    file: async (d) => {
      const t = Math.floor(Date.now() / 1000);
      return (await tokenFile(d, { iat: t - 7200, nbf: t - 7200, exp: t - 3600 })).path;
    },
    code: "entitlement.expired",
  },
  {
    name: "exp before nbf",
    file: (d) => writeRecord(tokenWithExp(d, at(d).nbf - 1)),
    code: "entitlement.malformed",
  },
  {
    name: "exp equal to nbf",
    file: (d) => writeRecord(tokenWithExp(d, at(d).nbf)),
    code: "entitlement.malformed",
  },
  {
    name: "a non-canonical outer record (a trailing zero word)",
    file: (d) => writeRecord(withTrailingZeroWord(token(d))),
    code: "entitlement.malformed",
  },
  {
    name: "a non-canonical token body, validly signed by the store",
    file: (d) =>
      writeRecord(
        issueRecord("entitlement", withTrailingZeroWord(encodeEntitlement(at(d))), STORE_SEED),
      ),
    code: "entitlement.malformed",
  },
  {
    name: "not a record at all (text)",
    file: () => writeRecord(new TextEncoder().encode("this is not a token\n")),
    code: "entitlement.malformed",
  },
  {
    name: "an empty file",
    file: () => writeRecord(new Uint8Array(0)),
    code: "entitlement.malformed",
  },
  {
    name: "exactly 16 KiB of zeros (at the cap: read, then malformed)",
    file: () => writeRecord(new Uint8Array(16 * 1024)),
    code: "entitlement.malformed",
  },
  {
    name: "a revocation signed by an untrusted key",
    file: async (d) => changeFile((await tokenFile(d)).tokenId, {}, seedFor("rogue")),
    code: "entitlement.untrusted_key",
  },
  {
    name: "a revocation with a flipped signature byte",
    file: async (d) =>
      writeRecord(
        flipped(issueStatusChange(changeFields((await tokenFile(d)).tokenId), STORE_SEED), -1),
      ),
    code: "entitlement.bad_signature",
  },
];

Deno.test("a bad record is refused at import with its code; nothing but the audit changes", async (t) => {
  // One root for all: each refusal must leave it as it was, so the next starts from the same.
  const { root, device } = await licensedRoot();
  for (const c of IMPORT_CASES) {
    await t.step(`${c.name} → ${c.code}`, async () => {
      const file = await c.file(device);
      await unchanged(root, c.code, () => refused(["licensed", "import", file], c.code, { root }));
    });
  }
});

Deno.test("one bad file in a batch: the good ones are not stored either", async () => {
  const { root, device } = await licensedRoot();
  const good = await tokenFile(device);
  const bad = await writeRecord(token(device, seedFor("rogue")));
  await unchanged(
    root,
    "entitlement.untrusted_key",
    () => refused(["licensed", "import", good.path, bad], "entitlement.untrusted_key", { root }),
  );
});

Deno.test("a file over 16 KiB is entitlement.too_large before it reaches the root", async (t) => {
  const { root } = await licensedRoot();
  await t.step("16 KiB + 1", async () => {
    const file = await writeRecord(new Uint8Array(16 * 1024 + 1));
    await unchanged(
      root,
      "",
      () => refused(["licensed", "import", file], "entitlement.too_large", { root }),
      false,
    );
  });
  await t.step("a 64 GiB sparse file (never read)", async () => {
    const file = await writeRecord(new Uint8Array(0));
    await Deno.truncate(file, 64 * 1024 ** 3);
    await unchanged(
      root,
      "",
      () => refused(["licensed", "import", file], "entitlement.too_large", { root }),
      false,
    );
  });
});

interface GateCase {
  name: string;
  over: (device: string) => Parameters<typeof tokenFields>[1];
  code: string;
}

const GATE_CASES: GateCase[] = [
  { name: "for another app", over: () => ({ appId: "notes" }), code: "entitlement.wrong_app" },
  { name: "for another sku", over: () => ({ sku: "ledger.lite" }), code: "entitlement.wrong_app" },
  {
    name: "not valid yet",
    over: () => ({ nbf: Math.floor(Date.now() / 1000) + 3600 }),
    code: "entitlement.not_yet_valid",
  },
];

Deno.test("an imported token that does not fit: install denied with the gate's code", async (t) => {
  for (const c of GATE_CASES) {
    await t.step(`${c.name} → ${c.code}`, async () => {
      const { root, device } = await licensedRoot();
      const file = await tokenFile(device, c.over(device));
      const r = await ok(["licensed", "import", file.path], ImportResultSchema, { root });
      assert.deepEqual(r.records.map((x) => x.added), [true]);
      const denied = await unchanged(
        root,
        c.code,
        () => refused(["pkg", "install", LEDGER, "--markers"], c.code, { root }),
      );
      assert.ok(denied.stderr.includes("pkgr: deny entitlement app=ledger sku=ledger.pro"));
      const s = await ok(
        ["licensed", "status", "ledger", "--sku", "ledger.pro"],
        EntitlementStatusSchema,
        { root },
      );
      assert.deepEqual([s.active, s.code], [false, c.code]);
    });
  }
});

Deno.test("a directory is refused as an argument, not an internal error", async () => {
  const { root } = await licensedRoot();
  const dir = await Deno.makeTempDir();
  await unchanged(
    root,
    "",
    () => refused(["licensed", "import", dir], "usage.invalid_argument", { root }),
    false,
  );
});

Deno.test("a FIFO is refused without being opened (a reader would wait for a writer)", async () => {
  const { root } = await licensedRoot();
  const fifo = `${await Deno.makeTempDir()}/token.nxe`;
  assert.equal((await new Deno.Command("mkfifo", { args: [fifo] }).output()).code, 0);
  const line = nxCommandLine(["licensed", "import", fifo, "--root", root, "--json"]);
  const output = new Deno.Command(line.cmd, {
    args: line.args,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  // Our write end opens only once nx opens the read end: whichever happens first tells.
  const writer = Deno.open(fifo, { write: true });
  const first = await Promise.race([output, writer.then(() => "opened" as const)]);
  if (first === "opened") {
    (await writer).close(); // EOF for nx, which then finishes
    await output;
    assert.fail("nx opened the FIFO to read it: a non-regular file must be refused unread");
  }
  // nx finished without opening it: release our pending open with a reader of our own.
  const reader = await Deno.open(fifo, { read: true });
  (await writer).close();
  reader.close();
  const envelope = JSON.parse(new TextDecoder().decode(first.stdout));
  assert.equal(envelope.code, "usage.invalid_argument", new TextDecoder().decode(first.stderr));
});
