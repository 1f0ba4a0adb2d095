/**
 * The load generator's WebSocket clients, on raw frames (see wire.ts for why not the SDK):
 * `WsPublisher` sends PUBLISH and counts RECEIPTs; `WsConsumer` grants credit, acks every
 * DELIVER at once and tops its credit up in batches like the SDK's Consumer; `EchoClient`
 * drives the raw echo server with the very same PUBLISH frames (the runtime ceiling).
 *
 * @example
 * ```ts
 * const rec = new LoadRecorder();
 * const hooks = { settled: () => {} };
 * const consumer = new WsConsumer(await openWs(`${wsUrl}/v1/queues/bench/ws`), rec, 256, hooks);
 * const producer = new WsPublisher(await openWs(`${wsUrl}/v1/queues/bench/ws`), rec, new PublishWriter(256));
 * producer.publish(1);
 * ```
 */
import type { LoadRecorder } from "./recorder.ts";
import { ControlWriter, FRAME_HEADER_BYTES, FrameType, type Header, type PublishWriter, readHeader } from "./wire.ts";

/** Something that publishes benchmark messages. */
export interface Publisher {
  /** Publishes `count` messages now (or as one batch right after the current event). */
  publish(count: number): void;
  close(): Promise<void>;
}

/** Called once per settled message (acked, or echoed back); closed-loop runs refill from it. */
export interface SettleHooks {
  settled: () => void;
}

/**
 * Opens a binary WebSocket (bounded wait).
 *
 * @example
 * ```ts
 * const ws = await openWs("ws://127.0.0.1:8787/v1/queues/bench/ws");
 * ```
 */
export function openWs(url: string, timeoutMs = 10_000): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    const timer = setTimeout(() => (ws.close(), reject(new Error(`WebSocket ${url} did not open in ${timeoutMs} ms`))), timeoutMs);
    ws.onopen = () => (clearTimeout(timer), resolve(ws));
    ws.onerror = () => (clearTimeout(timer), reject(new Error(`WebSocket ${url} failed to open`)));
  });
}

function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 2000);
    ws.addEventListener("close", () => (clearTimeout(timer), resolve()));
    ws.close(1000, "load done");
  });
}

// `count` PUBLISH frames, each stamped with its own index and send time (WebSocket send copies).
function sendStamped(ws: WebSocket, rec: LoadRecorder, writer: PublishWriter, count: number): void {
  for (let i = 0; i < count; i++) {
    const now = performance.now();
    ws.send(writer.write(rec.nextIndex(now), now));
  }
}

export class WsPublisher implements Publisher {
  readonly #ws: WebSocket;
  readonly #rec: LoadRecorder;
  readonly #writer: PublishWriter;
  readonly #header: Header = { type: 0, id: 0, arg: 0, payloadLength: 0 };

  constructor(ws: WebSocket, rec: LoadRecorder, writer: PublishWriter) {
    this.#ws = ws;
    this.#rec = rec;
    this.#writer = writer;
    ws.onmessage = (event) => {
      const h = readHeader(new DataView(event.data as ArrayBuffer), 0, this.#header);
      if (h.type === FrameType.RECEIPT) rec.onReceipt(h.id, performance.now());
      else if (h.type === FrameType.ERROR || h.type === FrameType.GOAWAY) rec.errors++;
    };
  }

  publish(count: number): void {
    sendStamped(this.#ws, this.#rec, this.#writer, count);
  }

  close(): Promise<void> {
    return closeWs(this.#ws);
  }
}

export class WsConsumer {
  readonly #ws: WebSocket;
  readonly #control = new ControlWriter();
  readonly #header: Header = { type: 0, id: 0, arg: 0, payloadLength: 0 };
  #owed = 0;

  constructor(ws: WebSocket, rec: LoadRecorder, credit: number, hooks: SettleHooks) {
    this.#ws = ws;
    const topUpAt = Math.max(1, credit >> 1);
    ws.onmessage = (event) => {
      const now = performance.now();
      const view = new DataView(event.data as ArrayBuffer);
      const h = readHeader(view, 0, this.#header);
      if (h.type !== FrameType.DELIVER) {
        if (h.type === FrameType.ERROR || h.type === FrameType.GOAWAY) rec.errors++;
        return;
      }
      const publishedAtMs = view.getFloat64(FRAME_HEADER_BYTES, true);
      rec.onDeliver(view.getUint32(FRAME_HEADER_BYTES + 8, true), publishedAtMs, now);
      ws.send(this.#control.write(FrameType.ACK, h.id));
      rec.onAck(publishedAtMs, performance.now());
      // Credit back in batches of half the window, as the SDK's Consumer does.
      if (++this.#owed >= topUpAt) {
        ws.send(this.#control.write(FrameType.CREDIT, 0, this.#owed));
        this.#owed = 0;
      }
      hooks.settled();
    };
    ws.send(this.#control.write(FrameType.CREDIT, 0, credit));
  }

  close(): Promise<void> {
    return closeWs(this.#ws);
  }
}

/** One connection to the echo server: every echoed PUBLISH counts as delivered and settled. */
export class EchoClient implements Publisher {
  readonly #ws: WebSocket;
  readonly #rec: LoadRecorder;
  readonly #writer: PublishWriter;

  constructor(ws: WebSocket, rec: LoadRecorder, writer: PublishWriter, hooks: SettleHooks) {
    this.#ws = ws;
    this.#rec = rec;
    this.#writer = writer;
    ws.onmessage = (event) => {
      const now = performance.now();
      const view = new DataView(event.data as ArrayBuffer);
      const publishedAtMs = view.getFloat64(FRAME_HEADER_BYTES, true);
      rec.onDeliver(view.getUint32(FRAME_HEADER_BYTES + 8, true), publishedAtMs, now);
      rec.onAck(publishedAtMs, now);
      hooks.settled();
    };
  }

  publish(count: number): void {
    sendStamped(this.#ws, this.#rec, this.#writer, count);
  }

  close(): Promise<void> {
    return closeWs(this.#ws);
  }
}
