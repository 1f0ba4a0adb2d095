import { sluiceError } from "../result/errors.ts";
import { err, type Result } from "../result/result.ts";
import { retry } from "../result/retry.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { publishFrame } from "../protocol/frame-builders.ts";
import { decodeFrameMessage } from "../protocol/frames.ts";
import { decodeErrorPayload, decodeReceiptPayload, type ReceiptPayload } from "../protocol/messages.ts";
import { createJsFrameCodec, type FrameCodec } from "../wasm/mod.ts";
import { type ClientOptions, clockOf, DEFAULT_RECONNECT, queueSocketUrl } from "./options.ts";
import { Replies } from "./replies.ts";
import { openSocket } from "./socket.ts";

/**
 * Options of `Producer`.
 *
 * @example
 * ```ts
 * new Producer({ url, queue: "jobs", maxInFlight: 64, crc: true });
 * ```
 */
export interface ProducerOptions extends ClientOptions {
  /** Publishes awaiting their receipt at once. Default 256. */
  readonly maxInFlight?: number;
  /** Add a CRC32C to every PUBLISH. Default false. */
  readonly crc?: boolean;
}

/**
 * Publishes messages to a queue over a WebSocket and resolves each publish with its
 * RECEIPT (sequence id). At most `maxInFlight` publishes wait for receipts at once. When the
 * socket is gone the next publish reconnects (bounded by the `reconnect` policy); publishes that
 * were waiting when it dropped fail with `unavailable` and may have been enqueued — retrying
 * them gives at-least-once delivery. A GOAWAY answer (server shutting down) fails that publish
 * with `unavailable`: it was NOT enqueued.
 *
 * @example
 * ```ts
 * const producer = new Producer({ url: "http://127.0.0.1:8787", queue: "default" });
 * const receipt = await producer.publish(new TextEncoder().encode("hello"));
 * if (receipt.ok) console.log(receipt.value.sequenceId);
 * producer.close();
 * ```
 */
export class Producer {
  readonly #options: ProducerOptions;
  readonly #codec: FrameCodec;
  readonly #replies: Replies<ReceiptPayload>;
  #socket: WebSocket | undefined;
  #connecting: Promise<Result<WebSocket>> | undefined;
  #nextId = 0;
  #closed = false;

  constructor(options: ProducerOptions) {
    this.#options = options;
    this.#codec = createJsFrameCodec();
    this.#replies = new Replies(options.maxInFlight ?? 256);
  }

  /** Publishes awaiting receipts. */
  get inFlight(): number {
    return this.#replies.size;
  }

  /** Publishes one message; resolves with its receipt, or why it failed. */
  async publish(payload: Uint8Array, options: { signal?: AbortSignal } = {}): Promise<Result<ReceiptPayload>> {
    if (this.#closed) return err("canceled", "producer is closed");
    const room = await this.#replies.reserve(options.signal);
    if (!room.ok) return room;
    const socket = await this.#connected(options.signal);
    if (!socket.ok) {
      this.#replies.release();
      return socket;
    }
    const id = ++this.#nextId;
    const answer = this.#replies.expect(id);
    try {
      socket.value.send(publishFrame(id, payload, { crc: this.#options.crc }));
    } catch (thrown) {
      this.#replies.settle(id, err("unavailable", `send failed: ${String(thrown)}`));
    }
    return answer;
  }

  /** Closes the socket; publishes still waiting fail with `unavailable`. */
  close(): void {
    this.#closed = true;
    this.#socket?.close(1000, "producer closed");
    this.#replies.failAll(sluiceError("unavailable", "producer closed before the receipt arrived"));
  }

  #connected(signal?: AbortSignal): Promise<Result<WebSocket>> {
    if (this.#socket !== undefined && this.#socket.readyState === WebSocket.OPEN) return Promise.resolve({ ok: true, value: this.#socket });
    this.#connecting ??= retry((_attempt, s) => openSocket(queueSocketUrl(this.#options), { signal: s }), this.#options.reconnect ?? DEFAULT_RECONNECT, {
      signal,
      clock: clockOf(this.#options),
    }).then((opened) => {
      this.#connecting = undefined;
      if (opened.ok) this.#attach(opened.value);
      return opened;
    });
    return this.#connecting;
  }

  #attach(socket: WebSocket): void {
    this.#socket = socket;
    socket.addEventListener("message", (event) => this.#onMessage(event.data));
    socket.addEventListener("close", () => {
      if (this.#socket === socket) this.#socket = undefined;
      this.#replies.failAll(sluiceError("unavailable", "connection closed before the receipt arrived; the message may or may not be enqueued"));
    });
  }

  #onMessage(data: unknown): void {
    if (!(data instanceof ArrayBuffer)) return;
    const frame = decodeFrameMessage(new Uint8Array(data), this.#codec);
    if (!frame.ok) return;
    const { type, id, payload } = frame.value;
    if (type === FrameType.RECEIPT) {
      this.#replies.settle(id, decodeReceiptPayload(payload));
    } else if (type === FrameType.ERROR) {
      const decoded = decodeErrorPayload(payload);
      this.#replies.settle(id, err(decoded.ok ? decoded.value : decoded.error));
    } else if (type === FrameType.GOAWAY) {
      if (id !== 0) this.#replies.settle(id, err("unavailable", "server is shutting down; the message was not enqueued"));
      else this.#socket = undefined; // no new publishes on this socket; the next one reconnects
    }
  }
}
