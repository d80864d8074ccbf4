/**
 * Peak RSS of `nx pkg verify` on the committed big bundle (15 MiB payload) against the same app
 * repacked with a 1 MiB payload (same assets, same dev key). Memory must be flat in payload size:
 * target (whole process) big ≤ small + 8 MiB. Peak RSS comes from GNU time (`%M`); without it
 * the metric is skipped rather than guessed.
 */
import { cp } from "node:fs/promises";
import { join } from "node:path";
import { ELF_PAYLOAD_FILE } from "../../core/bundle/layout.ts";
import { filler } from "../../fixtures/catalog.ts";
import {
  GNU_TIME,
  gnuTimeAvailable,
  median,
  metric,
  peakRssMiB,
  sample,
  skipped,
  type Suite,
} from "./_measure.ts";
import { BIG_BUNDLE, BIG_SRC, denoRun, DEV_KEY, mib, nxCmd, nxOk, trustedRoot } from "./_nx.ts";

const SMALL_PAYLOAD = 1024 * 1024;
const NAME = "peak RSS of verify: 15 MiB payload vs 1 MiB payload";
const TARGET = { kind: "max_delta", max: 8, appliesTo: "whole-process" } as const;

/** big-1.0.0's source with payload.elf regenerated at 1 MiB, packed and signed with dev.key. */
async function smallBundle(scratch: string): Promise<string> {
  const src = join(scratch, "src-small");
  await cp(BIG_SRC, src, { recursive: true });
  await Deno.writeFile(
    join(src, ELF_PAYLOAD_FILE),
    filler("big-1.0.0 payload", SMALL_PAYLOAD, true),
  );
  const out = join(scratch, "small.nxb");
  await nxOk(["pkg", "pack", src, "--key", DEV_KEY, "--out", out]);
  return out;
}

export const memorySuite: Suite = {
  name: "memory",
  summary: "peak RSS of nx pkg verify: 15 MiB payload vs 1 MiB payload",
  async run(ctx) {
    if (!await gnuTimeAvailable()) {
      return [skipped(
        "memory",
        NAME,
        `GNU time is not installed at ${GNU_TIME} (apt package \`time\`); ` +
          "peak RSS is not guessed from /proc polling",
        { target: TARGET, unit: "MiB" },
      )];
    }
    const root = await trustedRoot(ctx.scratch);
    const small = await smallBundle(ctx.scratch);
    const bigPayload = (await Deno.stat(join(BIG_BUNDLE, ELF_PAYLOAD_FILE))).size;
    const smallPayload = (await Deno.stat(join(small, ELF_PAYLOAD_FILE))).size;
    // Every sample must exit 0 (runProcess throws otherwise): verify accepted both bundles.
    const verify = (bundle: string) => nxCmd(["pkg", "verify", bundle, "--root", root, "--json"]);
    const empty = join(ctx.scratch, "empty.ts");
    await Deno.writeTextFile(empty, "// start-up baseline: does nothing\n");

    ctx.log(`memory: peak RSS via ${GNU_TIME} -f %M`);
    const rssFile = join(ctx.scratch, "rss.txt");
    const rss = await sample(ctx.plan, {
      big: () => peakRssMiB(verify(BIG_BUNDLE), rssFile),
      small: () => peakRssMiB(verify(small), rssFile),
      deno: () => peakRssMiB(denoRun(empty), rssFile),
    });
    return [metric({
      suite: "memory",
      name: NAME,
      unit: "MiB",
      nxLabel: `peak RSS of nx pkg verify big-1.0.0.nxb (payload ${mib(bigPayload)})`,
      wholeProcess: rss.big,
      floorLabel: `peak RSS of nx pkg verify of the same app repacked with payload ` +
        `${mib(smallPayload)} (dev key)`,
      floor: rss.small,
      target: TARGET,
      notes: [
        `start-up baseline in the same run: \`deno run\` of an empty script peaks at ` +
        `${median(rss.deno).toFixed(1)} MiB (median)`,
      ],
    })];
  },
};
