/** `nx pkg list | info | history | query`: read-only views of the registry; never block. */
import { Command } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { withRegistryUrl } from "./service.ts";
import { brokenHint } from "./render/doctor.ts";
import { renderApps, renderHits, renderInfo } from "./render/lifecycle.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

type Opts = CommonOptions & { registryUrl?: string };

const reader = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  withRegistryUrl(withCommon(cmd));

export const LIST: RootCommand<"list", [opts: Opts]> = {
  method: "list",
  toRequest: () => ({}),
  render: (apps) => ({
    message: `${apps.length} app(s)`,
    data: { apps },
    human: renderApps(apps) + brokenHint(apps),
  }),
};

export const INFO: RootCommand<"info", [app: string, opts: Opts & { files?: true }]> = {
  method: "info",
  toRequest: (app, opts) => ({ app, ...(opts.files === true ? { files: true } : {}) }),
  render: (info) => ({
    message: `${info.id} ${info.version} (${info.state})`,
    data: info,
    human: renderInfo(info),
  }),
};

// `history` lives in pkg_history.ts (the audit log, with ids).
export { HISTORY, historyCommand } from "./pkg_history.ts";

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
      new Command("info")
        .description("show one app: versions, paths, sizes, dependencies, permissions, history")
        .argument("<app>", "app id")
        .option("--files", "list the active version's files with their size and SHA-256"),
    ),
    INFO,
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
