/** The face of core/transport/: everything other folders may use. */
export * from "./channel.ts";
export * from "./frame.ts";
export * from "./frame_reader.ts";
export * from "./handshake.ts";
export * from "./known_agents.ts";
export * from "./messages.ts";
export * from "./client.ts";
export * from "./fleet.ts";
export * from "./streams.ts";
export * from "./target.ts";
export * from "./upload_send.ts";
