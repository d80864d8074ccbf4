import { Command } from "@commander-js/extra-typings";
import { type GlobalOptions, runVerb } from "./common.ts";
import { keyValues } from "./render/text.ts";

export function keygenCommand() {
  return (new Command("keygen")
    .description("create an Ed25519 key pair: <name>.key (secret, mode 0600) and <name>.pub")
    .requiredOption("--out <dir>", "directory for the key files")
    .requiredOption("--name <name>", "base name of the key files")
    .option("--force", "replace existing key files of that name")).action((opts) =>
      runVerb(opts as GlobalOptions, async () => {
        const { keygen } = await import("../core/pkgr/keys.ts");
        const r = await keygen(opts.out, opts.name, opts.force === true);
        return {
          message: `created key ${r.name}, publisher ${r.publisher}`,
          data: r,
          human: keyValues([["publisher", r.publisher], ["secret key", r.secretKey], [
            "public key",
            r.publicKey,
          ]]),
        };
      })
    );
}
