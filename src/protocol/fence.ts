/**
 * The FENCE frame (type 0x26) and its `sluice.v1.Fence{scope, term}` payload: a sender names the
 * leadership term it acts under for a scope (DESIGN.md "Mesh roles", Leadership). Sent by a
 * bridge on every downstream socket when it opens and when its term changes; the PUBLISH frames
 * that follow on that socket are sent under that term.
 *
 * @example
 * ```ts
 * socket.send(fenceFrame({ scope: "bridge/jobs", term: 17 }));
 * const fence = decodeFencePayload(frame.payload); // ok({ scope: "bridge/jobs", term: 17 })
 * ```
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { FrameType } from "./frame-layout.ts";
import { encodeFrame } from "./frames.ts";
import { PayloadReader, PayloadWriter } from "./payload-wire.ts";

/**
 * A scope and the sender's fencing term in it (a positive safe integer).
 *
 * @example
 * ```ts
 * const fence: FencePayload = { scope: "bridge/jobs", term: 17 };
 * ```
 */
export interface FencePayload {
  readonly scope: string;
  readonly term: number;
}

/**
 * Encodes a `sluice.v1.Fence`. Throws `RangeError` for an empty scope or a term that is not a
 * positive safe integer (a programmer error: terms come from the lease store).
 *
 * @example
 * ```ts
 * encodeFencePayload({ scope: "bridge/jobs", term: 3 });
 * ```
 */
export function encodeFencePayload(fence: FencePayload): Uint8Array {
  if (typeof fence.scope !== "string" || fence.scope === "") throw new RangeError("Fence.scope must be a non-empty string");
  if (!Number.isSafeInteger(fence.term) || fence.term < 1) throw new RangeError(`Fence.term must be a positive safe integer (got ${fence.term})`);
  return new PayloadWriter().string(1, fence.scope).uint64(2, fence.term).finish();
}

/**
 * Decodes a FENCE payload from an untrusted peer: `frame.malformed` for bad bytes, an empty
 * scope, or a term of 0 or past 2^53. Never throws.
 *
 * @example
 * ```ts
 * const fence = decodeFencePayload(frame.payload);
 * if (!fence.ok) socket.send(errorFrame(fence.error, frame.id));
 * ```
 */
export function decodeFencePayload(bytes: Uint8Array): Result<FencePayload> {
  let scope = "";
  let term: number | bigint = 0;
  try {
    const r = new PayloadReader(bytes);
    for (let f = r.next(); f !== 0; f = r.next()) {
      if (f === 1) scope = r.string();
      else if (f === 2) term = r.uint64();
      else r.skip();
    }
  } catch (thrown) {
    return err("frame.malformed", `cannot decode sluice.v1.Fence payload: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  if (scope === "") return err("frame.malformed", "sluice.v1.Fence has an empty scope");
  if (typeof term === "bigint" || term < 1) return err("frame.malformed", `sluice.v1.Fence term ${term} is not in 1..2^53-1`);
  return ok({ scope, term: Number(term) });
}

/**
 * FENCE: "what I send on this socket from now on, I send as the leader of `scope` in `term`".
 * `id` is unused by the protocol (0); a downstream that refuses the fence answers ERROR with it.
 *
 * @example
 * ```ts
 * fenceFrame({ scope: "bridge/jobs", term: 17 })
 * ```
 */
export function fenceFrame(fence: FencePayload, id = 0): Uint8Array {
  return encodeFrame({ type: FrameType.FENCE, id, payload: encodeFencePayload(fence) });
}

/**
 * The error code a send under a superseded term is refused with: a stale fencing token, as for
 * a lease (`lease.inactive`). On the Relay it travels as FAILED_PRECONDITION with
 * `sluice-error-code: lease.inactive`; on a socket as an ERROR frame whose Error metadata holds
 * `fenceScope`, `fenceTerm` and `highestTerm`.
 *
 * @example
 * ```ts
 * socket.send(errorFrame(fenceRefusal("bridge/jobs", 3, 4), publishId)); // arg = code of FENCE_REFUSAL_CODE
 * ```
 */
export const FENCE_REFUSAL_CODE = "lease.inactive" as const;

/**
 * The refusal of a send (or a FENCE) under `term` when `highest` is the highest term accepted
 * for `scope`.
 *
 * @example
 * ```ts
 * fenceRefusal("bridge/jobs", 3, 4).metadata; // { fenceScope: "bridge/jobs", fenceTerm: 3, highestTerm: 4 }
 * ```
 */
export function fenceRefusal(scope: string, term: number, highest: number): SluiceError {
  return sluiceError(FENCE_REFUSAL_CODE, `fenced: term ${term} of ${scope} is superseded by term ${highest}; a newer leader sends now`, {
    metadata: { fenceScope: scope, fenceTerm: term, highestTerm: highest },
  });
}

/**
 * True for a fencing refusal as the sender sees it: an ERROR frame's error with fence metadata,
 * or `lease.inactive` from a Relay call (FAILED_PRECONDITION; the Relay answers that code for
 * nothing else).
 *
 * @example
 * ```ts
 * if (!sent.ok && isFenceRefusal(sent.error)) fence.fenced(sent.error.message);
 * ```
 */
export function isFenceRefusal(error: SluiceError): boolean {
  return error.code === FENCE_REFUSAL_CODE && (error.metadata?.fenceScope !== undefined || error.metadata?.connectCode !== undefined);
}
