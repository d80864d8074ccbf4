/**
 * The protocol folder's face: the `--json` envelope the CLI prints, the `data` shapes it wraps
 * results in, and the messages of the agent protocol (calls, events, replies) built from the
 * method table of core/api.
 */
export * from "./cli_data.ts";
export * from "./envelope.ts";
export * from "./pkgr.ts";
