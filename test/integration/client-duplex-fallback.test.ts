// DuplexProducer falls back to WebSocket against a real Sluice app (Bun.serve, hono's Bun
// WebSocket upgrade) whose HTTP duplex route is broken in front of it, the two ways a runtime
// breaks it: a stream that is answered but never read (the Deno 2.8.3–2.9.5 hang, issue 13) and
// a stream refused at once (501). Every publish gets its receipt, exactly N messages are stored,
// and the fallback is reported.
import { afterEach, describe, expect, test } from "../harness.ts";
import { type ClientEvent, Consumer, DuplexProducer } from "../../src/client/mod.ts";
import { type AppServer, serveApp } from "./app-server.ts";

let server: AppServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

describe("SDK: DuplexProducer falls back to WebSocket (server on bun)", () => {
  for (const broken of ["stall", "refuse"] as const) {
    test(`${broken === "stall" ? "a stalled stream (answered, never read)" : "a stream refused with 501"}: every publish is receipted, exactly N stored, fallback reported`, async () => {
      server = serveApp({ stream: broken });
      const events: ClientEvent[] = [];
      const producer = new DuplexProducer({ url: server.url, queue: "jobs", stallTimeoutMs: 300, onEvent: (e) => events.push(e) });
      const started = Date.now();
      const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => producer.publish(new TextEncoder().encode(`m${i}`))));
      expect(answers.every((a) => a.ok)).toBe(true);
      expect(producer.transport).toBe("websocket");
      const more = await producer.publish(new TextEncoder().encode("m50"));
      expect(more.ok).toBe(true);
      expect((await producer.end()).ok).toBe(true);
      expect(server.streams()).toBe(1);
      expect(server.queue("jobs").stats().pending).toBe(51);
      const fallback = events.find((e) => e.type === "fallback");
      if (broken === "stall") {
        expect(fallback?.type === "fallback" && fallback.error.code).toBe("timeout");
        expect(Date.now() - started).toBeGreaterThanOrEqual(290);
      } else {
        expect(fallback?.type === "fallback" && fallback.error.metadata?.status).toBe(501);
        expect(Date.now() - started).toBeLessThan(3000);
      }
      // Each message exactly once, in order.
      const consumer = new Consumer({ url: server.url, queue: "jobs", credit: 64 });
      const bodies: string[] = [];
      while (bodies.length < 51) {
        const d = await consumer.receive();
        if (!d.ok) throw new Error(d.error.message);
        bodies.push(new TextDecoder().decode(d.value.payload));
        consumer.ack(d.value);
      }
      expect(bodies).toEqual(Array.from({ length: 51 }, (_, i) => `m${i}`));
      consumer.close();
    });
  }
});
