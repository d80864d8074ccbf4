/**
 * The entitlement gate's cost in a fresh process, the way an install pays it: run as
 * `deno run <nx's perms> _licensed_cold.ts MODE ROOT` (one process per sample, so every first
 * call is cold: lazy compilation, noble's tables, libSQL's first statement of a kind). It opens
 * a read session on ROOT first (untimed: both sides of the gate comparison open one), then times
 * one thing cold and again warm, and prints one JSON object of milliseconds on stdout.
 *
 * - `gate`: licensingOf() + requireEntitlement() for ledger.pro, the exact calls an install of a
 *   bundle with a sku makes in its session (core/pkgr/entitlement_gate.ts).
 * - `parts`: the same work split: readDevice() (read pkg/device.key, decode its PEM, derive the
 *   public key), the ledger's rows for the app (one libSQL batch), decodeRecord() of each row
 *   (strict Cap'n Proto decode + re-encode + SHA-256 token id), evaluate().
 */
import { decodeRecord, evaluate, type LedgerFacts } from "../../core/entitlement/mod.ts";
import { readDevice } from "../../core/licensed/mod.ts";
import { silentReporter } from "../../core/pkgr/context.ts";
import { licensingOf, requireEntitlement } from "../../core/pkgr/entitlement_gate.ts";
import { unixSeconds } from "../../core/pkgr/licensed_views.ts";
import { type Session, withSession } from "../../core/pkgr/session.ts";
import { rootPaths } from "../../core/store/root.ts";
import { APP, SKU } from "./_licensed_setup.ts";

export const COLD_MODES = ["gate", "parts"] as const;
export type ColdMode = typeof COLD_MODES[number];

/** ms by part; `<part>` is the first call, `<part>.warm` the second in the same process. */
export type ColdTimes = Record<string, number>;

type Ctx = Parameters<typeof requireEntitlement>[1];

async function twice(out: ColdTimes, name: string, op: () => unknown): Promise<void> {
  for (const key of [name, `${name}.warm`]) {
    const start = performance.now();
    await op();
    out[key] = performance.now() - start;
  }
}

async function gate(s: Session, ctx: Ctx, out: ColdTimes) {
  await twice(
    out,
    "gate",
    async () => requireEntitlement(await licensingOf(s, ctx), ctx, APP, SKU, `install ${APP}`),
  );
}

async function parts(s: Session, ctx: Ctx, out: ColdTimes) {
  let device: string | undefined;
  await twice(out, "device", async () => (device = (await readDevice(ctx.paths))?.fingerprint));
  let rows: Awaited<ReturnType<Session["registry"]["ledger"]["read"]>> | undefined;
  await twice(out, "ledger-read", async () => (rows = await s.registry.ledger.read(APP)));
  let facts: LedgerFacts = { tokens: [], changes: [] };
  await twice(out, "decode", () => {
    facts = {
      tokens: rows!.tokens.map((r) => decodeRecord(r.record)) as LedgerFacts["tokens"],
      changes: rows!.changes.map((r) => decodeRecord(r.record)) as LedgerFacts["changes"],
    };
  });
  const query = { appId: APP, sku: SKU, deviceFp: device ?? "", now: unixSeconds(ctx.now) };
  await twice(out, "evaluate", () => {
    if (!evaluate(facts, query).active) throw new Error("cannot time the gate: it denies");
  });
  out.tokens = rows!.tokens.length;
}

export async function coldTimes(mode: ColdMode, root: string): Promise<ColdTimes> {
  const ctx: Ctx = { paths: rootPaths(root), reporter: silentReporter, now: new Date() };
  const out: ColdTimes = {};
  await withSession(ctx, {}, { mode: "read", op: "launch" }, async (s) => {
    // The session's own first query, untimed, as an install's snapshot makes one before the gate.
    await s.registry.get(APP);
    if (mode === "gate") await gate(s, ctx, out);
    else await parts(s, ctx, out);
  });
  return out;
}

if (import.meta.main) {
  const [mode, root] = Deno.args;
  if (!COLD_MODES.includes(mode as ColdMode) || root === undefined) {
    console.error(`usage: _licensed_cold.ts ${COLD_MODES.join("|")} ROOT`);
    Deno.exit(2);
  }
  console.log(JSON.stringify(await coldTimes(mode as ColdMode, root)));
}
