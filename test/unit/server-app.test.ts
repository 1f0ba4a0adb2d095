import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import { loadConfig, type SluiceConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp, VERSION } from "../../src/server/app.ts";
import { bytesFromBase64 } from "../../src/protocol/base64.ts";

function setup(file: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const loaded = loadConfig({ fileText: JSON.stringify(file), env });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const config: SluiceConfig = loaded.value;
  const clock = new VirtualClock();
  const broker = new Broker({ config, clock });
  const app = createApp(config, { broker });
  return { config, clock, broker, app };
}
const bytes = (s: string) => new TextEncoder().encode(s);
const post = (body: RequestInit["body"], headers: Record<string, string> = {}) => ({ method: "POST", body, headers });

describe("server app: health, readiness, metrics", () => {
  test("GET /healthz reports ok and the package version", async () => {
    const { app } = setup();
    const res = await app.request("/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", version: VERSION });
    expect(VERSION).toMatch(/^\d+\.\d+\.\d+/);
  });

  test("/readyz turns 503 and publishes get 503 once shutdown begins", async () => {
    const { app, broker } = setup();
    expect((await app.request("/readyz")).status).toBe(200);
    const report = await broker.shutdown({ drainMs: 0 });
    expect(report.pending).toBe(0);
    const ready = await app.request("/readyz");
    expect(ready.status).toBe(503);
    const published = await app.request("/v1/queues/default/messages", post(bytes("late")));
    expect(published.status).toBe(503);
    expect(((await published.json()) as { error: { code: string } }).error.code).toBe("unavailable");
    expect((await app.request("/healthz")).status).toBe(200);
  });

  test("GET /metrics renders one shared registry covering every queue", async () => {
    const { app } = setup({ queues: { a: {}, b: {} } });
    await app.request("/v1/queues/a/messages", post(bytes("x")));
    await app.request("/v1/queues/b/messages", post(bytes("y")));
    await app.request("/v1/queues/b/messages", post(bytes("z")));
    const res = await app.request("/metrics");
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    expect(text).toContain('sluice_enqueued_total{queue="a",role="dispatcher"} 1');
    expect(text).toContain('sluice_enqueued_total{queue="b",role="dispatcher"} 2');
    expect(text).toContain('sluice_pending{queue="b",role="dispatcher"} 2');
    expect(text.match(/# TYPE sluice_enqueued_total counter/g)?.length).toBe(1);
  });
});

describe("server app: queue routes", () => {
  test("unknown queue → 404 JSON error on every queue route", async () => {
    const { app } = setup();
    for (const [path, init] of [
      ["/v1/queues/nope", undefined],
      ["/v1/queues/nope/poison", undefined],
      ["/v1/queues/nope/poison/replay", post(null)],
      ["/v1/queues/nope/messages", post(bytes("x"))],
      ["/v1/queues/nope/stream", post(bytes("x"))],
    ] as const) {
      const res = await app.request(path, init);
      expect(res.status).toBe(404);
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("not_found");
      expect(body.error.message).toContain("nope");
    }
    expect((await app.request("/no/such/route")).status).toBe(404);
  });

  test("POST messages → 202 with sequenceId; stats count it", async () => {
    const { app } = setup();
    const res = await app.request("/v1/queues/default/messages", post(bytes("hello")));
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ queue: "default", sequenceId: 1, duplicate: false });
    const stats = (await (await app.request("/v1/queues/default")).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ queue: "default", pending: 1, active: 0, enqueued: 1, capacity: 1024 });
  });

  test("Idempotency-Key dedups within the window and not after it", async () => {
    const { app, broker, clock, config } = setup({}, { SLUICE_IDEMPOTENCY_WINDOW_MS: "1000" });
    const send = () => app.request("/v1/queues/default/messages", post(bytes("order"), { "Idempotency-Key": "order-17" }));
    const first = (await (await send()).json()) as { sequenceId: number; duplicate: boolean };
    const again = (await (await send()).json()) as { sequenceId: number; duplicate: boolean };
    expect(first).toMatchObject({ sequenceId: 1, duplicate: false });
    expect(again).toMatchObject({ sequenceId: 1, duplicate: true });
    expect(broker.queue("default")!.stats().enqueued).toBe(1);
    // Consume it, then let the window pass: the key is free again.
    const queue = broker.queue("default")!;
    queue.ack(queue.tryLease()!);
    await clock.advance(config.idempotencyWindowMs + 1);
    const later = (await (await send()).json()) as { sequenceId: number; duplicate: boolean };
    expect(later).toMatchObject({ sequenceId: 2, duplicate: false });
    const other = await app.request("/v1/queues/default/messages", post(bytes("x"), { "Idempotency-Key": "x".repeat(300) }));
    expect(other.status).toBe(400);
  });

  test("a body over maxFrameBytes → 413 frame.too_large, nothing enqueued", async () => {
    const { app, broker } = setup({ maxFrameBytes: 8 });
    const res = await app.request("/v1/queues/default/messages", post(bytes("123456789")));
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("frame.too_large");
    expect(broker.queue("default")!.stats().enqueued).toBe(0);
  });

  test("full queue in reject mode → 429 queue.full", async () => {
    const { app } = setup({ queues: { small: { capacity: 1, fullMode: "reject" } } });
    expect((await app.request("/v1/queues/small/messages", post(bytes("a")))).status).toBe(202);
    const res = await app.request("/v1/queues/small/messages", post(bytes("b")));
    expect(res.status).toBe(429);
  });

  test("poison list and replay (all, by ids, bad body)", async () => {
    const { app, broker } = setup({ queues: { jobs: { maxRetries: 1 } } });
    const queue = broker.queue("jobs")!;
    for (const p of ["p1", "p2"]) await app.request("/v1/queues/jobs/messages", post(bytes(p)));
    for (let i = 0; i < 2; i++) {
      const lease = queue.tryLease()!;
      queue.fail(lease, { code: "validation", message: `bad ${lease.payload.length}` }, { requeue: true });
    }
    const listed = (await (await app.request("/v1/queues/jobs/poison")).json()) as {
      queue: string;
      count: number;
      entries: { sequenceId: number; payload: string; lastError: { code: string }; attempts: number }[];
    };
    expect(listed.queue).toBe("jobs.poison");
    expect(listed.count).toBe(2);
    expect(new TextDecoder().decode(bytesFromBase64(listed.entries[0]!.payload))).toBe("p1");
    expect(listed.entries[0]).toMatchObject({ sequenceId: 1, lastError: { code: "validation" }, attempts: 1 });

    const bad = await app.request("/v1/queues/jobs/poison/replay", post("{not json"));
    expect(bad.status).toBe(400);
    const badIds = await app.request("/v1/queues/jobs/poison/replay", post(JSON.stringify({ ids: ["x"] })));
    expect(badIds.status).toBe(400);
    const one = await app.request("/v1/queues/jobs/poison/replay", post(JSON.stringify({ ids: [2] })));
    expect(await one.json()).toEqual({ queue: "jobs", replayed: 1 });
    expect(queue.stats()).toMatchObject({ pending: 1, poisoned: 1 });
    const rest = await app.request("/v1/queues/jobs/poison/replay", post(JSON.stringify({ all: true })));
    expect(await rest.json()).toEqual({ queue: "jobs", replayed: 1 });
    expect(queue.stats()).toMatchObject({ pending: 2, poisoned: 0 });
  });
});

