/**
 * Test double for `SocketLike`: an in-memory downstream socket whose peer side the test scripts
 * (answer PUBLISH with ACK, stay silent, drop the connection).
 *
 * @example
 * ```ts
 * const net = new FakeNetwork((frame, socket) => socket.reply(ackFrame(frame.id)));
 * const downstream = new Downstream({ url: "ws://fake/", socketFactory: net.factory, clock });
 * ```
 */
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import type { SocketLike, SocketListener } from "../../src/transport/socket-like.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

const codec = createJsFrameCodec();
type EventType = "open" | "message" | "close" | "error";

export class FakeSocket implements SocketLike {
  binaryType = "blob";
  readyState = 0;
  readonly received: Frame[] = [];
  readonly #listeners = new Map<EventType, Set<SocketListener>>();

  constructor(private readonly network: FakeNetwork) {}

  addEventListener(type: EventType, listener: SocketListener): void {
    if (!this.#listeners.has(type)) this.#listeners.set(type, new Set());
    this.#listeners.get(type)!.add(listener);
  }
  removeEventListener(type: EventType, listener: SocketListener): void {
    this.#listeners.get(type)?.delete(listener);
  }
  emit(type: EventType, event: { data?: unknown; code?: number } = {}): void {
    for (const listener of [...(this.#listeners.get(type) ?? [])]) listener(event);
  }
  send(data: Uint8Array): void {
    if (this.readyState !== 1) throw new Error("socket is not open");
    const frame = decodeFrameMessage(data, codec);
    if (!frame.ok) throw new Error(frame.error.message);
    this.received.push(frame.value);
    this.network.onFrame(frame.value, this);
  }
  close(code = 1000): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    queueMicrotask(() => this.emit("close", { code }));
  }
  /** The peer sends a frame to the bridge. */
  reply(bytes: Uint8Array): void {
    if (this.readyState !== 1) return;
    const copy = bytes.slice().buffer;
    queueMicrotask(() => this.emit("message", { data: copy }));
  }
  /** The peer vanishes: close event without a handshake. */
  kill(): void {
    this.readyState = 3;
    this.emit("close", { code: 1006 });
  }
}

export class FakeNetwork {
  readonly sockets: FakeSocket[] = [];
  /** When false, new connections fail to open. */
  up = true;

  constructor(public onFrame: (frame: Frame, socket: FakeSocket) => void) {}

  readonly factory = (_url: string): SocketLike => {
    const socket = new FakeSocket(this);
    this.sockets.push(socket);
    const up = this.up;
    queueMicrotask(() => {
      if (up) {
        socket.readyState = 1;
        socket.emit("open");
      } else {
        socket.readyState = 3;
        socket.emit("error");
      }
    });
    return socket;
  };

  get last(): FakeSocket | undefined {
    return this.sockets.at(-1);
  }
}
