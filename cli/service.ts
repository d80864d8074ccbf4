/**
 * Builds the Pkgr service for a verb, with the test-only fault triggers from NX_FAULT. The
 * service (and libSQL behind it) is loaded only by the verbs that use it.
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { Pkgr, ServiceOptions } from "../core/pkgr/mod.ts";
import type { VerbContext } from "./common.ts";

export function withRegistryUrl<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd.option(
    "--registry-url <url>",
    "libSQL URL of a shared registry (default: file:<root>/pkg/registry.db)",
  );
}

export async function serviceOptions(opts: { registryUrl?: string }): Promise<ServiceOptions> {
  const { parseFaults } = await import("../core/apply/faults.ts");
  const { setIoFaults } = await import("../core/store/faults.ts");
  const faults = parseFaults(Deno.env.get("NX_FAULT"));
  setIoFaults(faults.io);
  return { registryUrl: opts.registryUrl, faults };
}

export async function pkgrFor(ctx: VerbContext, opts: { registryUrl?: string }): Promise<Pkgr> {
  const { createPkgr } = await import("../core/pkgr/service.ts");
  return createPkgr(ctx, await serviceOptions(opts));
}
