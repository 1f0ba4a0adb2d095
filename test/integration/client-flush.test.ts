// flush() is a durability barrier against a real server with its SQLite store: publishes sent
// without waiting for their receipts, then flush(); once it resolves, a kill -9 loses none of
// them. The consumer's flush() makes its acks durable the same way: after it, a restart does not
// redeliver what was acked.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { getJson, type ServerProcess, startServer, tempDir } from "./server-process.ts";

const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const s of servers.splice(0)) await s.stop("SIGKILL").catch(() => {});
});

for (const runtime of ["bun", "deno"] as const) {
  describe(`SDK flush() (server on ${runtime}, sqlite store)`, () => {
    test("after flush() resolves, kill -9 loses no publish (WebSocket and HTTP duplex) and redelivers no flushed ack", async () => {
      const dataDir = tempDir();
      const start = async () => {
        const s = await startServer(runtime, { config: { queues: { jobs: { leaseMs: 60_000 } } }, env: { SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" } });
        servers.push(s);
        return s;
      };
      const first = await start();
      const options = { url: first.url, queue: "jobs" };
      const producer = new Producer({ ...options, maxInFlight: 64 });
      const duplex = new DuplexProducer({ ...options, maxInFlight: 64 });
      // Not awaited one by one: flush() is what waits.
      const sent = [
        ...Array.from({ length: 150 }, (_, i) => producer.publish(new TextEncoder().encode(`ws-${i}`))),
        ...Array.from({ length: 150 }, (_, i) => duplex.publish(new TextEncoder().encode(`duplex-${i}`))),
      ];
      const [ws, dx] = await Promise.all([producer.flush(), duplex.flush()]);
      expect(ws.ok).toBe(true);
      expect(dx.ok).toBe(true);
      expect((await Promise.all(sent)).every((r) => r.ok)).toBe(true);

      // Ack 40, flush, kill -9.
      const consumer = new Consumer({ ...options, credit: 40 });
      const acked = new Set<string>();
      while (acked.size < 40) {
        const d = await consumer.receive();
        if (!d.ok) throw new Error(d.error.message);
        expect(consumer.ack(d.value).ok).toBe(true);
        acked.add(new TextDecoder().decode(d.value.payload));
      }
      expect((await consumer.flush()).ok).toBe(true);
      await first.stop("SIGKILL");
      producer.close();
      consumer.close();

      const second = await start();
      const stats = await getJson<{ pending: number; acked: number }>(`${second.url}/v1/queues/jobs`);
      expect(stats.pending).toBe(260);
      const drainer = new Consumer({ url: second.url, queue: "jobs", credit: 64 });
      const seen = new Set<string>();
      while (seen.size < 260) {
        const d = await drainer.receive();
        if (!d.ok) throw new Error(d.error.message);
        const body = new TextDecoder().decode(d.value.payload);
        expect(acked.has(body)).toBe(false);
        seen.add(body);
        drainer.ack(d.value);
      }
      drainer.close();
    });
  });
}