describe("server app: bearer auth", () => {
  const file = { authTokens: ["s3cret", "other-token"] };
  test("missing or wrong token → 401 on HTTP routes; right token passes; probes stay open", async () => {
    const { app } = setup(file);
    const none = await app.request("/v1/queues/default");
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    expect(none.headers.get("www-authenticate")).toContain("Bearer");
    expect((await app.request("/v1/queues/default", { headers: { Authorization: "Bearer s3cre" } })).status).toBe(401);
    expect((await app.request("/v1/queues/default", { headers: { Authorization: "Bearer s3cret" } })).status).toBe(200);
    expect((await app.request("/v1/queues/default", { headers: { Authorization: "Bearer other-token" } })).status).toBe(200);
    expect((await app.request("/v1/queues/default/messages", post(bytes("x")))).status).toBe(401);
    expect((await app.request("/metrics")).status).toBe(401);
    // A token in the query is only for the WebSocket route.
    expect((await app.request("/v1/queues/default?token=s3cret")).status).toBe(401);
    expect((await app.request("/healthz")).status).toBe(200);
    expect((await app.request("/readyz")).status).toBe(200);
  });

  test("WebSocket route: 401 before any upgrade; ?token= or header accepted", async () => {
    const { app } = setup({ ...file, queues: { ws: {} } });
    const upgrade = { Upgrade: "websocket", Connection: "Upgrade" };
    expect((await app.request("/v1/queues/ws/ws", { headers: upgrade })).status).toBe(401);
    expect((await app.request("/v1/queues/ws/ws?token=wrong", { headers: upgrade })).status).toBe(401);
    // Auth passes; this app has no upgrader wired, so the route answers 501 (not 401).
    expect((await app.request("/v1/queues/ws/ws?token=s3cret", { headers: upgrade })).status).toBe(501);
    expect((await app.request("/v1/queues/ws/ws", { headers: { ...upgrade, Authorization: "Bearer s3cret" } })).status).toBe(501);
    // A queue named "ws" does not turn its stats route into an unauthenticated one.
    expect((await app.request("/v1/queues/ws")).status).toBe(401);
  });
});
