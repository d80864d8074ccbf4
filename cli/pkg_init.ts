/** `nx pkg init [--root DIR]`: create the state root (idempotent), then say what comes next. */
import { Command } from "@commander-js/extra-typings";
import { type CommonOptions, withCommon } from "./common.ts";
import { escapeText } from "./render/escape.ts";
import { type RootCommand, rootCommand } from "./root_command.ts";

export const INIT: RootCommand<"init", [opts: CommonOptions]> = {
  method: "init",
  toRequest: () => ({}),
  render: (r) => {
    const said = r.created ? `created root ${r.root}` : `root ${r.root} already exists`;
    const next = r.publishers === 0
      ? `next: trust a publisher, \`nx pkg trust add <publisher>.pub --root ${r.root}\``
      : `it trusts ${r.publishers} publisher(s): \`nx pkg trust list --root ${r.root}\``;
    return { message: said, data: r, human: `${escapeText(said)}\n${escapeText(next)}` };
  },
};

export function initCommand() {
  return rootCommand(
    withCommon(
      new Command("init").description(
        "create the state root (pkg/, apps/, the registry); does nothing to an existing one",
      ),
    ),
    INIT,
  );
}
