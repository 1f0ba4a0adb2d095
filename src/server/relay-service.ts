/**
 * The `sluice.v1.Relay` service served by Sluice itself, so one Sluice can bridge into another.
 *
 * `Send` enqueues the command's payload into the queue it names and answers once it is in the
 * queue (status ACCEPTED, with a receipt); `Execute` does the same for each command of a batch
 * and streams one reply per command as it is enqueued. The command's idempotency key goes
 * through the broker's idempotency cache (on a JetStream queue: the stream's `Nats-Msg-Id`
 * dedup), so a bridge re-sending a delivery (retry after a lost reply) gets `duplicate: true`
 * instead of a second copy. Unknown queue → REJECTED (`not_found`);
 * server shutting down → `Unavailable`; other failures → the mapped Connect error.
 *
 * Leadership fencing: a request with `scope` + `term` (a bridge leading `bridge/<queue>`) is
 * refused with FAILED_PRECONDITION (`sluice-error-code: lease.inactive`) when a higher term was
 * accepted for that scope (by the Relay or on a socket's FENCE), remembered across restarts in
 * the store (`admitFence`); each of its commands is checked again right before it goes in.
 *
 * Inputs are checked before anything is enqueued: a command payload over `maxFrameBytes` ends
 * the call with `resource_exhausted` (for `Execute`, the whole batch: nothing of it is enqueued),
 * and the request body is read with its own byte limit (`relayRequestLimit`), never past it. A
 * binary body that does not decode as the method's request message is `invalid_argument`
 * (Connect itself would answer `internal`, HTTP 500). Both errors carry the Sluice code in the
 * `sluice-error-code` response header/trailer so a Relay client can tell "too large" from "full".
 *
 * Mounted in Hono with Connect's router and fetch adapters on `/sluice.v1.Relay/*`: the Connect
 * and gRPC-Web protocols work on every runtime (HTTP/1.1 is enough); the gRPC protocol needs
 * HTTP/2 with trailers, which `Bun.serve`/`Deno.serve` fetch handlers do not expose, so the app
 * refuses it before this route (grpc-refusal.ts) and src/runtime/grpc-listener.ts serves
 * `relayRouter` through node:http2 + `connectNodeAdapter` on `grpcPort` instead.
 *
 * @example
 * ```ts
 * registerRelayRoutes(app, broker);
 * // elsewhere: createClient(Relay, createConnectTransport({ baseUrl: "http://sluice:8787" })).send({ command })
 * ```
 */
