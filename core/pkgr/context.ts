/**
 * What every operation inside the service runs with: the instance's root and one call's context
 * (reference time, reporter, cancellation), joined per call by createPkgr (service.ts).
 */
import type { CallContext, Reporter } from "../api/mod.ts";
import type { RootPaths } from "../store/mod.ts";

export type { ProgressEvent, Reporter } from "../api/mod.ts";
export { silentReporter } from "../api/events.ts";

export interface OpContext extends CallContext {
  paths: RootPaths;
}

export function marker(ctx: { reporter: Reporter }, text: string): void {
  ctx.reporter.emit({ kind: "marker", text });
}
