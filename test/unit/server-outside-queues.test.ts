// The broker with queues opened outside it (what the runtime does for storage "jetstream"):
// they are used as given, /readyz follows the broker's dependencies (a NATS connection), and an
// Idempotency-Key goes to the queue itself (Nats-Msg-Id) instead of the broker's cache. A
// SafeTaskQueue stands in for the JetStreamQueue: it dedups a key it holds, as the stream does.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue } from "../../src/queue/safe-task-queue.ts";
import { loadConfig } from "../../src/server/config.ts";
import { Broker, queueOptionsFor } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";

function setup(env: Record<string, string>) {
  const loaded = loadConfig({ env, fileText: JSON.stringify({ queues: { jobs: { leaseMs: 4000 } } }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const config = loaded.value;
  const clock = new VirtualClock();
  const outside = SafeTaskQueue.create<Uint8Array>({ ...queueOptionsFor("jobs", config.queues.jobs!), clock });
  let natsUp = true;
  const broker = new Broker({ config, clock, queues: new Map([["jobs", outside]]), dependencies: [{ name: "nats nats://127.0.0.1:4222", up: () => natsUp }] });
  const app = createApp(config, { broker });
  return { broker, app, outside, setNats: (up: boolean) => (natsUp = up) };
}
const post = (body: string, key?: string): RequestInit => ({ method: "POST", body, headers: key === undefined ? {} : { "idempotency-key": key } });

describe("broker with queues opened outside", () => {
  test("the given queue is served as it is, with the options the broker would give it", () => {
    const { broker, outside } = setup({ SLUICE_NATS_URL: "nats://127.0.0.1:4222" });
    expect(broker.queue("jobs")).toBe(outside);
    expect([outside.options.leaseMs, outside.options.role]).toEqual([4000, "dispatcher"]);
  });

  test("/readyz is 503 naming the dependency while it is down, 200 again once it is up", async () => {
    const { app, broker, setNats } = setup({ SLUICE_NATS_URL: "nats://127.0.0.1:4222" });
    expect(await (await app.request("/readyz")).json()).toEqual({ status: "ready" });
    setNats(false);
    const down = await app.request("/readyz");
    expect(down.status).toBe(503);
    expect(await down.json()).toEqual({ status: "unavailable", down: ["nats nats://127.0.0.1:4222"] });
    expect([broker.ready, broker.accepting]).toEqual([false, true]);
    setNats(true);
    expect((await app.request("/readyz")).status).toBe(200);
    await broker.shutdown({ drainMs: 0 });
    expect(await (await app.request("/readyz")).json()).toEqual({ status: "stopped" });
  });

  test("on a JetStream queue the Idempotency-Key goes to the queue, not to the broker's cache", async () => {
    const { app, broker, outside } = setup({ SLUICE_NATS_URL: "nats://127.0.0.1:4222" });
    type Accepted = { queue: string; sequenceId: number; duplicate: boolean };
    const first = (await (await app.request("/v1/queues/jobs/messages", post("a", "k-1"))).json()) as Accepted;
    const again = (await (await app.request("/v1/queues/jobs/messages", post("a", "k-1"))).json()) as Accepted;
    expect(again).toEqual({ queue: "jobs", sequenceId: first.sequenceId, duplicate: true });
    expect(broker.idempotency.size).toBe(0);
    expect(outside.stats().pending).toBe(1);
  });

  test("with idempotencyWindowMs 0 a JetStream queue gets no key (no dedup); other storages keep using the cache", async () => {
    const off = setup({ SLUICE_NATS_URL: "nats://127.0.0.1:4222", SLUICE_IDEMPOTENCY_WINDOW_MS: "0" });
    await off.app.request("/v1/queues/jobs/messages", post("a", "k-1"));
    await off.app.request("/v1/queues/jobs/messages", post("a", "k-1"));
    expect(off.outside.stats().pending).toBe(2);

    const memory = setup({ SLUICE_STORAGE: "memory" });
    await memory.app.request("/v1/queues/jobs/messages", post("a", "k-1"));
    expect(memory.broker.idempotency.size).toBe(1);
  });
});
