/** The face of core/pack/: everything other folders may use. */
export * from "./assemble.ts";
export * from "./manifest_toml.ts";
