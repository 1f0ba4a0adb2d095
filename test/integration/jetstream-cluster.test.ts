// Three Sluice nodes on one NATS JetStream (issue 15, Must show 2): a private nats-server and
// three real server processes (bun, `SLUICE_STORAGE=jetstream`) on loopback. Producers publish
// 10,000 messages on node A (half over WebSocket with the SDK, half with HTTP POST); consumers
// on nodes B and C ack them. Mid-flight, B's consumer stops acking (so B holds a known set of
// deliveries) and B is killed with SIGKILL. In the end every message is acked, none is lost,
// and the messages delivered twice are reported: at most what B held in flight when it died.
import { afterAll, describe, expect, test } from "bun:test";
import { Consumer, type Delivery, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { startNatsServer, canStartNatsServer, type NatsServerHandle } from "../support/nats.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const QUEUE = "cluster";
const TOTAL = 10_000;
const CREDIT = 64;
// Short leases, so the deliveries B held come back to C quickly after the kill.
const CONFIG = { queues: { [QUEUE]: { capacity: 100_000, leaseMs: 2_000, heartbeatMs: 500 } } };
const encoder = new TextEncoder();
const decoder = new TextDecoder();

const processes: ServerProcess[] = [];
let nats: NatsServerHandle | undefined;
afterAll(async () => {
  for (const p of processes) await p.stop("SIGKILL").catch(() => {});
  await nats?.stop();
});

// Consumes on `url`, recording every delivery; `hold()` stops acking (deliveries stay in flight).
function consumeOn(url: string, seen: Map<string, number>, acked: Set<string>) {
  const consumer = new Consumer({ url, queue: QUEUE, credit: CREDIT, reconnect: RetryPolicy.fixed({ attempts: 3, delayMs: 50 }) });
  const held = new Set<string>();
  let holding = false;
  const loop = (async () => {
    for (;;) {
      const next = await consumer.receive();
      if (!next.ok) return;
      const delivery: Delivery = next.value;
      const id = decoder.decode(delivery.payload);
      seen.set(id, (seen.get(id) ?? 0) + 1);
      if (holding) {
        held.add(id);
        continue;
      }
      if (consumer.ack(delivery).ok) acked.add(id);
    }
  })();
  return {
    consumer,
    held,
    hold: () => (holding = true),
    stop: async () => {
      consumer.close();
      await loop;
    },
  };
}

describe.skipIf(!canStartNatsServer())("JetStream cluster: 3 nodes, kill -9 of a consuming node", () => {
  test("10,000 messages published on A, consumed on B and C; B killed mid-flight; all acked, none lost, duplicates ≤ B's in-flight", async () => {
    nats = await startNatsServer({ jetstream: true, name: "sluice-cluster-test" });
    const env = { SLUICE_STORAGE: "jetstream", SLUICE_NATS_URL: nats.url };
    const [a, b, c] = await Promise.all([0, 1, 2].map(() => startServer("bun", { config: CONFIG, env })));
    processes.push(a, b, c);

    const seen = new Map<string, number>(); // id → deliveries seen by any consumer
    const acked = new Set<string>();
    const onB = consumeOn(b.url, seen, acked);
    const onC = consumeOn(c.url, seen, acked);

    // Producers on A: the first half over WebSocket (SDK, receipts), the second half by POST (202).
    const producer = new Producer({ url: a.url, queue: QUEUE });
    const published = new Set<string>();
    const half = TOTAL / 2;
    const receipts: Promise<unknown>[] = [];
    for (let i = 0; i < half; i++) {
      const id = `ws-${i}`;
      receipts.push(producer.publish(encoder.encode(id)).then((r) => r.ok && published.add(id)));
    }
    const posting = (async () => {
      for (let i = 0; i < half; i++) {
        const id = `http-${i}`;
        const res = await fetch(`${a.url}/v1/queues/${QUEUE}/messages`, { method: "POST", body: id });
        if (res.status === 202) published.add(id);
        else throw new Error(`POST ${id}: ${res.status} ${await res.text()}`);
      }
    })();

    // Mid-flight: once a third is acked, B's consumer holds what it gets; then B dies.
    await waitFor(() => acked.size >= TOTAL / 3, 60_000, "a third of the messages acked");
    onB.hold();
    await waitFor(() => onB.held.size >= CREDIT / 2, 10_000, "B's consumer holding deliveries");
    await b.stop("SIGKILL");
    await onB.stop();
    const heldByB = onB.held; // everything B's consumer got and never acked, up to the kill

    await Promise.all(receipts);
    await posting;
    producer.close();
    expect(published.size).toBe(TOTAL);

    await waitFor(() => acked.size >= TOTAL, 90_000, `all ${TOTAL} messages acked (${acked.size} so far)`);
    await onC.stop();

    const lost = [...published].filter((id) => !acked.has(id));
    const twice = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
    console.log(`jetstream cluster: ${TOTAL} published on A, ${acked.size} acked on B and C, ${lost.length} lost, ` +
      `${twice.length} delivered twice; B held ${heldByB.size} unacked when killed (credit ${CREDIT})`);
    expect(lost).toEqual([]);
    expect([...acked].every((id) => published.has(id))).toBe(true);
    // What came twice is what B held (delivered, never acked) — nothing B had acked.
    expect(twice.length).toBeLessThanOrEqual(heldByB.size);
    expect(twice.every((id) => heldByB.has(id))).toBe(true);
    await waitFor(async () => (await getJson<{ pending: number }>(`${c.url}/v1/queues/${QUEUE}`)).pending === 0, 10_000, "an empty stream");
  }, 180_000);
});