import { create, type DescMessage, type DescMethod, fromBinary } from "@bufbuild/protobuf";
import {
  Code,
  ConnectError,
  type ConnectRouter,
  createConnectRouter,
  createContextKey,
  createContextValues,
  type HandlerContext,
  type ServiceImpl,
} from "@connectrpc/connect";
import { createAsyncIterable, type UniversalServerRequest, universalServerResponseToFetch } from "@connectrpc/connect/protocol";
import type { Context, Hono } from "hono";
import type { Command } from "../gen/sluice/v1/command_pb.ts";
import { ErrorSchema } from "../gen/sluice/v1/error_pb.ts";
import { ReceiptSchema } from "../gen/sluice/v1/receipt_pb.ts";
import { DeliveryStatus, type ExecuteReply, ExecuteReplySchema, Relay, type SendResponse, SendResponseSchema } from "../gen/sluice/v1/relay_pb.ts";
import { type ErrorCode, sluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { connectErrorOf } from "../transport/connect-errors.ts";
import { SLUICE_ERROR_CODE_HEADER } from "../transport/relay-client.ts";
import type { Enqueued, RelayQueue } from "../queue/relay-queue.ts";
import type { IdempotentOutcome } from "./idempotency.ts";
import { readBodyLimited } from "./routes/body.ts";
import type { FencePayload } from "../protocol/fence.ts";
import type { FenceCheck } from "../transport/connection-fence.ts";
import { admitFence, enqueueFenced } from "./relay-fence.ts";

/** Path prefix of the service (Connect/gRPC use `/<package>.<Service>/<Method>`). */
export const RELAY_PATH_PREFIX = `/${Relay.typeName}/`;

type Outcome = Pick<SendResponse, "accepted" | "status" | "receipt" | "error">;

/** Commands of one `Execute` request the body limit makes room for (the bridge's ExecuteBatcher sends at most 64). */
export const MAX_EXECUTE_COMMANDS = 64;

// Room for a command's envelope (queue name, ids, idempotency key) and JSON's base64 (4/3).
const COMMAND_OVERHEAD_BYTES = 64 * 1024;
const MAX_READ_BYTES = 0xffff_ffff;

/**
 * The most request-body bytes a Relay method reads: one command (Send) or
 * `MAX_EXECUTE_COMMANDS` commands (Execute) of `maxFrameBytes` each, plus encoding overhead.
 *
 * @example
 * ```ts
 * relayRequestLimit("Send", 1 << 20); // 1,463,638 (1 MiB as base64 + 64 KiB)
 * ```
 */
export function relayRequestLimit(method: "Send" | "Execute" | string, maxFrameBytes: number): number {
  const perCommand = Math.ceil((maxFrameBytes * 4) / 3) + COMMAND_OVERHEAD_BYTES;
  return Math.min(MAX_READ_BYTES, method === "Execute" ? perCommand * MAX_EXECUTE_COMMANDS : perCommand);
}

function codedError(message: string, code: Code, sluiceCode: ErrorCode): ConnectError {
  return new ConnectError(message, code, { [SLUICE_ERROR_CODE_HEADER]: sluiceCode });
}

function payloadTooLarge(command: Command, limit: number): ConnectError {
  return codedError(
    `command payload of ${command.payload.byteLength} bytes exceeds the limit of ${limit} (maxFrameBytes); nothing was enqueued`,
    Code.ResourceExhausted,
    "frame.too_large",
  );
}

/**
 * What Relay needs from the server: a `Broker`, or the workerd Worker, whose queues live in
 * Durable Objects (src/runtime/workerd/relay-targets.ts).
 *
 * @example
 * ```ts
 * const host: RelayHost = broker;
 * ```
 */
export interface RelayHost {
  readonly config: { readonly maxFrameBytes: number };
  readonly accepting: boolean;
  /** The highest leadership term per scope (the broker's `FenceTerms`); without it requests are not fenced. */
  readonly fences?: FenceCheck;
  queue(name: string): (Pick<RelayQueue<Uint8Array>, "name" | "enqueue"> & Partial<Pick<RelayQueue<Uint8Array>, "tryEnqueue" | "waitsForRoom" | "whenStored">>) | undefined;
  publishOnce(
    queue: Pick<RelayQueue<Uint8Array>, "name" | "enqueue">,
    key: string | undefined,
    publish: (key: string | undefined) => Promise<Result<Enqueued>>,
  ): Promise<Result<IdempotentOutcome>>;
}

/**
 * The service implementation over a broker.
 *
 * @example
 * ```ts
 * createConnectRouter().service(Relay, relayService(broker));
 * ```
 */
export function relayService(broker: RelayHost): ServiceImpl<typeof Relay> {
  const limit = broker.config.maxFrameBytes;
  const fences = broker.fences;
  const deliver = async (command: Command | undefined, signal: AbortSignal, fence?: FencePayload): Promise<Outcome> => {
    if (command === undefined) throw new ConnectError("SendRequest.command is required", Code.InvalidArgument);
    const queue = broker.queue(command.queue);
    if (queue === undefined) return rejected("not_found", `no queue named '${command.queue}'`);
    if (!broker.accepting) throw new ConnectError("server is shutting down; the command was not enqueued", Code.Unavailable);
    const key = command.options?.idempotencyKey || undefined;
    const publish = fence !== undefined && fences !== undefined
      ? (k: string | undefined) => enqueueFenced(queue, command.payload, k, signal, () => fences.check(fence.scope, fence.term))
      : (k: string | undefined) => queue.enqueue(command.payload, { signal, key: k });
    const added: Result<{ sequenceId: number; duplicate?: boolean }> = await broker.publishOnce(queue, key, publish);
    if (!added.ok) {
      if (added.error.code === "queue.closed") throw new ConnectError("server is shutting down; the command was not enqueued", Code.Unavailable);
      if (added.error.code === "lease.inactive") throw codedError(added.error.message, Code.FailedPrecondition, "lease.inactive");
      throw connectErrorOf(added.error);
    }
    return {
      accepted: true,
      status: DeliveryStatus.ACCEPTED,
      receipt: create(ReceiptSchema, { sequenceId: BigInt(added.value.sequenceId), queue: queue.name, duplicate: added.value.duplicate ?? false }),
    };
  };

  return {
    async send(request, context) {
      if (request.command !== undefined && request.command.payload.byteLength > limit) throw payloadTooLarge(request.command, limit);
      const fence = admitFence(fences, request.scope, request.term);
      return create(SendResponseSchema, await deliver(request.command, context.signal, fence));
    },
    async *execute(request, context) {
      // All or nothing: a batch with one oversize payload enqueues none of its commands.
      const oversize = request.commands.find((command) => command.payload.byteLength > limit);
      if (oversize !== undefined) throw payloadTooLarge(oversize, limit);
      const fence = admitFence(fences, request.scope, request.term);
      for (const command of request.commands) {
        let outcome: Outcome;
        try {
          outcome = await deliver(command, context.signal, fence);
        } catch (thrown) {
          // One bad command must not end the stream for the others: it gets its own reply. A
          // superseded term ends it: nothing more of this sender may go in.
          const error = ConnectError.from(thrown);
          if (error.code === Code.Unavailable || error.code === Code.Canceled || error.code === Code.FailedPrecondition) throw error;
          outcome = rejected(error.code === Code.ResourceExhausted ? "queue.full" : "validation", error.rawMessage);
        }
        const reply: ExecuteReply = create(ExecuteReplySchema, { ...outcome, id: command.id });
        yield reply;
      }
    },
  };
}

function rejected(code: Parameters<typeof sluiceError>[0], message: string): Outcome {
  return { accepted: false, status: DeliveryStatus.REJECTED, error: create(ErrorSchema, { code, message }) };
}

/**
 * A Connect router serving Relay over Connect, gRPC-Web and gRPC (gRPC needs an HTTP/2 server).
 *
 * @example
 * ```ts
 * http2.createServer(connectNodeAdapter({ routes: (r) => relayRouter(broker, r) }));
 * ```
 */
export function relayRouter(broker: RelayHost, router: ConnectRouter = createConnectRouter()): ConnectRouter {
  // Connect's own limit (resource_exhausted past it) for servers that skip registerRelayRoutes' reader.
  return router.service(Relay, relayService(broker), { readMaxBytes: relayRequestLimit("Execute", broker.config.maxFrameBytes) });
}

// What the Hono route found wrong with a request before Connect saw it; the gate raises it.
const REQUEST_PROBLEM = createContextKey<ConnectError | undefined>(undefined, { description: "sluice relay request problem" });
const rejectEarly = (context: HandlerContext): void => {
  const problem = context.values.get(REQUEST_PROBLEM);
  if (problem !== undefined) throw problem;
};
const ENVELOPED_BINARY = new Set(["application/connect+proto", "application/grpc", "application/grpc+proto", "application/grpc-web", "application/grpc-web+proto"]);

/**
 * Why a binary request body does not decode as `input` (an `invalid_argument` error), or undefined
 * when it does or when Connect judges it itself (JSON, compressed, truncated envelopes).
 *
 * @example
 * ```ts
 * undecodableBody(SendRequestSchema, new Headers({ "content-type": "application/proto" }), new Uint8Array([0x0a, 0xff]));
 * // ConnectError [invalid_argument] request body is not a valid sluice.v1.SendRequest: …
 * ```
 */
export function undecodableBody(input: DescMessage, headers: Headers, body: Uint8Array): ConnectError | undefined {
  const type = (headers.get("content-type") ?? "").split(";")[0]!.trim().toLowerCase();
  const parse = (bytes: Uint8Array): ConnectError | undefined => {
    try {
      fromBinary(input, bytes);
      return undefined;
    } catch (thrown) {
      const message = `request body is not a valid ${input.typeName}: ${thrown instanceof Error ? thrown.message : String(thrown)}`;
      return codedError(message, Code.InvalidArgument, "frame.malformed");
    }
  };
  if (type === "application/proto") {
    const encoding = headers.get("content-encoding");
    return encoding === null || encoding === "identity" ? parse(body) : undefined;
  }
  if (!ENVELOPED_BINARY.has(type)) return undefined;
  const view = new DataView(body.buffer, body.byteOffset, body.byteLength);
  for (let at = 0; at + 5 <= body.byteLength; ) {
    const flags = body[at]!;
    const end = at + 5 + view.getUint32(at + 1);
    if (end > body.byteLength) return undefined;
    // 0x01 compressed, 0x02 Connect end-stream, 0x80 gRPC-Web trailers: not a request message to parse here.
    const problem = (flags & 0x83) === 0 ? parse(body.subarray(at + 5, end)) : undefined;
    if (problem !== undefined) return problem;
    at = end;
  }
  return undefined;
}

async function checkedRequest(raw: Request, method: DescMethod, maxFrameBytes: number): Promise<UniversalServerRequest> {
  const body = await readBodyLimited(raw, relayRequestLimit(method.name, maxFrameBytes));
  let problem: ConnectError | undefined;
  if (!body.ok) {
    problem = body.error.code === "frame.too_large"
      ? codedError(`${method.name} request body too large: ${body.error.message}`, Code.ResourceExhausted, "frame.too_large")
      : new ConnectError(body.error.message, Code.Canceled);
  } else {
    problem = undecodableBody(method.input, raw.headers, body.value);
  }
  return {
    httpVersion: "",
    method: raw.method,
    url: raw.url,
    header: raw.headers,
    body: createAsyncIterable(body.ok && problem === undefined ? [body.value] : []),
    signal: raw.signal,
    contextValues: createContextValues().set(REQUEST_PROBLEM, problem),
  };
}

/**
 * Mounts Relay on the Hono app at `/sluice.v1.Relay/*` (behind the app's bearer auth).
 *
 * @example
 * ```ts
 * registerRelayRoutes(app, broker);
 * ```
 */
export function registerRelayRoutes(app: Hono, broker: RelayHost): void {
  app.all(`${RELAY_PATH_PREFIX}*`, relayFetchHandler(broker));
}

/**
 * The handler of `/sluice.v1.Relay/*` requests (what `registerRelayRoutes` mounts; the app
 * mounts it through relay-lazy.ts, which loads this module on the first Relay request).
 *
 * @example
 * ```ts
 * app.all("/sluice.v1.Relay/*", relayFetchHandler(broker));
 * ```
 */
export function relayFetchHandler(broker: RelayHost): (c: Context) => Promise<Response> {
  const router = createConnectRouter({ connect: true, grpcWeb: true, grpc: true, requestGate: rejectEarly });
  relayRouter(broker, router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  return async (c) => {
    const handler = handlers.get(c.req.path);
    if (handler === undefined) return c.json({ error: { code: "not_found", message: `no RPC ${c.req.path}` } }, 404);
    // Read (within the method's limit) and check the body here; the gate turns a problem into
    // the protocol's own error response, before Connect reads or parses anything.
    const response = await handler(await checkedRequest(c.req.raw, handler.method, broker.config.maxFrameBytes));
    return universalServerResponseToFetch(response);
  };
}
