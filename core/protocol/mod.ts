/** The protocol folder's face: the `--json` envelope and the Pkgr service schemas (agent protocol). */
export * from "./envelope.ts";
export * from "./pkgr.ts";
