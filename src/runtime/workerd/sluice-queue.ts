/**
 * `SluiceQueue`: the Durable Object that holds one Sluice queue on workerd / Cloudflare. The
 * Worker in front (`src/runtime/workerd.ts`) authenticates and sends every `/v1/queues/<name>/…`
 * request to the object named `<name>`.
 *
 * Inside, the same pieces as the Bun and Deno servers: a `SafeTaskQueue` journaled to the SQL
 * store (`SqlStore` over `ctx.storage.sql`, sqlite-durable-object.ts), a `Broker` and the Hono
 * app's queue routes (HTTP publish, stats, poison list and replay), and one `WsSession` per
 * WebSocket — same frames, receipts after commit, credit and fencing. What is the object's own:
 * - WebSockets are accepted with the hibernation API (`ctx.acceptWebSocket`), so an idle object
 *   is evicted from memory while its sockets stay open; the next message, close or alarm rebuilds
 *   it from storage: the queue from its journal, each socket's session from its attachment, and
 *   each consumer's credit and leases (same tokens, same deadlines) from the `LeaseBook`.
 * - Time runs on the object's single alarm (`AlarmClock`): lease expiry at the earliest deadline
 *   and delayed retries; no JavaScript timer is left pending once the book is written.
 * - A batch of frames in one WebSocket message is committed by one storage write (the store's
 *   group commit runs once per turn), and the host's output gate holds every RECEIPT until the
 *   write it follows is durable.
 * - `GET /v1/queues/<name>/metrics` answers this queue's Prometheus text (the Worker's `/metrics`
 *   gathers every configured queue's); every response carries `sluice-incarnation` (how many
 *   times this object has been built from storage).
 *
 * @example
 * ```ts
 * // worker entry: export { SluiceQueue } from "./workerd/sluice-queue.ts";
 * const stub = env.SLUICE_QUEUE.get(env.SLUICE_QUEUE.idFromName("jobs"));
 * await stub.fetch(request);
 * ```
 */
import { systemClock } from "../../result/clock.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { SafeTaskQueue } from "../../queue/safe-task-queue.ts";
import { Broker, queueOptionsFor } from "../../server/broker.ts";
import { createApp } from "../../server/app.ts";
import { bytesCodec } from "../../store/payload-codec.ts";
import { SqlStore } from "../../store/sql-store.ts";
import { JSON_SUBPROTOCOL } from "../../transport/json-protocol.ts";
import { openDurableObjectSql } from "../sqlite-durable-object.ts";
import { AlarmClock } from "./alarm-clock.ts";
import { configForObject, workerConfig } from "./config.ts";
import { QUEUE_HEADER } from "./forward.ts";
import { Connections } from "./connections.ts";
import { LeaseBook } from "./lease-book.ts";
import { ResumableLeaseTable } from "./lease-table.ts";
import { type DurableObjectState, newWebSocketPair, upgradeResponse, type WorkerEnv, type WorkerWebSocket } from "./types.ts";

/** How soon after a change the lease book is written (the object cannot hibernate before). */
const BOOK_SAVE_MS = 1000;
const TOKEN_LANES = 64;

interface Opened {
  readonly name: string;
  readonly incarnation: number;
  readonly broker: Broker;
  readonly app: { fetch(request: Request): Response | Promise<Response> };
  readonly connections: Connections;
  readonly book: LeaseBook;
  readonly table: ResumableLeaseTable;
  readonly clock: AlarmClock;
}

/**
 * The Durable Object class (see the module doc). workerd constructs it with its state and env.
 *
 * @example
 * ```ts
 * // capnp: durableObjectNamespaces = [ (className = "SluiceQueue", uniqueKey = "sluice-queue", enableSql = true) ]
 * ```
 */
