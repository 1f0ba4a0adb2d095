// The WebSocket route builds DELIVER/RECEIPT frames in one reused buffer when the peer is Bun's
// ServerWebSocket (`copiesOnSend`). That is only safe if `send` has copied the bytes by the time
// it returns — inside a cork, straight to the socket, and when the frame is too big to write at
// once and waits in the backpressure buffer. This holds Bun to it over a real loopback socket.
import { describe, expect, test } from "../harness.ts";

const FRAMES = 200;
const BIG = 4 << 20; // larger than a loopback socket buffer: part of it must be queued

describe("Bun ServerWebSocket.send copies what it is given", () => {
  test("frames sent from one reused buffer (corked, direct, and backpressured) arrive intact", async () => {
    const scratch = new Uint8Array(BIG);
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (req, srv) => (srv.upgrade(req) ? undefined : new Response("upgrade", { status: 426 })),
      websocket: {
        message(ws) {
          const small = (i: number) => {
            scratch.fill(i & 0xff, 0, 64);
            return scratch.subarray(0, 64);
          };
          ws.cork(() => {
            for (let i = 0; i < FRAMES; i++) ws.send(small(i));
          });
          for (let i = FRAMES; i < 2 * FRAMES; i++) ws.send(small(i));
          scratch.fill(0xab);
          ws.send(scratch);
          scratch.fill(0xcd); // after send returned: must not reach the peer
          ws.send(small(7));
        },
      },
    });
    try {
      const received: Uint8Array[] = [];
      const done = Promise.withResolvers<void>();
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/`);
      ws.binaryType = "arraybuffer";
      ws.onmessage = (e) => {
        received.push(new Uint8Array(e.data as ArrayBuffer));
        if (received.length === 2 * FRAMES + 2) done.resolve();
      };
      ws.onopen = () => ws.send("go");
      const timer = setTimeout(() => done.reject(new Error(`only ${received.length} messages arrived`)), 10_000);
      await done.promise;
      clearTimeout(timer);
      ws.close();
      const wrong: number[] = [];
      for (let i = 0; i < 2 * FRAMES; i++) if (!received[i]!.every((b) => b === (i & 0xff))) wrong.push(i);
      expect(wrong).toEqual([]);
      const big = received[2 * FRAMES]!;
      expect(big.byteLength).toBe(BIG);
      expect(big.every((b) => b === 0xab)).toBe(true);
      expect(received[2 * FRAMES + 1]!.every((b) => b === 7)).toBe(true);
    } finally {
      await server.stop(true);
    }
  });
});
