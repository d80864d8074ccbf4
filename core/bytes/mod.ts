/** The face of core/bytes/: everything other folders may use. */
export * from "./concat.ts";
export * from "./hex.ts";
