/** The face of core/bytes/: everything other folders may use. */
export * from "./hex.ts";
