/**
 * `DuplexPublisher`: the load generator's HTTP duplex producer (`POST /v1/queues/:q/stream`,
 * streaming request body, receipts streaming back). Publishes requested during one event-loop
 * turn go up as ONE chunk of back-to-back PUBLISH frames — what a real batching client does,
 * and the point of the duplex transport.
 *
 * @example
 * ```ts
 * const producer = DuplexPublisher.open("http://127.0.0.1:8787/v1/queues/bench/stream", rec, new PublishWriter(256));
 * producer.publish(6);      // sent as one chunk right after the current event
 * await producer.close();   // PUBLISH_END, then waits for the response to end
 * ```
 */
import type { LoadRecorder } from "./recorder.ts";
import type { Publisher } from "./ws-clients.ts";
import { ControlWriter, FrameSplitter, FrameType, type PublishWriter } from "./wire.ts";

export class DuplexPublisher implements Publisher {
  readonly #rec: LoadRecorder;
  readonly #writer: PublishWriter;
  readonly #controller: ReadableStreamDefaultController<Uint8Array>;
  readonly #done: Promise<void>;
  readonly #pendingIndex: number[] = [];
  readonly #pendingAt: number[] = [];
  #scheduled = false;
  #closed = false;

  private constructor(url: string, rec: LoadRecorder, writer: PublishWriter) {
    this.#rec = rec;
    this.#writer = writer;
    let controller!: ReadableStreamDefaultController<Uint8Array>;
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    this.#controller = controller;
    const response = fetch(url, {
      method: "POST",
      body,
      headers: { "content-type": "application/vnd.sluice.frames" },
      duplex: "half",
    } as RequestInit);
    this.#done = this.#readReceipts(response);
  }

  /** Starts the stream (the request goes out with the first chunk). */
  static open(url: string, rec: LoadRecorder, writer: PublishWriter): DuplexPublisher {
    return new DuplexPublisher(url, rec, writer);
  }

  // The message is published (index taken, clock read) when asked for, so the recorder knows
  // it is in flight at once; the batching delay until the chunk goes out counts in its latency,
  // as it would for a real batching client.
  publish(count: number): void {
    const now = performance.now();
    for (let i = 0; i < count; i++) {
      this.#pendingIndex.push(this.#rec.nextIndex(now));
      this.#pendingAt.push(now);
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.#flush());
  }

  async close(): Promise<void> {
    this.#flush();
    this.#closed = true;
    this.#controller.enqueue(new ControlWriter().write(FrameType.PUBLISH_END, 0).slice());
    this.#controller.close();
    await this.#done;
  }

  #flush(): void {
    this.#scheduled = false;
    const count = this.#pendingIndex.length;
    if (this.#closed || count === 0) return;
    const size = this.#writer.frameBytes;
    const chunk = new Uint8Array(count * size);
    for (let i = 0; i < count; i++) this.#writer.writeInto(chunk, i * size, this.#pendingIndex[i]!, this.#pendingAt[i]!);
    this.#pendingIndex.length = 0;
    this.#pendingAt.length = 0;
    this.#controller.enqueue(chunk);
  }

  async #readReceipts(responding: Promise<Response>): Promise<void> {
    const response = await responding;
    if (!response.ok || response.body === null) throw new Error(`duplex stream refused: ${response.status} ${await response.text()}`);
    const splitter = new FrameSplitter();
    const rec = this.#rec;
    const onFrame = (_view: DataView, _at: number, h: { type: number; id: number }) => {
      if (h.type === FrameType.RECEIPT) rec.onReceipt(h.id, performance.now());
      else if (h.type === FrameType.ERROR || h.type === FrameType.GOAWAY) rec.errors++;
    };
    const reader = response.body.getReader();
    for (;;) {
      const next = await reader.read();
      if (next.done) return;
      splitter.push(next.value, onFrame);
    }
  }
}
