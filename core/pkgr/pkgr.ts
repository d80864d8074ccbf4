/**
 * `createPkgr`: the contract's {@link Pkgr} for one local state root — every method of
 * core/api METHODS. The instance holds only the root, the registry URL and the injected faults;
 * each call brings its own context (reference time, reporter, cancellation), so one instance
 * serves any number of calls, one after another or at once (a long-lived agent). Each method
 * loads its implementation when first called: `verify` never loads libSQL.
 */
import type { BundleRef, CallContext, Pkgr } from "../api/mod.ts";
// A light module (no schemas): verify, inspect, trust and policy never load the method table.
import { throwIfCancelled } from "../api/failure.ts";
import { type RootPaths, withIoFaults } from "../store/mod.ts";
import type { OpContext } from "./context.ts";
import { shownAs } from "./shown_as.ts";
import type { ServiceOptions } from "./session.ts";

/** The root, plus the registry URL and faults (ServiceOptions), for this instance alone. */
export interface PkgrOptions extends ServiceOptions {
  /** The state root every call acts on. */
  root: RootPaths;
}

export function createPkgr(options: PkgrOptions): Pkgr {
  const service: ServiceOptions = { registryUrl: options.registryUrl, faults: options.faults };
  const io = options.faults?.io ?? [];
  /** Joins the root and one call's context; the I/O faults hold for that call only. */
  const run = <T>(call: CallContext, body: (ctx: OpContext) => Promise<T>): Promise<T> =>
    withIoFaults(io, async () => {
      throwIfCancelled(call.signal);
      const ctx: OpContext = {
        paths: options.root,
        now: call.now,
        reporter: call.reporter,
        signal: call.signal,
      };
      return await body(ctx);
    });
  /** A call on a bundle shows the bundle by the name its caller gave it. */
  const runOn = <T>(call: CallContext, bundle: BundleRef, body: (ctx: OpContext) => Promise<T>) =>
    shownAs(bundle, () => run(call, body));
  const session = async (ctx: OpContext) =>
    (await import("./service.ts")).sessionMethods(ctx, service);
  const reads = async (ctx: OpContext) => (await import("./reads.ts")).readMethods(ctx, service);
  const licensed = async (ctx: OpContext) =>
    (await import("./licensed.ts")).licensedMethods(ctx, service);
  const verify = () => import("./verify.ts");
  const admin = () => import("./trust_admin.ts");
  const hint = () => import("./trust_hint.ts");

  return {
    verify: (req, call) =>
      runOn(call, req.bundle, async (ctx) => {
        const { bundlePath, verifyAt } = await verify();
        const { withTrustHint } = await hint();
        return withTrustHint(ctx, req.bundle, () => verifyAt(bundlePath(req.bundle), ctx));
      }),
    inspect: (req, call) =>
      runOn(call, req.bundle, async (ctx) => {
        const { bundlePath, inspectAt } = await verify();
        return inspectAt(bundlePath(req.bundle), ctx);
      }),
    install: (req, call) =>
      runOn(call, req.bundle, async (ctx) => {
        const { withTrustHint } = await hint();
        return withTrustHint(ctx, req.bundle, async () => (await session(ctx)).install(req));
      }),
    upgrade: (req, call) =>
      runOn(call, req.bundle, async (ctx) => {
        const { withTrustHint } = await hint();
        return withTrustHint(ctx, req.bundle, async () => (await session(ctx)).upgrade(req));
      }),
    rollback: (req, call) => run(call, async (ctx) => (await session(ctx)).rollback(req)),
    uninstall: (req, call) => run(call, async (ctx) => (await session(ctx)).uninstall(req)),
    repair: (req, call) => run(call, async (ctx) => (await session(ctx)).repair(req)),
    clearData: (req, call) => run(call, async (ctx) => (await session(ctx)).clearData(req)),
    list: (req, call) => run(call, async (ctx) => (await reads(ctx)).list(req)),
    info: (req, call) => run(call, async (ctx) => (await reads(ctx)).info(req)),
    history: (req, call) => run(call, async (ctx) => (await reads(ctx)).history(req)),
    query: (req, call) => run(call, async (ctx) => (await reads(ctx)).query(req)),
    doctor: (req, call) =>
      run(call, async (ctx) => {
        const { doctor } = await import("./doctor.ts");
        return doctor(ctx, service, req.repair === true);
      }),
    trustAdd: (req, call) => run(call, async (ctx) => (await admin()).trustAdd(ctx, req)),
    trustRemove: (req, call) => run(call, async (ctx) => (await admin()).trustRemove(ctx, req.id)),
    trustList: (_req, call) => run(call, async (ctx) => (await admin()).trustList(ctx.paths)),
    policyShow: (_req, call) => run(call, async (ctx) => (await admin()).policyShow(ctx.paths)),
    policySet: (req, call) =>
      run(call, async (ctx) => (await admin()).policySet(ctx, req.key, req.value)),
    init: (_req, call) => run(call, async (ctx) => (await import("./init.ts")).init(ctx)),
    licensedImport: (req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedImport(req)),
    licensedList: (req, call) => run(call, async (ctx) => (await licensed(ctx)).licensedList(req)),
    licensedStatus: (req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedStatus(req)),
    licensedDevice: (_req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedDevice()),
    licensedTrustAdd: (req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedTrustAdd(req)),
    licensedTrustRemove: (req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedTrustRemove(req)),
    licensedTrustList: (_req, call) =>
      run(call, async (ctx) => (await licensed(ctx)).licensedTrustList()),
    launch: (req, call) =>
      run(call, async (ctx) => (await import("./launch_call.ts")).launch(ctx, service, req)),
  };
}
