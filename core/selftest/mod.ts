/**
 * The face of core/selftest/: `nx selftest`'s fixture scenario, run through a `Pkgr` (local, or
 * an agent's over a transport) with a check of the root after every step.
 */
export * from "./fixtures.ts";
export { CHECK_FAILED } from "./probe.ts";
export * from "./scenario.ts";
