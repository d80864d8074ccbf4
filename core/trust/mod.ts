/** The face of core/trust/: everything other folders may use. */
export * from "./challenge.ts";
export * from "./ed25519.ts";
export * from "./keys.ts";
export * from "./policy.ts";
export * from "./verify.ts";
export * from "./verify_structure.ts";
