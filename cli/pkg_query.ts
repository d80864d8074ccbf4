/** `nx pkg list | info | history | query`: read-only views of the registry; never block. */
import { Command } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import type { RegistryQuery } from "../core/registry/mod.ts";
import { runVerb, withCommon } from "./common.ts";
import { pkgrFor, withRegistryUrl } from "./service.ts";
import { renderApps, renderHistory, renderHits, renderInfo } from "./render/lifecycle.ts";

const reader = <A extends unknown[], O extends Record<string, unknown>>(cmd: Command<A, O>) =>
  withRegistryUrl(withCommon(cmd));

export function listCommand() {
  return reader(new Command("list").description("list installed apps")).action((opts) =>
    runVerb(opts, async (ctx) => {
      const apps = await (await pkgrFor(ctx, opts)).list();
      return { message: `${apps.length} app(s)`, data: { apps }, human: renderApps(apps) };
    })
  );
}

export function infoCommand() {
  return reader(
    new Command("info").description("show one app: versions, sizes, permissions, history").argument(
      "<app>",
      "app id",
    ),
  )
    .action((app, opts) =>
      runVerb(opts, async (ctx) => {
        const info = await (await pkgrFor(ctx, opts)).info(app);
        return {
          message: `${info.id} ${info.version} (${info.state})`,
          data: info,
          human: renderInfo(info),
        };
      })
    );
}

export function historyCommand() {
  return reader(
    new Command("history")
      .description("the audit trail: every operation, its result code, versions and time")
      .argument("[app]", "only this app")
      .option("--limit <n>", "only the last n entries"),
  ).action((app, opts) =>
    runVerb(opts, async (ctx) => {
      const limit = opts.limit === undefined ? undefined : Number(opts.limit);
      if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
        throw new NxError(
          "usage.invalid_argument",
          `cannot use --limit ${opts.limit}: not a positive integer`,
        );
      }
      const entries = await (await pkgrFor(ctx, opts)).history(app, limit);
      return {
        message: `${entries.length} entr${entries.length === 1 ? "y" : "ies"}`,
        data: { entries },
        human: renderHistory(entries),
      };
    })
  );
}

export function queryCommand() {
  return reader(
    new Command("query")
      .description(
        "which apps declare an ability, capability or export (the ability guard's question)",
      )
      .option("--ability <name>", "apps providing this ability")
      .option("--capability <name>", "apps holding this capability")
      .option("--export <permission>", "apps exporting this permission"),
  ).action((opts) =>
    runVerb(opts, async (ctx) => {
      const given = [opts.ability, opts.capability, opts.export].filter((v) => v !== undefined);
      if (given.length !== 1) {
        throw new NxError(
          "usage.invalid_argument",
          "cannot query: give exactly one of --ability, --capability, --export",
        );
      }
      const q: RegistryQuery = opts.ability !== undefined
        ? { ability: opts.ability }
        : opts.capability !== undefined
        ? { capability: opts.capability }
        : { export: opts.export! };
      const hits = await (await pkgrFor(ctx, opts)).query(q);
      return { message: `${hits.length} match(es)`, data: { hits }, human: renderHits(hits) };
    })
  );
}
