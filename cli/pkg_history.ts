/**
 * `nx pkg history [APP] [--limit N]` lists the audit log with each entry's id;
 * `nx pkg history --id N` shows one entry in full (as `snap changes` / `snap change N`).
 */
import { Command } from "@commander-js/extra-typings";
import type { AuditEntry } from "../core/api/mod.ts";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { keyValues, none, table } from "./render/text.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

type Opts = CommonOptions & { registryUrl?: string; limit?: string; id?: string };

function positive(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!(/^[0-9]+$/.test(text) && Number.isSafeInteger(n) && n > 0)) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot use ${flag} ${text}: not a positive integer`,
    );
  }
  return n;
}

function who(e: AuditEntry): string | undefined {
  if (!e.actor) return undefined;
  const user = e.actor.user ?? "?";
  const uid = e.actor.uid === null ? "" : ` (uid ${e.actor.uid})`;
  return `${user}${uid}, nx ${e.actor.nxVersion}`;
}

/** The list: one row per entry, its id first. */
export function renderEntries(entries: AuditEntry[]): string {
  if (entries.length === 0) return none("history entries");
  return table(
    ["id", "time", "op", "app", "from", "to", "result", "by"],
    entries.map((e) => [
      String(e.seq ?? "-"),
      e.time,
      e.op,
      e.appId ?? "-",
      e.fromVersion ?? "-",
      e.toVersion ?? "-",
      e.result,
      e.actor?.user ?? "-",
    ]),
  );
}

function shown(v: unknown): string {
  return typeof v === "string" ? v : JSON.stringify(v);
}

/** One entry in full: every field, then each detail on its own line. */
export function renderEntry(e: AuditEntry): string {
  const head = keyValues([
    ["id", e.seq],
    ["time", e.time],
    ["op", e.op],
    ["app", e.appId ?? "-"],
    ["from", e.fromVersion],
    ["to", e.toVersion],
    ["result", e.result],
    ["by", who(e) ?? "- (written by an nx before registry schema 3)"],
  ]);
  const details = Object.entries(e.details ?? {});
  if (details.length === 0) return head;
  const rows = keyValues(details.map(([k, v]) => [k, shown(v)]));
  return `${head}\ndetails:\n${rows.split("\n").map((l) => `  ${l}`).join("\n")}`;
}

export const HISTORY: RootCommand<"history", [app: string | undefined, opts: Opts]> = {
  method: "history",
  toRequest: (app, opts) => {
    const limit = positive("--limit", opts.limit);
    const id = positive("--id", opts.id);
    if (id !== undefined && (app !== undefined || limit !== undefined)) {
      throw new NxError(
        "usage.invalid_argument",
        "cannot show history: --id names one entry, without an app or --limit",
      );
    }
    return {
      ...(app !== undefined ? { app } : {}),
      ...(limit !== undefined ? { limit } : {}),
      ...(id !== undefined ? { id } : {}),
    };
  },
  render: (entries, _app, opts) =>
    opts.id !== undefined && entries.length === 1
      ? {
        message: `audit entry ${entries[0].seq}: ${entries[0].op} ${entries[0].result}`,
        data: { entries },
        human: renderEntry(entries[0]),
      }
      : {
        message: `${entries.length} entr${entries.length === 1 ? "y" : "ies"}`,
        data: { entries },
        human: renderEntries(entries),
      },
};

export function historyCommand() {
  return rootCommand(
    withRegistryUrl(withCommon(
      new Command("history")
        .description(
          "the audit log: every change of the root, its result, who made it; --id N: one in full",
        )
        .argument("[app]", "only this app")
        .option("--limit <n>", "only the last n entries")
        .option("--id <n>", "show the entry with this id in full"),
    )),
    HISTORY,
  );
}
