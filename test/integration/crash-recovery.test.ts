// kill -9 of the real server process (Bun, durable SQLite store) with producers and consumers
// mid-flight, then a restart on the same data dir:
//   - every message whose RECEIPT (WebSocket, HTTP duplex) or 202 (HTTP POST) arrived and that was
//     not acked is delivered again — nothing receipted is lost;
//   - no message acked before the kill (and made durable by a PING → PONG barrier) is delivered again;
//   - the leases held unacked at the kill come back with attempt + 1 (a stall); messages never
//     delivered come at attempt 1; nothing is delivered twice after the restart, and nothing that
//     was never published shows up;
//   - an Idempotency-Key answered with 202 before the kill still dedups after it.
// Payloads name their message uniquely ("<source>-<loop>-<n>").
import { afterEach, describe, expect, test } from "../harness.ts";
import { rmSync } from "node:fs";
import { DuplexProducer, Producer } from "../../src/client/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame } from "../../src/protocol/frame-builders.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";
import { bounded, openFrameSocket } from "./frame-socket.ts";

const QUEUE = "jobs";
const CONFIG = { queues: { [QUEUE]: { capacity: 50_000, leaseMs: 60_000, maxStalls: 3 } } };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let servers: ServerProcess[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  servers = [];
  dirs = [];
});


