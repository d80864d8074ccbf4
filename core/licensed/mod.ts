/**
 * The face of core/licensed/: a root's licensing state on disk — its device key, the store keys
 * it trusts and the ledger of imported records (in the registry). The decisions are
 * core/entitlement's (pure); this folder gathers the facts and stores what was verified.
 */
export * from "./device.ts";
export * from "./ledger.ts";
export * from "./store_keys.ts";
