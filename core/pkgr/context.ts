/** What every operation receives: the root, a reporter for events, and a fixed reference time. */
import type { RootPaths } from "../store/mod.ts";

export type ProgressEvent =
  | { kind: "marker"; text: string }
  | { kind: "warning"; code: string; message: string }
  | { kind: "progress"; phase: string; done: number; total: number };

/** Core never prints: events flow through an injected reporter (cli/render decides how). */
export interface Reporter {
  emit(event: ProgressEvent): void;
}

export interface OpContext {
  paths: RootPaths;
  reporter: Reporter;
  /** Reference time, fixed once per operation. */
  now: Date;
}

export const silentReporter: Reporter = { emit() {} };

export function marker(ctx: { reporter: Reporter }, text: string): void {
  ctx.reporter.emit({ kind: "marker", text });
}
