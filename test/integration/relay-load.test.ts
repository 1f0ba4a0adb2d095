// 10,000 messages: producer → queue → 4 consumers with seeded random NACKs and one consumer
// killed mid-way, against the real server process on Bun and on Deno. Every message must end
// acked exactly once or in the poison queue, and the client's counts must match /metrics.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, type Delivery, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { getJson, metric, seeded, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const TOTAL = 10_000;
const POISON_EVERY = 500; // messages whose index is a multiple of this are always nacked → poisoned
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

for (const runtime of ["bun", "deno"] as const) {
  describe(`relay under load (server on ${runtime})`, () => {
    test("10k messages, 4 consumers, random NACKs, one consumer killed: acked once or poisoned, counts match /metrics", async () => {
      server = await startServer(runtime, { config: { queues: { load: { capacity: 2048, maxRetries: 5 } } } });
      const options = { url: server.url, queue: "load", reconnect: RetryPolicy.fixed({ attempts: 3, delayMs: 50 }) };
      const acks = new Map<number, number>();
      // The SDK sends the acks of one turn together at its end: those the killed consumer made in
      // its last turn die with it (as in a crash), and their messages are delivered again.
      const ackedByKilled = new Set<number>();
      const serverErrors: string[] = [];
      const random = seeded(42);
      let delivered = 0;

      const consumers = Array.from({ length: 4 }, () => new Consumer({ ...options, credit: 32, onError: (e) => serverErrors.push(e.code) }));
      const killed = consumers[3]!;
      const loops = consumers.map(async (consumer) => {
        let received = 0;
        for await (const delivery of consumer) {
          received++;
          delivered++;
          // The 4th consumer dies holding this delivery (and whatever else its credit covers).
          if (consumer === killed && received === 700) {
            consumer.kill();
            return;
          }
          settle(consumer, delivery);
        }
      });
      const settle = (consumer: Consumer, delivery: Delivery) => {
        const index = Number(decoder.decode(delivery.payload));
        if (index % POISON_EVERY === 0 || random() < 0.1) {
          expect(consumer.nack(delivery, { code: "unavailable", message: "random nack", requeue: true }).ok).toBe(true);
        } else {
          expect(consumer.ack(delivery).ok).toBe(true);
          acks.set(index, (acks.get(index) ?? 0) + 1);
          if (consumer === killed) ackedByKilled.add(index);
        }
      };

      const producer = new Producer({ ...options, maxInFlight: 512 });
      const receipts = [];
      for (let i = 0; i < TOTAL; i++) receipts.push(producer.publish(encoder.encode(String(i))));
      const sequenceIds = new Set<number>();
      for (const receipt of receipts) {
        const r = await receipt;
        if (!r.ok) throw new Error(`publish failed: ${r.error.code}: ${r.error.message}`);
        sequenceIds.add(r.value.sequenceId);
      }
      expect(sequenceIds.size).toBe(TOTAL);
      producer.close();

      type Stats = { pending: number; active: number; acked: number; poisoned: number; enqueued: number };
      const statsUrl = `${server.url}/v1/queues/load`;
      await waitFor(async () => {
        const s = await getJson<Stats>(statsUrl);
        return s.pending === 0 && s.active === 0 && s.acked + s.poisoned === TOTAL;
      }, 45_000, "every message to be acked or poisoned");
      for (const consumer of consumers) consumer.close();
      for (const loop of loops) await loop;

      const poison = await getJson<{ count: number; entries: { payload: string; attempts: number }[] }>(`${statsUrl}/poison`);
      const poisoned = new Set(poison.entries.map((e) => Number(atob(e.payload))));
      expect(poison.count).toBe(poisoned.size);
      for (let i = 0; i < TOTAL; i++) {
        // Exactly one of: acked once, or poisoned (never both, never twice, never neither) — save
        // an ack the killed consumer made in the turn it died in, which may not have left it.
        const acked = (acks.get(i) ?? 0) - (ackedByKilled.has(i) && (acks.get(i) ?? 0) + (poisoned.has(i) ? 1 : 0) > 1 ? 1 : 0);
        expect(acked + (poisoned.has(i) ? 1 : 0)).toBe(1);
      }
      for (let i = 0; i < TOTAL; i += POISON_EVERY) expect(poisoned.has(i)).toBe(true);
      expect(serverErrors).toEqual([]);
      expect(delivered).toBeGreaterThan(TOTAL);

      const text = await (await fetch(`${server.url}/metrics`)).text();
      expect(metric(text, "sluice_enqueued_total", "load")).toBe(TOTAL);
      expect(metric(text, "sluice_acked_total", "load")).toBe(acks.size);
      expect(metric(text, "sluice_poisoned_total", "load")).toBe(poisoned.size);
      expect(metric(text, "sluice_poison_depth", "load")).toBe(poisoned.size);
      expect(metric(text, "sluice_pending", "load")).toBe(0);
      expect(metric(text, "sluice_active_leases", "load")).toBe(0);
      // Every delivery the server started ended in exactly one of: an ack, a requeue (a NACK, the
      // killed consumer's fail-back, or — uncounted — a lease handed over as its socket closed),
      // or a poisoning. Counted failures are the requeues and poisonings a consumer caused.
      const requeued = metric(text, "sluice_requeued_total", "load");
      const failed = metric(text, "sluice_failed_total", "load");
      expect(metric(text, "sluice_delivery_attempts_total", "load")).toBe(acks.size + requeued + poisoned.size);
      expect(failed).toBeLessThanOrEqual(requeued + poisoned.size);
      expect(failed).toBeGreaterThanOrEqual(poisoned.size);
    }, 60_000);
  });
}
