import { type SluiceError, sluiceError } from "../result/errors.ts";
import { delay } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import { Waiters } from "../queue/waiters.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { publishEndFrame, publishFrame } from "../protocol/frame-builders.ts";
import { FrameStreamDecoder } from "../protocol/frames.ts";
import { decodeErrorPayload, decodeReceiptPayload, type ReceiptPayload } from "../protocol/messages.ts";
import { createJsFrameCodec } from "../wasm/mod.ts";
import { type ClientOptions, clockOf, DEFAULT_RECONNECT, queueHttpUrl } from "./options.ts";
import { Replies } from "./replies.ts";

/**
 * Options of `DuplexProducer`.
 *
 * @example
 * ```ts
 * new DuplexProducer({ url, queue: "jobs", maxInFlight: 1024 });
 * ```
 */
export interface DuplexProducerOptions extends ClientOptions {
  /** Publishes awaiting their receipt at once. Default 256. */
  readonly maxInFlight?: number;
}

interface Stream {
  controller: ReadableStreamDefaultController<Uint8Array>;
  room: Waiters<void>;
  done: Promise<void>;
  broken: boolean;
}

/**
 * Publishes over one long HTTP request (`POST /v1/queues/:queue/stream`,
 * `fetch` with a streaming body and `duplex: "half"`): PUBLISH frames go up the request body
 * while RECEIPT frames stream back in the response, each as soon as its message is enqueued.
 * Writes wait while the request body's buffer is full (the server stops reading when the
 * queue is full), and at most `maxInFlight` publishes await receipts. If the stream breaks,
 * waiting publishes fail with `unavailable` and the next publish opens a new stream (bounded
 * by the `reconnect` policy).
 *
 * @example
 * ```ts
 * const producer = new DuplexProducer({ url: "http://127.0.0.1:8787", queue: "default" });
 * const receipt = await producer.publish(new TextEncoder().encode("hello"));
 * await producer.end(); // PUBLISH_END, then waits for the server to finish the response
 * ```
 */
export class DuplexProducer {
  readonly #options: DuplexProducerOptions;
  readonly #replies: Replies<ReceiptPayload>;
  #stream: Stream | undefined;
  #nextId = 0;
  /** Stream opens that failed in a row, and the last reason. */
  #failures = 0;
  #lastError: SluiceError | undefined;

  constructor(options: DuplexProducerOptions) {
    this.#options = options;
    this.#replies = new Replies(options.maxInFlight ?? 256);
  }

  /** Publishes awaiting receipts. */
  get inFlight(): number {
    return this.#replies.size;
  }

  /** Publishes one message on the stream; resolves with its receipt. */
  async publish(payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Result<ReceiptPayload>> {
    const room = await this.#replies.reserve(options.signal);
    if (!room.ok) return room;
    const stream = await this.#open(options.signal);
    if (!stream.ok) {
      this.#replies.release();
      return stream;
    }
    const { controller, room: space } = stream.value;
    while ((controller.desiredSize ?? 1) <= 0 && !stream.value.broken) {
      const waited = await space.wait(options.signal);
      if (!waited.ok) {
        this.#replies.release();
        return waited;
      }
    }
    if (stream.value.broken) {
      this.#replies.release();
      return err("unavailable", "publish stream broke");
    }
    const id = ++this.#nextId;
    const answer = this.#replies.expect(id);
    controller.enqueue(publishFrame(id, payload));
    return answer;
  }

  /** Ends the stream with PUBLISH_END and waits until the server has answered everything. */
  async end(): Promise<Result<void>> {
    const stream = this.#stream;
    if (stream === undefined) return ok();
    this.#stream = undefined;
    if (!stream.broken) {
      stream.controller.enqueue(publishEndFrame());
      stream.controller.close();
    }
    await stream.done;
    return ok();
  }

  // Opens a stream without waiting for the response: some servers send the response head only
  // with the first receipt, so waiting for it before writing the first frame would deadlock.
  // Failed opens are retried on the next publishes with the reconnect policy's backoff, and
  // give up (with the last error) once its attempts are used up in a row.
  async #open(signal?: AbortSignal): Promise<Result<Stream>> {
    if (this.#stream !== undefined && !this.#stream.broken) return ok(this.#stream);
    const policy = this.#options.reconnect ?? DEFAULT_RECONNECT;
    if (this.#failures >= policy.attempts) return err(this.#lastError ?? sluiceError("unavailable", "publish stream cannot be opened"));
    if (this.#failures > 0) {
      const waited = await delay(policy.delayAfter(this.#failures), { signal, clock: clockOf(this.#options) });
      if (!waited.ok) return waited;
      if (this.#stream !== undefined && !this.#stream.broken) return ok(this.#stream);
    }
    const room = new Waiters<void>();
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c), pull: () => void room.serve(ok()) }, { highWaterMark: 16 });
    const headers: Record<string, string> = { "content-type": "application/vnd.sluice.frames" };
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    const stream: Stream = { controller, room, broken: false, done: Promise.resolve() };
    const response = fetch(queueHttpUrl(this.#options, "stream"), { method: "POST", body, headers, duplex: "half" } as RequestInit);
    stream.done = this.#readReceipts(response, stream);
    this.#stream = stream;
    return ok(stream);
  }

  async #readReceipts(responding: Promise<Response>, stream: Stream): Promise<void> {
    const decoder = new FrameStreamDecoder(createJsFrameCodec());
    let failure = sluiceError("unavailable", "publish stream ended before the receipt arrived; the message may or may not be enqueued");
    try {
      const response = await responding;
      if (!response.ok || response.body === null) {
        const text = await response.text().catch(() => "");
        failure = sluiceError(response.status === 401 ? "unauthorized" : "unavailable", `publish stream refused: ${response.status} ${text}`);
        throw failure;
      }
      this.#failures = 0;
      const reader = response.body.getReader();
      for (;;) {
        const next = await reader.read();
        if (next.done) break;
        for (const item of decoder.push(next.value)) {
          if (!item.ok) continue;
          const { type, id, payload } = item.value;
          if (type === FrameType.RECEIPT) this.#replies.settle(id, decodeReceiptPayload(payload));
          else if (type === FrameType.ERROR) {
            const decoded = decodeErrorPayload(payload);
            this.#replies.settle(id, err(decoded.ok ? decoded.value : decoded.error));
          } else if (type === FrameType.GOAWAY) {
            this.#replies.settle(id, err("unavailable", "server is shutting down; the message was not enqueued"));
          }
        }
      }
    } catch (thrown) {
      // Refused, unreachable or broken: later publishes open a new stream (with backoff).
      if (thrown !== failure) failure = sluiceError("unavailable", `publish stream failed: ${String(thrown)}; the message may or may not be enqueued`);
      this.#failures++;
      this.#lastError = failure;
    }
    stream.broken = true;
    stream.room.failAll(ok());
    if (this.#stream === stream) this.#stream = undefined;
    try {
      stream.controller.close();
    } catch {
      // Already closed by end().
    }
    this.#replies.failAll(failure);
  }
}
