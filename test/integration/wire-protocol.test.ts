// The wire protocol against the real server over loopback — on Bun, on Deno, and on workerd (the
// Worker and its SluiceQueue Durable Objects, workerd/sluice.capnp): bad frames get ERROR frames
// and the socket stays usable; a consumer holds at most its credit; a disconnect requeues its
// leases at once; a batch of frames in one message is handled frame by frame; HTTP publish,
// stats, poison list/replay and /metrics. Bun only: duplex receipts arrive before the body ends,
// and a full queue stops the server reading the body.
import { afterEach, describe, expect, test } from "../harness.ts";
import { FRAME_HEADER_BYTES, FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage, encodeFrame, type Frame, FrameStreamDecoder } from "../../src/protocol/frames.ts";
import { ackFrame, creditFrame, nackFrame, pingFrame, publishFrame } from "../../src/protocol/frame-builders.ts";
import { argToErrorCode, decodeErrorPayload } from "../../src/protocol/messages.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { getJson, metric, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const codec = createJsFrameCodec();
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

/** A raw frame socket that records every frame it receives. */
async function frameSocket(url: string) {
  const socket = new WebSocket(url);
  socket.binaryType = "arraybuffer";
  const frames: Frame[] = [];
  socket.onmessage = (e) => {
    const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), codec);
    if (f.ok) frames.push(f.value);
  };
  await waitFor(() => socket.readyState === WebSocket.OPEN, 5000, "socket open");
  // PING/PONG as a barrier: once the PONG is back, the server has handled everything sent before.
  let pings = 0;
  const sync = async () => {
    const id = ++pings;
    socket.send(pingFrame(id));
    await waitFor(() => frames.some((f) => f.type === FrameType.PONG && f.id === id), 5000, `pong ${id}`);
  };
  return { socket, frames, sync, of: (type: number) => frames.filter((f) => f.type === type) };
}

