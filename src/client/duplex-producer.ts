import { type SluiceError, sluiceError } from "../result/errors.ts";
import { abortable, delay } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import type { TimerHandle } from "../result/clock.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { publishFrame } from "../protocol/frame-builders.ts";
import type { Frame } from "../protocol/frames.ts";
import { decodeErrorPayload, decodeReceiptPayload, type ReceiptPayload } from "../protocol/messages.ts";
import { CallTracker } from "./calls.ts";
import { PublishStream, type StreamEnd } from "./duplex-stream.ts";
import { emit } from "./events.ts";
import { type ClientOptions, clockOf, DEFAULT_RECONNECT, queueHttpUrl } from "./options.ts";
import { Producer } from "./producer.ts";
import { Replies } from "./replies.ts";

/**
 * Options of `DuplexProducer`.
 *
 * @example
 * ```ts
 * new DuplexProducer({ url, queue: "jobs", maxInFlight: 1024, stallTimeoutMs: 5000 });
 * ```
 */
export interface DuplexProducerOptions extends ClientOptions {
  /** Publishes awaiting their receipt at once. Default 256. */
  readonly maxInFlight?: number;
  /** No frame back for this long while publishes are outstanding = a stalled stream: fall back to WebSocket. Default 10000; 0 never. */
  readonly stallTimeoutMs?: number;
}

