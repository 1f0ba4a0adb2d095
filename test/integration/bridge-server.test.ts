// The bridge as a server feature: a real Sluice process (Bun) whose `jobs` queue has a `bridge`
// config section drains into a real loopback WebSocket downstream, with a second Sluice app
// instance as the Relay (Connect) fallback. Healthy socket; socket killed mid-stream; both down
// (retries, then poison with the last error); downstreams back (poison replay). Each case checks
// that /metrics matches what the downstreams saw, counted by message.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Producer } from "../../src/client/mod.ts";
import { getJson, metric, type ServerProcess, startServer, waitFor } from "./server-process.ts";
import { type RelayDownstream, type SocketDownstream, startRelayDownstream, startSocketDownstream } from "./downstreams.ts";

const encoder = new TextEncoder();
const CONCURRENCY = 8;

let server: ServerProcess | undefined;
let socket: SocketDownstream | undefined;
let relay: RelayDownstream | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  await socket?.kill().catch(() => {});
  await relay?.stop().catch(() => {});
  server = socket = relay = undefined;
});

const bridgeConfig = (extra: Record<string, unknown> = {}, queue: Record<string, unknown> = {}) => ({
  queues: {
    jobs: {
      capacity: 4096,
      maxRetries: 3,
      ...queue,
      bridge: { wsUrl: socket!.url, rpcUrl: relay!.url, sendTimeoutMs: 5000, pingIntervalMs: 1000, concurrency: CONCURRENCY, ...extra },
    },
  },
});

async function publish(url: string, count: number): Promise<void> {
  const producer = new Producer({ url, queue: "jobs", maxInFlight: 512 });
  const receipts = [];
  for (let i = 0; i < count; i++) receipts.push(producer.publish(encoder.encode(`m${i}`)));
  for (const r of receipts) if (!(await r).ok) throw new Error("publish failed");
  producer.close();
}

async function metricsOf(url: string) {
  const text = await (await fetch(`${url}/metrics`)).text();
  const path = (p: string) => {
    const m = new RegExp(`^sluice_bridge_delivered_total\\{queue="jobs",role="dispatcher",path="${p}"\\} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    acked: metric(text, "sluice_acked_total", "jobs"),
    failed: metric(text, "sluice_failed_total", "jobs"),
    poisoned: metric(text, "sluice_poisoned_total", "jobs"),
    attempts: metric(text, "sluice_delivery_attempts_total", "jobs"),
    pending: metric(text, "sluice_pending", "jobs"),
    viaSocket: path("socket"),
    viaRpc: path("rpc"),
  };
}

/** Every message once, by payload: socket ACKs and Relay receipts together, never both. */
function deliveredOnce(total: number) {
  const bySocket = new Set(socket!.payloads.values());
  const byRpc = relay!.received();
  for (const n of socket!.acked.values()) expect(n).toBe(1);
  for (const n of byRpc.values()) expect(n).toBe(1);
  for (const p of bySocket) expect(byRpc.has(p)).toBe(false);
  const all = new Set([...bySocket, ...byRpc.keys()]);
  expect(all.size).toBe(total);
  for (let i = 0; i < total; i++) expect(all.has(`m${i}`)).toBe(true);
  return { bySocket: bySocket.size, byRpc: byRpc.size };
}

describe("queue bridge in the server process (Bun)", () => {
  test("healthy socket: everything goes by socket, acked once; /metrics matches the downstream", async () => {
    socket = await startSocketDownstream();
    relay = await startRelayDownstream();
    server = await startServer("bun", { config: bridgeConfig() });
    expect(server.output()).toContain("bridge jobs → socket");
    await publish(server.url, 300);
    await waitFor(async () => (await metricsOf(server!.url)).acked === 300, 20_000, "300 acks");
    const seen = deliveredOnce(300);
    expect(seen).toEqual({ bySocket: 300, byRpc: 0 });
    expect(await metricsOf(server.url)).toMatchObject({ acked: 300, failed: 0, attempts: 300, viaSocket: 300, viaRpc: 0, pending: 0 });
  }, 30_000);

  test("socket killed mid-stream: the Relay fallback takes over, nothing lost, nothing acked twice", async () => {
    socket = await startSocketDownstream();
    relay = await startRelayDownstream();
    // After 100 ACKs the socket stops answering; once every bridge slot waits on it (so each ACK
    // it did send has arrived), it is killed: no close handshake, port closed.
    let killing: Promise<void> | undefined;
    socket.onPublish = () => {
      if (socket!.acked.size >= 100) socket!.mode = "silent";
      if (socket!.unacked.size === CONCURRENCY) killing ??= socket!.kill();
    };
    server = await startServer("bun", { config: bridgeConfig() });
    await publish(server.url, 400);
    await waitFor(async () => (await metricsOf(server!.url)).acked === 400, 25_000, "400 acks");
    expect(killing).toBeDefined();
    const seen = deliveredOnce(400);
    expect(seen.bySocket).toBe(100);
    expect(seen.byRpc).toBe(300);
    const m = await metricsOf(server.url);
    expect(m).toMatchObject({ acked: 400, failed: 0, attempts: 400, viaSocket: 100, viaRpc: 300, pending: 0 });
    expect(server.output()).toContain("bridge jobs: socket down");
  }, 30_000);

  test("both down: RPC retries, then poison after maxRetries with the last error; back up: poison replay delivers all", async () => {
    socket = await startSocketDownstream();
    relay = await startRelayDownstream();
    await socket.kill();
    await relay.stop();
    server = await startServer("bun", { config: bridgeConfig({ sendTimeoutMs: 1000 }) });
    await publish(server.url, 20);
    await waitFor(async () => (await metricsOf(server!.url)).poisoned === 20, 25_000, "20 poisoned");
    type Poison = { count: number; entries: { attempts: number; lastError: { code: string; message: string } }[] };
    const poison = await getJson<Poison>(`${server.url}/v1/queues/jobs/poison`);
    expect(poison.count).toBe(20);
    for (const entry of poison.entries) {
      expect(entry.attempts).toBe(3);
      expect(entry.lastError.code).toBe("unavailable");
      expect(entry.lastError.message).toContain("after 3 attempts");
    }
    // Three deliveries per message, each failed; nothing reached a downstream.
    expect(await metricsOf(server.url)).toMatchObject({ acked: 0, failed: 60, poisoned: 20, attempts: 60, viaSocket: 0, viaRpc: 0 });

    await socket.restart();
    await relay.restart();
    const replay = await fetch(`${server.url}/v1/queues/jobs/poison/replay`, { method: "POST", body: JSON.stringify({ all: true }) });
    expect(((await replay.json()) as { replayed: number }).replayed).toBe(20);
    await waitFor(async () => (await metricsOf(server!.url)).acked === 20, 20_000, "20 acks after replay");
    const seen = deliveredOnce(20);
    const m = await metricsOf(server.url);
    expect(m).toMatchObject({ acked: 20, failed: 60, attempts: 80, poisoned: 20, pending: 0 });
    expect(m.viaSocket + m.viaRpc).toBe(20);
    expect(m.viaSocket).toBe(seen.bySocket);
    expect(m.viaRpc).toBe(seen.byRpc);
  }, 30_000);
});
