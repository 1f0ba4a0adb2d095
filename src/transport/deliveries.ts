import type { Lease } from "../queue/lease.ts";
import { FrameBatch } from "../protocol/frame-batch.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../protocol/frame-layout.ts";
import type { FrameWriter } from "../protocol/frame-writer.ts";
import { type FramePeer, safeSend } from "./frame-peer.ts";

// Builds the delivery messages of a batch. Shared: a batch is built and sent without yielding.
let shared: FrameBatch | undefined;
function messageBatch(): FrameBatch {
  shared ??= new FrameBatch({ keepBytes: 128 * 1024 });
  return shared;
}

/**
 * Sends one batch of deliveries to a consumer: one DELIVER frame per message, or — to a consumer
 * that reads batches (`batched`) — every frame in as few messages as the 64 KiB / 256-frame caps
 * allow. Returns how many leases reached the runtime: `batch.length` when all did, else the index
 * of the first that did not (the socket is gone, `signal` aborted, or the runtime dropped the
 * frame or the message carrying it): the caller gives those back.
 *
 * @example
 * ```ts
 * const sent = sendDeliveries(peer, frames, leases, true, signal);
 * for (let i = sent; i < leases.length; i++) giveBack(leases[i]);
 * ```
 */
export function sendDeliveries(peer: FramePeer, frames: FrameWriter, batch: readonly Lease<Uint8Array>[], batched: boolean, signal: AbortSignal): number {
  if (!batched) {
    for (let i = 0; i < batch.length; i++) {
      const lease = batch[i]!;
      if (signal.aborted || !safeSend(peer, frames.deliver(lease.token, lease.attempt, lease.payload))) return i;
    }
    return batch.length;
  }
  const message = messageBatch();
  const copies = peer.copiesOnSend === true;
  let first = 0;
  for (let i = 0; i <= batch.length; i++) {
    const lease = batch[i];
    // DELIVER frames are written straight into the message (no frame of their own).
    if (lease !== undefined && message.fits(FRAME_HEADER_BYTES + lease.payload.byteLength)) {
      message.write(FrameType.DELIVER, 0, lease.token, lease.attempt, lease.payload);
      continue;
    }
    // batch[first, i) is in the message: send it, then start the next one with this frame.
    const bytes = copies ? message.takeView() : message.take();
    if (signal.aborted || !safeSend(peer, bytes)) {
      message.clear();
      return first;
    }
    first = i;
    if (lease !== undefined) message.write(FrameType.DELIVER, 0, lease.token, lease.attempt, lease.payload);
  }
  return batch.length;
}
