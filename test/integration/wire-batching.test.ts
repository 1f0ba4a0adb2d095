// Batching end to end (issue 21) against the real server, on Bun and on Deno, with memory and
// SQLite storage: a client that sets FrameFlag.ReadsBatches gets the receipts of one message of
// publishes back in a handful of messages (RECEIPT ranges, in order, the PONG behind them), and its deliveries
// in messages of many frames; a client that never sets it still gets exactly one frame per
// message; the SDK's batching Producer and Consumer move 2,000 messages with every one acked.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, Producer } from "../../src/client/mod.ts";
import { FrameFlag, FrameType } from "../../src/protocol/frame-layout.ts";
import { eachFrame, FrameBatch } from "../../src/protocol/frame-batch.ts";
import { pingFrame } from "../../src/protocol/frame-builders.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const codec = createJsFrameCodec();
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

/** A raw socket that records each message it receives as the frames in it. */
async function recordingSocket(url: string) {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const messages: Frame[][] = [];
  socket.onmessage = (e) => {
    const frames: Frame[] = [];
    eachFrame(new Uint8Array(e.data as ArrayBuffer), codec, (f) => f.ok && frames.push(f.value));
    messages.push(frames);
  };
  await waitFor(() => socket.readyState === WebSocket.OPEN, 5000, "socket open");
  const frames = () => messages.flat();
  return { socket, messages, frames, of: (type: number) => frames().filter((f) => f.type === type) };
}

function message(write: (batch: FrameBatch) => void): Uint8Array {
  const batch = new FrameBatch({ maxFrames: 10_000, maxBytes: 1 << 24 });
  write(batch);
  return batch.take();
}

for (const runtime of ["bun", "deno"] as const) {
  for (const storage of ["memory", "sqlite"] as const) {
    describe(`batched answers on ${runtime} (${storage})`, () => {
      const start = async () => {
        server = await startServer(runtime, { config: { storage, queues: { q: { leaseMs: 60_000 } } } });
        return `${server.url.replace("http", "ws")}/v1/queues/q/ws`;
      };

      test("flagged publishes: receipts in order in a few messages, the PONG behind them; deliveries batched too", async () => {
        const url = await start();
        const p = await recordingSocket(url);
        p.socket.send(message((b) => {
          for (let id = 1; id <= 100; id++) b.write(FrameType.PUBLISH, FrameFlag.ReadsBatches, id, 0, new TextEncoder().encode(`m${id}`));
          b.append(pingFrame(500));
        }));
        await waitFor(() => p.of(FrameType.PONG).length === 1, 10_000, "the PONG");
        // One RECEIPT range (arg = count) or single receipts: every id, in order.
        expect(p.of(FrameType.RECEIPT).flatMap((f) => Array.from({ length: Math.max(1, f.arg) }, (_, i) => f.id + i))).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
        expect(p.frames().at(-1)!.type).toBe(FrameType.PONG);
        expect(p.messages.length).toBeLessThanOrEqual(3);

        const c = await recordingSocket(url);
        c.socket.send(message((b) => b.write(FrameType.CREDIT, FrameFlag.ReadsBatches, 0, 100)));
        await waitFor(() => c.of(FrameType.DELIVER).length === 100, 10_000, "100 deliveries");
        expect(c.messages.length).toBeLessThan(50);
        c.socket.send(message((b) => {
          for (const d of c.of(FrameType.DELIVER)) b.write(FrameType.ACK, FrameFlag.ReadsBatches, d.id, 0);
          b.append(pingFrame(7));
        }));
        await waitFor(() => c.of(FrameType.PONG).length === 1, 10_000, "the consumer's PONG");
        expect(await getJson(`${server!.url}/v1/queues/q`)).toMatchObject({ pending: 0, active: 0, acked: 100 });
        p.socket.close();
        c.socket.close();
      }, 60_000);

      test("a client that never sets the flag gets one frame per message, though it sends batches", async () => {
        const url = await start();
        const p = await recordingSocket(url);
        p.socket.send(message((b) => {
          for (let id = 1; id <= 20; id++) b.write(FrameType.PUBLISH, 0, id, 0, new Uint8Array(8));
          b.append(pingFrame(1));
        }));
        await waitFor(() => p.of(FrameType.PONG).length === 1, 10_000, "the PONG");
        expect(p.messages.length).toBe(21);
        expect(p.messages.every((m) => m.length === 1)).toBe(true);
        p.socket.close();
      }, 60_000);

      test("the SDK's batching Producer and Consumer: 2,000 messages, every one received once and acked", async () => {
        await start();
        const options = { url: server!.url, queue: "q" };
        const consumer = new Consumer({ ...options, credit: 256 });
        const producer = new Producer({ ...options, maxInFlight: 512 });
        const seen = new Set<string>();
        const consuming = (async () => {
          for await (const d of consumer) {
            seen.add(new TextDecoder().decode(d.payload));
            consumer.ack(d);
            if (seen.size === 2000) break;
          }
        })();
        const receipts = await Promise.all(Array.from({ length: 2000 }, (_, i) => producer.publish(new TextEncoder().encode(`n${i}`))));
        expect(receipts.every((r) => r.ok)).toBe(true);
        expect((await producer.flush()).ok).toBe(true);
        await consuming;
        expect((await consumer.flush()).ok).toBe(true);
        expect(seen.size).toBe(2000);
        await waitFor(async () => (await getJson<{ acked: number }>(`${server!.url}/v1/queues/q`)).acked === 2000, 10_000, "2,000 acked");
        expect(await getJson(`${server!.url}/v1/queues/q`)).toMatchObject({ pending: 0, active: 0, acked: 2000 });
        producer.close();
        consumer.close();
      }, 60_000);
    });
  }
}
