// Issue 12 against the real server process: a producer that ignores queue.full is not served an
// unbounded stream of errors. WebSocket (Bun and Deno servers): GOAWAY, then close 1013 after a
// bounded number of refused PUBLISH frames. HTTP duplex with fullMode "reject" (Bun server): the
// response ends and the server stops reading the body.
import { afterEach, describe, expect, test } from "../harness.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage, type Frame, FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { publishFrame } from "../../src/protocol/frame-builders.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const codec = createJsFrameCodec();
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

const FLOOD = 20_000;

for (const runtime of ["bun", "deno"] as const) {
  describe(`publish flood into a full queue (server on ${runtime})`, () => {
    test("WebSocket: GOAWAY at the first refusal, then close 1013 after a bounded number of errors", async () => {
      server = await startServer(runtime, { config: { queues: { full: { capacity: 4 } } } });
      const socket = new WebSocket(`${server.url.replace("http", "ws")}/v1/queues/full/ws`);
      socket.binaryType = "arraybuffer";
      const frames: Frame[] = [];
      let closeCode: number | undefined;
      socket.onmessage = (e) => {
        const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), codec);
        if (f.ok) frames.push(f.value);
      };
      socket.onclose = (e) => void (closeCode = e.code);
      await waitFor(() => socket.readyState === WebSocket.OPEN, 5000, "socket open");
      const payload = new Uint8Array(64);
      for (let id = 1; id <= FLOOD && socket.readyState === WebSocket.OPEN; id++) {
        socket.send(publishFrame(id, payload));
        if (id % 1000 === 0) await new Promise((r) => setTimeout(r, 1));
      }
      await waitFor(() => closeCode !== undefined, 10_000, "the server closes the socket");
      // Deno's server socket drops the connection (the client sees 1006) when data frames arrive
      // after its Close frame, as they do from a producer still flooding; Bun's completes the
      // handshake, so the client reads 1013.
      if (runtime === "bun") expect(closeCode).toBe(1013);
      else expect([1013, 1006]).toContain(closeCode!);
      const count = (type: number) => frames.filter((f) => f.type === type).length;
      // The 4 receipts leave after their commit, just before the close. Bun delivers them; Deno's
      // abort (above) can discard frames still in its send buffer — a producer whose connection
      // dropped must treat unanswered publishes as unknown (at-least-once: resend).
      if (runtime === "bun") expect(count(FrameType.RECEIPT)).toBe(4);
      else expect(count(FrameType.RECEIPT)).toBeLessThanOrEqual(4);
      expect(frames.filter((f) => f.type === FrameType.GOAWAY).map((f) => f.id)).toEqual([0]);
      // One refusal earns the GOAWAY, 64 more are answered, the next closes: 65 errors at most.
      expect(count(FrameType.ERROR)).toBeLessThanOrEqual(65);
      expect(count(FrameType.ERROR)).toBeGreaterThan(0);
      // Held publishes were dropped, not enqueued behind the producer's back.
      expect((await getJson<{ pending: number }>(`${server.url}/v1/queues/full`)).pending).toBe(4);
    }, 30_000);
  });
}

describe("publish flood into a full queue (server on bun)", () => {
  test('HTTP duplex, fullMode "reject": the response ends and the server stops reading the body', async () => {
    server = await startServer("bun", { config: { queues: { full: { capacity: 4, fullMode: "reject" } } } });
    const chunk = (() => {
      const frames = Array.from({ length: 64 }, (_, i) => publishFrame(i + 1, new Uint8Array(1000)));
      const out = new Uint8Array(frames.reduce((n, f) => n + f.byteLength, 0));
      let at = 0;
      for (const f of frames) (out.set(f, at), (at += f.byteLength));
      return out;
    })();
    const limit = 512 * 1024 * 1024;
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (pulled >= limit) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const response = await fetch(`${server.url}/v1/queues/full/stream`, { method: "POST", body, duplex: "half" } as RequestInit);
    expect(response.status).toBe(200);
    const decoder = new FrameStreamDecoder(codec);
    const frames: Frame[] = [];
    const reader = response.body!.getReader();
    try {
      for (let next = await reader.read(); !next.done; next = await reader.read()) {
        for (const item of decoder.push(next.value)) if (item.ok) frames.push(item.value);
      }
    } catch {
      // The server may drop the connection once it stopped reading: the stream ended either way.
    }
    expect(frames.filter((f) => f.type === FrameType.RECEIPT).length).toBe(4);
    expect(frames.filter((f) => f.type === FrameType.ERROR).length).toBeLessThanOrEqual(66);
    // What the client managed to hand over is bounded by socket buffers, not by the 512 MiB body.
    expect(pulled).toBeLessThan(64 * 1024 * 1024);
    await body.cancel().catch(() => {});
  }, 60_000);
});
