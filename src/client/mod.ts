/**
 * The client SDK: `Producer` and `Consumer` over WebSocket, `DuplexProducer` over HTTP duplex.
 * Uses only web-standard globals (`WebSocket`, `fetch`, streams), so it runs on Bun, Deno,
 * Node 22+ and browsers.
 *
 * @example
 * ```ts
 * import { Consumer, Producer } from "./src/client/mod.ts";
 * const producer = new Producer({ url: "http://127.0.0.1:8787", queue: "default" });
 * ```
 */
export * from "./options.ts";
export * from "./producer.ts";
export * from "./consumer.ts";
export * from "./duplex-producer.ts";
