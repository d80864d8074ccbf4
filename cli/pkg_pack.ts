import { Command } from "@commander-js/extra-typings";
import { NxError } from "../core/errors.ts";
import { runVerb, withMarkers } from "./common.ts";
import { renderPacked } from "./render/bundle.ts";

function sourceDateEpoch(): number {
  const text = Deno.env.get("SOURCE_DATE_EPOCH") ?? "0";
  if (!/^\d{1,12}$/.test(text)) {
    throw new NxError(
      "usage.invalid_argument",
      `cannot use SOURCE_DATE_EPOCH=${text}: not seconds`,
    );
  }
  return Number(text);
}

export function packCommand() {
  return withMarkers(
    new Command("pack")
      .description("build a signed <name>.nxb bundle from a source directory holding manifest.toml")
      .argument(
        "<src>",
        "source directory: manifest.toml, payload.elf|payload.nxir, assets/, migrations/",
      )
      .option("--key <file>", "secret key (PEM) that signs the payload and the file index")
      .option("--out <dir>", "output bundle directory (default: ./<name>.nxb)")
      .option("--force", "replace an existing output bundle"),
  ).action((src, opts) =>
    runVerb(opts, async (ctx) => {
      const { loadSecretKey } = await import("../core/pkgr/keys.ts");
      const { pack } = await import("../core/pkgr/pack.ts");
      const key = opts.key ? await loadSecretKey(opts.key) : undefined;
      const r = await pack(
        {
          source: src,
          out: opts.out,
          key,
          force: opts.force === true,
          sourceDateEpoch: sourceDateEpoch(),
        },
        ctx.reporter,
      );
      return { message: `built ${r.name}@${r.version}`, data: r, human: renderPacked(r) };
    })
  );
}
