/**
 * The face of core/agent/: the `nx agent` side of the protocol — the server, its listeners and
 * connections, the dispatch of calls to the local Pkgr, and the upload receiver with its
 * content store.
 */
export * from "./connection.ts";
export * from "./content_store.ts";
export * from "./dispatch.ts";
export * from "./listeners.ts";
export * from "./provision.ts";
export * from "./server.ts";
export * from "./uploads.ts";
