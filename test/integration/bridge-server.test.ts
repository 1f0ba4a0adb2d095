// The bridge as a server feature: a real Sluice process (Bun) whose `jobs` queue has a `bridge`
// config section drains into a real loopback WebSocket downstream, with a second Sluice app
// instance as the Relay (Connect) fallback. Healthy socket; socket killed mid-stream; both down
// (the circuit opens: nothing counted or poisoned, /metrics and the log show the outage);
// downstreams back (every message delivered once). Each case checks that /metrics matches what
// the downstreams saw, counted by message.
import { afterEach, describe, expect, test } from "../harness.ts";
import { Producer } from "../../src/client/mod.ts";
import { type ServerProcess, startServer, waitFor } from "./server-process.ts";
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
  // A bridged queue's series carry role="bridge".
  const series = (name: string, extra = "") => {
    const m = new RegExp(`^${name}\\{queue="jobs",role="bridge"${extra}\\} (\\S+)$`, "m").exec(text);
    return m ? Number(m[1]) : 0;
  };
  return {
    acked: series("sluice_acked_total"),
    failed: series("sluice_failed_total"),
    poisoned: series("sluice_poisoned_total"),
    attempts: series("sluice_delivery_attempts_total"),
    pending: series("sluice_pending"),
    viaSocket: series("sluice_bridge_delivered_total", ',path="socket"'),
    viaRpc: series("sluice_bridge_delivered_total", ',path="rpc"'),
    failedSends: series("sluice_bridge_sends_total", ',path="socket",outcome="failed"') + series("sluice_bridge_sends_total", ',path="rpc",outcome="failed"'),
    circuitOpen: series("sluice_bridge_circuit_state", ',state="open"') + series("sluice_bridge_circuit_state", ',state="half_open"'),
    outages: series("sluice_bridge_circuit_opened_total"),
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

  test("both down: the circuit opens, nothing is counted or poisoned, /metrics and the log show it; back up: each message delivered once", async () => {
    socket = await startSocketDownstream();
    relay = await startRelayDownstream();
    await socket.kill();
    await relay.stop();
    server = await startServer("bun", { config: bridgeConfig({ sendTimeoutMs: 1000 }, { maxRetries: 1 }) });
    await publish(server.url, 20);
    await waitFor(async () => (await metricsOf(server!.url)).outages === 1, 20_000, "the circuit to open");
    await new Promise((r) => setTimeout(r, 3000)); // a few probes
    const during = await metricsOf(server.url);
    expect(during).toMatchObject({ acked: 0, failed: 0, poisoned: 0, circuitOpen: 1, outages: 1 });
    expect(during.failedSends).toBeGreaterThan(3);
    expect(server.output()).toContain("bridge jobs: downstream down");

    await socket.restart();
    await relay.restart();
    await waitFor(async () => (await metricsOf(server!.url)).acked === 20, 20_000, "20 acks once back up");
    const seen = deliveredOnce(20);
    const m = await metricsOf(server.url);
    expect(m).toMatchObject({ acked: 20, failed: 0, poisoned: 0, pending: 0, circuitOpen: 0, outages: 1 });
    expect(m.viaSocket + m.viaRpc).toBe(20);
    expect(m.viaSocket).toBe(seen.bySocket);
    expect(m.viaRpc).toBe(seen.byRpc);
    expect(server.output()).toContain("bridge jobs: downstream back after");
  }, 45_000);
});
