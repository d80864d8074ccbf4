/** The face of core/pkgr/: the local implementation of the contract, and the verbs beside it. */
export * from "./context.ts";
export * from "./doctor.ts";
export * from "./keys.ts";
export * from "./pack.ts";
export * from "./pkgr.ts";
export * from "./results.ts";
export * from "./service.ts";
export * from "./session.ts";
export * from "./snapshot.ts";
export * from "./trust_admin.ts";
export * from "./verify.ts";
