/**
 * The licensing methods of the contract (docs/licensing.md): import of signed records into the
 * root's ledger, the ledger and an app's status, the device, and the store keys the root trusts.
 * Writers run in a write session (the lock, recovery, the audit log); readers never create the
 * device key.
 */
import { Buffer } from "node:buffer";
import { NxError } from "../errors.ts";
import type {
  DeviceView,
  EntitlementStatus,
  ImportResult,
  LedgerView,
  StoreKeyView,
} from "../api/mod.ts";
import { fromHex } from "../bytes/mod.ts";
import {
  checkRecordSize,
  decodeRecord,
  type EntitlementRecord,
  type StatusChangeRecord,
} from "../entitlement/mod.ts";
import {
  addStoreKey,
  ensureDevice,
  importRecords,
  loadStoreKeys,
  readDevice,
  removeStoreKey,
  storeKeyMap,
} from "../licensed/mod.ts";
import { fingerprint } from "../trust/mod.ts";
import type { OpContext } from "./context.ts";
import { licensingOf } from "./entitlement_gate.ts";
import { changeView, entitlementStatus, tokenView, unixSeconds } from "./licensed_views.ts";
import { type ServiceOptions, type Session, withSession } from "./session.ts";

/** Key ids of the root's trusted bundle publishers: to say why such a signer is refused. */
function publisherKeyIds(s: Session): Set<string> {
  return new Set(
    s.trust.publishers.publishers.flatMap((p) => p.keys.map((k) => fingerprint(fromHex(k)))),
  );
}

function decodeFile(name: string, data: string): Uint8Array {
  // The decoded size is known before decoding: the 16 KiB cap holds for the base64 too.
  checkRecordSize(
    Math.floor((data.length * 3) / 4) - (data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0),
  );
  const bytes = new Uint8Array(Buffer.from(data, "base64"));
  if (Buffer.from(bytes).toString("base64") !== data) {
    throw new NxError("entitlement.malformed", `cannot read ${name}: not canonical base64`, {
      details: { name },
    });
  }
  return bytes;
}

async function statusIn(
  s: Session,
  ctx: OpContext,
  appId: string,
  sku?: string,
): Promise<EntitlementStatus> {
  const record = await s.registry.get(appId);
  const l = await licensingOf(s, ctx);
  // An installed app's sku is its manifest's (none: a free app); else the sku asked about, or
  // that of a token the ledger holds for the app.
  const held = record
    ? record.sku
    : sku ?? l.facts.tokens.find((t) => t.token.appId === appId)?.token.sku;
  return entitlementStatus(appId, held, record?.version, l.facts, l.device, l.now);
}

export function licensedMethods(ctx: OpContext, options: ServiceOptions) {
  const session = <T>(mode: "read" | "write", op: string, body: (s: Session) => Promise<T>) =>
    withSession(ctx, options, { mode, op }, body);
  const audit = (s: Session, entry: Parameters<Session["registry"]["audit"]>[0]) =>
    s.registry.audit(entry).catch((e) => {
      ctx.reporter.emit({
        kind: "warning",
        code: "registry.failed",
        message: `cannot write the audit entry: ${e instanceof Error ? e.message : String(e)}`,
      });
    });
  const time = ctx.now.toISOString();

  return {
    licensedImport: (req: { records: { name: string; data: string }[] }): Promise<ImportResult> =>
      session("write", "licensed-import", async (s) => {
        const device = await ensureDevice(ctx.paths);
        let imported;
        try {
          const files = req.records.map((r) => decodeFile(r.name, r.data));
          imported = await importRecords(s.registry, files, {
            storeKeys: storeKeyMap(await loadStoreKeys(ctx.paths)),
            publisherKeyIds: publisherKeyIds(s),
            deviceFp: device.fingerprint,
            now: unixSeconds(ctx.now),
          }, ctx.now);
        } catch (e) {
          // The refusal is audited; nothing else was written.
          const code = e instanceof NxError ? e.code : "internal.unexpected";
          const details = e instanceof NxError ? e.details : undefined;
          await audit(s, {
            time,
            op: "licensed-import",
            ...(typeof details?.appId === "string" ? { appId: details.appId } : {}),
            result: code,
            details: { records: req.records.map((r) => r.name), ...(details ?? {}) },
          });
          throw e;
        }
        const records = imported.map((r, i) => {
          const base = r.record.kind === "entitlement"
            ? { appId: r.record.token.appId, sku: r.record.token.sku, tokenId: r.record.tokenId }
            : {
              appId: r.record.change.appId,
              sku: r.record.change.sku,
              tokenId: r.record.change.tokenId,
              action: r.record.change.action,
            };
          return { name: req.records[i].name, kind: r.record.kind, ...base, added: r.added };
        });
        for (const r of records.filter((r) => r.added)) {
          await audit(s, {
            time,
            op: "licensed-import",
            appId: r.appId,
            result: "ok",
            details: {
              kind: r.kind,
              sku: r.sku,
              tokenId: r.tokenId,
              ...(r.action ? { action: r.action } : {}),
            },
          });
        }
        const pairs = [...new Map(records.map((r) => [`${r.appId}\0${r.sku}`, r])).values()];
        const apps = [];
        for (const p of pairs) apps.push(await statusIn(s, ctx, p.appId, p.sku));
        return { device: device.fingerprint, records, apps };
      }),

    licensedList: (req: { app?: string }): Promise<LedgerView> =>
      session("read", "licensed-list", async (s) => {
        const device = (await readDevice(ctx.paths))?.fingerprint;
        const rows = await s.registry.ledger.read(req.app);
        const facts = {
          tokens: rows.tokens.map((r) => decodeRecord(r.record) as EntitlementRecord),
          changes: rows.changes.map((r) => decodeRecord(r.record) as StatusChangeRecord),
        };
        const now = unixSeconds(ctx.now);
        return {
          device: device ?? null,
          tokens: facts.tokens.map((t) => tokenView(t, facts, device, now)),
          changes: facts.changes.map((c, i) => changeView(c, rows.changes[i].recordId, facts)),
        };
      }),

    licensedStatus: (req: { app: string; sku?: string }): Promise<EntitlementStatus> =>
      session("read", "licensed-status", (s) => statusIn(s, ctx, req.app, req.sku)),

    licensedDevice: (): Promise<DeviceView> =>
      session("write", "licensed-device", async () => {
        const held = await readDevice(ctx.paths);
        return held ?? await ensureDevice(ctx.paths);
      }),

    licensedTrustAdd: (req: { publicKey: string; name?: string }): Promise<StoreKeyView> =>
      session("write", "licensed-trust-add", async (s) => {
        const key = await addStoreKey(ctx.paths, req.publicKey, req.name);
        await audit(s, {
          time,
          op: "licensed-trust-add",
          result: "ok",
          details: { store: key.id, ...(key.name ? { name: key.name } : {}) },
        });
        return key;
      }),

    licensedTrustRemove: (req: { id: string }): Promise<StoreKeyView> =>
      session("write", "licensed-trust-remove", async (s) => {
        const key = await removeStoreKey(ctx.paths, req.id);
        await audit(s, {
          time,
          op: "licensed-trust-remove",
          result: "ok",
          details: { store: key.id },
        });
        return key;
      }),

    licensedTrustList: (): Promise<StoreKeyView[]> =>
      session("read", "licensed-trust-list", () => loadStoreKeys(ctx.paths)),
  };
}
