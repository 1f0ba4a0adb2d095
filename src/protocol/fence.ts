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
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { FenceSchema } from "../gen/sluice/v1/fence_pb.ts";
import { err, ok, type Result } from "../result/result.ts";
import { FrameType } from "./frame-layout.ts";
import { encodeFrame } from "./frames.ts";

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
  return toBinary(FenceSchema, create(FenceSchema, { scope: fence.scope, term: BigInt(fence.term) }));
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
  let scope: string;
  let term: bigint;
  try {
    ({ scope, term } = fromBinary(FenceSchema, bytes));
  } catch (thrown) {
    return err("frame.malformed", `cannot decode sluice.v1.Fence payload: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  if (scope === "") return err("frame.malformed", "sluice.v1.Fence has an empty scope");
  if (term < 1n || term > BigInt(Number.MAX_SAFE_INTEGER)) return err("frame.malformed", `sluice.v1.Fence term ${term} is not in 1..2^53-1`);
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
