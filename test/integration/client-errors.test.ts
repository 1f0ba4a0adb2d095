// The SDK's error cases against real servers, each surfacing its code: a wrong token (authTokens)
// → `unauthorized` after one attempt, for Consumer, Producer and DuplexProducer (no fallback); a
// server without WebSocket upgrades (createApp without upgradeWebSocket, served by Bun.serve) →
// status 501, not retried; a delivery over the consumer's maxFrameBytes → `frame.too_large`,
// reported and rejected to the poison queue at once. (No WebSocket class at all: the Node 20
// test, client-node.test.ts, and the unit tests.)
import { afterEach, describe, expect, test } from "../harness.ts";
import { type ClientEvent, Consumer, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const reconnect = RetryPolicy.fixed({ attempts: 4, delayMs: 20 });
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

for (const runtime of ["bun", "deno"] as const) {
  describe(`SDK errors (server on ${runtime})`, () => {
    test("authTokens: a wrong token is `unauthorized` after one attempt on every client; the right one works", async () => {
      server = await startServer(runtime, { config: { authTokens: ["s3cret"], queues: { jobs: {} } }, env: { SLUICE_STORAGE: "memory" } });
      const events: ClientEvent[] = [];
      const wrong = { url: server.url, queue: "jobs", token: "wrong", reconnect, onEvent: (e: ClientEvent) => events.push(e) };

      const consumer = new Consumer(wrong);
      const received = await consumer.receive();
      expect(!received.ok && received.error.code).toBe("unauthorized");
      expect(!received.ok && received.error.metadata).toMatchObject({ status: 401, attempts: 1 });
      expect(!received.ok && received.error.message).not.toContain("wrong");
      expect(consumer.endedWith?.code).toBe("unauthorized");
      expect(events.map((e) => e.type)).toEqual(["ended"]);

      const sent = await new Producer(wrong).publish(bytes("x"));
      expect(!sent.ok && sent.error.code).toBe("unauthorized");
      expect(!sent.ok && sent.error.metadata?.attempts).toBe(1);

      const duplex = new DuplexProducer(wrong);
      const streamed = await duplex.publish(bytes("x"));
      expect(!streamed.ok && streamed.error.code).toBe("unauthorized");
      expect(duplex.transport).toBe("duplex");

      const right = { url: server.url, queue: "jobs", token: "s3cret" };
      const producer = new Producer(right);
      expect((await producer.publish(bytes("hello"))).ok).toBe(true);
      producer.close();
      const reader = new Consumer({ ...right, credit: 1 });
      const got = await reader.receive();
      expect(got.ok && new TextDecoder().decode(got.value.payload)).toBe("hello");
      reader.close();
    });

    test("a delivery over maxFrameBytes is reported as frame.too_large and goes to the poison queue at once; the next one is delivered", async () => {
      server = await startServer(runtime, { config: { queues: { jobs: {} } }, env: { SLUICE_STORAGE: "memory" } });
      const options = { url: server.url, queue: "jobs" };
      const producer = new Producer(options);
      expect((await producer.publish(new Uint8Array(4096).fill(65))).ok).toBe(true);
      expect((await producer.publish(bytes("small"))).ok).toBe(true);
      producer.close();
      const errors: string[] = [];
      const consumer = new Consumer({ ...options, credit: 4, maxFrameBytes: 1024, onError: (e) => errors.push(`${e.code} ${e.metadata?.payloadLength}`) });
      const next = await consumer.receive();
      expect(next.ok && new TextDecoder().decode(next.value.payload)).toBe("small");
      expect(next.ok && consumer.ack(next.value).ok).toBe(true);
      expect(errors).toEqual(["frame.too_large 4096"]);
      expect((await consumer.flush()).ok).toBe(true);
      const poison = await getJson<{ count: number; entries: { lastError: { code: string }; exhausted: string; attempts: number }[] }>(`${server.url}/v1/queues/jobs/poison`);
      expect(poison.count).toBe(1);
      expect(poison.entries[0]).toMatchObject({ lastError: { code: "frame.too_large" }, exhausted: "rejected", attempts: 1 });
      consumer.close();
    });
  });
}

describe("SDK errors (a server without WebSocket upgrades)", () => {
  test("createApp without upgradeWebSocket on Bun.serve: 501 surfaces (status 501, not retried); HTTP duplex still works", async () => {
    const loaded = loadConfig({ fileText: JSON.stringify({ storage: "memory", queues: { jobs: {} } }), env: {} });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const broker = new Broker({ config: loaded.value });
    const app = createApp(loaded.value, { broker });
    const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: app.fetch });
    try {
      const options = { url: `http://127.0.0.1:${http.port}`, queue: "jobs", reconnect };
      const events: ClientEvent[] = [];
      const consumer = new Consumer({ ...options, onEvent: (e) => events.push(e) });
      const received = await consumer.receive();
      expect(received.ok).toBe(false);
      if (received.ok) return;
      expect(received.error.code).toBe("unavailable");
      expect(received.error.metadata).toMatchObject({ status: 501, retryable: false, attempts: 1 });
      expect(received.error.message).toContain("WebSocket upgrades are not wired into this server");
      expect(events.map((e) => e.type)).toEqual(["ended"]);

      const sent = await new Producer(options).publish(bytes("x"));
      expect(!sent.ok && sent.error.metadata?.status).toBe(501);

      const duplex = new DuplexProducer(options);
      const streamed = await duplex.publish(bytes("over duplex"));
      expect(streamed.ok).toBe(true);
      expect((await duplex.end()).ok).toBe(true);
      expect(broker.queues.get("jobs")!.stats().pending).toBe(1);
    } finally {
      http.stop(true);
      await broker.shutdown({ drainMs: 0 });
    }
  });
});
