/**
 * Test doubles for the client SDK, runtime-neutral (Bun and Deno): `FakeServer` hands out a
 * `WebSocket` class and a `fetch` that talk to it in memory. The test scripts what the server
 * does with each frame (`onFrame`), how it refuses upgrades (`refuse`: an HTTP status, answered
 * to the plain-HTTP probe with a JSON error body), and what the duplex route does (`stream`).
 *
 * @example
 * ```ts
 * const server = new FakeServer((frame, socket) => socket.reply(receiptFrame(frame.id, receipt)));
 * const producer = new Producer({ url: "http://fake", queue: "q", WebSocket: server.WebSocket, fetch: server.fetch });
 * ```
 */
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { type Frame, FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { eachFrame } from "../../src/protocol/frame-batch.ts";
import { pongFrame, receiptFrame } from "../../src/protocol/frame-builders.ts";
import { createJsFrameCodec } from "../../src/protocol/js-frame-codec.ts";
import type { WebSocketConstructor } from "../../src/client/options.ts";

const codec = createJsFrameCodec({ maxPayloadBytes: 16 << 20 });
type Listener = (event: { data?: unknown; code?: number; reason?: string }) => void;

/** One client socket of a `FakeServer`. */
export class FakeSocket {
  binaryType = "blob";
  readyState = 0;
  readonly received: Frame[] = [];
  readonly #listeners = new Map<string, Set<Listener>>();

  constructor(readonly server: FakeServer, readonly url: string) {}

  addEventListener(type: string, listener: Listener): void {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type)!.add(listener);
  }
  removeEventListener(type: string, listener: Listener): void {
    this.#listeners.get(type)?.delete(listener);
  }
  emit(type: string, event: { data?: unknown; code?: number; reason?: string } = {}): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }
  /** Messages the client sent (a batching client puts several frames in one). */
  messages = 0;
  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error("socket is not open");
    this.messages++;
    eachFrame(data, codec, (frame) => {
      if (!frame.ok) throw new Error(frame.error.message);
      this.received.push(frame.value);
      this.server.onFrame(frame.value, this);
    });
  }
  close(code = 1000, reason = ""): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.emit("close", { code, reason }));
  }
  /** The server sends `bytes` (one frame). */
  reply(bytes: Uint8Array): void {
    if (this.readyState !== 1) return;
    const copy = bytes.slice().buffer;
    queueMicrotask(() => this.emit("message", { data: copy }));
  }
  /** The server drops the connection. */
  drop(code = 1006): void {
    this.readyState = 3;
    this.emit("close", { code });
  }
}

/** What the fake duplex route does: answer every PUBLISH with a RECEIPT, never answer, or refuse with a status. */
export type StreamMode = "receipts" | "stall" | number;

/** An in-memory Sluice for the SDK. */
export class FakeServer {
  readonly sockets: FakeSocket[] = [];
  /** HTTP status refusing every upgrade (and answering the probe); undefined: upgrades succeed. */
  refuse: number | undefined;
  /** The JSON error code the probe answer carries. */
  refuseCode = "unauthorized";
  /** How many of the next upgrades fail although the route answers (the probe gets 426). */
  failOpens = 0;
  stream: StreamMode = "receipts";
  /** Frames received on duplex streams, and how many streams were opened. */
  readonly streamed: Frame[] = [];
  streams = 0;
  probes = 0;
  #sequence = 0;

  constructor(public onFrame: (frame: Frame, socket: FakeSocket) => void = (f, s) => this.receipt(f, s)) {}

  /** Answers a PUBLISH with a RECEIPT and a PING with a PONG (the default `onFrame`). */
  receipt(frame: Frame, socket: FakeSocket): void {
    if (frame.type === FrameType.PUBLISH) socket.reply(receiptFrame(frame.id, { sequenceId: ++this.#sequence, queue: "q", duplicate: false }));
    if (frame.type === FrameType.PING) socket.reply(pongFrame(frame.id));
  }

  // deno-lint-ignore no-this-alias
  readonly WebSocket: WebSocketConstructor = (() => {
    const server = this;
    return class extends FakeSocket {
      constructor(url: string) {
        super(server, url);
        server.sockets.push(this);
        const refused = server.refuse !== undefined || server.failOpens-- > 0;
        queueMicrotask(() => {
          this.readyState = refused ? 3 : 1;
          if (refused) {
            this.emit("error");
            this.emit("close", { code: 1006 });
          } else this.emit("open");
        });
      }
    };
  })();

  readonly fetch = (async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input);
    if (url.endsWith("/stream")) return this.#duplex(init?.body as ReadableStream<Uint8Array>, init?.signal ?? undefined);
    this.probes++;
    if (this.refuse === undefined) return Response.json({ error: { code: "validation", message: "needs an upgrade" } }, { status: 426 });
    return Response.json({ error: { code: this.refuseCode, message: `refused with ${this.refuse}` } }, { status: this.refuse });
  }) as typeof fetch;

  async #duplex(body: ReadableStream<Uint8Array>, signal?: AbortSignal): Promise<Response> {
    this.streams++;
    if (typeof this.stream === "number") return Response.json({ error: { code: "unavailable", message: "no duplex here" } }, { status: this.stream });
    const mode = this.stream;
    const decoder = new FrameStreamDecoder(codec);
    const server = this;
    const reader = body.getReader();
    signal?.addEventListener("abort", () => void reader.cancel().catch(() => {}));
    return new Response(
      new ReadableStream<Uint8Array>({
        async pull(controller) {
          // "stall": never reads the body and never answers, like a runtime that stopped reading it.
          if (mode === "stall") return new Promise(() => {});
          const next = await reader.read().catch(() => ({ done: true as const, value: undefined }));
          if (next.done) return controller.close();
          for (const item of decoder.push(next.value)) {
            if (!item.ok) continue;
            server.streamed.push(item.value);
            if (item.value.type === FrameType.PUBLISH) controller.enqueue(receiptFrame(item.value.id, { sequenceId: ++server.#sequence, queue: "q", duplicate: false }));
            if (item.value.type === FrameType.PUBLISH_END) return controller.close();
          }
        },
      }),
      { status: 200 },
    );
  }
}

/** Runs `body` while the global `WebSocket` is missing (as on Node 20). */
export async function withoutGlobalWebSocket<T>(body: () => Promise<T>): Promise<T> {
  const descriptor = Object.getOwnPropertyDescriptor(globalThis, "WebSocket");
  delete (globalThis as { WebSocket?: unknown }).WebSocket;
  try {
    return await body();
  } finally {
    if (descriptor) Object.defineProperty(globalThis, "WebSocket", descriptor);
  }
}
