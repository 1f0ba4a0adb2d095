import { redactSecrets } from "../result/redact.ts";
import { type Client, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { Command } from "../gen/sluice/v1/command_pb.ts";
import type { Error as ErrorMessage } from "../gen/sluice/v1/error_pb.ts";
import type { NackReason } from "../gen/sluice/v1/nack_pb.ts";
import { DeliveryStatus, Relay } from "../gen/sluice/v1/relay_pb.ts";
import { isErrorCode } from "../result/errors.ts";
import { sluiceErrorOf } from "./connect-errors.ts";
import type { FencePayload } from "../protocol/fence.ts";

/**
 * Options of `RelayClient`.
 *
 * @example
 * ```ts
 * new RelayClient({ baseUrl: "https://relay.internal", protocol: "grpc-web", headers: { authorization: `Bearer ${token}` } });
 * ```
 */
export interface RelayClientOptions {
  /** Base URL of the Relay server (http: or https:). Ignored when `transport` is given. */
  readonly baseUrl?: string;
  /** "connect" (default) or "grpc-web", both over fetch. */
  readonly protocol?: "connect" | "grpc-web";
  /** Any Connect transport (e.g. connect-node's `createGrpcTransport`). */
  readonly transport?: Transport;
  /** The fetch to call through (default: global fetch); e.g. a workerd service binding's, or an app's in tests. */
  readonly fetch?: typeof globalThis.fetch;
  /** Sent with every call (e.g. `authorization: "Bearer …"`). */
  readonly headers?: Readonly<Record<string, string>>;
}

/**
 * Response header / trailer in which Sluice's Relay service names the Sluice error code of a
 * failed call, where the Connect code is ambiguous (`resource_exhausted`: `queue.full` or
 * `frame.too_large`; `invalid_argument`: `validation` or `frame.malformed`).
 *
 * @example
 * ```ts
 * new ConnectError("too large", Code.ResourceExhausted, { [SLUICE_ERROR_CODE_HEADER]: "frame.too_large" });
 * ```
 */
export const SLUICE_ERROR_CODE_HEADER = "sluice-error-code";

/** The parts of a reply that say what became of a command. */
interface Outcome {
  readonly status: DeliveryStatus;
  readonly nack?: NackReason;
  readonly error?: ErrorMessage;
}

/**
 * The client side of the `sluice.v1.Relay` RPC service (the bridge's fallback),
 * with every outcome as a `Result`.
 *
 * The default transport is `createConnectTransport` of @connectrpc/connect-web (the Connect
 * protocol over `fetch`, binary protobuf): it needs only `fetch`, so it runs on Bun, Deno,
 * workerd and Node, over HTTP/1.1 or HTTP/2. `protocol: "grpc-web"` uses gRPC-Web over the same
 * `fetch`. For the gRPC protocol proper (HTTP/2 with trailers) pass `transport:
 * createGrpcTransport({ baseUrl })` from @connectrpc/connect-node — it uses node:http2, which
 * works on Node and on Bun (tested in test/integration/bridge-grpc.test.ts); Deno's node:http2
 * client is not tested here.
 *
 * A reply is a success when its status is ACCEPTED or ACKED; NACKED and REJECTED become the
 * downstream's error (code kept, so `retry` skips the unretryable ones); a call that throws
 * becomes `sluiceErrorOf(thrown)` (unreachable server → `unavailable`).
 *
 * @example
 * ```ts
 * const relay = new RelayClient({ baseUrl: "http://127.0.0.1:8787" });
 * const sent = await relay.send(commandOf(lease), { signal });
 * const all = await relay.execute(commands, { signal, onReply: (id, outcome) => settle(id, outcome) });
 * ```
 */
export class RelayClient {
  readonly #client: Client<typeof Relay>;
  readonly #headers: Readonly<Record<string, string>> | undefined;
  /** Header values (tokens) kept out of error messages. */
  readonly #secrets: readonly string[];

  constructor(options: RelayClientOptions) {
    const transport = options.transport ?? defaultTransport(options);
    this.#client = createClient(Relay, transport);
    this.#headers = options.headers;
    this.#secrets = Object.values(options.headers ?? {}).flatMap((v) => [v, v.replace(/^bearer\s+/i, "")]);
  }

  /**
   * Unary `Send`: ok when the far side took the command. With `fence`, the request carries the
   * sender's leadership scope and term (a Sluice refuses a superseded term: `lease.inactive`).
   */
  async send(command: Command, options: { signal?: AbortSignal; fence?: FencePayload } = {}): Promise<Result<void>> {
    try {
      const response = await this.#client.send({ command, ...fenceFields(options.fence) }, { signal: options.signal, headers: this.#headers });
      return outcomeOf(response, idText(command));
    } catch (thrown) {
      return err(callError(thrown, this.#secrets));
    }
  }

  /**
   * Server-streaming `Execute` for a batch: `onReply` gets each command's outcome as its reply
   * arrives (any order, matched by sequence id). The Result is the call's: ok when the stream
   * ended cleanly; commands the stream never answered are reported to `onReply` with that error.
   */
  async execute(
    commands: readonly Command[],
    options: { signal?: AbortSignal; onReply: (sequenceId: number, outcome: Result<void>) => void; fence?: FencePayload },
  ): Promise<Result<void>> {
    const unanswered = new Set(commands.map((c) => (c.id.case === "sequenceId" ? Number(c.id.value) : NaN)));
    let failure: SluiceError | undefined;
    try {
      for await (const reply of this.#client.execute({ commands: [...commands], ...fenceFields(options.fence) }, { signal: options.signal, headers: this.#headers })) {
        if (reply.id.case !== "sequenceId") continue;
        const id = Number(reply.id.value);
        if (!unanswered.delete(id)) continue;
        options.onReply(id, outcomeOf(reply, String(id)));
      }
    } catch (thrown) {
      failure = callError(thrown, this.#secrets);
    }
    failure ??= unanswered.size > 0 ? sluiceError("unavailable", `relay Execute ended without replies for ${unanswered.size} command(s)`) : undefined;
    for (const id of unanswered) options.onReply(id, err(failure!));
    return failure === undefined ? ok() : err(failure);
  }
}

// The request fields of a leadership fence (none without one).
function fenceFields(fence: FencePayload | undefined): { scope?: string; term?: bigint } {
  return fence === undefined ? {} : { scope: fence.scope, term: BigInt(fence.term) };
}

function defaultTransport(options: RelayClientOptions): Transport {
  if (options.baseUrl === undefined) throw new TypeError("RelayClient: baseUrl or transport is required");
  const init = { baseUrl: options.baseUrl, useBinaryFormat: true, fetch: options.fetch };
  return options.protocol === "grpc-web" ? createGrpcWebTransport(init) : createConnectTransport(init);
}

// The mapped error, with the code the server named when it named one (a too-large payload must
// not read as `queue.full`, which would be retried), and no URL credentials or tokens in its text.
function callError(thrown: unknown, secrets: readonly string[]): SluiceError {
  const error = sluiceErrorOf(thrown);
  const named = thrown instanceof ConnectError ? thrown.metadata.get(SLUICE_ERROR_CODE_HEADER) : null;
  const code = named !== null && isErrorCode(named) ? named : error.code;
  return { ...error, code, message: redactSecrets(error.message, secrets) };
}

function idText(command: Command): string {
  return command.id.case === undefined ? "?" : String(command.id.value);
}

/**
 * Reads a Send/Execute reply as a Result.
 *
 * @example
 * ```ts
 * outcomeOf({ status: DeliveryStatus.ACKED }, "42"); // ok()
 * ```
 */
export function outcomeOf(reply: Outcome, id: string): Result<void> {
  switch (reply.status) {
    case DeliveryStatus.ACCEPTED:
    case DeliveryStatus.ACKED:
      return ok();
    case DeliveryStatus.NACKED: {
      const code = reply.nack && isErrorCode(reply.nack.code) ? reply.nack.code : "unavailable";
      return err(sluiceError(code, `relay nacked ${id}: ${reply.nack?.message ?? "no reason"}`, { metadata: { requeue: reply.nack?.requeue ?? true } }));
    }
    case DeliveryStatus.REJECTED: {
      const code = reply.error && isErrorCode(reply.error.code) ? reply.error.code : "validation";
      return err(sluiceError(code, `relay rejected ${id}: ${reply.error?.message ?? "no reason"}`));
    }
    default:
      return err(sluiceError("internal", `relay reply for ${id} has no status`));
  }
}
