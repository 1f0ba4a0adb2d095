// The control role on a broker (issue 18): the document's checks (every problem by path, secrets
// only as env references and never echoed), GET / PUT /v1/control/config (ETag, If-Match, 200 /
// 400 / 409 / 428), and applying live: a new queue is served at once, a changed one keeps its
// items and leases (a lower capacity drops nothing), a removed one refuses publishes, drains,
// poisons its leftovers and stays listed read-only until purged; storage cannot change live;
// tokens and the memory budget change at once. Virtual clock, memory source and LKG files.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { loadConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";
import { startControlPlane } from "../../src/server/control.ts";
import { parseControlDocument } from "../../src/server/control-document.ts";
import { effectiveConfig } from "../../src/server/control-effective.ts";
import { MemoryControlSource, MemoryLkgFiles } from "../../src/mesh/control/mod.ts";

async function setup(file: Record<string, unknown> = { storage: "memory", queues: { flow: {} } }, env: Record<string, string> = {}) {
  const loaded = loadConfig({ fileText: JSON.stringify(file), env });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const base = loaded.value;
  const clock = new VirtualClock(1_000_000);
  const broker = new Broker({ config: base, clock });
  const app = createApp(base, { broker });
  const source = new MemoryControlSource();
  const files = new MemoryLkgFiles();
  const lines: string[] = [];
  const control = await startControlPlane({ broker, base, env, source, lkgFiles: files, nodeId: "node-a", drainMs: 5000, log: (l) => lines.push(l) });
  const settle = async (ms = 0) => {
    await clock.advance(ms);
    await clock.advance(0);
  };
  const put = (body: unknown, ifMatch?: string, headers: Record<string, string> = {}) =>
    app.request("/v1/control/config", { method: "PUT", body: typeof body === "string" ? body : JSON.stringify(body), headers: { ...(ifMatch === undefined ? {} : { "If-Match": ifMatch }), ...headers } });
  const publish = (queue: string, text: string, headers: Record<string, string> = {}) => app.request(`/v1/queues/${queue}/messages`, { method: "POST", body: text, headers });
  return { base, clock, broker, app, source, files, lines, control, settle, put, publish };
}

type Json = Record<string, unknown>;
const json = async (res: Response) => (await res.json()) as Json;

describe("control document", () => {
  test("reports every problem by its path", () => {
    const r = parseControlDocument(JSON.stringify({
      queues: { jobs: { leaseMs: -5, capacity: "x", wat: 1, natsUrl: "nats://u:p@h:4222" }, "bad name": {} },
      limits: { memoryBudgetBytes: 0, other: 1 },
      extra: true,
    }));
    expect(r.ok).toBe(false);
    const fields = (!r.ok && (r.error.metadata?.fields as Array<{ path: string }>)) || [];
    expect(fields.map((f) => f.path).sort()).toEqual(
      ["extra", "limits.memoryBudgetBytes", "limits.other", "queues.bad name", "queues.jobs.capacity", "queues.jobs.leaseMs", "queues.jobs.natsUrl", "queues.jobs.wat"].sort(),
    );
    expect(JSON.stringify(r)).not.toContain("u:p@");
  });

  test("secrets only as env references: a literal token is refused and never echoed", () => {
    const r = parseControlDocument(JSON.stringify({ queues: { jobs: { bridge: { rpcUrl: "http://w", token: "hunter2" } } }, auth: { tokens: ["s3cret", { env: "A" }] } }));
    expect(r.ok).toBe(false);
    const text = JSON.stringify(r);
    expect(text).not.toContain("hunter2");
    expect(text).not.toContain("s3cret");
    const paths = ((!r.ok && (r.error.metadata?.fields as Array<{ path: string }>)) || []).map((f) => f.path);
    expect(paths).toEqual(["queues.jobs.bridge.token", "auth.tokens[0]"]);
  });

  test("each node resolves references from its own environment; a missing one is named, its value never shown", () => {
    const base = loadConfig({ fileText: '{"storage":"memory"}' });
    if (!base.ok) throw new Error("config");
    const doc = parseControlDocument(JSON.stringify({ queues: { q: {} }, auth: { tokens: [{ env: "TOK_A" }, { env: "TOK_B" }] } }));
    if (!doc.ok) throw new Error("doc");
    const missing = effectiveConfig(base.value, doc.value, { TOK_A: "alpha" });
    expect(!missing.ok && missing.error.metadata?.fields).toEqual([{ path: "auth.tokens[1].env", message: "names TOK_B, which is not set on this node" }]);
    const resolved = effectiveConfig(base.value, doc.value, { TOK_A: "alpha", TOK_B: "beta" });
    expect(resolved.ok && resolved.value.authTokens).toEqual(["alpha", "beta"]);
  });
});

