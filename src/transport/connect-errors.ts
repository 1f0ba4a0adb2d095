/**
 * Error mapping between Sluice and Connect/gRPC, both ways, so a `SluiceError` crosses the
 * `sluice.v1.Relay` service with its meaning (and so `retry` still knows what is worth retrying):
 * the server throws `connectErrorOf(error)`, the client reads `sluiceErrorOf(thrown)`.
 *
 * Connect's `Unknown` — what a fetch that never reached a server (connection refused, reset)
 * surfaces as — maps to `unavailable`: the peer may come back, so it is retried.
 *
 * @example
 * ```ts
 * throw connectErrorOf(sluiceError("queue.full", "no room"));      // Code.ResourceExhausted
 * sluiceErrorOf(new ConnectError("down", Code.Unavailable)).code;  // "unavailable"
 * ```
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { type ErrorCode, isSluiceError, type SluiceError, sluiceError } from "../result/errors.ts";

const TO_CONNECT: Readonly<Record<ErrorCode, Code>> = {
  canceled: Code.Canceled,
  timeout: Code.DeadlineExceeded,
  validation: Code.InvalidArgument,
  "queue.full": Code.ResourceExhausted,
  "queue.closed": Code.Unavailable,
  "lease.inactive": Code.FailedPrecondition,
  "lease.expired": Code.FailedPrecondition,
  poisoned: Code.FailedPrecondition,
  "frame.malformed": Code.InvalidArgument,
  "frame.too_large": Code.ResourceExhausted,
  unavailable: Code.Unavailable,
  unauthorized: Code.Unauthenticated,
  not_found: Code.NotFound,
  internal: Code.Internal,
};

const FROM_CONNECT: Partial<Record<Code, ErrorCode>> = {
  [Code.Canceled]: "canceled",
  [Code.Unknown]: "unavailable",
  [Code.InvalidArgument]: "validation",
  [Code.DeadlineExceeded]: "timeout",
  [Code.NotFound]: "not_found",
  [Code.PermissionDenied]: "unauthorized",
  [Code.Unauthenticated]: "unauthorized",
  [Code.ResourceExhausted]: "queue.full",
  [Code.Unavailable]: "unavailable",
  [Code.Aborted]: "unavailable",
  [Code.Unimplemented]: "validation",
};

/**
 * The `ConnectError` a Relay handler throws for a Sluice failure.
 *
 * @example
 * ```ts
 * connectErrorOf(sluiceError("not_found", "no queue 'x'")).code; // Code.NotFound
 * ```
 */
export function connectErrorOf(error: SluiceError): ConnectError {
  return new ConnectError(error.message, TO_CONNECT[error.code] ?? Code.Internal);
}

/**
 * The `SluiceError` for whatever a Relay client call threw.
 *
 * @example
 * ```ts
 * try { await client.send(req, { signal }); } catch (thrown) { return err(sluiceErrorOf(thrown)); }
 * ```
 */
export function sluiceErrorOf(thrown: unknown): SluiceError {
  if (isSluiceError(thrown)) return thrown;
  const error = ConnectError.from(thrown);
  return sluiceError(FROM_CONNECT[error.code] ?? "internal", `relay rpc: ${error.rawMessage || error.message}`, {
    cause: thrown,
    metadata: { connectCode: Code[error.code] },
  });
}