/**
 * Publishes over one long HTTP request (`POST /v1/queues/:queue/stream`,
 * `fetch` with a streaming body and `duplex: "half"`): PUBLISH frames go up the request body
 * while RECEIPT frames stream back in the response, each once its message is committed.
 * Writes wait while the request body's buffer is full (the server stops reading when the
 * queue is full), and at most `maxInFlight` publishes await receipts. If a stream that worked
 * breaks, waiting publishes fail with `unavailable` and the next publish opens a new stream
 * (bounded by the `reconnect` policy). A 401 (`unauthorized`) or 404 (`not_found`) ends it.
 *
 * **Fallback to WebSocket.** When HTTP duplex does not work here — the stream is refused at once
 * (an error status other than 401/403/404/429/503, or no answer before any stream of this
 * producer ever answered, as with a browser that cannot stream a request body over HTTP/1.1),
 * or it stalls (no frame back for `stallTimeoutMs` while publishes are outstanding) — the producer
 * publishes over WebSocket (`Producer`) from then on, transparently: publishes outstanding on the
 * abandoned stream are sent again over WebSocket (at-least-once: one the stream had already
 * delivered may arrive twice), `transport` turns `"websocket"`, and a `fallback` event reports why.
 * A queue that stays full for `stallTimeoutMs` looks like a stall too; WebSocket publishing then
 * waits for room the same way.
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
  readonly #calls = new CallTracker();
  /** Payloads on the current stream awaiting their receipt, by id (sent again on a fallback). */
  readonly #outstanding = new Map<number, Uint8Array>();
  readonly #stallMs: number;
  #stream: PublishStream | undefined;
  #ws: Producer | undefined;
  #nextId = 0;
  /** Stream opens that failed in a row, and the last reason; `#fatal` ends the producer. */
  #failures = 0;
  #lastError: SluiceError | undefined;
  #fatal: SluiceError | undefined;
  #everAnswered = false;
  #lastProgress = 0;
  #stallTimer: TimerHandle | undefined;

  constructor(options: DuplexProducerOptions) {
    this.#options = options;
    this.#replies = new Replies(options.maxInFlight ?? 256);
    this.#stallMs = options.stallTimeoutMs ?? 10_000;
  }

  /** Publishes awaiting receipts. */
  get inFlight(): number {
    return this.#replies.size + (this.#ws?.inFlight ?? 0);
  }

  /** `"duplex"`, or `"websocket"` once it fell back. */
  get transport(): "duplex" | "websocket" {
    return this.#ws === undefined ? "duplex" : "websocket";
  }

  /** Publishes one message; resolves with its receipt, or why it failed. */
  publish(payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Result<ReceiptPayload>> {
    return this.#calls.run((sent) => this.#publish(payload, options.signal, sent));
  }

  /**
   * Resolves when everything published before this call is committed — each such publish has
   * its receipt, which the server sends after the commit (after a fallback, the WebSocket's PING
   * barrier as well); else the first failure (`metadata.failed`: how many). `canceled` on abort.
   */
  async flush(options: { signal?: AbortSignal } = {}): Promise<Result<void>> {
    const before = this.#calls.snapshot();
    const answered = await abortable(before.answered(), options.signal);
    if (!answered.ok) return answered;
    if (!answered.value.ok) return answered.value;
    return this.#ws === undefined ? ok() : this.#ws.flush(options);
  }

  async #publish(payload: Uint8Array, signal: AbortSignal | undefined, sent: () => void): Promise<Result<ReceiptPayload>> {
    if (this.#ws !== undefined) return this.#ws.publish(payload, { signal });
    const room = await this.#replies.reserve(signal);
    if (!room.ok) return room;
    for (;;) {
      const stream = this.#ws === undefined ? await this.#open(signal) : ok(undefined);
      if (!stream.ok || stream.value === undefined) {
        this.#replies.release();
        return stream.ok ? this.#ws!.publish(payload, { signal }) : stream;
      }
      const waited = await stream.value.waitForRoom(signal);
      if (!waited.ok) {
        this.#replies.release();
        return waited;
      }
      if (!stream.value.writable) continue; // it ended while we waited: open the next one (or fall back)
      const id = ++this.#nextId;
      const answer = this.#replies.expect(id);
      if (this.#outstanding.size === 0) this.#lastProgress = clockOf(this.#options).now();
      this.#outstanding.set(id, payload);
      stream.value.write(publishFrame(id, payload));
      sent();
      this.#armStallTimer();
      return answer;
    }
  }

  /** Ends the stream with PUBLISH_END and waits until the server has answered everything (after a fallback: flushes and closes the WebSocket). */
  async end(): Promise<Result<void>> {
    if (this.#ws !== undefined) {
      const flushed = await this.flush();
      this.#ws.close();
      return flushed;
    }
    const stream = this.#stream;
    if (stream === undefined) return ok();
    this.#stream = undefined;
    stream.finish();
    await stream.done;
    return ok();
  }

  // The open stream, or a new one; `ok(undefined)` when publishing goes over WebSocket now.
  // Failed opens are retried on the next publishes with the reconnect policy's backoff, and
  // give up (with the last error) once its attempts are used up in a row.
  async #open(signal?: AbortSignal): Promise<Result<PublishStream | undefined>> {
    if (this.#stream?.open) return ok(this.#stream);
    if (this.#fatal !== undefined) return err(this.#fatal);
    const policy = this.#options.reconnect ?? DEFAULT_RECONNECT;
    if (this.#failures >= policy.attempts) return err(this.#lastError ?? sluiceError("unavailable", "publish stream cannot be opened"));
    if (this.#failures > 0) {
      const waited = await delay(policy.delayAfter(this.#failures), { signal, clock: clockOf(this.#options) });
      if (!waited.ok) return waited;
      if (this.#ws !== undefined) return ok(undefined);
      if (this.#stream?.open) return ok(this.#stream);
    }
    const headers: Record<string, string> = { "content-type": "application/vnd.sluice.frames" };
    if (this.#options.token !== undefined) headers.authorization = `Bearer ${this.#options.token}`;
    const fetcher = this.#options.fetch ?? fetch;
    const stream: PublishStream = new PublishStream(queueHttpUrl(this.#options, "stream"), headers, fetcher, {
      onFrame: (frame) => this.#onFrame(frame),
      onResponse: () => {
        this.#failures = 0;
        this.#everAnswered = true;
        this.#lastProgress = clockOf(this.#options).now();
        emit(this.#options.onEvent, { type: "connected", transport: "duplex" });
      },
      onEnd: (end) => this.#onEnd(stream, end),
    });
    this.#stream = stream;
    return ok(stream);
  }

  #onFrame({ type, id, payload }: Frame): void {
    this.#lastProgress = clockOf(this.#options).now();
    let answer: Result<ReceiptPayload> | undefined;
    if (type === FrameType.RECEIPT) answer = decodeReceiptPayload(payload);
    else if (type === FrameType.ERROR) {
      const decoded = decodeErrorPayload(payload);
      answer = err(decoded.ok ? decoded.value : decoded.error);
    } else if (type === FrameType.GOAWAY) {
      answer = err("unavailable", "server is shutting down; the message was not enqueued");
    }
    if (answer === undefined) return;
    this.#outstanding.delete(id);
    if (this.#outstanding.size === 0) this.#clearStallTimer(); // no timer keeps an idle process alive
    if (!this.#replies.settle(id, answer) && !answer.ok) emit(this.#options.onEvent, { type: "error", error: answer.error, id });
  }

  #onEnd(stream: PublishStream, end: StreamEnd): void {
    if (this.#stream === stream) this.#stream = undefined;
    if (end.kind === "abandoned") return;
    if (end.kind === "refused") {
      const { status, error } = end;
      if (status === 401 || status === 403 || status === 404) this.#fatal = error;
      else if (status !== 0 && status !== 429 && status !== 503) return this.#fallBack(error);
      else if (status === 0 && !this.#everAnswered) return this.#fallBack(error);
    }
    const failure = end.kind === "finished"
      ? sluiceError("unavailable", "publish stream ended before the receipt arrived; the message may or may not be enqueued")
      : end.error;
    if (end.kind !== "finished") {
      this.#failures++;
      this.#lastError = failure;
    }
    if (end.kind !== "finished" && this.#everAnswered) emit(this.#options.onEvent, { type: "disconnected", transport: "duplex", error: failure });
    this.#outstanding.clear();
    this.#clearStallTimer();
    this.#replies.failAll(failure);
  }

  // HTTP duplex does not work here: publish over WebSocket from now on, starting with what the
  // abandoned stream still owed a receipt for.
  #fallBack(error: SluiceError): void {
    if (this.#ws !== undefined) return;
    this.#ws = new Producer(this.#options);
    emit(this.#options.onEvent, { type: "fallback", from: "duplex", to: "websocket", error });
    const stream = this.#stream;
    this.#stream = undefined;
    stream?.abandon();
    this.#clearStallTimer();
    const resend = [...this.#outstanding];
    this.#outstanding.clear();
    for (const [id, payload] of resend) void this.#ws.publish(payload).then((answer) => this.#replies.settle(id, answer));
  }

  #armStallTimer(): void {
    if (this.#stallTimer !== undefined || this.#stallMs <= 0) return;
    const clock = clockOf(this.#options);
    const wait = Math.max(1, this.#lastProgress + this.#stallMs - clock.now());
    this.#stallTimer = clock.setTimeout(() => {
      this.#stallTimer = undefined;
      if (this.#ws !== undefined || this.#outstanding.size === 0) return;
      const idle = clock.now() - this.#lastProgress;
      if (idle < this.#stallMs) return this.#armStallTimer();
      const stalled = sluiceError("timeout", `publish stream stalled: no receipt for ${idle} ms while ${this.#outstanding.size} publish(es) were outstanding`, {
        metadata: { outstanding: this.#outstanding.size, stallTimeoutMs: this.#stallMs },
      });
      this.#fallBack(stalled);
    }, wait);
  }

  #clearStallTimer(): void {
    if (this.#stallTimer === undefined) return;
    clockOf(this.#options).clearTimeout(this.#stallTimer);
    this.#stallTimer = undefined;
  }
}
