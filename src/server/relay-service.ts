/**
 * The `sluice.v1.Relay` service served by Sluice itself, so one Sluice can bridge into another.
 *
 * `Send` enqueues the command's payload into the queue it names and answers once it is in the
 * queue (status ACCEPTED, with a receipt); `Execute` does the same for each command of a batch
 * and streams one reply per command as it is enqueued. The command's idempotency key goes
 * through the broker's idempotency cache, so a bridge re-sending a delivery (retry after a lost
 * reply) gets `duplicate: true` instead of a second copy. Unknown queue → REJECTED (`not_found`);
 * server shutting down → `Unavailable`; other failures → the mapped Connect error.
 *
 * Mounted in Hono with Connect's router and fetch adapters on `/sluice.v1.Relay/*`: the Connect
 * and gRPC-Web protocols work on every runtime (HTTP/1.1 is enough); the gRPC protocol needs
 * HTTP/2 with trailers, which `Bun.serve`/`Deno.serve` fetch handlers do not expose — serve the
 * same router through node:http2 + `connectNodeAdapter` for gRPC (see bridge-grpc.test.ts).
 *
 * @example
 * ```ts
 * registerRelayRoutes(app, broker);
 * // elsewhere: createClient(Relay, createConnectTransport({ baseUrl: "http://sluice:8787" })).send({ command })
 * ```
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createConnectRouter, type ServiceImpl } from "@connectrpc/connect";
import { universalServerRequestFromFetch, universalServerResponseToFetch } from "@connectrpc/connect/protocol";
import type { Hono } from "hono";
import type { Command } from "../gen/sluice/v1/command_pb.ts";
import { ErrorSchema } from "../gen/sluice/v1/error_pb.ts";
import { ReceiptSchema } from "../gen/sluice/v1/receipt_pb.ts";
import { DeliveryStatus, type ExecuteReply, ExecuteReplySchema, Relay, type SendResponse, SendResponseSchema } from "../gen/sluice/v1/relay_pb.ts";
import { sluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { connectErrorOf } from "../transport/connect-errors.ts";
import type { Broker } from "./broker.ts";

/** Path prefix of the service (Connect/gRPC use `/<package>.<Service>/<Method>`). */
export const RELAY_PATH_PREFIX = `/${Relay.typeName}/`;

type Outcome = Pick<SendResponse, "accepted" | "status" | "receipt" | "error">;

/**
 * The service implementation over a broker.
 *
 * @example
 * ```ts
 * createConnectRouter().service(Relay, relayService(broker));
 * ```
 */
export function relayService(broker: Broker): ServiceImpl<typeof Relay> {
  const deliver = async (command: Command | undefined, signal: AbortSignal): Promise<Outcome> => {
    if (command === undefined) throw new ConnectError("SendRequest.command is required", Code.InvalidArgument);
    const queue = broker.queue(command.queue);
    if (queue === undefined) return rejected("not_found", `no queue named '${command.queue}'`);
    if (!broker.accepting) throw new ConnectError("server is shutting down; the command was not enqueued", Code.Unavailable);
    const key = command.options?.idempotencyKey || undefined;
    const publish = () => queue.enqueue(command.payload, { signal, key });
    const added: Result<{ sequenceId: number; duplicate?: boolean }> = key === undefined ? await publish() : await broker.idempotency.run(queue.name, key, publish);
    if (!added.ok) {
      if (added.error.code === "queue.closed") throw new ConnectError("server is shutting down; the command was not enqueued", Code.Unavailable);
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
      return create(SendResponseSchema, await deliver(request.command, context.signal));
    },
    async *execute(request, context) {
      for (const command of request.commands) {
        let outcome: Outcome;
        try {
          outcome = await deliver(command, context.signal);
        } catch (thrown) {
          // One bad command must not end the stream for the others: it gets its own reply.
          const error = ConnectError.from(thrown);
          if (error.code === Code.Unavailable || error.code === Code.Canceled) throw error;
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
export function relayRouter(broker: Broker, router: ConnectRouter = createConnectRouter()): ConnectRouter {
  return router.service(Relay, relayService(broker));
}

/**
 * Mounts Relay on the Hono app at `/sluice.v1.Relay/*` (behind the app's bearer auth).
 *
 * @example
 * ```ts
 * registerRelayRoutes(app, broker);
 * ```
 */
export function registerRelayRoutes(app: Hono, broker: Broker): void {
  const router = createConnectRouter({ connect: true, grpcWeb: true, grpc: true });
  relayRouter(broker, router);
  const handlers = new Map(router.handlers.map((h) => [h.requestPath, h]));
  app.all(`${RELAY_PATH_PREFIX}*`, async (c) => {
    const handler = handlers.get(c.req.path);
    if (handler === undefined) return c.json({ error: { code: "not_found", message: `no RPC ${c.req.path}` } }, 404);
    const response = await handler(universalServerRequestFromFetch(c.req.raw, {}));
    return universalServerResponseToFetch(response);
  });
}
