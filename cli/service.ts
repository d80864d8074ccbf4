/**
 * Builds the service a root command calls: the contract's Pkgr for the local root (later, with a
 * transport flag, a remote one). The service (and libSQL behind it) is loaded only when a
 * command runs, and each method loads only its own implementation.
 */
import type { Command, OptionValues } from "@commander-js/extra-typings";
import type { Pkgr } from "../core/api/mod.ts";
import type { RootPaths } from "../core/store/paths.ts";

export function withRegistryUrl<A extends unknown[], O extends OptionValues>(cmd: Command<A, O>) {
  return cmd.option(
    "--registry-url <url>",
    "libSQL URL of a shared registry (default: file:<root>/pkg/registry.db)",
  );
}

/**
 * The Pkgr for `paths`. A command that opens a session (install … query, doctor) also passes its
 * registry URL and the test-only fault triggers of NX_FAULT (a malformed value is refused here).
 */
export async function pkgrFor(
  paths: RootPaths,
  opts: { registryUrl?: string },
  session: boolean,
): Promise<Pkgr> {
  const { createPkgr } = await import("../core/pkgr/pkgr.ts");
  if (!session) return createPkgr({ root: paths });
  const { parseFaults } = await import("../core/apply/faults.ts");
  const faults = parseFaults(Deno.env.get("NX_FAULT"));
  return createPkgr({ root: paths, registryUrl: opts.registryUrl, faults });
}
