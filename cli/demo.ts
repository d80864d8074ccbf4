/**
 * `nx demo`: the README's first command. On a fresh demo state root (default ./.nx-demo/root,
 * recreated on every run) it trusts the fixture dev key, packs the `notes` 1.0.0 and 1.1.0
 * fixture sources, verifies, installs, upgrades (running the data migration), rolls back and
 * lists — every step through the same service the `nx pkg` verbs use.
 */
import { Command } from "@commander-js/extra-typings";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { NxError } from "../core/errors.ts";
import { runVerb, withMarkers, withRoot } from "./common.ts";
import { renderBundle } from "./render/bundle.ts";
import { opMessage, renderApps } from "./render/lifecycle.ts";
import { pkgrFor } from "./service.ts";
import type { CallContext } from "../core/api/mod.ts";

const FIXTURES = fileURLToPath(new URL("../fixtures/", import.meta.url));
const DEFAULT_DEMO_ROOT = ".nx-demo/root";

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    for await (const _ of Deno.readDir(dir)) return false;
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

export function demoCommand() {
  return withMarkers(withRoot(
    new Command("demo").description(
      "pack, verify, install, upgrade and roll back the built-in `notes` app on a demo root",
    ),
    "a new or empty demo root (default: ./.nx-demo/root, recreated; never $NX_ROOT)",
  )).action((opts) =>
    runVerb({ ...opts, root: opts.root ?? DEFAULT_DEMO_ROOT }, async (ctx) => {
      const { loadSecretKey, readPublicKeyText } = await import("../core/pkgr/keys.ts");
      const { pack } = await import("../core/pkgr/pack.ts");
      if (opts.root === undefined) {
        await Deno.remove(resolve(".nx-demo"), { recursive: true }).catch(() => {});
      } else if (!(await isEmptyOrMissing(ctx.paths.root))) {
        throw new NxError(
          "usage.invalid_argument",
          `cannot run the demo on ${ctx.paths.root}: not empty`,
          {
            hint: "the demo needs a new root; omit --root to use ./.nx-demo/root",
          },
        );
      }
      const log = (line: string) => ctx.out.log(line);
      const bundles = join(ctx.paths.root, "..", "bundles");
      // Every step on the root is a method of the contract, as the `nx pkg` verbs call them.
      const pkgr = await pkgrFor(ctx.paths, {}, true);
      const call: CallContext = { now: ctx.now, reporter: ctx.reporter };
      const publicKey = await readPublicKeyText(join(FIXTURES, "keys", "dev.pub"));
      const publisher = await pkgr.trustAdd({ publicKey, name: "dev", enabled: true }, call);
      log(`root ${ctx.paths.root}: trusted publisher dev (${publisher.id})`);
      const key = await loadSecretKey(join(FIXTURES, "keys", "dev.key"));
      const packed = [];
      for (const version of ["1.0.0", "1.1.0"]) {
        const out = join(bundles, `notes@${version}.nxb`);
        packed.push(
          await pack(
            {
              source: join(FIXTURES, "src", `notes-${version}`),
              out,
              key,
              force: true,
              sourceDateEpoch: 0,
            },
            ctx.reporter,
          ),
        );
        log(`packed notes@${version} → ${out}`);
      }
      const path = (bundle: string) => ({ kind: "path" as const, path: bundle });
      const verified = await pkgr.verify({ bundle: path(packed[0].out) }, call);
      log(`verified:\n${renderBundle(packed[0].out, verified)}`);
      const steps = [await pkgr.install({ bundle: path(packed[0].out) }, call)];
      const data = join(ctx.paths.apps, "notes", "data", "1.0.0", "notes.json");
      await Deno.writeTextFile(data, JSON.stringify([{ text: "groceries\nmilk, eggs" }]));
      log(`${opMessage(steps[0])}; wrote a note to ${data}`);
      steps.push(await pkgr.upgrade({ bundle: path(packed[1].out) }, call));
      const migrated = join(ctx.paths.apps, "notes", "data", "1.1.0", "notes.json");
      log(`${opMessage(steps[1])}; migrated note: ${await Deno.readTextFile(migrated)}`);
      steps.push(await pkgr.rollback({ app: "notes" }, call));
      log(opMessage(steps[2]));
      const apps = await pkgr.list({}, call);
      return {
        message: "demo ok: notes packed, verified, installed, upgraded and rolled back",
        data: { root: ctx.paths.root, packed, verified, steps, apps },
        human: renderApps(apps),
      };
    })
  );
}
