import { Command } from "@commander-js/extra-typings";
import type { Publisher } from "../core/trust/mod.ts";
import { runVerb, withCommon } from "./common.ts";
import { table } from "./render/text.ts";

function renderPublishers(publishers: Publisher[]): string {
  if (publishers.length === 0) return "no trusted publishers";
  return table(
    ["id", "name", "enabled", "algs", "keys"],
    publishers.map((
      p,
    ) => [
      p.id,
      p.name ?? "-",
      p.enabled ? "yes" : "no",
      p.allowed_algs.join(","),
      String(p.keys.length),
    ]),
  );
}

export function trustCommand() {
  const trust = new Command("trust").description(
    "manage the root's trusted publishers (pkg/publishers.toml)",
  );
  trust.addCommand(
    withCommon(
      new Command("add")
        .description("trust a publisher key (a .pub file, or the public half of a .key file)")
        .argument("<key-file>", "public or secret key PEM file")
        .option("--publisher <id>", "add the key to this existing publisher (key rotation)")
        .option("--name <name>", "a label for the publisher")
        .option("--disabled", "add the publisher disabled"),
    ).action((keyFile, opts) =>
      runVerb(opts, async (ctx) => {
        const { trustAdd } = await import("../core/pkgr/trust_admin.ts");
        const p = await trustAdd(ctx.paths, {
          keyFile,
          publisher: opts.publisher,
          name: opts.name,
          enabled: opts.disabled !== true,
        });
        return { message: `trusted publisher ${p.id}`, data: p, human: renderPublishers([p]) };
      })
    ),
  );
  trust.addCommand(
    withCommon(
      new Command("remove").description("stop trusting a publisher").argument(
        "<id>",
        "publisher id or name",
      ),
    ).action((id, opts) =>
      runVerb(opts, async (ctx) => {
        const { trustRemove } = await import("../core/pkgr/trust_admin.ts");
        const p = await trustRemove(ctx.paths, id);
        return {
          message: `removed publisher ${p.id}`,
          data: p,
          human: `removed publisher ${p.id}`,
        };
      })
    ),
  );
  trust.addCommand(
    withCommon(new Command("list").description("list trusted publishers")).action((opts) =>
      runVerb(opts, async (ctx) => {
        const { trustList } = await import("../core/pkgr/trust_admin.ts");
        const publishers = await trustList(ctx.paths);
        return {
          message: `${publishers.length} publisher(s)`,
          data: { publishers },
          human: renderPublishers(publishers),
        };
      })
    ),
  );
  return trust;
}