for (const runtime of ["bun", "deno", "workerd"] as const) {
  describe(`wire protocol (server on ${runtime})`, () => {
    test("bad frames → ERROR frames, socket stays usable; credit bounds deliveries; disconnect requeues at once", async () => {
      server = await startServer(runtime, { config: { maxFrameBytes: 1024, queues: { q: { leaseMs: 60_000 } } } });
      const wsUrl = `${server.url.replace("http", "ws")}/v1/queues/q/ws`;
      const p = await frameSocket(wsUrl);
      p.socket.send(new Uint8Array(30).fill(0xee));
      p.socket.send(encodeFrame({ type: FrameType.PUBLISH, id: 77, payload: new Uint8Array(2000) }));
      p.socket.send("text");
      for (let i = 1; i <= 10; i++) p.socket.send(publishFrame(i, new TextEncoder().encode(`m${i}`), { crc: i % 2 === 0 }));
      await p.sync();
      const errors = p.of(FrameType.ERROR).map((f) => {
        const e = decodeErrorPayload(f.payload);
        const code = argToErrorCode(f.arg);
        return `${code.ok ? code.value : "?"}/${e.ok ? e.value.code : "?"}@${f.id}`;
      });
      expect(errors).toEqual(["frame.malformed/frame.malformed@0", "frame.too_large/frame.too_large@77", "frame.malformed/frame.malformed@0"]);
      expect(p.of(FrameType.RECEIPT).map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

      const c = await frameSocket(wsUrl);
      c.socket.send(creditFrame(3));
      await c.sync();
      await waitFor(() => c.of(FrameType.DELIVER).length === 3, 5000, "3 deliveries");
      await c.sync();
      expect(c.of(FrameType.DELIVER).length).toBe(3); // no 4th without more credit
      const first = c.of(FrameType.DELIVER)[0]!;
      expect(first.arg).toBe(1);
      c.socket.send(ackFrame(first.id));
      c.socket.send(ackFrame(first.id)); // a second ack of the same token is refused
      await c.sync();
      expect(c.of(FrameType.ERROR).map((f) => decodeErrorPayload(f.payload)).map((e) => e.ok && e.value.code)).toEqual(["lease.inactive"]);
      expect(c.of(FrameType.DELIVER).length).toBe(3); // acking did not grant credit
      let stats = await getJson<{ pending: number; active: number; acked: number }>(`${server.url}/v1/queues/q`);
      expect(stats).toMatchObject({ pending: 7, active: 2, acked: 1 });

      c.socket.close();
      // leaseMs is 60 s: seeing the two leases back within the wait proves the disconnect requeued them.
      await waitFor(async () => {
        stats = await getJson(`${server!.url}/v1/queues/q`);
        return stats.active === 0 && stats.pending === 9;
      }, 5000, "held leases to be requeued");
      p.socket.close();
    }, 30_000);

    test("a batch of frames in one message: each handled in order, a bad one answered, the rest still served", async () => {
      server = await startServer(runtime, { config: { maxFrameBytes: 1024, queues: { q: { leaseMs: 60_000 } } } });
      const wsUrl = `${server.url.replace("http", "ws")}/v1/queues/q/ws`;
      const p = await frameSocket(wsUrl);
      const oversize = encodeFrame({ type: FrameType.PUBLISH, id: 99, payload: new Uint8Array(2000) });
      const batch = [1, 2, 3].map((i) => publishFrame(i, new TextEncoder().encode(`b${i}`)));
      p.socket.send(concat(batch[0]!, oversize, batch[1]!, batch[2]!, pingFrame(500)));
      await waitFor(() => p.of(FrameType.PONG).some((f) => f.id === 500), 5000, "the batch's PONG");
      expect(p.of(FrameType.RECEIPT).map((f) => f.id)).toEqual([1, 2, 3]);
      expect(p.of(FrameType.ERROR).map((f) => { const e = decodeErrorPayload(f.payload); return `${e.ok ? e.value.code : "?"}@${f.id}`; })).toEqual(["frame.too_large@99"]);
      const c = await frameSocket(wsUrl);
      c.socket.send(concat(creditFrame(2), creditFrame(1)));
      await waitFor(() => c.of(FrameType.DELIVER).length === 3, 5000, "3 deliveries");
      c.socket.send(concat(...c.of(FrameType.DELIVER).map((d) => ackFrame(d.id))));
      await c.sync();
      expect(await getJson(`${server.url}/v1/queues/q`)).toMatchObject({ pending: 0, active: 0, acked: 3 });
      p.socket.close();
      c.socket.close();
    }, 30_000);

    test("HTTP publish (202 after commit), stats, poison list and replay, /metrics", async () => {
      server = await startServer(runtime, { config: { queues: { jobs: { leaseMs: 60_000 } } } });
      const base = `${server.url}/v1/queues/jobs`;
      const published = await fetch(`${base}/messages`, { method: "POST", body: "over http", headers: { "idempotency-key": "k1" } });
      expect(published.status).toBe(202);
      expect(await published.json()).toMatchObject({ queue: "jobs", sequenceId: 1, duplicate: false });
      const again = await fetch(`${base}/messages`, { method: "POST", body: "over http", headers: { "idempotency-key": "k1" } });
      expect(await again.json()).toMatchObject({ sequenceId: 1, duplicate: true });
      expect((await fetch(`${server.url}/v1/queues/nope/messages`, { method: "POST", body: "x" })).status).toBe(404);
      expect(await getJson(base)).toMatchObject({ queue: "jobs", pending: 1, enqueued: 1 });
      // Rejected by its consumer (requeue: false) → poison; listed; replayed → delivered again.
      const c = await frameSocket(`${server.url.replace("http", "ws")}/v1/queues/jobs/ws`);
      c.socket.send(creditFrame(2));
      await waitFor(() => c.of(FrameType.DELIVER).length === 1, 5000, "a delivery");
      const first = c.of(FrameType.DELIVER)[0]!;
      expect(new TextDecoder().decode(first.payload)).toBe("over http");
      c.socket.send(nackFrame(first.id, { code: "validation", message: "bad", requeue: false }));
      await c.sync();
      const poison = await getJson<{ count: number; entries: { sequenceId: number; exhausted: string; lastError: { code: string } }[] }>(`${base}/poison`);
      expect(poison).toMatchObject({ count: 1, entries: [{ sequenceId: 1, exhausted: "rejected", lastError: { code: "validation" } }] });
      expect((await fetch(`${base}/poison/replay`, { method: "POST", body: "{}" })).status).toBe(400);
      const replayed = await fetch(`${base}/poison/replay`, { method: "POST", body: JSON.stringify({ ids: [1] }) });
      expect(await replayed.json()).toMatchObject({ replayed: 1 });
      await waitFor(() => c.of(FrameType.DELIVER).length === 2, 5000, "the replayed delivery");
      c.socket.send(ackFrame(c.of(FrameType.DELIVER)[1]!.id));
      await c.sync();
      expect(await getJson(base)).toMatchObject({ pending: 0, active: 0, poisoned: 0, acked: 1 });
      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(metric(text, "sluice_enqueued_total", "jobs")).toBe(1);
      expect(metric(text, "sluice_acked_total", "jobs")).toBe(1);
      expect(metric(text, "sluice_poisoned_total", "jobs")).toBe(1);
      expect(text.match(/^# TYPE sluice_acked_total counter$/gm)?.length).toBe(1);
      c.socket.close();
    }, 30_000);
  });
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
}

// HTTP duplex against the Bun server. (Deno.serve over HTTP/1.1 stops reading a request body
// once its streamed response has begun — only the first receipt arrives — so duplex publishing
// is a Bun-server feature for now; WebSocket publishing works on both.)
describe("HTTP duplex (server on bun)", () => {
    test("receipts stream back before the body ends; a full queue stops the server reading", async () => {
      const runtime = "bun";
      server = await startServer(runtime, { config: { queues: { small: { capacity: 4 } } } });
      let push!: (bytes: Uint8Array) => void;
      let end!: () => void;
      let pulls = 0;
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          push = (b) => controller.enqueue(b);
          end = () => controller.close();
        },
        pull() {
          pulls++;
        },
      });
      // The first frame goes in before awaiting the response: a server may send the response
      // head only with the first receipt.
      push(publishFrame(1, new Uint8Array([1])));
      const response = await fetch(`${server.url}/v1/queues/small/stream`, { method: "POST", body, duplex: "half" } as RequestInit);
      expect(response.status).toBe(200);
      const reader = response.body!.getReader();
      const decoder = new FrameStreamDecoder(codec);
      const got: Frame[] = [];
      let reading = true;
      const readLoop = (async () => {
        try {
        while (reading) {
          const next = await reader.read();
          if (next.done) break;
          for (const r of decoder.push(next.value)) if (r.ok) got.push(r.value);
        }
        } catch {
          // The server went away (test teardown).
        }
      })();
      await waitFor(() => got.length === 1, 5000, "first receipt while the body is still open");
      expect(got[0]!.type).toBe(FrameType.RECEIPT);
      // Fill the queue (capacity 4) and go beyond it, split across chunk boundaries.
      const rest = new Uint8Array(Array.from({ length: 9 }, (_, i) => [...publishFrame(i + 2, new Uint8Array([i + 2]))]).flat());
      push(rest.subarray(0, FRAME_HEADER_BYTES + 3));
      push(rest.subarray(FRAME_HEADER_BYTES + 3));
      await waitFor(() => got.length === 4, 5000, "receipts up to capacity").catch((e) => {
        throw new Error(`${e}; got ${got.map((f) => `${f.type}:${f.id}`).join(",")}`);
      });
      const stats = await getJson<{ pending: number }>(`${server.url}/v1/queues/small`);
      expect(stats.pending).toBe(4);
      expect(got.length).toBe(4); // the 5th publish waits for room: no receipt, no error

      // Consume everything: the server resumes reading and answers the rest.
      const consumer = await frameSocket(`${server.url.replace("http", "ws")}/v1/queues/small/ws`);
      consumer.socket.send(creditFrame(100));
      await waitFor(() => {
        for (const d of consumer.of(FrameType.DELIVER).splice(0)) consumer.socket.send(ackFrame(d.id));
        consumer.frames.length = 0;
        return got.length === 10;
      }, 10_000, "all 10 receipts");
      expect(got.map((f) => f.id)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
      end();
      reading = false;
      await readLoop;
      consumer.socket.close();
      expect(pulls).toBeGreaterThan(0);
    }, 30_000);
});
