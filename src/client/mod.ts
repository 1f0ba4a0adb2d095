/**
 * The client SDK: `Producer` and `Consumer` over WebSocket, `DuplexProducer` over HTTP duplex
 * (falling back to WebSocket where duplex does not work), and `AdminClient` for the operator HTTP
 * API (stats, poison replay / purge, cluster, control config, the stats feed). Uses only web-standard APIs
 * (`WebSocket`, `fetch`, streams), so it runs on Bun, Deno, Node 22+ and browsers; on Node 20,
 * pass a WebSocket class (the `ws` package's) as the `WebSocket` option. Failures are `Result`s
 * and `ClientEvent`s carrying their real codes.
 *
 * @example
 * ```ts
 * import { Consumer, Producer } from "./src/client/mod.ts";
 * const producer = new Producer({ url: "http://127.0.0.1:8787", queue: "default" });
 * ```
 */
export * from "./options.ts";
export * from "./events.ts";
export { type ClientSocket, connectSocket, explainRefusal, isRetryableConnectError, webSocketOf } from "./socket.ts";
export * from "./producer.ts";
export * from "./consumer.ts";
export type { BatchOption } from "./frame-sender.ts";
export * from "./duplex-producer.ts";
export * from "./admin-types.ts";
export { AdminClient, type PoisonSelection } from "./admin.ts";
export type { AdminOptions } from "./admin-http.ts";