export class SluiceQueue {
  #opened: Result<Opened> | undefined;
  #bookTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly env: WorkerEnv,
  ) {}

  async fetch(request: Request): Promise<Response> {
    const opened = this.#open(request.headers.get(QUEUE_HEADER) ?? undefined);
    if (!opened.ok) return Response.json({ error: { code: opened.error.code, message: opened.error.message } }, { status: 503 });
    const o = opened.value;
    this.#changed();
    const headers = { "sluice-incarnation": String(o.incarnation) };
    const path = new URL(request.url).pathname;
    if (request.headers.get("upgrade")?.toLowerCase() === "websocket") return this.#accept(o, request);
    if (path.endsWith("/ws")) {
      return Response.json({ error: { code: "validation", message: "this route needs a WebSocket upgrade request" } }, { status: 426, headers });
    }
    if (path === `/v1/queues/${encodeURIComponent(o.name)}/metrics`) {
      return new Response(o.broker.metrics.render(), { headers: { ...headers, "content-type": "text/plain; version=0.0.4; charset=utf-8" } });
    }
    const response = await o.app.fetch(request);
    const answered = new Response(response.body, response);
    answered.headers.set("sluice-incarnation", headers["sluice-incarnation"]);
    return answered;
  }

  webSocketMessage(ws: WorkerWebSocket, message: ArrayBuffer | string): void {
    const opened = this.#open(undefined);
    if (!opened.ok) return ws.close(1011, opened.error.message.slice(0, 120));
    opened.value.connections.message(ws, message);
  }

  webSocketClose(ws: WorkerWebSocket, code: number, reason: string): void {
    const opened = this.#open(undefined);
    if (opened.ok) opened.value.connections.closed(ws);
    try {
      ws.close(code === 1005 || code === 1006 ? 1000 : code, reason);
    } catch {
      // Already closed (newer compatibility dates answer the close frame themselves).
    }
  }

  webSocketError(ws: WorkerWebSocket): void {
    const opened = this.#open(undefined);
    if (opened.ok) opened.value.connections.closed(ws);
  }

  alarm(): void {
    const opened = this.#open(undefined);
    if (!opened.ok) return console.error(opened.error.message);
    this.#changed();
    opened.value.clock.fire();
  }

  // The object's state, built once per incarnation: from storage after a hibernation or a crash.
  #open(named: string | undefined): Result<Opened> {
    if (this.#opened !== undefined) return this.#opened;
    try {
      this.#opened = this.#build(named);
    } catch (thrown) {
      this.#opened = err("unavailable", `sluice: cannot open the queue's storage: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    }
    if (!this.#opened.ok) console.error(this.#opened.error.message);
    return this.#opened;
  }

  #build(named: string | undefined): Result<Opened> {
    const config = workerConfig(this.env);
    if (!config.ok) return config;
    const driver = openDurableObjectSql(this.ctx.storage);
    const book = LeaseBook.open(driver);
    const name = named ?? this.ctx.id.name ?? book.meta("queue");
    if (name === undefined) return err("validation", "sluice: this object does not know its queue (no request has named it yet)");
    if (config.value.queues[name] === undefined) return err("not_found", `sluice: no queue named ${JSON.stringify(name)} is configured`);
    if (book.meta("queue") !== name) book.setMeta("queue", name);
    const objectConfig = configForObject(config.value, name);
    const store = SqlStore.open({ driver, path: `durable-object:${name}`, durability: "process", log: (line) => console.log(line) });
    if (!store.ok) return store;

    // Consumers still connected from the previous incarnation keep their leases (same tokens).
    const live = new Map(this.ctx.getWebSockets().flatMap((ws) => {
      const tag = Connections.tagOf(ws);
      return tag === undefined ? [] : [[tag.id, { ws, tag }] as const];
    }));
    const table = new ResumableLeaseTable({ index: book.epoch % TOKEN_LANES, count: TOKEN_LANES });
    const resumable = new Map<number, { token: number; deadline: number }>();
    for (const [socket, consumer] of book.consumers) {
      if (!live.has(socket)) continue;
      for (const lease of consumer.leases) if (table.restore(lease.token, lease.attempt, lease.deadline)) resumable.set(lease.seq, lease);
    }
    const clock = new AlarmClock((at) => void this.ctx.storage.setAlarm(at).catch((e) => console.error(`sluice: setAlarm: ${e}`)));
    const metrics = new MetricsRegistry();
    const queue = SafeTaskQueue.create<Uint8Array>({
      ...queueOptionsFor(name, objectConfig.queues[name]!),
      clock,
      metrics,
      journal: store.value.journal(name, bytesCodec),
      leaseTable: table,
      resumeLease: (seq) => resumable.get(seq),
    });
    // Tokens the book listed whose item is no longer leased in the store (acked meanwhile).
    for (const { token } of resumable.values()) if (queue.leaseByToken(token) === undefined) table.release(token);
    const broker = new Broker({ config: objectConfig, store: store.value, metrics, clock: systemClock, queues: new Map([[name, queue]]) });
    const connections = new Connections({ broker, queue, onChange: () => this.#changed() });
    for (const [socket, { ws, tag }] of live) {
      const leases = (book.consumers.get(socket)?.leases ?? []).flatMap((l) => queue.leaseByToken(l.token) ?? []);
      connections.open(ws, tag, { leases, credit: book.consumers.get(socket)?.credit ?? 0 });
    }
    const app = createApp(objectConfig, { broker });
    return ok({ name, incarnation: book.epoch, broker, app, connections, book, table, clock });
  }

  #accept(o: Opened, request: Request): Response {
    if (!o.broker.accepting) return Response.json({ error: { code: "unavailable", message: "queue is shutting down" } }, { status: 503 });
    const json = request.headers.get("sec-websocket-protocol")?.split(",")[0]?.trim() === JSON_SUBPROTOCOL;
    const [client, server] = newWebSocketPair();
    const tag = { id: crypto.randomUUID(), json };
    this.ctx.acceptWebSocket(server);
    server.serializeAttachment(tag);
    o.connections.open(server, tag);
    return upgradeResponse(client, json ? { "sec-websocket-protocol": JSON_SUBPROTOCOL } : {});
  }

  // Something happened: write the lease book soon (one pending timer at most).
  #changed(): void {
    if (this.#bookTimer !== undefined) return;
    this.#bookTimer = setTimeout(() => {
      this.#bookTimer = undefined;
      const opened = this.#opened;
      if (opened === undefined || !opened.ok) return;
      try {
        opened.value.book.save(opened.value.connections.snapshot((token) => opened.value.table.deadlineOf(token)));
      } catch (thrown) {
        console.error(`sluice: cannot save the lease book: ${sluiceError("unavailable", String(thrown)).message}`);
      }
    }, BOOK_SAVE_MS);
  }
}
