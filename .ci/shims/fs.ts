/** `node:fs` for commander, which reads files only to find executable subcommands: none in nx. */
import { unsupported } from "./_unsupported.ts";

export default {
  existsSync(): never {
    unsupported("node:fs", "look for an executable subcommand");
  },
  realpathSync(): never {
    unsupported("node:fs", "look for an executable subcommand");
  },
};
