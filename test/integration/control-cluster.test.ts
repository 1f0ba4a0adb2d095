// The control role across real processes (issue 18, Must show 2): a private nats-server and three
// Sluice nodes (bun) with SLUICE_NATS_URL, so queues are on JetStream and the control document
// lives in NATS KV. In order:
// 1. a PUT on node A creates a queue that B and C serve within 2 s, while 2,000 messages flow
//    through another queue (published on A, consumed on B and C) with none lost;
// 2. shrinking that queue's capacity (10,000 → 100) under load loses nothing (producers wait);
// 3. an invalid PUT is rejected (400 with fields) and no node changes;
// 4. node C, restarted while NATS is down, comes back serving its last-known-good version (its
//    memory queue serves at once, its JetStream queues answer 503), and catches up once NATS is back.
import { afterAll, describe, expect, test } from "bun:test";
import { Consumer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { canStartNatsServer, type NatsServerHandle, startNatsServer } from "../support/nats.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const FLOW = "flow";
const CONFIG = { queues: { [FLOW]: { capacity: 10_000, leaseMs: 5_000, sweepMs: 100 } } };
const decoder = new TextDecoder();

const processes: ServerProcess[] = [];
let nats: NatsServerHandle | undefined;
afterAll(async () => {
  for (const p of processes) await p.stop("SIGKILL").catch(() => {});
  await nats?.stop();
});

interface ControlBody {
  version: number;
  status: string;
  config: { queues: Record<string, unknown> };
  problem?: unknown;
}

const control = (url: string) => getJson<ControlBody>(`${url}/v1/control/config`);
const put = (url: string, doc: unknown, version: number) =>
  fetch(`${url}/v1/control/config`, { method: "PUT", headers: { "If-Match": `"${version}"`, "content-type": "application/json" }, body: JSON.stringify(doc) });

// Consumers on `urls` that ack everything of `queue`, recording what they acked.
function consumeAll(urls: readonly string[], queue: string) {
  const acked = new Set<string>();
  const consumers = urls.map((url) => new Consumer({ url, queue, credit: 64, reconnect: RetryPolicy.fixed({ attempts: 1000, delayMs: 100 }) }));
  const loops = consumers.map(async (consumer) => {
    for (;;) {
      const next = await consumer.receive();
      if (!next.ok) return;
      if (consumer.ack(next.value).ok) acked.add(decoder.decode(next.value.payload));
    }
  });
  return {
    acked,
    stop: async () => {
      for (const c of consumers) c.close();
      await Promise.all(loops);
    },
  };
}

// `count` POSTs of ids `${prefix}-i` to `url`, `parallel` at a time; each must end 202.
async function publishAll(url: string, queue: string, prefix: string, count: number, parallel = 16): Promise<Set<string>> {
  const published = new Set<string>();
  let next = 0;
  await Promise.all(Array.from({ length: parallel }, async () => {
    while (next < count) {
      const id = `${prefix}-${next++}`;
      const res = await fetch(`${url}/v1/queues/${queue}/messages`, { method: "POST", body: id, headers: { "Idempotency-Key": id } });
      if (res.status !== 202) throw new Error(`POST ${id}: ${res.status} ${await res.text()}`);
      published.add(id);
    }
  }));
  return published;
}

describe.skipIf(!canStartNatsServer())("control: 3 nodes on NATS, the document in NATS KV", () => {
  test("a PUT creates a queue served everywhere within 2 s under load; shrinking loses nothing; an invalid PUT changes nothing; a node restarted without NATS serves its LKG", async () => {
    nats = await startNatsServer({ jetstream: true, name: "sluice-control-test" });
    const dirs = [tempDir(), tempDir(), tempDir()];
    const envOf = (i: number) => ({ SLUICE_NATS_URL: nats!.url, SLUICE_NODE_ID: `node-${"abc"[i]}`, SLUICE_DATA_DIR: dirs[i]!, SLUICE_DRAIN_MS: "2000" });
    const nodes = await Promise.all([0, 1, 2].map((i) => startServer("bun", { config: CONFIG, env: envOf(i) })));
    processes.push(...nodes);
    const [a, b, c] = nodes as [ServerProcess, ServerProcess, ServerProcess];
    expect((await control(a.url)).version).toBe(0);

    // 1. 2,000 messages through `flow` (published on A, consumed on B and C) while A gets the PUT.
    const flowing = consumeAll([b.url, c.url], FLOW);
    const publishing = publishAll(a.url, FLOW, "one", 2000);
    await waitFor(() => flowing.acked.size >= 200, 30_000, "the flow under way");
    const v1 = { queues: { [FLOW]: CONFIG.queues[FLOW], fresh: { leaseMs: 5_000 }, local: { storage: "memory" } } };
    const started = Date.now();
    const putOne = await put(a.url, v1, 0);
    expect(putOne.status).toBe(200);
    expect(await putOne.json()).toEqual({ version: 1 });
    const servedAfter: Record<string, number> = {};
    await Promise.all([b, c].map(async (node, i) => {
      await waitFor(async () => (await fetch(`${node.url}/v1/queues/fresh/messages`, { method: "POST", body: `hello from ${"bc"[i]}` })).status === 202, 5_000, `fresh served on ${"bc"[i]}`);
      servedAfter["bc"[i]!] = Date.now() - started;
    }));
    console.log(`control: version 1 PUT on A; queue "fresh" served on B after ${servedAfter.b} ms, on C after ${servedAfter.c} ms`);
    expect(servedAfter.b).toBeLessThan(2000);
    expect(servedAfter.c).toBeLessThan(2000);
    const freshConsumer = consumeAll([c.url], "fresh");
    await waitFor(() => freshConsumer.acked.size === 2, 10_000, "both fresh messages consumed on C");
    await freshConsumer.stop();
    const one = await publishing;
    await waitFor(() => [...one].every((id) => flowing.acked.has(id)), 60_000, "all 2,000 acked");
    const lostOne = [...one].filter((id) => !flowing.acked.has(id));
    console.log(`control: 2,000 published on A during the PUT, ${[...one].filter((id) => flowing.acked.has(id)).length} acked on B and C, ${lostOne.length} lost`);
    expect(lostOne).toEqual([]);

    // 2. Shrink `flow` 10,000 → 100 under load: every publish still ends 202 (producers wait), none lost.
    const publishingTwo = publishAll(a.url, FLOW, "two", 2000, 32);
    await waitFor(() => flowing.acked.size >= 2200, 30_000, "the second flow under way");
    const v2 = { ...v1, queues: { ...v1.queues, [FLOW]: { ...CONFIG.queues[FLOW], capacity: 100 } } };
    expect((await put(b.url, v2, 1)).status).toBe(200);
    for (const node of nodes) await waitFor(async () => (await getJson<{ capacity: number }>(`${node.url}/v1/queues/${FLOW}`)).capacity === 100, 5_000, "capacity 100 everywhere");
    const two = await publishingTwo;
    await waitFor(() => [...two].every((id) => flowing.acked.has(id)), 60_000, "all of the second 2,000 acked");
    console.log(`control: capacity 10,000 → 100 under load: ${two.size} published, ${[...two].filter((id) => !flowing.acked.has(id)).length} lost`);
    expect([...two].filter((id) => !flowing.acked.has(id))).toEqual([]);
    await flowing.stop();

    // 3. An invalid PUT: 400 with fields; nothing stored, no node changes.
    const invalid = await put(c.url, { queues: { [FLOW]: { capacity: -1 }, bad: { bridge: { rpcUrl: "http://x", token: "hunter2" } } } }, 2);
    expect(invalid.status).toBe(400);
    const invalidBody = await invalid.text();
    expect(invalidBody).not.toContain("hunter2");
    const fields = (JSON.parse(invalidBody) as { error: { fields: { path: string }[] } }).error.fields.map((f) => f.path);
    expect(fields).toEqual([`queues.${FLOW}.capacity`, "queues.bad.bridge.token"]);
    await Bun.sleep(500);
    for (const node of nodes) expect(await control(node.url)).toMatchObject({ version: 2, status: "applied" });
    expect((await fetch(`${a.url}/v1/queues/bad`)).status).toBe(404);

    // 4. Node C restarts while NATS is down: it serves its LKG (version 2).
    expect((await c.stop("SIGTERM")).code).toBe(0);
    await nats.kill("SIGKILL");
    const c2 = await startServer("bun", { config: CONFIG, env: envOf(2), timeoutMs: 30_000 });
    processes.push(c2);
    expect(await control(c2.url)).toMatchObject({ version: 2, status: "applied" });
    expect((await getJson<{ capacity: number }>(`${c2.url}/v1/queues/${FLOW}`)).capacity).toBe(100);
    expect((await fetch(`${c2.url}/v1/queues/fresh`)).status).toBe(200);
    expect((await fetch(`${c2.url}/v1/queues/local/messages`, { method: "POST", body: "served without NATS" })).status).toBe(202);
    const local = consumeAll([c2.url], "local");
    await waitFor(() => local.acked.has("served without NATS"), 5_000, "the memory queue of the LKG served on C");
    await local.stop();
    expect((await fetch(`${c2.url}/v1/queues/${FLOW}/messages`, { method: "POST", body: "x" })).status).toBe(503);
    expect((await fetch(`${c2.url}/readyz`)).status).toBe(503);
    console.log(`control: C restarted with NATS down: version 2 from its LKG, memory queue served, JetStream queues 503`);

    // NATS back: C's JetStream queues open, and the watch resumes (a new version reaches every node).
    await nats.restart();
    await waitFor(async () => (await fetch(`${c2.url}/v1/queues/${FLOW}/messages`, { method: "POST", body: "after" })).status === 202, 30_000, "C publishes to flow again");
    await waitFor(async () => (await put(a.url, { ...v2, queues: { ...v2.queues, later: {} } }, 2)).status === 200, 30_000, "version 3 stored");
    for (const node of [a, b, c2]) await waitFor(async () => (await control(node.url)).version === 3, 30_000, "version 3 everywhere");
    expect((await fetch(`${c2.url}/v1/queues/later`)).status).toBe(200);
    const metrics = await (await fetch(`${c2.url}/metrics`)).text();
    expect(metrics).toContain('sluice_control_applied_version{node="node-c"} 3');
  }, 240_000);
});
