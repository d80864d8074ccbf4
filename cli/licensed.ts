/**
 * `nx licensed import|revoke|restore|list|status|device|trust`: the root's entitlement ledger
 * (docs/licensing.md). Each verb is one method of the contract, so it works over `--transport`:
 * a record file is read here and travels as its bytes.
 */
import { Command } from "@commander-js/extra-typings";
import type { EntitlementStatus, LedgerView, StoreKeyView, TokenView } from "../core/api/mod.ts";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { table } from "./render/text.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

const RECORD_CAP = 16 * 1024;

interface RecordFile {
  name: string;
  bytes: Uint8Array;
}

/**
 * A record file's bytes. Only a regular file is opened (a FIFO would block, a device might
 * never end); a size over the cap is refused before reading, and at most one byte past the
 * cap is read, so a file that grew since the stat is refused too.
 */
async function readRecordFile(path: string): Promise<RecordFile> {
  const unreadable = (reason: string) =>
    new NxError("usage.invalid_argument", `cannot read ${path}: ${reason}`, { details: { path } });
  const info = await Deno.stat(path).catch((e) => {
    throw unreadable(e.message);
  });
  if (!info.isFile) throw unreadable("not a regular file");
  const { checkRecordSize } = await import("../core/entitlement/mod.ts");
  checkRecordSize(info.size);
  const bytes = new Uint8Array(RECORD_CAP + 1);
  let n = 0;
  try {
    using file = await Deno.open(path, { read: true });
    for (let got; n < bytes.length && (got = await file.read(bytes.subarray(n))) !== null;) {
      n += got;
    }
  } catch (e) {
    throw unreadable(e instanceof Error ? e.message : String(e));
  }
  checkRecordSize(n);
  return { name: path, bytes: bytes.slice(0, n) };
}

/**
 * `revoke` and `restore` take a status-change file of that action: the other action, or a
 * token, is a usage error (`import` takes any record).
 */
