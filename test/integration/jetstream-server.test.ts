// The real server (`bun src/runtime/bun.ts`) with `SLUICE_NATS_URL` set, so its queue lives on
// JetStream (a private nats-server, test/support/nats.ts): publish over HTTP (an Idempotency-Key
// sent twice makes one message) and WebSocket, consume and ack over WebSocket, stats and
// /readyz; then nats-server is SIGKILLed (producers get 503 / ERROR `unavailable`, /readyz 503),
// restarted on the same port and store (/readyz 200 again, publishing works), and every message
// receipted before the kill — also those of a producer that kept publishing through it — is
// still consumed. Without nats-server installed it skips with one loud line (never in CI).
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { canStartNatsServer, type NatsServerHandle, startNatsServer } from "../support/nats.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const QUEUE = "jobs";

interface Stats {
  readonly pending: number;
  readonly active: number;
  readonly acked: number;
}

let cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.reverse()) await step().catch(() => {});
  cleanup = [];
});

const post = (url: string, body: string, key?: string) =>
  fetch(`${url}/v1/queues/${QUEUE}/messages`, { method: "POST", body, headers: key === undefined ? {} : { "idempotency-key": key } });

// Consumes until every body in `wanted` was seen (acking each delivery), or fails after `timeoutMs`.
async function consumeAll(consumer: Consumer, wanted: ReadonlySet<string>, seen: Set<string>, timeoutMs: number): Promise<void> {
  const signal = AbortSignal.timeout(timeoutMs);
  while ([...wanted].some((body) => !seen.has(body))) {
    const next = await consumer.receive({ signal });
    if (!next.ok) throw new Error(`consumer: ${next.error.code} ${next.error.message}; missing ${[...wanted].filter((b) => !seen.has(b)).slice(0, 10).join(", ")}`);
    seen.add(decoder.decode(next.value.payload));
    expect(consumer.ack(next.value).ok).toBe(true);
  }
  expect((await consumer.flush()).ok).toBe(true);
}

