/**
 * The Sluice Worker on workerd (Cloudflare's open-source runtime): bundled by Bun's bundler and
 * served with the shipped workerd/sluice.capnp by the real `workerd` binary (workerd-process.ts).
 * The WASM module loads there (not the JS fallback); HTTP publish, stats, 404, /metrics and a Relay
 * Send over Connect JSON reach the queue's Durable Object. (The wire protocol on workerd:
 * wire-protocol.test.ts and json-protocol.test.ts; auth, kill -9 and hibernation:
 * workerd-durable.test.ts.)
 */
import { afterEach, describe, expect, test } from "../harness.ts";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL");
  server = undefined;
});

describe("workerd", () => {
  test("serves the Worker with the WASM hot path loaded; queues live in Durable Objects", async () => {
    server = await startServer("workerd");
    const base = server.url;
    const wasm = await (await fetch(`${base}/_sluice/wasm`)).json();
    expect(wasm).toEqual({ mode: "wasm", frames: 1, status: 0, id: 7, leaseRoundTrip: true });
    const published = await fetch(`${base}/v1/queues/default/messages`, { method: "POST", body: "hello from workerd" });
    expect(published.status).toBe(202);
    const stats = await getJson(`${base}/v1/queues/default`);
    expect(stats).toMatchObject({ pending: 1, enqueued: 1 });
    expect((await fetch(`${base}/v1/queues/nope`)).status).toBe(404);
    expect(await (await fetch(`${base}/metrics`)).text()).toContain('sluice_enqueued_total{queue="default",role="dispatcher"} 1');
    // The Relay over Connect (JSON) is served by the Worker and enqueues through the object.
    const sent = await fetch(`${base}/sluice.v1.Relay/Send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: { queue: "default", correlationId: "w-1", payload: btoa("over relay"), options: { idempotencyKey: "r1" } } }),
    });
    expect(await sent.json()).toMatchObject({ accepted: true, status: "DELIVERY_STATUS_ACCEPTED", receipt: { sequenceId: "2", queue: "default" } });
    const repeated = await fetch(`${base}/sluice.v1.Relay/Send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: { queue: "default", correlationId: "w-2", payload: btoa("over relay"), options: { idempotencyKey: "r1" } } }),
    });
    expect(await repeated.json()).toMatchObject({ accepted: true, receipt: { sequenceId: "2", duplicate: true } });
    const unknown = await fetch(`${base}/sluice.v1.Relay/Send`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ command: { queue: "nope", payload: btoa("x") } }),
    });
    expect(await unknown.json()).toMatchObject({ status: "DELIVERY_STATUS_REJECTED", error: { code: "not_found" } });
    expect(await getJson(`${base}/v1/queues/default`)).toMatchObject({ pending: 2, enqueued: 2 });
  }, 60_000);
});
