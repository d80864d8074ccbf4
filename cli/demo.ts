/**
 * `nx demo`: the README's first command. On a demo state root (default ./.nx-demo/root) it
 * trusts the fixture dev key, packs the `notes` fixture source, verifies and inspects the result.
 */
import { Command } from "@commander-js/extra-typings";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runVerb, withCommon } from "./common.ts";
import { renderBundle } from "./render/bundle.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));

export function demoCommand() {
  return withCommon(
    new Command("demo").description(
      "pack, verify and inspect the built-in `notes` fixture on a demo root",
    ),
  ).action((opts) =>
    runVerb({ ...opts, root: opts.root ?? ".nx-demo/root" }, async (ctx) => {
      const { loadSecretKey } = await import("../core/pkgr/keys.ts");
      const { pack } = await import("../core/pkgr/pack.ts");
      const { trustAdd } = await import("../core/pkgr/trust_admin.ts");
      const { verifyAt } = await import("../core/pkgr/verify.ts");
      const log = (line: string) => ctx.out.options.json || ctx.out.stderr(line);
      const work = join(ctx.paths.root, "..", "bundles");
      const publisher = await trustAdd(ctx.paths, {
        keyFile: join(FIXTURES, "keys", "dev.pub"),
        name: "dev",
        enabled: true,
      });
      log(`root ${ctx.paths.root}: trusted publisher dev (${publisher.id})`);
      const packed = await pack({
        source: join(FIXTURES, "src", "notes-1.0.0"),
        out: join(work, "notes.nxb"),
        key: await loadSecretKey(join(FIXTURES, "keys", "dev.key")),
        force: true,
        sourceDateEpoch: 0,
      }, ctx.reporter);
      log(`packed ${packed.name}@${packed.version} → ${packed.out}`);
      const verified = await verifyAt(packed.out, ctx);
      return {
        message:
          `demo ok: ${verified.manifest.name}@${verified.manifest.version} packed and verified`,
        data: { root: ctx.paths.root, pack: packed, verify: verified },
        human: `verification: ok\n${renderBundle(packed.out, verified)}`,
      };
    })
  );
}
