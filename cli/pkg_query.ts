/** `nx pkg list | info | history | query`: read-only views of the registry; never block. */
import { Command } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { renderApps, renderHistory, renderHits, renderInfo } from "./render/lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

type Opts = CommonOptions & { registryUrl?: string };

const reader = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  withRegistryUrl(withCommon(cmd));

export const LIST: RootCommand<"list", [opts: Opts]> = {
  method: "list",
  toRequest: () => ({}),
  render: (apps) => ({ message: `${apps.length} app(s)`, data: { apps }, human: renderApps(apps) }),
};

export const INFO: RootCommand<"info", [app: string, opts: Opts]> = {
  method: "info",
  toRequest: (app) => ({ app }),
  render: (info) => ({
    message: `${info.id} ${info.version} (${info.state})`,
    data: info,
    human: renderInfo(info),
  }),
};

export const HISTORY: RootCommand<
  "history",
  [app: string | undefined, opts: Opts & { limit?: string }]
> = {
  method: "history",
  toRequest: (app, opts) => {
    const limit = opts.limit === undefined ? undefined : Number(opts.limit);
    if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
      throw new NxError(
        "usage.invalid_argument",
        `cannot use --limit ${opts.limit}: not a positive integer`,
      );
    }
    return { ...(app !== undefined ? { app } : {}), ...(limit !== undefined ? { limit } : {}) };
  },
  render: (entries) => ({
    message: `${entries.length} entr${entries.length === 1 ? "y" : "ies"}`,
    data: { entries },
    human: renderHistory(entries),
  }),
};

type QueryOpts = Opts & { ability?: string; capability?: string; export?: string };

export const QUERY: RootCommand<"query", [opts: QueryOpts]> = {
  method: "query",
  toRequest: (opts) => {
    const given = [opts.ability, opts.capability, opts.export].filter((v) => v !== undefined);
    if (given.length !== 1) {
      throw new NxError(
        "usage.invalid_argument",
        "cannot query: give exactly one of --ability, --capability, --export",
      );
    }
    return opts.ability !== undefined
      ? { ability: opts.ability }
      : opts.capability !== undefined
      ? { capability: opts.capability }
      : { export: opts.export! };
  },
  render: (hits) => ({
    message: `${hits.length} match(es)`,
    data: { hits },
    human: renderHits(hits),
  }),
};

export function listCommand() {
  return rootCommand(reader(new Command("list").description("list installed apps")), LIST);
}

export function infoCommand() {
  return rootCommand(
    reader(
      new Command("info").description("show one app: versions, sizes, permissions, history")
        .argument("<app>", "app id"),
    ),
    INFO,
  );
}

export function historyCommand() {
  return rootCommand(
    reader(
      new Command("history")
        .description("the audit trail: every operation, its result code, versions and time")
        .argument("[app]", "only this app")
        .option("--limit <n>", "only the last n entries"),
    ),
    HISTORY,
  );
}

export function queryCommand() {
  return rootCommand(
    reader(
      new Command("query")
        .description(
          "which apps declare an ability, capability or export (the ability guard's question)",
        )
        .option("--ability <name>", "apps providing this ability")
        .option("--capability <name>", "apps holding this capability")
        .option("--export <permission>", "apps exporting this permission"),
    ),
    QUERY,
  );
}
