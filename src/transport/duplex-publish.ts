import { sluiceError, type SluiceError } from "../result/errors.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import type { Result } from "../result/result.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { type Frame, frameIdOf, FrameStreamDecoder } from "../protocol/frames.ts";
import { FrameBatch } from "../protocol/frame-batch.ts";
import { errorFrame, goawayFrame, publishEndFrame, receiptFrame } from "../protocol/frame-builders.ts";
import type { FrameCodec } from "../wasm/mod.ts";
import { publishOutcome } from "./publish-answer.ts";
import type { Enqueued } from "../queue/relay-queue.ts";
import { FullQueueStrikes } from "./publish-intake.ts";

/**
 * Options of `duplexPublish`.
 *
 * @example
 * ```ts
 * duplexPublish({ body: c.req.raw.body!, queue, codec, accepting: () => broker.accepting });
 * ```
 */
export interface DuplexPublishOptions {
  readonly body: ReadableStream<Uint8Array>;
  readonly queue: RelayQueue<Uint8Array>;
  readonly codec: FrameCodec;
  readonly accepting: () => boolean;
  /** Aborts the pump (e.g. the request's signal). */
  readonly signal?: AbortSignal;
  /** `queue.full` refusals (`fullMode: "reject"`) tolerated after the GOAWAY before the stream ends. Default 64. */
  readonly maxRejected?: number;
}

/**
 * Runs the HTTP duplex publish pump behind `POST /v1/queues/:queue/stream`; the result is the
 * response body (a stream of RECEIPT / ERROR / GOAWAY frames).
 *
 * The request body is a stream of PUBLISH frames; the returned response body streams one
 * RECEIPT per PUBLISH as soon as that message is in the queue (for a stored queue: committed),
 * long before the request ends. The answers to one request chunk leave as one response chunk
 * (split at 64 KiB; sent before the pump waits for room in a full queue).
 * Backpressure runs end to end because the pump is pull-driven: the next request chunk is read
 * only when the response wants more and every PUBLISH of the previous chunk is enqueued (waiting
 * for room when the queue is full). So a full queue stops the server reading the body — TCP
 * flow control then slows the producer — and at most one chunk plus one partial frame are held.
 *
 * PUBLISH_END (or the end of the body) ends the response. A bad frame gets an ERROR frame; a
 * malformed header ends the stream after its ERROR (frame boundaries are lost). Once the server
 * stops accepting, each further PUBLISH is answered with GOAWAY (id = its id) and the stream
 * ends: a PUBLISH answered with GOAWAY was not enqueued.
 *
 * With `fullMode: "reject"` a full queue does not hold the body back; each refused PUBLISH gets
 * ERROR `queue.full`, the first of a run also GOAWAY (id 0), and after `maxRejected` more
 * refusals (`FullQueueStrikes`) the stream ends with an ERROR (id 0) and the server stops
 * reading the body: a producer that ignores `queue.full` is not read without end.
 *
 * @example
 * ```ts
 * app.post("/v1/queues/:queue/stream", (c) =>
 *   new Response(duplexPublish({ body: c.req.raw.body!, queue, codec, accepting: () => broker.accepting })));
 * ```
 */
