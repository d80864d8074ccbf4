/**
 * The contract (pure): every command that touches a state root is one method of {@link Pkgr},
 * listed with its request and result schemas in {@link METHODS}. Requests, results, events and
 * failures are plain values that cross a wire unchanged; the domain records they carry
 * (AppRecord, PermissionDiff, Step, …) are defined here and nowhere else.
 *
 * ```ts
 * const pkgr = createPkgr({ root: rootPaths("/var/lib/nx") }); // core/pkgr
 * const ctx = { now: new Date(), reporter: silentReporter };
 * const result = await pkgr.install({ bundle: { kind: "path", path: "notes.nxb" } }, ctx);
 * METHODS.install.result.parse(JSON.parse(JSON.stringify(result))); // what an agent would send
 * ```
 */
export type * from "./records.ts";
export type * from "./results.ts";
export * from "./events.ts";
export * from "./failure.ts";
export * from "./vocabulary.ts";
export * from "./record_schemas.ts";
export * from "./result_schemas.ts";
export * from "./requests.ts";
export * from "./licensing.ts";
export * from "./methods.ts";