async function expectAction(file: RecordFile, action: "revoke" | "restore") {
  const { decodeRecord } = await import("../core/entitlement/mod.ts");
  let record;
  try {
    record = decodeRecord(file.bytes);
  } catch {
    return; // not a record at all: the service refuses it with its code, and audits the refusal
  }
  const found = record.kind === "entitlement"
    ? "an entitlement token"
    : `a ${record.change.action}`;
  if (record.kind !== "statusChange" || record.change.action !== action) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot ${action} with ${file.name}: it is ${found}, not a ${action}`,
      { hint: "`nx licensed import FILE` takes any token or status change" },
    );
  }
}

const short = (id: string) => id.slice(0, 16);
const day = (iso: string) => iso.slice(0, 10);

export function statusLine(s: EntitlementStatus): string {
  const app = s.version ? `${s.appId} ${s.version}` : `${s.appId} (not installed)`;
  if (!s.paid) return `${app}: free (no sku): active`;
  const t = s.token;
  const held = t ? `, token ${short(t.tokenId)} ${t.type} until ${day(t.expires)}` : "";
  return s.active
    ? `${app}: ${s.sku} active${held}`
    : `${app}: ${s.sku} inactive (${s.code})${held}`;
}

function tokenRows(tokens: TokenView[]): string {
  return table(
    ["token", "app", "sku", "type", "state", "valid from", "expires"],
    tokens.map((t) => [
      short(t.tokenId),
      t.appId,
      t.sku,
      t.type,
      t.state + (t.reason ? ` (${t.reason})` : ""),
      day(t.notBefore),
      day(t.expires),
    ]),
  );
}

function renderLedger(v: LedgerView): string {
  const lines = [`device ${v.device ?? "none yet (made by the first import)"}`];
  lines.push(v.tokens.length === 0 ? "no entitlements" : tokenRows(v.tokens));
  if (v.changes.length > 0) {
    lines.push(table(
      ["change", "token", "app", "issued", "serial", "applies", "reason"],
      v.changes.map((c) => [
        c.action,
        short(c.tokenId),
        c.appId,
        day(c.issuedAt),
        String(c.serial),
        c.applies ? "yes" : "no",
        c.reason,
      ]),
    ));
  }
  return lines.join("\n");
}

const renderStores = (keys: StoreKeyView[]) =>
  keys.length === 0
    ? "no trusted store keys"
    : table(["id", "name"], keys.map((k) => [k.id, k.name ?? "-"]));

type Opts = CommonOptions;

const importSpec = (
  action?: "revoke" | "restore",
): RootCommand<"licensedImport", [files: string[], opts: Opts]> => ({
  method: "licensedImport",
  toRequest: async (files) => {
    const read = [];
    for (const f of files) read.push(await readRecordFile(f));
    if (action) { for (const r of read) await expectAction(r, action); }
    // Loaded here, not at start-up: the start-up graph holds no node: module.
    const { Buffer } = await import("node:buffer");
    return {
      records: read.map((r) => ({ name: r.name, data: Buffer.from(r.bytes).toString("base64") })),
    };
  },
  render: (r) => {
    const added = r.records.filter((x) => x.added).length;
    return {
      message: `${added} of ${r.records.length} record(s) added`,
      data: r,
      human: [
        ...r.records.map((x) =>
          `${x.added ? "added" : "already held"}: ${
            x.kind === "entitlement" ? "entitlement" : x.action
          } ${x.sku} for ${x.appId} (token ${short(x.tokenId)})`
        ),
        ...r.apps.map(statusLine),
      ].join("\n"),
    };
  },
});

export const LICENSED_LIST: RootCommand<"licensedList", [opts: Opts & { app?: string }]> = {
  method: "licensedList",
  toRequest: (opts) => (opts.app ? { app: opts.app } : {}),
  render: (v) => ({
    message: `${v.tokens.length} entitlement(s), ${v.changes.length} status change(s)`,
    data: v,
    human: renderLedger(v),
  }),
};

export const LICENSED_STATUS: RootCommand<
  "licensedStatus",
  [app: string, opts: Opts & { sku?: string }]
> = {
  method: "licensedStatus",
  toRequest: (app, opts) => ({ app, ...(opts.sku ? { sku: opts.sku } : {}) }),
  render: (s) => ({ message: statusLine(s), data: s, human: statusLine(s) }),
};

export const LICENSED_DEVICE: RootCommand<"licensedDevice", [opts: Opts]> = {
  method: "licensedDevice",
  toRequest: () => ({}),
  render: (d) => ({
    message: `device ${d.fingerprint}`,
    data: d,
    human: `${d.fingerprint}${d.created ? " (made now)" : ""}`,
  }),
};

function trustCommand() {
  const trust = new Command("trust").description(
    "the store keys this root trusts to sign entitlements (pkg/store_keys.toml)",
  );
  trust.addCommand(rootCommand(
    withCommon(
      new Command("add")
        .description("trust a store's public key (its .pub file)")
        .argument("<key-file>", "the store's public key PEM file")
        .option("--name <name>", "a label for the store"),
    ),
    {
      method: "licensedTrustAdd",
      toRequest: async (file: string, opts: Opts & { name?: string }) => {
        const { readPublicKeyText } = await import("../core/pkgr/keys.ts");
        return {
          publicKey: await readPublicKeyText(file),
          ...(opts.name ? { name: opts.name } : {}),
        };
      },
      render: (k) => ({ message: `trusted store key ${k.id}`, data: k, human: renderStores([k]) }),
    } satisfies RootCommand<"licensedTrustAdd", [string, Opts & { name?: string }]>,
  ) as unknown as Command);
  trust.addCommand(rootCommand(
    withCommon(
      new Command("remove").description("stop trusting a store key").argument("<id>", "key id"),
    ),
    {
      method: "licensedTrustRemove",
      toRequest: (id: string) => ({ id }),
      render: (k) => ({ message: `removed store key ${k.id}`, data: k, human: `removed ${k.id}` }),
    } satisfies RootCommand<"licensedTrustRemove", [string, Opts]>,
  ) as unknown as Command);
  trust.addCommand(rootCommand(
    withCommon(new Command("list").description("list the trusted store keys")),
    {
      method: "licensedTrustList",
      toRequest: () => ({}),
      render: (keys) => ({
        message: `${keys.length} store key(s)`,
        data: { stores: keys },
        human: renderStores(keys),
      }),
    } satisfies RootCommand<"licensedTrustList", [Opts]>,
  ) as unknown as Command);
  return trust;
}

export function licensedCommand() {
  const licensed = new Command("licensed").description(
    "entitlements of paid apps: import tokens and revocations, show the ledger (docs/licensing.md)",
  );
  const verb = (name: string, description: string, action?: "revoke" | "restore") =>
    rootCommand(
      withCommon(
        new Command(name).description(description).argument(
          "<files...>",
          action
            ? `${action} file(s) (.nxr) from the store`
            : "token (.nxe) or status change (.nxr) file(s)",
        ),
      ),
      importSpec(action),
    );
  licensed.addCommand(
    verb("import", "import entitlement tokens or status changes") as unknown as Command,
  );
  licensed.addCommand(
    verb(
      "revoke",
      "import a store's revocation: the app turns inactive",
      "revoke",
    ) as unknown as Command,
  );
  licensed.addCommand(
    verb(
      "restore",
      "import a store's restore: a revoked token is valid again",
      "restore",
    ) as unknown as Command,
  );
  licensed.addCommand(rootCommand(
    withCommon(
      new Command("list")
        .description("the ledger: this root's device, its entitlements and status changes")
        .option("--app <app>", "only this app's"),
    ),
    LICENSED_LIST,
  ) as unknown as Command);
  licensed.addCommand(rootCommand(
    withCommon(
      new Command("status")
        .description("whether an app may be installed, upgraded and launched now")
        .argument("<app>", "app id")
        .option("--sku <sku>", "the sku to ask about when the app is not installed"),
    ),
    LICENSED_STATUS,
  ) as unknown as Command);
  licensed.addCommand(rootCommand(
    withCommon(
      new Command("device").description(
        "this root's device fingerprint, the device tokens are issued for (made on first use)",
      ),
    ),
    LICENSED_DEVICE,
  ) as unknown as Command);
  licensed.addCommand(trustCommand());
  return licensed;
}
