// Graceful shutdown of the real server process: SIGTERM with producers and consumers mid-flight.
// /readyz turns 503, publishes get 503/GOAWAY, WebSockets close with 1001, the process exits 0,
// and every message that got a receipt is acked or in the snapshot — which a restart restores.
import { afterEach, describe, expect, test } from "../harness.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Consumer, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
let servers: ServerProcess[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  servers = [];
});

for (const runtime of ["bun", "deno"] as const) describe(`graceful shutdown (server on ${runtime})`, () => {
  test("SIGTERM mid-flight: 503/GOAWAY, WS close 1001, exit 0, nothing lost across a restart", async () => {
    const snapshotPath = join(tempDir(), "snapshot.json");
    const start = () =>
      startServer(runtime, { config: { drainMs: 1500, queues: { jobs: { capacity: 4096 } } }, env: { SLUICE_SNAPSHOT_PATH: snapshotPath } });
    const server = await start();
    servers.push(server);
    const options = { url: server.url, queue: "jobs", reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 20 }) };

    const received = new Set<string>(); // receipted = the server holds it
    const acked = new Set<string>();
    let stopProducing = false;
    const wsProducer = new Producer(options);
    const duplex = new DuplexProducer(options);
    const produce = async (name: string, publish: (p: Uint8Array) => Promise<{ ok: boolean }>) => {
      for (let i = 0; !stopProducing; i++) {
        const body = `${name}-${i}`;
        const r = await publish(encoder.encode(body));
        if (!r.ok) break; // GOAWAY / 503 / connection gone: the server no longer takes it
        received.add(body);
      }
    };
    const producers = [produce("ws", (p) => wsProducer.publish(p)), produce("duplex", (p) => duplex.publish(p))];

    // A consumer that acks two of three deliveries and keeps the third (up to 40) in flight through the shutdown.
    const consumer = new Consumer({ ...options, credit: 64 });
    let held = 0;
    let seen = 0;
    const consuming = (async () => {
      for await (const d of consumer) {
        if (++seen % 3 !== 0 || held >= 40) {
          if (consumer.ack(d).ok) acked.add(decoder.decode(d.payload));
        } else held++;
      }
    })();

    // A raw socket to observe GOAWAY and the close code.
    const raw = new WebSocket(`${server.url.replace("http", "ws")}/v1/queues/jobs/ws`);
    raw.binaryType = "arraybuffer";
    const rawTypes: number[] = [];
    let rawClose = 0;
    raw.onmessage = (e) => {
      const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), createJsFrameCodec());
      if (f.ok) rawTypes.push(f.value.type);
    };
    raw.onclose = (e) => (rawClose = e.code);
    await waitFor(() => raw.readyState === WebSocket.OPEN, 5000, "raw socket open");

    await waitFor(() => received.size >= 600 && acked.size >= 100 && held >= 10, 20_000, "traffic mid-flight").catch((e) => {
      throw new Error(`${e}: received ${received.size}, acked ${acked.size}, held ${held}`);
    });
    const stopping = server.stop("SIGTERM");
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, 5000, "/readyz to turn 503");
    const late = await fetch(`${server.url}/v1/queues/jobs/messages`, { method: "POST", body: "late" });
    expect(late.status).toBe(503);

    const { code, output } = await stopping;
    expect(code).toBe(0);
    expect(output).toContain("SIGTERM received");
    expect(output).toMatch(/saved to .*snapshot\.json/);
    stopProducing = true;
    for (const p of producers) await p;
    await consuming;
    await waitFor(() => rawClose !== 0, 5000, "raw socket close");
    expect(rawClose).toBe(1001);
    expect(rawTypes).toContain(FrameType.GOAWAY);

    const snapshot = JSON.parse(readFileSync(snapshotPath, "utf8")) as { queues: Record<string, { pending: { payload: string }[] }> };
    const saved = new Set((snapshot.queues.jobs?.pending ?? []).map((e) => atob(e.payload)));
    expect(saved.size).toBeGreaterThanOrEqual(held); // the held leases were requeued by the drain
    const lost = [...received].filter((m) => !acked.has(m) && !saved.has(m));
    expect(lost).toEqual([]);

    // Restart: the snapshot comes back and every saved message can be consumed.
    const again = await start();
    servers.push(again);
    expect(again.output()).toContain(`restored ${saved.size} pending`);
    const stats = await getJson<{ pending: number }>(`${again.url}/v1/queues/jobs`);
    expect(stats.pending).toBe(saved.size);
    const drainer = new Consumer({ ...options, url: again.url, credit: 128 });
    const drained = new Set<string>();
    const draining = (async () => {
      for await (const d of drainer) {
        drainer.ack(d);
        drained.add(decoder.decode(d.payload));
        if (drained.size === saved.size) break;
      }
    })();
    await waitFor(() => drained.size === saved.size, 20_000, "restored messages to be consumed");
    drainer.close();
    await draining;
    expect([...saved].every((m) => drained.has(m))).toBe(true);
    const stopped = await again.stop("SIGINT");
    expect(stopped.code).toBe(0);
  }, 60_000);
});
