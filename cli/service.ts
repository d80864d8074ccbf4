/** Builds the Pkgr service for a verb, with the test-only fault triggers from NX_FAULT. */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import { parseFaults } from "../core/apply/mod.ts";
import { createPkgr, type Pkgr } from "../core/pkgr/service.ts";
import type { ServiceOptions } from "../core/pkgr/session.ts";
import { setIoFaults } from "../core/store/faults.ts";
import type { VerbContext } from "./common.ts";

export function withRegistryUrl<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd.option(
    "--registry-url <url>",
    "libSQL URL of a shared registry (default: file:<root>/pkg/registry.db)",
  );
}

export function serviceOptions(opts: { registryUrl?: string }): ServiceOptions {
  const faults = parseFaults(Deno.env.get("NX_FAULT"));
  setIoFaults(faults.io);
  return { registryUrl: opts.registryUrl, faults };
}

export function pkgrFor(ctx: VerbContext, opts: { registryUrl?: string }): Pkgr {
  return createPkgr(ctx, serviceOptions(opts));
}
