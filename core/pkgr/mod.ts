/** The face of core/pkgr/: everything other folders may use. */
export * from "./context.ts";
export * from "./doctor.ts";
export * from "./keys.ts";
export * from "./pack.ts";
export * from "./results.ts";
export * from "./service.ts";
export * from "./session.ts";
export * from "./snapshot.ts";
export * from "./trust_admin.ts";
export * from "./verify.ts";
