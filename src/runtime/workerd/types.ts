/**
 * The slice of workerd's Durable Object and WebSocket API Sluice uses, declared here so the
 * project needs no `@cloudflare/workers-types` (and `deno check` sees the same types). Names and
 * shapes follow workerd's own (`DurableObjectState`, `SqlStorage`, `WebSocketPair`…).
 *
 * @example
 * ```ts
 * import type { DurableObjectState, WorkerEnv } from "./types.ts";
 * export class SluiceQueue { constructor(ctx: DurableObjectState, env: WorkerEnv) {} }
 * ```
 *
 * @module
 */

/**
 * A cursor over the rows of one `sql.exec` (BLOBs come back as `ArrayBuffer`).
 *
 * @example
 * ```ts
 * const rows = ctx.storage.sql.exec("SELECT seq FROM items WHERE queue = ?", "jobs").toArray();
 * ```
 */
export interface SqlCursor {
  toArray(): Record<string, unknown>[];
}

/**
 * `ctx.storage.sql`: SQLite inside the object; every statement is synchronous.
 *
 * @example
 * ```ts
 * sql.exec("INSERT INTO t (a) VALUES (?)", 1);
 * ```
 */
export interface SqlStorage {
  exec(query: string, ...bindings: unknown[]): SqlCursor;
}

/**
 * `ctx.storage` of a SQLite-backed Durable Object (`enableSql = true`).
 *
 * @example
 * ```ts
 * ctx.storage.transactionSync(() => sql.exec("DELETE FROM t"));
 * await ctx.storage.setAlarm(Date.now() + 1000);
 * ```
 */
export interface DurableObjectStorage {
  readonly sql: SqlStorage;
  transactionSync<T>(body: () => T): T;
  setAlarm(scheduledTime: number): Promise<void>;
  getAlarm(): Promise<number | null>;
}

/**
 * A server-side WebSocket accepted with the hibernation API.
 *
 * @example
 * ```ts
 * ws.serializeAttachment({ id: "c1" });
 * ws.send(frame);
 * ```
 */
export interface WorkerWebSocket {
  send(message: ArrayBuffer | ArrayBufferView | string): void;
  close(code?: number, reason?: string): void;
  serializeAttachment(value: unknown): void;
  deserializeAttachment(): unknown;
}

/**
 * The `ctx` a Durable Object class is constructed with.
 *
 * @example
 * ```ts
 * ctx.acceptWebSocket(server);
 * for (const ws of ctx.getWebSockets()) ws.send("hello");
 * ```
 */
export interface DurableObjectState {
  readonly id: { readonly name?: string; toString(): string };
  readonly storage: DurableObjectStorage;
  acceptWebSocket(ws: WorkerWebSocket, tags?: string[]): void;
  getWebSockets(tag?: string): WorkerWebSocket[];
}

/**
 * A Durable Object namespace binding (`env.SLUICE_QUEUE`).
 *
 * @example
 * ```ts
 * const stub = env.SLUICE_QUEUE.get(env.SLUICE_QUEUE.idFromName("jobs"));
 * const response = await stub.fetch(request);
 * ```
 */
export interface DurableObjectNamespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request | string, init?: RequestInit): Promise<Response> };
}

/**
 * The Worker's env: the `SluiceQueue` namespace, and text bindings read as configuration
 * (`SLUICE_AUTH_TOKENS`, `SLUICE_CONFIG` — the text of sluice.config.json — and the other
 * `SLUICE_*` variables of the server).
 *
 * @example
 * ```ts
 * const env: WorkerEnv = { SLUICE_QUEUE: namespace, SLUICE_AUTH_TOKENS: "s3cret" };
 * ```
 */
export interface WorkerEnv {
  readonly SLUICE_QUEUE: DurableObjectNamespace;
  readonly [name: string]: unknown;
}

/**
 * workerd's `WebSocketPair` global: `[client, server]`.
 *
 * @example
 * ```ts
 * const [client, server] = newWebSocketPair();
 * ```
 */
export function newWebSocketPair(): [WorkerWebSocket, WorkerWebSocket] {
  const Pair = (globalThis as unknown as { WebSocketPair: new () => Record<0 | 1, WorkerWebSocket> }).WebSocketPair;
  const pair = new Pair();
  return [pair[0], pair[1]];
}

/**
 * The 101 response that hands `client` to the caller (workerd's `webSocket` response field).
 *
 * @example
 * ```ts
 * return upgradeResponse(client, { "sec-websocket-protocol": "sluice.json.v1" });
 * ```
 */
export function upgradeResponse(client: WorkerWebSocket, headers: Record<string, string> = {}): Response {
  return new Response(null, { status: 101, webSocket: client, headers } as ResponseInit);
}
