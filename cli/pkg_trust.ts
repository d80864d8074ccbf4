import { Command } from "@commander-js/extra-typings";
import type { Publisher } from "../core/api/mod.ts";
import { type CommonOptions, withCommon } from "./common.ts";
import { table } from "./render/text.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

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

type AddOpts = CommonOptions & { publisher?: string; name?: string; disabled?: true };

export const TRUST_ADD: RootCommand<"trustAdd", [keyFile: string, opts: AddOpts]> = {
  method: "trustAdd",
  // The request carries the public key's text: the file is read here, on the caller's side.
  toRequest: async (keyFile, opts) => {
    const { readPublicKeyText } = await import("../core/pkgr/keys.ts");
    return {
      publicKey: await readPublicKeyText(keyFile),
      ...(opts.publisher !== undefined ? { publisher: opts.publisher } : {}),
      ...(opts.name !== undefined ? { name: opts.name } : {}),
      enabled: opts.disabled !== true,
    };
  },
  render: (p) => ({ message: `trusted publisher ${p.id}`, data: p, human: renderPublishers([p]) }),
};

export const TRUST_REMOVE: RootCommand<"trustRemove", [id: string, opts: CommonOptions]> = {
  method: "trustRemove",
  toRequest: (id) => ({ id }),
  render: (p) => ({
    message: `removed publisher ${p.id}`,
    data: p,
    human: `removed publisher ${p.id}`,
  }),
};

export const TRUST_LIST: RootCommand<"trustList", [opts: CommonOptions]> = {
  method: "trustList",
  toRequest: () => ({}),
  render: (publishers) => ({
    message: `${publishers.length} publisher(s)`,
    data: { publishers },
    human: renderPublishers(publishers),
  }),
};

export function trustCommand() {
  const trust = new Command("trust").description(
    "manage the root's trusted publishers (pkg/publishers.toml)",
  );
  trust.addCommand(rootCommand(
    withCommon(
      new Command("add")
        .description("trust a publisher key (a .pub file, or the public half of a .key file)")
        .argument("<key-file>", "public or secret key PEM file")
        .option("--publisher <id>", "add the key to this existing publisher (key rotation)")
        .option("--name <name>", "a label for the publisher")
        .option("--disabled", "add the publisher disabled"),
    ),
    TRUST_ADD,
  ));
  trust.addCommand(rootCommand(
    withCommon(
      new Command("remove").description("stop trusting a publisher").argument(
        "<id>",
        "publisher id or name",
      ),
    ),
    TRUST_REMOVE,
  ));
  trust.addCommand(
    rootCommand(
      withCommon(new Command("list").description("list trusted publishers")),
      TRUST_LIST,
    ),
  );
  return trust;
}
