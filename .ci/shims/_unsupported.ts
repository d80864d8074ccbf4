/** What a shim does where the bundle's start-up graph must never reach. */
import { NxError } from "../../core/errors.ts";

export function unsupported(module: string, action: string): never {
  throw new NxError(
    "internal.unexpected",
    `cannot ${action}: the bundle has no ${module} at start-up (commander needs it only for executable subcommands, which nx has none of)`,
    { hint: "run nx from source (NX_CLI=source) and report this" },
  );
}
