/**
 * `answerOf(frame)`: what a frame from a downstream says about one of the bridge's PUBLISH frames.
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import type { Frame } from "../protocol/frames.ts";
import { decodeErrorPayload, decodeNackPayload } from "../protocol/messages.ts";
import { isFenceRefusal } from "../protocol/fence.ts";

/**
 * An answer to the PUBLISH with the frame's id:
 * - `confirmed`: ACK (a plain downstream) or RECEIPT (a downstream Sluice: the message is in its
 *   queue, committed when that queue is stored) — whichever comes first settles the send;
 * - `refused`: NACK or ERROR with that id — the downstream's verdict, its error code kept and
 *   marked `metadata.by = "downstream"`;
 * - `turned-away`: GOAWAY with that id — a Sluice that is shutting down did NOT take it
 *   (`unavailable`, safe to send again elsewhere or later);
 * - `none`: not an answer to a PUBLISH — GOAWAY 0 (the socket closes soon after, or every later
 *   PUBLISH gets its own GOAWAY), and ERROR `lease.inactive`, which a Sluice sends for a NACK
 *   about a lease token it does not know (the bridge's own rollback NACK): a PUBLISH is never
 *   answered with it, so it must not settle a later send that reuses the id.
 *
 * @example
 * ```ts
 * const answer = answerOf(frame);
 * if (answer.kind === "confirmed") pending.settle(frame.id, ok());
 * ```
 */
export type Answer =
  | { readonly kind: "confirmed"; readonly receipt: boolean }
  | { readonly kind: "refused"; readonly error: SluiceError }
  | { readonly kind: "turned-away"; readonly error: SluiceError }
  | { readonly kind: "none" };

const NONE: Answer = { kind: "none" };
const BY_ACK: Answer = { kind: "confirmed", receipt: false };
const BY_RECEIPT: Answer = { kind: "confirmed", receipt: true };

/**
 * Reads an ACK / RECEIPT / NACK / ERROR / GOAWAY frame as an `Answer` (any other frame: `none`).
 *
 * @example
 * ```ts
 * answerOf({ type: FrameType.RECEIPT, id: 7, arg: 0, flags: 0, payload }); // { kind: "confirmed", receipt: true }
 * ```
 */
export function answerOf(frame: Frame, shownUrl = "downstream"): Answer {
  switch (frame.type) {
    case FrameType.ACK:
      return BY_ACK;
    case FrameType.RECEIPT:
      return BY_RECEIPT;
    case FrameType.NACK:
    case FrameType.ERROR: {
      const error = refusal(frame);
      // A fencing refusal (lease.inactive with fence metadata) does answer a PUBLISH.
      return error.code === "lease.inactive" && !isFenceRefusal(error) ? NONE : { kind: "refused", error };
    }
    case FrameType.GOAWAY:
      if (frame.id === 0) return NONE;
      return { kind: "turned-away", error: sluiceError("unavailable", `${shownUrl} is going away and did not take message ${frame.id} (GOAWAY)`, { metadata: { id: frame.id } }) };
    default:
      return NONE;
  }
}

function refusal(frame: Frame): SluiceError {
  const decoded = frame.type === FrameType.NACK ? decodeNackPayload(frame.payload) : decodeErrorPayload(frame.payload);
  if (frame.payload.byteLength > 0 && decoded.ok) {
    const value = decoded.value;
    return sluiceError(value.code, value.message, { metadata: { ...("metadata" in value ? value.metadata : undefined), id: frame.id, by: "downstream" } });
  }
  return sluiceError("unavailable", `downstream refused message ${frame.id}`, { metadata: { id: frame.id } });
}
