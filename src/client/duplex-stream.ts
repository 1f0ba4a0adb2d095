/**
 * One HTTP duplex publish stream (`POST /v1/queues/:queue/stream`, `fetch` with a streaming body
 * and `duplex: "half"`): frames go up the request body, frames come back in the response, and the
 * stream tells its owner how it ended — finished by the server, refused (a non-2xx answer, or no
 * answer at all), broken after it had started, or abandoned by its owner. `DuplexProducer` runs
 * one at a time and decides what each ending means (retry, give up, fall back to WebSocket).
 *
 * @example
 * ```ts
 * const stream = new PublishStream(url, headers, fetch, { onFrame: handle, onResponse: () => {}, onEnd: (end) => log(end.kind) });
 * stream.write(publishFrame(1, bytes));
 * stream.finish(); // PUBLISH_END
 * ```
 *
 * @module
 */
import { type SluiceError, sluiceError } from "../result/errors.ts";
import { ok, type Result } from "../result/result.ts";
import { Waiters } from "../queue/waiters.ts";
import { publishEndFrame } from "../protocol/frame-builders.ts";
import { type Frame, FrameStreamDecoder } from "../protocol/frames.ts";
import { createJsFrameCodec } from "../protocol/js-frame-codec.ts";

/**
 * How a stream ended. `refused`: the server answered with an error status (`status`), or the
 * request failed before any answer (`status` 0). `broken`: it failed after the answer started.
 *
 * @example
 * ```ts
 * if (end.kind === "refused" && end.status === 401) giveUp(end.error);
 * ```
 */
export type StreamEnd =
  | { readonly kind: "finished" }
  | { readonly kind: "refused"; readonly status: number; readonly error: SluiceError }
  | { readonly kind: "broken"; readonly error: SluiceError }
  | { readonly kind: "abandoned" };

/**
 * What a stream reports to its owner; each is called synchronously from the stream's reader.
 *
 * @example
 * ```ts
 * const handlers: StreamHandlers = { onFrame: (f) => settle(f), onResponse: () => {}, onEnd: (e) => console.log(e.kind) };
 * ```
 */
export interface StreamHandlers {
  /** A frame of the response (RECEIPT, ERROR, GOAWAY, PUBLISH_END). */
  onFrame(frame: Frame): void;
  /** The response started (2xx). */
  onResponse(): void;
  /** The stream is over; called once. */
  onEnd(end: StreamEnd): void;
}

/**
 * One publish stream over HTTP duplex.
 *
 * @example
 * ```ts
 * while (!stream.writable) await stream.waitForRoom(signal);
 * stream.write(publishFrame(id, payload));
 * ```
 */
export class PublishStream {
  readonly #abort = new AbortController();
  readonly #room = new Waiters<void>();
  readonly #handlers: StreamHandlers;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #over = false;
  #closed = false;
  /** Resolves once the stream is over and `onEnd` has run. */
  readonly done: Promise<void>;

  constructor(url: string, headers: Record<string, string>, fetcher: typeof fetch, handlers: StreamHandlers) {
    this.#handlers = handlers;
    // highWaterMark 16: up to 16 frames wait in the body before `writable` turns false.
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (this.#controller = c), pull: () => void this.#room.serve(ok()) }, { highWaterMark: 16 });
    let responding: Promise<Response>;
    try {
      responding = fetcher(url, { method: "POST", body, headers, duplex: "half", signal: this.#abort.signal } as RequestInit);
    } catch (thrown) {
      responding = Promise.reject(thrown);
    }
    // Not awaited here: some servers send the response head only with the first receipt, so
    // waiting for it before writing the first frame would deadlock.
    this.done = this.#read(responding);
  }

  /** False once the stream is over (no more writes). */
  get open(): boolean {
    return !this.#over;
  }

  /** True when the body's buffer has room for another frame. */
  get writable(): boolean {
    return !this.#over && (this.#controller.desiredSize ?? 1) > 0;
  }

  /** Waits until the body wants more, or the stream is over; `canceled` when `signal` aborts. */
  waitForRoom(signal?: AbortSignal): Promise<Result<void>> {
    if (this.writable || this.#over) return Promise.resolve(ok());
    return this.#room.wait(signal);
  }

  /** Queues one frame in the request body (ignored once the stream is over). */
  write(frame: Uint8Array): void {
    if (!this.#over && !this.#closed) this.#controller.enqueue(frame);
  }

  /** Sends PUBLISH_END and ends the request body; the server ends the response after answering everything. */
  finish(): void {
    if (this.#over || this.#closed) return;
    this.#controller.enqueue(publishEndFrame());
    this.#closeBody();
  }

  /** Stops the stream now (the request is aborted); it ends as `abandoned`. */
  abandon(): void {
    if (this.#over) return;
    this.#end({ kind: "abandoned" });
    this.#abort.abort();
  }

  #closeBody(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#controller.close();
    } catch {
      // Already closed or errored.
    }
  }

  #end(end: StreamEnd): void {
    if (this.#over) return;
    this.#over = true;
    this.#closeBody();
    this.#room.failAll(ok());
    this.#handlers.onEnd(end);
  }

  async #read(responding: Promise<Response>): Promise<void> {
    let response: Response;
    try {
      response = await responding;
    } catch (thrown) {
      return this.#end({ kind: "refused", status: 0, error: sluiceError("unavailable", `publish stream got no answer: ${String(thrown)}`) });
    }
    if (!response.ok || response.body === null) {
      const text = await response.text().catch(() => "");
      const code = response.status === 401 || response.status === 403 ? "unauthorized" : response.status === 404 ? "not_found" : "unavailable";
      const error = sluiceError(code, `publish stream refused: ${response.status} ${text}`, { metadata: { status: response.status } });
      return this.#end({ kind: "refused", status: response.status, error });
    }
    this.#handlers.onResponse();
    const decoder = new FrameStreamDecoder(createJsFrameCodec());
    try {
      const reader = response.body.getReader();
      for (;;) {
        const next = await reader.read();
        if (next.done || this.#over) break;
        for (const item of decoder.push(next.value)) if (item.ok && !this.#over) this.#handlers.onFrame(item.value);
      }
      this.#end({ kind: "finished" });
    } catch (thrown) {
      this.#end({ kind: "broken", error: sluiceError("unavailable", `publish stream failed: ${String(thrown)}; the message may or may not be enqueued`) });
    }
  }
}
