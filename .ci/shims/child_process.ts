/** `node:child_process` for commander, which spawns only executable subcommands: none in nx. */
import { unsupported } from "./_unsupported.ts";

export default {
  spawn(): never {
    unsupported("node:child_process", "spawn an executable subcommand");
  },
};
