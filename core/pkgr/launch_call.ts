/**
 * The `launch` method: the registry and the entitlement gate say whether the app may run (in a
 * read session, closed before the program starts), then launch.ts runs its active payload.
 */
import { NxError } from "../errors.ts";
import type { LaunchResult as LaunchReply } from "../api/mod.ts";
import { notInstalled } from "../plan/mod.ts";
import type { OpContext } from "./context.ts";
import { licensingOf, refuseInactive } from "./entitlement_gate.ts";
import { launchApp } from "./launch.ts";
import { type ServiceOptions, withSession } from "./session.ts";

export interface LaunchRequest {
  app: string;
  args?: string[];
  check?: boolean;
  capture?: boolean;
}

export async function launch(
  ctx: OpContext,
  options: ServiceOptions,
  req: LaunchRequest,
): Promise<LaunchReply> {
  const action = `launch ${req.app}`;
  const record = await withSession(ctx, options, { mode: "read", op: "launch" }, async (s) => {
    const found = await s.registry.get(req.app);
    if (!found) {
      const ids = (await s.registry.summaries()).map((a) => a.id);
      throw notInstalled(req.app, "launch", ids, "`nx pkg list` shows the installed apps");
    }
    if (found.state !== "active") {
      throw new NxError("app.inactive", `cannot ${action}: it is ${found.state}`, {
        details: { appId: found.id, reason: found.state },
        hint: "`nx pkg doctor` finishes or undoes an interrupted change",
      });
    }
    if (found.sku !== undefined) {
      refuseInactive(await licensingOf(s, ctx), ctx, found.id, found.sku, action);
    }
    return found;
  });
  const base = { app: record.id, version: record.version };
  if (req.check === true) return { ...base, launched: false };
  const run = await launchApp({
    paths: ctx.paths,
    record,
    args: req.args ?? [],
    stdio: req.capture === true ? "capture" : "inherit",
    signal: ctx.signal,
    reporter: ctx.reporter,
  });
  return {
    ...base,
    launched: true,
    exitCode: run.exitCode,
    ...(run.stdout !== undefined ? { stdout: run.stdout, stderr: run.stderr ?? "" } : {}),
    durationMs: run.durationMs,
  };
}