describe("GET / PUT /v1/control/config", () => {
  test("version 0 is the node's own config; PUT needs If-Match; a mismatch is 409; a good PUT is 200 and applied", async () => {
    const { app, put, settle, publish } = await setup();
    const got = await app.request("/v1/control/config");
    expect(got.status).toBe(200);
    expect(got.headers.get("etag")).toBe('"0"');
    const body = await json(got);
    expect(body).toMatchObject({ version: 0, status: "applied", node: "node-a" });
    expect(Object.keys((body.config as { queues: Json }).queues)).toEqual(["flow"]);

    const doc = { queues: { flow: {}, fresh: { capacity: 50 } } };
    expect((await put(doc)).status).toBe(428);
    const stale = await put(doc, '"5"');
    expect(stale.status).toBe(409);
    expect(await json(stale)).toMatchObject({ error: { code: "conflict" }, version: 0 });
    const ok = await put(doc, '"0"');
    expect(ok.status).toBe(200);
    expect(await json(ok)).toEqual({ version: 1 });
    expect(ok.headers.get("etag")).toBe('"1"');
    await settle();
    expect((await publish("fresh", "hello")).status).toBe(202); // served at once
    const after = await app.request("/v1/control/config");
    expect(after.headers.get("etag")).toBe('"1"');
    expect(await json(after)).toMatchObject({ version: 1, status: "applied", config: doc });
    expect((await put({ queues: { flow: {} } }, "1")).status).toBe(200); // the bare number works too
  });

  test("an invalid PUT is 400 with fields, and nothing is stored or changed", async () => {
    const { put, source, broker } = await setup();
    const bad = await put({ queues: { flow: { leaseMs: 100, heartbeatMs: 500 }, "x y": {} } }, '"0"');
    expect(bad.status).toBe(400);
    const body = await json(bad);
    expect((body.error as Json).code).toBe("validation");
    expect(((body.error as Json).fields as Array<{ path: string }>).map((f) => f.path)).toEqual(["queues.flow.heartbeatMs", "queues.x y"]);
    expect((await put("{not json", '"0"')).status).toBe(400);
    expect((await put({ queues: { j: { storage: "jetstream" } } }, '"0"')).status).toBe(400); // this node has no NATS URL
    expect(source.current).toBeUndefined();
    expect([...broker.queues.keys()]).toEqual(["flow"]);
  });

  test("storage cannot change live (400)", async () => {
    const { put, settle } = await setup({ storage: "memory", queues: { flow: {} } });
    const changed = await put({ queues: { flow: { storage: "sqlite" } } }, '"0"');
    expect(changed.status).toBe(400);
    const fields = ((await json(changed)).error as Json).fields as Array<{ path: string; message: string }>;
    expect(fields[0]!.path).toBe("queues.flow.storage");
    expect(fields[0]!.message).toContain("cannot change live");
    await settle();
  });
});

