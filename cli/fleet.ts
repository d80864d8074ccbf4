/**
 * A root command on a fleet: every target named by a repeated `--transport` or `--targets`, at
 * most `--parallel` at once. A target that fails never stops the others. Human output is one line
 * per target, in the order they were named, then a summary; `--json` is one envelope whose `data`
 * holds each target's own envelope (with its `target`) and the counts. The exit class is the
 * worst target's (docs/cli.md#fleets).
 */
import { EXIT_CLASSES } from "../core/errors.ts";
import { toNxError } from "../core/api/failure.ts";
import type { Pkgr, ProgressEvent, Reporter } from "../core/api/mod.ts";
import type { Envelope } from "../core/protocol/mod.ts";
import { makeContext } from "./common.ts";
import { type CommandResult, renderError } from "./render/envelope.ts";
import { hostSide, openRemote } from "./connect.ts";
import type { RemoteOptions } from "./remote.ts";

type Target = import("../core/transport/mod.ts").Target;

/** One target's outcome: its envelope (as `--json` of a single target), with the target. */
export type TargetEnvelope = Envelope & { target: string };

/** Runs `call` on every target; prints and sets the exit code. */
export async function runOnFleet(
  opts: RemoteOptions & { json?: true; quiet?: true; markers?: true },
  fleet: { targets: Target[]; parallel: number; timeoutMs?: number },
  call: (pkgr: Pkgr, reporter: Reporter) => Promise<CommandResult>,
): Promise<void> {
  const ctx = makeContext(opts);
  let host: Awaited<ReturnType<typeof hostSide>>;
  try {
    host = await hostSide(opts);
  } catch (e) {
    Deno.exitCode = renderError(ctx.out, e);
    return;
  }
  const { fleetExit, formatTarget, runFleet } = await import("../core/transport/mod.ts");
  const runs = await runFleet(fleet.targets, fleet.parallel, async (target) => {
    await using remote = await openRemote(target, host, fleet.timeoutMs);
    return await call(remote.pkgr, prefixed(ctx.out, formatTarget(target)));
  });
  const outcomes = runs.map((run) => {
    const name = formatTarget(run.target);
    return run.ok ? success(name, run.result) : failure(name, run.error);
  });
  const exit = fleetExit(runs);
  const failed = outcomes.filter((o) => !o.ok).length;
  const summary = `${outcomes.length} targets: ${outcomes.length - failed} ok, ${failed} failed`;
  if (ctx.out.options.json) {
    // The worst target (the first of them) gives the envelope its class and code.
    const worst = outcomes.find((o) => EXIT_CLASSES[o.class] === exit)!;
    ctx.out.json(
      {
        ok: failed === 0,
        class: worst.class,
        code: worst.code,
        message: summary,
        data: { targets: outcomes, ok: outcomes.length - failed, failed },
      } satisfies Envelope,
    );
  } else {
    const width = Math.max(...outcomes.map((o) => o.target.length));
    const lines = outcomes.map((o) =>
      `${o.target.padEnd(width)}  ${o.ok ? "ok   " : "error"}  ${o.message}` +
      (o.ok ? "" : ` [${o.code}]`)
    );
    ctx.out.stdout([...lines, summary].join("\n"));
  }
  Deno.exitCode = exit;
}

function success(target: string, result: CommandResult): TargetEnvelope {
  return {
    target,
    ok: true,
    class: "success",
    code: "ok",
    message: result.message,
    data: result.data,
  };
}

function failure(target: string, error: unknown): TargetEnvelope {
  const e = toNxError(error);
  const data = {
    ...(e.hint ? { hint: e.hint } : {}),
    ...(e.details ? { details: e.details } : {}),
  };
  return {
    target,
    ok: false,
    class: e.exitClass,
    code: e.code,
    message: e.message,
    ...(Object.keys(data).length > 0 ? { data } : {}),
  };
}

/**
 * A target's events on the shared stderr: markers and warnings carry the target in front (a
 * marker then no longer matches a harness's exact line, on purpose: it names one target of
 * many); progress is not drawn, as several targets cannot share one progress line.
 */
function prefixed(out: Reporter, target: string): Reporter {
  return {
    emit(event: ProgressEvent) {
      if (event.kind === "marker") out.emit({ ...event, text: `${target}: ${event.text}` });
      if (event.kind === "warning") out.emit({ ...event, message: `${target}: ${event.message}` });
    },
  };
}
