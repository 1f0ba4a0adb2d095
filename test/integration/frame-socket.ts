/**
 * Test helpers shared by the crash tests and `bench/faults/crash-random.ts`: a raw binary-frame
 * WebSocket client and a bounded wait.
 *
 * @example
 * ```ts
 * const socket = await openFrameSocket(`${server.url.replace("http", "ws")}/v1/queues/jobs/ws`);
 * socket.send(creditFrame(1));
 * const deliver = await socket.next(FrameType.DELIVER);
 * ```
 */
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { pingFrame } from "../../src/protocol/frame-builders.ts";
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { waitFor } from "./server-process.ts";

/**
 * A raw frame socket: `next(type)` takes received frames of a type in order (bounded wait; fails
 * at once when the socket closes), `barrier()` is PING → PONG (everything sent before is handled
 * and committed), and `onFrame` runs synchronously as each frame arrives (before `next` sees it).
 */
export async function openFrameSocket(url: string, onFrame: (frame: Frame) => void = () => {}) {
  const codec = createJsFrameCodec();
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const queued: Frame[] = [];
  let wake: (() => void) | undefined;
  let closed = false;
  socket.onmessage = (e) => {
    const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), codec);
    if (!f.ok) return;
    onFrame(f.value);
    queued.push(f.value);
    wake?.();
  };
  socket.onclose = () => {
    closed = true;
    wake?.();
  };
  await waitFor(() => socket.readyState === WebSocket.OPEN, 5000, "socket open");
  let pings = 0;
  const next = async (type: number, timeoutMs = 10_000): Promise<Frame> => {
    const until = Date.now() + timeoutMs;
    for (;;) {
      const i = queued.findIndex((f) => f.type === type);
      if (i >= 0) return queued.splice(i, 1)[0]!;
      if (closed) throw new Error(`socket closed while waiting for frame type 0x${type.toString(16)}`);
      const left = until - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for frame type 0x${type.toString(16)}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, left);
        wake = () => (clearTimeout(timer), (wake = undefined), r());
      });
    }
  };
  return {
    next,
    send: (frame: Uint8Array) => socket.send(frame),
    close: () => socket.close(),
    /** PING → PONG: the server has handled, and committed, everything this socket sent before. */
    async barrier(): Promise<void> {
      const id = ++pings;
      socket.send(pingFrame(id));
      while ((await next(FrameType.PONG)).id !== id);
    },
  };
}

/** `promise`, or an error naming `what` after `ms`. */
export async function bounded<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}`)), ms)));
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}