describe("applying live", () => {
  test("a changed queue keeps its items and in-flight leases; a lower capacity drops nothing, producers wait", async () => {
    const { put, settle, broker, publish } = await setup({ storage: "memory", queues: { flow: { capacity: 10 } } });
    for (let i = 0; i < 8; i++) expect((await publish("flow", `m${i}`)).status).toBe(202);
    const q = broker.queue("flow")!;
    const l1 = (await q.lease()).value!;
    const l2 = (await q.lease()).value!;
    expect((await put({ queues: { flow: { capacity: 3, fullMode: "reject" } } }, '"0"')).status).toBe(200);
    await settle();
    expect(broker.queue("flow")).toBe(q); // the same queue object: consumers keep their leases
    expect(q.stats()).toMatchObject({ pending: 6, active: 2, capacity: 3 });
    expect((await publish("flow", "over")).status).toBe(429); // full now (fullMode reject): refused, nothing dropped
    expect(q.ack(l1).ok && q.ack(l2).ok).toBe(true);
    let acked = 2;
    for (let l = q.tryLease(); l !== undefined; l = q.tryLease()) acked += q.ack(l).ok ? 1 : 0;
    expect(acked).toBe(8);
    expect((await publish("flow", "room again")).status).toBe(202);
  });

  test("a removed queue refuses publishes, drains, poisons its leftovers, stays listed read-only until purged", async () => {
    const { app, put, settle, broker, publish, clock } = await setup({ storage: "memory", queues: { flow: {}, old: {} } });
    for (let i = 0; i < 3; i++) await publish("old", `left ${i}`);
    const old = broker.queue("old")!;
    const held = (await old.lease()).value!;
    expect((await put({ queues: { flow: {} } }, '"0"')).status).toBe(200);
    await settle();
    const refused = await publish("old", "late");
    expect(refused.status).toBe(503);
    expect(await json(refused)).toMatchObject({ error: { code: "queue.closed" } });
    expect(await json(await app.request("/v1/queues/old"))).toMatchObject({ removed: true, pending: 2, active: 1 });
    // A consumer still drains it during the drain window.
    expect(old.ack(old.tryLease()!).ok).toBe(true);
    await settle(5000);
    // After the window the rest goes to its poison queue (the held lease too, once it ends).
    expect(old.fail(held, { code: "unavailable", message: "consumer gave up" }).ok).toBe(true);
    await settle(1000);
    expect(old.stats()).toMatchObject({ pending: 0, active: 0, poisoned: 2 });
    const listed = (await json(await app.request("/v1/queues"))).queues as Json[];
    expect(listed.find((q) => q.queue === "old")).toMatchObject({ removed: true, poisoned: 2 });
    expect((await app.request("/v1/queues/old/poison")).status).toBe(200);
    const purged = await app.request("/v1/queues/old/poison/purge", { method: "POST", body: '{"all":true}' });
    expect(await json(purged)).toMatchObject({ purged: 2 });
    await settle(1000);
    expect((await app.request("/v1/queues/old")).status).toBe(404);
    expect(clock.now()).toBeGreaterThan(0);
  });

  test("a removed queue added back opens again with what it holds", async () => {
    const { put, settle, broker, publish } = await setup({ storage: "memory", queues: { flow: {}, old: {} } });
    await publish("old", "kept");
    await put({ queues: { flow: {} } }, '"0"');
    await settle();
    expect(broker.isRemoved("old")).toBe(true);
    await put({ queues: { flow: {}, old: { capacity: 7 } } }, '"1"');
    await settle();
    expect(broker.isRemoved("old")).toBe(false);
    expect(broker.queue("old")!.stats()).toMatchObject({ pending: 1, capacity: 7 });
    expect((await publish("old", "new")).status).toBe(202);
  });

  test("auth tokens and the memory budget change at once", async () => {
    const { put, settle, broker, app } = await setup({ storage: "memory", queues: { flow: {} } }, { TOKEN_A: "alpha" });
    expect((await put({ queues: { flow: {} }, auth: { tokens: [{ env: "TOKEN_A" }] }, limits: { memoryBudgetBytes: 1 << 20 } }, '"0"')).status).toBe(200);
    await settle();
    expect((await app.request("/v1/queues/flow")).status).toBe(401);
    expect((await app.request("/v1/queues/flow", { headers: { Authorization: "Bearer alpha" } })).status).toBe(200);
    expect(broker.memoryBudget.limitBytes).toBe(1 << 20);
    const got = await app.request("/v1/control/config", { headers: { Authorization: "Bearer alpha" } });
    expect(await got.text()).not.toContain("alpha");
  });

  test("a version whose apply keeps failing is poisoned and the LKG re-applied: GET says degraded", async () => {
    const { put, settle, app, source } = await setup({ storage: "memory", queues: { flow: {} } }, { TOKEN_A: "alpha" });
    expect((await put({ queues: { flow: {}, keep: {} } }, '"0"')).status).toBe(200);
    await settle();
    // Written straight into the store (another node's PUT, where TOKEN_B is set): here it cannot apply.
    source.put(2, JSON.stringify({ queues: { flow: {} }, auth: { tokens: [{ env: "TOKEN_B" }] } }));
    await settle(60_000);
    const body = await json(await app.request("/v1/control/config"));
    expect(body).toMatchObject({ version: 1, status: "degraded", problem: { version: 2, error: { code: "validation" } } });
    expect((await app.request("/v1/queues/keep")).status).toBe(200); // still running version 1
  });
});