export function duplexPublish(options: DuplexPublishOptions): ReadableStream<Uint8Array> {
  const { queue, codec, accepting } = options;
  const reader = options.body.getReader();
  const decoder = new FrameStreamDecoder(codec);
  const stop = new AbortController();
  const onOuterAbort = () => stop.abort(sluiceError("canceled", "request aborted"));
  options.signal?.addEventListener("abort", onOuterAbort, { once: true });
  let finished = false;
  const strikes = new FullQueueStrikes(options.maxRejected);
  // Resolves once every receipt handed to `afterCommit` so far has been emitted.
  const committed = () => new Promise<unknown>((done) => queue.afterCommit(done));
  // Answers wait here until the request chunk that caused them is handled: one response chunk each.
  const out = new FrameBatch();
  let flushQueued = false;
  const flushOut = (controller: ReadableStreamDefaultController<Uint8Array>) => {
    if (out.frames > 0 && !finished) controller.enqueue(out.take());
  };
  // After a cancel the controller is closed; anything still produced has nowhere to go.
  const emit = (controller: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array) => {
    if (finished) return;
    if (!out.fits(bytes.byteLength)) flushOut(controller);
    out.append(bytes);
    // Answers made in one go (a chunk's, or a commit's receipts) leave at the end of that
    // microtask at the latest; the pump also flushes as a chunk is done and before it waits.
    if (!flushQueued) {
      flushQueued = true;
      queueMicrotask(() => {
        flushQueued = false;
        flushOut(controller);
      });
    }
  };

  const finish = (controller: ReadableStreamDefaultController<Uint8Array>, trailer?: Uint8Array) => {
    if (finished) return;
    flushOut(controller);
    finished = true;
    options.signal?.removeEventListener("abort", onOuterAbort);
    if (trailer) controller.enqueue(trailer);
    controller.close();
    // The rest of the body is not wanted; cancelling tells the runtime to stop receiving it.
    void reader.cancel().catch(() => {});
  };

  // Handles one decoded frame; returns false when the stream must end. Synchronous unless the
  // queue is full and its fullMode is "wait": no promise per message on the common path.
  const handle = (frame: Frame, controller: ReadableStreamDefaultController<Uint8Array>): boolean | Promise<boolean> => {
    if (frame.type === FrameType.PUBLISH_END) {
      return committed().then(() => {
        finish(controller, publishEndFrame());
        return false;
      });
    }
    if (frame.type !== FrameType.PUBLISH) {
      emit(controller, errorFrame(sluiceError("frame.malformed", `only PUBLISH and PUBLISH_END frames may be sent on a publish stream (got 0x${frame.type.toString(16)})`), frame.id));
      return true;
    }
    if (!accepting()) {
      emit(controller, goawayFrame(frame.id));
      finish(controller);
      return false;
    }
    const tried = queue.tryEnqueue(frame.payload);
    if (queue.waitsForRoom(tried)) {
      return queue.enqueue(frame.payload, { signal: stop.signal }).then((added) => answer(frame, added, controller));
    }
    return answer(frame, tried, controller);
  };

  const answer = (frame: Frame, added: Result<Enqueued>, controller: ReadableStreamDefaultController<Uint8Array>): boolean | Promise<boolean> => {
    const id = frame.id;
    if (added.ok) {
      strikes.accepted();
      // A stored queue's receipt waits for its commit (the pull awaits it before reading on).
      queue.whenStored(added, (stored) =>
        emit(controller, stored.ok ? receiptFrame(id, { sequenceId: stored.value.sequenceId, queue: queue.name, duplicate: stored.value.duplicate }) : errorFrame(stored.error, id))
      );
      return true;
    }
    const outcome = publishOutcome(added);
    if (outcome === "goaway") {
      emit(controller, goawayFrame(id));
      finish(controller);
      return false;
    }
    const verdict = outcome === "full" ? strikes.rejected() : "error";
    if (verdict === "close") {
      // After the receipts already owed (they wait for their commit), then the end of the stream.
      return committed().then(() => {
        finish(controller, errorFrame(sluiceError("queue.full", `queue '${queue.name}' is full and publishes kept coming after GOAWAY; stream ended, try again later`), 0));
        return false;
      });
    }
    emit(controller, errorFrame(added.error, frame.id));
    if (verdict === "goaway") emit(controller, goawayFrame(0));
    return true;
  };

  const fail = (controller: ReadableStreamDefaultController<Uint8Array>, error: SluiceError) => {
    emit(controller, errorFrame(error, frameIdOf(error)));
  };

  // Reads request chunks until one produced frames (a pull that enqueues nothing would not be
  // called again); the answers of each chunk are flushed as one response chunk.
  const pump = async (controller: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
    let produced = false;
    while (!produced && !finished) {
      let next: Awaited<ReturnType<typeof reader.read>>;
      try {
        next = await reader.read();
      } catch (thrown) {
        if (!stop.signal.aborted) fail(controller, sluiceError("canceled", `request body failed: ${String(thrown)}`));
        finish(controller);
        return;
      }
      if (next.done) {
        await committed();
        const end = decoder.end();
        if (!end.ok) fail(controller, end.error);
        finish(controller);
        return;
      }
      for (const item of decoder.push(next.value)) {
        produced = true;
        if (!item.ok) {
          fail(controller, item.error);
          continue;
        }
        const handled = handle(item.value, controller);
        if (handled === true) continue;
        if (handled === false) return;
        flushOut(controller); // the answers so far leave before the wait (for room, or a commit)
        if (!(await handled)) return;
      }
      if (queue.commitPending) await committed();
      if (decoder.failed) {
        finish(controller);
        return;
      }
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      // Pull-driven: runs only when the response has room, and does not return before it
      // produced output (a pull that enqueues nothing would not be called again).
      async pull(controller) {
        try {
          await pump(controller);
        } finally {
          flushOut(controller);
        }
      },
      cancel() {
        // The client went away: stop waiting for room and stop reading.
        stop.abort(sluiceError("canceled", "response canceled"));
        finished = true;
        void reader.cancel().catch(() => {});
      },
    },
    { highWaterMark: 1 },
  );
}
