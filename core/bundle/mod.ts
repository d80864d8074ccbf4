/** The face of core/bundle/: everything other folders may use. */
export * from "./facts.ts";
export * from "./index_format.ts";
export * from "./layout.ts";
export * from "./manifest_codec.ts";
export * from "./manifest_types.ts";
export * from "./meta.ts";
export * from "./validate.ts";
