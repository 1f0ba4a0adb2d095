// HTTP duplex on Deno (issue 13): with Deno 2.9.6 (denoland/deno#36629) the server keeps reading
// the request body while its streamed response is open, so a producer that waits for each
// receipt before sending the next PUBLISH gets every receipt — on Bun and on Deno alike.
import { afterEach, describe, expect, test } from "../harness.ts";
import { DuplexProducer } from "../../src/client/mod.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

for (const runtime of ["bun", "deno"] as const) {
  describe(`HTTP duplex (server on ${runtime})`, () => {
    test("an interleaved producer (one PUBLISH, wait for its receipt, 50 times) gets every receipt, then more in bulk", async () => {
      server = await startServer(runtime, { config: { queues: { jobs: {} } } });
      const producer = new DuplexProducer({ url: server.url, queue: "jobs" });
      const ids: number[] = [];
      for (let i = 0; i < 50; i++) {
        const r = await Promise.race([
          producer.publish(new TextEncoder().encode(`m${i}`)),
          new Promise<{ ok: false; error: { code: string } }>((resolve) => setTimeout(() => resolve({ ok: false, error: { code: "test timeout" } }), 5000)),
        ]);
        if (!r.ok) throw new Error(`receipt ${i} never came (${r.error.code})`);
        ids.push((r as { value: { sequenceId: number } }).value.sequenceId);
      }
      const bulk = await Promise.all(Array.from({ length: 200 }, (_, i) => producer.publish(new TextEncoder().encode(`b${i}`))));
      expect(bulk.every((r) => r.ok)).toBe(true);
      expect(new Set(ids).size).toBe(50);
      expect((await producer.end()).ok).toBe(true);
      const stats = (await (await fetch(`${server.url}/v1/queues/jobs`)).json()) as { pending: number };
      expect(stats.pending).toBe(250);
    }, 60_000);
  });
}
