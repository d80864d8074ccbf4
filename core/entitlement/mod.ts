/** The face of core/entitlement/: licensing records, their verification, the gate, catalogs. */
export * from "./catalog.ts";
export * from "./codec.ts";
export * from "./dev_store.ts";
export * from "./gate.ts";
export * from "./record.ts";
export * from "./sign.ts";
export * from "./store.ts";
export * from "./types.ts";
export * from "./verify.ts";
export { SKU_ID } from "./fields.ts";
