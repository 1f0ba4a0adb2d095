/**
 * `Connections`: the WebSocket sessions of one `SluiceQueue` Durable Object, accepted with the
 * hibernation API. Each socket carries a small attachment (`{ id, json }`: its connection id and
 * whether it speaks `sluice.json.v1`), which survives hibernation; the session itself — the same
 * `WsSession` the Bun and Deno servers run — is rebuilt from it, and a consumer's credit and
 * leases from the `LeaseBook`.
 *
 * @example
 * ```ts
 * const connections = new Connections({ broker, queue, onChange: () => book.touch() });
 * connections.open(server, { id: crypto.randomUUID(), json: false });
 * connections.message(ws, event);   // from webSocketMessage
 * connections.closed(ws);           // from webSocketClose
 * ```
 */
import type { RelayQueue } from "../../queue/relay-queue.ts";
import type { Lease } from "../../queue/lease.ts";
import { err } from "../../result/result.ts";
import type { Broker } from "../../server/broker.ts";
import { JSON_SUBPROTOCOL, jsonError, jsonPeer, jsonToFrame } from "../../transport/json-protocol.ts";
import type { FramePeer } from "../../transport/frame-peer.ts";
import { WsSession } from "../../transport/ws-session.ts";
import type { BookConsumer } from "./lease-book.ts";
import type { WorkerWebSocket } from "./types.ts";

/**
 * What a socket's attachment holds.
 *
 * @example
 * ```ts
 * server.serializeAttachment({ id: crypto.randomUUID(), json: false } satisfies SocketTag);
 * ```
 */
export interface SocketTag {
  readonly id: string;
  readonly json: boolean;
}

interface Connection {
  readonly tag: SocketTag;
  readonly session: WsSession;
  readonly unregister: () => void;
  /** Unreadable JSON messages in a row (64 close the socket, as on the servers). */
  bad: number;
}

/**
 * The object's WebSocket sessions (see the module doc).
 *
 * @example
 * ```ts
 * const connections = new Connections({ broker, queue, onChange });
 * ```
 */
export class Connections {
  readonly #byId = new Map<string, Connection>();
  readonly #bySocket = new WeakMap<WorkerWebSocket, Connection>();

  constructor(private readonly options: { readonly broker: Broker; readonly queue: RelayQueue<Uint8Array>; readonly onChange: () => void }) {}

  /** Open sessions. */
  get size(): number {
    return this.#byId.size;
  }

  /** The attachment of `ws`, or undefined for a socket that is not one of ours. */
  static tagOf(ws: WorkerWebSocket): SocketTag | undefined {
    const tag = ws.deserializeAttachment() as Partial<SocketTag> | null | undefined;
    return typeof tag?.id === "string" ? { id: tag.id, json: tag.json === true } : undefined;
  }

  /**
   * Starts the session of `ws` (a new socket, or one that outlived the previous incarnation of
   * the object: then `resumed` gives back its leases and credit).
   */
  open(ws: WorkerWebSocket, tag: SocketTag, resumed?: { readonly leases: readonly Lease<Uint8Array>[]; readonly credit: number }): void {
    const { broker, queue } = this.options;
    const binary: FramePeer = { send: (frame) => ws.send(frame), close: (code, reason) => ws.close(code, reason) };
    const peer = tag.json ? jsonPeer({ sendText: (text) => ws.send(text), close: (code, reason) => ws.close(code, reason) }) : binary;
    const session = new WsSession({ queue, codec: broker.codec, peer, accepting: () => broker.accepting, memoryBudget: broker.memoryBudget });
    const connection: Connection = { tag, session, unregister: broker.register(session), bad: 0 };
    this.#byId.set(tag.id, connection);
    this.#bySocket.set(ws, connection);
    if (resumed !== undefined) session.adopt(resumed.leases, resumed.credit);
  }

  /** One WebSocket message (binary: one frame or a batch; text on `sluice.json.v1`). */
  message(ws: WorkerWebSocket, data: unknown): void {
    const connection = this.#find(ws);
    if (connection === undefined) return ws.close(1011, "unknown connection");
    this.options.onChange();
    if (!connection.tag.json) return connection.session.handleMessage(data);
    const frame = typeof data === "string" ? jsonToFrame(data) : err("frame.malformed", `this connection speaks ${JSON_SUBPROTOCOL}: send JSON text messages, not binary`);
    if (frame.ok) {
      connection.bad = 0;
      return connection.session.handleMessage(frame.value);
    }
    if (++connection.bad > 64) ws.close(1008, "64 unreadable messages in a row");
    else ws.send(jsonError(frame.error));
  }

  /** The socket closed (or failed): its session ends and the leases it held go back at once. */
  closed(ws: WorkerWebSocket): void {
    const connection = this.#find(ws);
    if (connection === undefined) return;
    this.#byId.delete(connection.tag.id);
    this.#bySocket.delete(ws);
    connection.unregister();
    void connection.session.closed();
    this.options.onChange();
  }

  /** Every connection's credit and leases now, for the `LeaseBook` (`deadlineOf`: the lease table's). */
  snapshot(deadlineOf: (token: number) => number): Map<string, BookConsumer> {
    const out = new Map<string, BookConsumer>();
    for (const [id, { session }] of this.#byId) {
      const leases = session.heldLeases().flatMap((lease) => {
        const deadline = deadlineOf(lease.token);
        return deadline < 0 ? [] : [{ token: lease.token, seq: lease.sequenceId, attempt: lease.attempt, deadline }];
      });
      if (session.credit > 0 || leases.length > 0) out.set(id, { credit: session.credit, leases });
    }
    return out;
  }

  #find(ws: WorkerWebSocket): Connection | undefined {
    const known = this.#bySocket.get(ws);
    if (known !== undefined) return known;
    const tag = Connections.tagOf(ws);
    const connection = tag === undefined ? undefined : this.#byId.get(tag.id);
    if (connection !== undefined) this.#bySocket.set(ws, connection);
    return connection;
  }
}