describe("crash recovery (server on bun, sqlite store)", () => {
  test("kill -9 mid-flight: receipted-but-unacked messages all come back, durable acks never do, held leases return as attempt + 1", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const start = async () => {
      const s = await startServer("bun", { config: CONFIG, env: { SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" } });
      servers.push(s);
      return s;
    };
    const server = await start();
    const options = { url: server.url, queue: QUEUE, reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 20 }) };

    // Idempotency keys answered with 202 before the kill.
    const keyed = new Map<string, number>(); // key → sequenceId
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${server.url}/v1/queues/${QUEUE}/messages`, { method: "POST", body: `idem-${i}`, headers: { "idempotency-key": `key-${i}` } });
      expect(res.status).toBe(202);
      keyed.set(`key-${i}`, ((await res.json()) as { sequenceId: number }).sequenceId);
    }

    // Producers over the three paths, 4 concurrent loops each, running until the kill.
    const attempted = new Set<string>([...keyed.keys()].map((k) => `idem-${k.slice(4)}`));
    const receipted = new Set<string>(attempted);
    const bySource: Record<string, number> = { ws: 0, http: 0, duplex: 0 };
    let producing = true;
    const wsProducer = new Producer(options);
    const duplex = new DuplexProducer(options);
    const post = async (body: Uint8Array) => {
      try {
        return { ok: (await fetch(`${server.url}/v1/queues/${QUEUE}/messages`, { method: "POST", body })).status === 202 };
      } catch {
        return { ok: false }; // the server is gone
      }
    };
    const publishers: Record<string, (body: Uint8Array) => Promise<{ ok: boolean }>> = {
      ws: (b) => wsProducer.publish(b),
      http: post,
      duplex: (b) => duplex.publish(b),
    };
    const loops = Object.entries(publishers).flatMap(([source, publish]) =>
      [0, 1, 2, 3].map(async (loop) => {
        for (let n = 0; producing && n < 1000; n++) {
          const body = `${source}-${loop}-${n}`;
          attempted.add(body);
          if (!(await publish(encoder.encode(body))).ok) return; // no receipt: it may or may not be stored
          receipted.add(body);
          bySource[source]!++;
        }
      })
    );

    // A consumer takes 60 deliveries: acks two of every three, holds the rest; then a barrier makes
    // the acks (and the held leases) durable.
    const acked = new Set<string>();
    const held = new Map<string, number>(); // payload → attempt it was held at
    const consumer = await openFrameSocket(`${server.url.replace("http", "ws")}/v1/queues/${QUEUE}/ws`);
    consumer.send(creditFrame(60));
    for (let i = 0; i < 60; i++) {
      const d = await consumer.next(FrameType.DELIVER, 15_000);
      const body = decoder.decode(d.payload);
      if (i % 3 === 2) held.set(body, d.arg);
      else {
        consumer.send(ackFrame(d.id));
        acked.add(body);
      }
    }
    await consumer.barrier();
    expect([...held.values()].every((attempt) => attempt === 1)).toBe(true);

    // kill -9 while the producers are still going.
    await waitFor(() => Object.values(bySource).every((n) => n >= 150), 20_000, "traffic on every path").catch((e) => {
      throw new Error(`${e}: ${JSON.stringify(bySource)}`);
    });
    const { code } = await server.stop("SIGKILL");
    expect(code).toBeNull();
    producing = false;
    await bounded(Promise.all(loops), 15_000, "the producers to notice the kill");
    wsProducer.close();
    await bounded(duplex.end(), 5000, "the duplex stream to end");
    consumer.close();

    // Restart on the same data dir.
    const again = await start();
    const load = new RegExp(`${QUEUE}: (\\d+) held, (\\d+) poisoned`).exec(again.output());
    expect(load).not.toBeNull();
    const stored = Number(load![1]);
    expect(Number(load![2])).toBe(0);
    // Everything receipted and not acked is held; at most the unreceipted publishes on top.
    expect(stored).toBeGreaterThanOrEqual(receipted.size - acked.size);
    expect(stored).toBeLessThanOrEqual(attempted.size - acked.size);

    // The keys are remembered: a retry is a duplicate with the first sequence id, not a new message.
    for (const [key, sequenceId] of keyed) {
      const res = await fetch(`${again.url}/v1/queues/${QUEUE}/messages`, { method: "POST", body: `retry-${key}`, headers: { "idempotency-key": key } });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ sequenceId, duplicate: true });
    }

    // Consume everything, acking as it comes.
    const after = new Map<string, number[]>(); // payload → attempts delivered with
    const drainer = await openFrameSocket(`${again.url.replace("http", "ws")}/v1/queues/${QUEUE}/ws`);
    drainer.send(creditFrame(256));
    let count = 0;
    while (count < stored) {
      const d = await drainer.next(FrameType.DELIVER, 15_000);
      const body = decoder.decode(d.payload);
      (after.get(body) ?? after.set(body, []).get(body)!).push(d.arg);
      drainer.send(ackFrame(d.id));
      drainer.send(creditFrame(1));
      count++;
    }
    await drainer.barrier();
    const stats = await getJson<{ pending: number; active: number; poisoned: number; acked: number }>(`${again.url}/v1/queues/${QUEUE}`);
    expect(stats).toMatchObject({ pending: 0, active: 0, poisoned: 0, acked: stored });
    drainer.close();

    const lost = [...receipted].filter((m) => !acked.has(m) && !after.has(m));
    const redeliveredAcked = [...acked].filter((m) => after.has(m));
    const phantoms = [...after.keys()].filter((m) => !attempted.has(m));
    const twice = [...after].filter(([, attempts]) => attempts.length > 1);
    expect(lost).toEqual([]);
    expect(redeliveredAcked).toEqual([]);
    expect(phantoms).toEqual([]);
    expect(twice).toEqual([]);
    // The held leases were live at the kill: each comes back as a stall, attempt + 1.
    expect([...held.keys()].map((m) => [m, after.get(m)])).toEqual([...held].map(([m, attempt]) => [m, [attempt + 1]]));
    // Everything else was never delivered before: attempt 1.
    expect([...after].filter(([m, attempts]) => !held.has(m) && attempts[0] !== 1)).toEqual([]);
    console.log(
      `crash-recovery: receipted ${receipted.size} (ws ${bySource.ws}, http ${bySource.http}, duplex ${bySource.duplex}, keyed ${keyed.size}), ` +
        `acked before the kill ${acked.size}, held ${held.size}, stored at restart ${stored} (unreceipted but stored: ${stored - (receipted.size - acked.size)}), lost ${lost.length}`,
    );
  }, 60_000);
});
