/**
 * One builder per frame type Sluice sends or accepts, so the meaning of `id` and `arg` for each
 * type (DESIGN.md "Wire frames") is written down once: PUBLISH/RECEIPT use the producer's
 * correlation id; DELIVER/ACK/NACK/TOUCH the lease token; DELIVER's arg is the attempt,
 * CREDIT's the credit granted, ERROR's the error code number (`errorCodeToArg`).
 *
 * @example
 * ```ts
 * ws.send(publishFrame(1, new TextEncoder().encode("hello")));
 * ws.send(creditFrame(32));
 * ws.send(ackFrame(lease.token));
 * ```
 */
import type { SluiceError } from "../result/errors.ts";
import { errorCodeToArg } from "./error-arg.ts";
import { FrameType } from "./frame-layout.ts";
import { encodeFrame } from "./frames.ts";
import { FrameWriter } from "./frame-writer.ts";
import { encodeGoAwayPayload } from "./goaway.ts";
import { encodeErrorPayload, encodeNackPayload, type NackPayload, type ReceiptPayload } from "./messages.ts";

// The per-message frames come from the allocation-lean writer (every frame its own buffer).
const fresh = FrameWriter.fresh();

/**
 * PUBLISH: `id` is the producer's correlation id, echoed in the RECEIPT.
 *
 * @example
 * ```ts
 * publishFrame(1, bytes)
 * ```
 */
export function publishFrame(id: number, payload: Uint8Array, options: { crc?: boolean } = {}): Uint8Array {
  return encodeFrame({ type: FrameType.PUBLISH, id, payload, crc: options.crc });
}

/**
 * PUBLISH_END: the producer will send nothing more on this stream.
 *
 * @example
 * ```ts
 * publishEndFrame()
 * ```
 */
export function publishEndFrame(): Uint8Array {
  return encodeFrame({ type: FrameType.PUBLISH_END });
}

/**
 * RECEIPT for the PUBLISH with correlation `id`.
 *
 * @example
 * ```ts
 * receiptFrame(1, { sequenceId: 42, queue: "jobs", duplicate: false })
 * ```
 */
export function receiptFrame(id: number, receipt: ReceiptPayload): Uint8Array {
  return fresh.receipt(id, receipt);
}

/**
 * ERROR about the frame `id` (0 when it is not about one frame): arg = code number, payload = Error protobuf.
 *
 * @example
 * ```ts
 * errorFrame(sluiceError("frame.malformed", "bad header"), 7)
 * ```
 */
export function errorFrame(error: SluiceError, id = 0): Uint8Array {
  return encodeFrame({ type: FrameType.ERROR, id, arg: errorCodeToArg(error.code), payload: encodeErrorPayload(error) });
}

/**
 * DELIVER: `token` is the lease's fencing token, arg the attempt (1 on first delivery).
 *
 * @example
 * ```ts
 * deliverFrame(lease.token, lease.attempt, lease.payload)
 * ```
 */
export function deliverFrame(token: number, attempt: number, payload: Uint8Array): Uint8Array {
  return fresh.deliver(token, attempt, payload);
}

/**
 * ACK of the delivery with this lease token.
 *
 * @example
 * ```ts
 * ackFrame(delivery.token)
 * ```
 */
export function ackFrame(token: number): Uint8Array {
  return encodeFrame({ type: FrameType.ACK, id: token });
}

/**
 * NACK of a delivery; without a reason the server requeues it.
 *
 * @example
 * ```ts
 * nackFrame(token, { code: "unavailable", message: "db down", requeue: true })
 * ```
 */
export function nackFrame(token: number, reason?: NackPayload): Uint8Array {
  return encodeFrame({ type: FrameType.NACK, id: token, payload: reason ? encodeNackPayload(reason) : undefined });
}

/**
 * TOUCH (heartbeat): extends the lease by the queue's `leaseMs`.
 *
 * @example
 * ```ts
 * touchFrame(delivery.token)
 * ```
 */
export function touchFrame(token: number): Uint8Array {
  return encodeFrame({ type: FrameType.TOUCH, id: token });
}

/**
 * CREDIT: grants `credit` more deliveries (credits add up; each DELIVER uses one).
 *
 * @example
 * ```ts
 * creditFrame(32)
 * ```
 */
export function creditFrame(credit: number): Uint8Array {
  return encodeFrame({ type: FrameType.CREDIT, arg: credit });
}

/**
 * PING / PONG keepalive; the PONG echoes the PING's id.
 *
 * @example
 * ```ts
 * pingFrame(1)
 * ```
 */
export function pingFrame(id = 0): Uint8Array {
  return encodeFrame({ type: FrameType.PING, id });
}
/**
 * pongFrame.
 *
 * @example
 * ```ts
 * pongFrame(ping.id)
 * ```
 */
export function pongFrame(id = 0): Uint8Array {
  return encodeFrame({ type: FrameType.PONG, id });
}

/**
 * GOAWAY: the server is shutting down. With `id` it answers one PUBLISH that was NOT accepted
 * (publish it elsewhere or later); with id 0 it announces the shutdown to the connection, and
 * `peerUrls` (payload `sluice.v1.GoAway`, goaway.ts) names live peers the client may move to.
 *
 * @example
 * ```ts
 * goawayFrame(publish.id)
 * goawayFrame(0, gossip.peerUrls())
 * ```
 */
export function goawayFrame(id = 0, peerUrls: readonly string[] = []): Uint8Array {
  return peerUrls.length === 0 ? encodeFrame({ type: FrameType.GOAWAY, id }) : encodeFrame({ type: FrameType.GOAWAY, id, payload: encodeGoAwayPayload(peerUrls) });
}