describe.skipIf(!canStartNatsServer())("server on JetStream (SLUICE_NATS_URL)", () => {
  test("publish HTTP + WebSocket, consume, stats, /readyz; nats-server kill -9 → unavailable / 503; restart → ready, nothing receipted lost", async () => {
    const nats: NatsServerHandle = await startNatsServer({ jetstream: true, name: "sluice-jetstream-server-test" });
    cleanup.push(() => nats.stop());
    const server: ServerProcess = await startServer("bun", {
      config: { drainMs: 1000, queues: { [QUEUE]: { leaseMs: 4000, sweepMs: 200 } } },
      env: { SLUICE_NATS_URL: nats.url },
    });
    cleanup.push(() => server.stop("SIGKILL"));
    expect(server.output()).toContain(`JetStream at ${nats.url}`);
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);

    // HTTP with an Idempotency-Key sent twice: one message (JetStream's Nats-Msg-Id dedup).
    const first = await post(server.url, "http-1", "order-17");
    const again = await post(server.url, "http-1", "order-17");
    expect([first.status, again.status]).toEqual([202, 202]);
    const [a, b] = [(await first.json()) as { sequenceId: number; duplicate: boolean }, (await again.json()) as { sequenceId: number; duplicate: boolean }];
    expect(a.duplicate).toBe(false);
    expect(b).toMatchObject({ sequenceId: a.sequenceId, duplicate: true });

    // WebSocket producer (the SDK): 20 receipts.
    const options = { url: server.url, queue: QUEUE, reconnect: RetryPolicy.fixed({ attempts: 20, delayMs: 100 }) };
    const producer = new Producer(options);
    cleanup.push(async () => producer.close());
    const wsBodies = Array.from({ length: 20 }, (_, i) => `ws-${i}`);
    const receipts = await Promise.all(wsBodies.map((body) => producer.publish(encoder.encode(body))));
    expect(receipts.every((r) => r.ok && r.value.sequenceId > a.sequenceId)).toBe(true);

    // Consume all 21 over WebSocket and ack them; the stream is then empty.
    const consumer = new Consumer({ ...options, credit: 8 });
    const seen = new Set<string>();
    await consumeAll(consumer, new Set(["http-1", ...wsBodies]), seen, 15_000);
    consumer.close();
    expect(seen.size).toBe(21); // the repeated key made no second message
    await waitFor(async () => {
      const s = await getJson<Stats>(`${server.url}/v1/queues/${QUEUE}`);
      return s.pending === 0 && s.active === 0 && s.acked === 21;
    }, 10_000, "stats: 0 pending, 0 active, 21 acked");

    // Receipted and left in the stream before the kill; a second producer keeps publishing through it.
    const before = Array.from({ length: 30 }, (_, i) => `before-${i}`);
    const stored = await Promise.all(before.map((body) => producer.publish(encoder.encode(body))));
    expect(stored.every((r) => r.ok)).toBe(true);
    const receipted = new Set(before);
    const refusals: string[] = [];
    let loading = true;
    const loader = new Producer({ ...options, maxInFlight: 16 });
    cleanup.push(async () => loader.close());
    const load = (async () => {
      for (let i = 0; loading; i++) {
        const r = await loader.publish(encoder.encode(`load-${i}`));
        if (r.ok) receipted.add(`load-${i}`);
        else refusals.push(r.error.code);
        if (!r.ok) await new Promise((done) => setTimeout(done, 20));
      }
    })();
    await waitFor(() => receipted.size >= before.length + 50, 10_000, "the load producer to get receipts");

    // nats-server dies: publishes are refused with `unavailable` (503), /readyz turns 503.
    const killedAt = Date.now();
    await nats.kill("SIGKILL");
    let refused: { status: number; code?: string } = { status: 0 };
    await waitFor(async () => {
      const res = await post(server.url, "during-outage");
      refused = { status: res.status, code: ((await res.json()) as { error?: { code: string } }).error?.code };
      return res.status === 503;
    }, 10_000, "an HTTP publish to answer 503");
    expect(refused).toEqual({ status: 503, code: "unavailable" });
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 503, 10_000, "/readyz to turn 503");
    const readyz = (await (await fetch(`${server.url}/readyz`)).json()) as { status: string; down: string[] };
    expect(readyz).toEqual({ status: "unavailable", down: [`nats ${nats.url}`] });
    await waitFor(() => refusals.length > 0, 10_000, "the WebSocket producer to be refused");
    expect(new Set(refusals)).toEqual(new Set(["unavailable"]));
    expect(Date.now() - killedAt).toBeLessThan(15_000);

    // Same port, same store: the node reconnects by itself, /readyz is 200 again, publishing works.
    await nats.restart();
    await waitFor(async () => (await fetch(`${server.url}/readyz`)).status === 200, 15_000, "/readyz to be 200 again");
    const receiptsAtRestart = receipted.size;
    await waitFor(() => receipted.size > receiptsAtRestart + 20, 15_000, "the WebSocket producer to get receipts again");
    let after: Response | undefined;
    await waitFor(async () => (after = await post(server.url, "after-restart")).status === 202, 10_000, "an HTTP publish to be accepted again");
    receipted.add("after-restart");
    loading = false;
    await load;
    expect(after!.status).toBe(202);

    // Everything receipted — before, during and after the outage — is there to consume.
    const consumer2 = new Consumer({ ...options, credit: 64 });
    cleanup.push(async () => consumer2.close());
    const seen2 = new Set<string>();
    await consumeAll(consumer2, receipted, seen2, 30_000);
    expect([...receipted].filter((body) => !seen2.has(body))).toEqual([]);
    expect(seen2.has("during-outage")).toBe(false); // answered 503: not stored
    console.log(`jetstream-server: ${receipted.size} receipted, all consumed; ${refusals.length} WebSocket publishes refused during the outage`);

    // A graceful stop closes the NATS connection after the drain and exits 0.
    const { code, output } = await server.stop("SIGTERM");
    expect(code).toBe(0);
    expect(output).toContain("on JetStream at");
  }, 120_000);
});
