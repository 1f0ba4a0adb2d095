// Sluice into Sluice, both real server processes (Bun, durable default storage): an upstream
// whose `jobs` queue bridges into a downstream Sluice's `jobs` queue over its WebSocket
// (`/v1/queues/jobs/ws`, which answers PUBLISH with RECEIPT) with its Relay service as fallback.
// 1. N sent, exactly N arrive: every delivery confirmed by RECEIPT on the socket, no timeouts,
//    nothing resent over RPC.
// 2. The downstream is killed (SIGKILL) for 10 s and restarted on the same port and data dir;
//    meanwhile the upstream takes more messages. Its circuit opens (no new leases, probes with
//    backoff), /metrics show the outage (circuit state, failed sends), nothing is counted or
//    poisoned even with maxRetries 1, and every message arrives after it.
// The downstream's queue is then drained by a consumer: every payload exactly once.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, Producer } from "../../src/client/mod.ts";
import { type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BATCH = 200;
const OUTAGE_MS = 10_000;

let upstream: ServerProcess | undefined;
let downstream: ServerProcess | undefined;
afterEach(async () => {
  await upstream?.stop("SIGKILL").catch(() => {});
  await downstream?.stop("SIGKILL").catch(() => {});
  upstream = downstream = undefined;
});

/** One series of a /metrics text (0 when absent). */
function series(text: string, name: string, labels: string): number {
  const m = new RegExp(`^${name}\\{${labels.replace(/[{}]/g, "\\$&")}\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : 0;
}

async function upstreamMetrics(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const q = 'queue="jobs",role="bridge"';
  const sends = (path: string, outcome: string) => series(text, "sluice_bridge_sends_total", `${q},path="${path}",outcome="${outcome}"`);
  return {
    acked: series(text, "sluice_acked_total", q),
    failed: series(text, "sluice_failed_total", q),
    poisoned: series(text, "sluice_poisoned_total", q),
    pending: series(text, "sluice_pending", q),
    viaSocket: series(text, "sluice_bridge_delivered_total", `${q},path="socket"`),
    viaRpc: series(text, "sluice_bridge_delivered_total", `${q},path="rpc"`),
    fallbacks: series(text, "sluice_bridge_fallbacks_total", q),
    failedSends: sends("socket", "failed") + sends("rpc", "failed"),
    okSends: sends("socket", "ok") + sends("rpc", "ok"),
    closed: series(text, "sluice_bridge_circuit_state", `${q},state="closed"`),
    notClosed: series(text, "sluice_bridge_circuit_state", `${q},state="open"`) + series(text, "sluice_bridge_circuit_state", `${q},state="half_open"`),
    outages: series(text, "sluice_bridge_circuit_opened_total", q),
    probes: series(text, "sluice_bridge_circuit_probes_total", q),
    deferred: series(text, "sluice_bridge_deferred_total", q),
  };
}

async function downstreamPending(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return series(text, "sluice_pending", 'queue="jobs",role="dispatcher"');
}

async function publish(url: string, from: number, count: number): Promise<void> {
  const producer = new Producer({ url, queue: "jobs", maxInFlight: 256 });
  const receipts = [];
  for (let i = from; i < from + count; i++) receipts.push(producer.publish(encoder.encode(`m${i}`)));
  for (const r of receipts) if (!(await r).ok) throw new Error("publish failed");
  producer.close();
}

/** Takes every message out of the downstream's queue (acking each); counts by payload. */
async function drain(url: string, expected: number): Promise<Map<string, number>> {
  const consumer = new Consumer({ url, queue: "jobs", credit: 64 });
  const seen = new Map<string, number>();
  let received = 0;
  // Bounded: all `expected` within 15 s, then 500 ms in which nothing more may come.
  const until = Date.now() + 15_000;
  for (;;) {
    const quietMs = received >= expected ? 500 : Math.max(1, until - Date.now());
    const got = await consumer.receive({ signal: AbortSignal.timeout(quietMs) });
    if (!got.ok) break;
    const text = decoder.decode(got.value.payload);
    seen.set(text, (seen.get(text) ?? 0) + 1);
    received++;
    consumer.ack(got.value);
  }
  await consumer.flush({ signal: AbortSignal.timeout(2000) });
  consumer.close();
  return seen;
}

describe("Sluice → Sluice bridge, real server processes (Bun)", () => {
  test(`${BATCH} sent → exactly ${BATCH} arrive (RECEIPT confirms); a ${OUTAGE_MS / 1000} s downstream outage poisons nothing and every message arrives after it`, async () => {
    const dataDir = tempDir();
    const downstreamConfig = { queues: { jobs: { capacity: 10_000 } } };
    downstream = await startServer("bun", { config: downstreamConfig, env: { SLUICE_DATA_DIR: dataDir } });
    const port = downstream.port;
    upstream = await startServer("bun", {
      config: {
        queues: {
          jobs: {
            capacity: 10_000,
            maxRetries: 1, // a single counted failure would poison: the outage must count none
            bridge: { wsUrl: `ws://127.0.0.1:${port}/v1/queues/jobs/ws`, rpcUrl: `http://127.0.0.1:${port}`, sendTimeoutMs: 2000, pingIntervalMs: 1000, concurrency: 8 },
          },
        },
      },
    });
    const up = upstream.url;

    // 1. Healthy: every delivery goes by socket, confirmed by RECEIPT; nothing falls back or is resent.
    await publish(up, 0, BATCH);
    await waitFor(async () => (await upstreamMetrics(up)).acked === BATCH, 15_000, `${BATCH} acks upstream`);
    await waitFor(async () => (await downstreamPending(downstream!.url)) === BATCH, 5000, `${BATCH} pending downstream`);
    const healthy = await upstreamMetrics(up);
    expect(healthy).toMatchObject({ acked: BATCH, viaSocket: BATCH, viaRpc: 0, fallbacks: 0, failedSends: 0, okSends: BATCH, closed: 1, outages: 0, failed: 0 });

    // 2. Outage: the downstream dies; the upstream takes another batch meanwhile.
    await downstream.stop("SIGKILL");
    const killedAt = Date.now();
    await publish(up, BATCH, BATCH);
    await waitFor(async () => (await upstreamMetrics(up)).outages === 1, 8000, "the circuit to open");
    await waitFor(() => Date.now() - killedAt >= OUTAGE_MS - 1500, OUTAGE_MS, "most of the outage");
    const during = await upstreamMetrics(up);
    expect(during).toMatchObject({ acked: BATCH, failed: 0, poisoned: 0, pending: BATCH, notClosed: 1, closed: 0, outages: 1 });
    expect(during.failedSends).toBeGreaterThan(0);
    expect(during.probes).toBeGreaterThanOrEqual(2);
    expect(upstream.output()).toContain("bridge jobs: downstream down");

    await waitFor(() => Date.now() - killedAt >= OUTAGE_MS, OUTAGE_MS, "the end of the outage");
    downstream = await startServer("bun", { config: downstreamConfig, env: { SLUICE_DATA_DIR: dataDir, PORT: String(port) } });
    expect(downstream.port).toBe(port);
    const restartedAt = Date.now();

    // 3. Back: every message of the second batch arrives; nothing was poisoned or counted.
    await waitFor(async () => (await upstreamMetrics(up)).acked === 2 * BATCH, 20_000, `${2 * BATCH} acks upstream`);
    const recoveredMs = Date.now() - restartedAt;
    const after = await upstreamMetrics(up);
    expect(after).toMatchObject({ acked: 2 * BATCH, failed: 0, poisoned: 0, pending: 0, closed: 1, notClosed: 0, outages: 1 });
    expect(after.viaSocket + after.viaRpc).toBe(2 * BATCH);
    expect(upstream.output()).toContain("bridge jobs: downstream back after");
    await waitFor(async () => (await downstreamPending(downstream!.url)) === 2 * BATCH, 5000, `${2 * BATCH} pending downstream`);

    // Downstream: each payload exactly once (the first batch survived the kill in its store).
    const seen = await drain(downstream.url, 2 * BATCH);
    const twice = [...seen].filter(([, n]) => n > 1);
    expect(twice).toEqual([]);
    expect(seen.size).toBe(2 * BATCH);
    for (let i = 0; i < 2 * BATCH; i++) expect(seen.get(`m${i}`)).toBe(1);
    expect(await downstreamPending(downstream.url)).toBe(0);
    if (process.env.BRIDGE_DEBUG) console.log(upstream.output());
    console.log(
      `bridge-sluice: outage ${((restartedAt - killedAt) / 1000).toFixed(1)} s, recovered ${recoveredMs} ms after the restart; ` +
        `upstream: ${after.viaSocket} by socket, ${after.viaRpc} by rpc, ${after.failedSends} failed sends, ${after.probes} probes, ${after.deferred} deferred, 0 poisoned`,
    );
  }, 60_000);
});
