/**
 * The protocol folder's face: the `--json` envelope the CLI prints and the `data` shapes it wraps
 * results in. The agent protocol's messages are core/transport's (messages.ts).
 */
export * from "./cli_data.ts";
export * from "./envelope.ts";
