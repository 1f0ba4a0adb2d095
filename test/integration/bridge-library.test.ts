// bridge() as a library against real loopback downstreams: a socket that hangs (no ACK, no PONG)
// is detected by the heartbeat, its in-flight sends fail over to the Relay at once (the send
// timeout is far longer); and the RPC path in "execute" mode (server-streaming Execute batches).
// Counters are read from the queue's MetricsRegistry. No timing is asserted.
import { afterEach, describe, expect, test } from "../harness.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { bridge, type Bridge } from "../../src/transport/bridge.ts";
import { waitFor } from "./server-process.ts";
import { type RelayDownstream, type SocketDownstream, startRelayDownstream, startSocketDownstream } from "./downstreams.ts";

const encoder = new TextEncoder();
let socket: SocketDownstream | undefined;
let relay: RelayDownstream | undefined;
let running: Bridge | undefined;
afterEach(async () => {
  await running?.stop();
  await socket?.kill().catch(() => {});
  await relay?.stop().catch(() => {});
  running = socket = relay = undefined;
});

function counters(queue: SafeTaskQueue<Uint8Array>) {
  const labels = { queue: queue.name, role: queue.options.role };
  const r = queue.metrics.registry;
  return {
    acked: r.value("sluice_acked_total", labels),
    failed: r.value("sluice_failed_total", labels),
    attempts: r.value("sluice_delivery_attempts_total", labels),
    // The bridge's own series are labelled role="bridge".
    viaSocket: r.value("sluice_bridge_delivered_total", { queue: queue.name, role: "bridge", path: "socket" }),
    viaRpc: r.value("sluice_bridge_delivered_total", { queue: queue.name, role: "bridge", path: "rpc" }),
  };
}

describe("bridge() library, real loopback downstreams", () => {
  test("heartbeat: a hung socket (no PONG) is closed and its in-flight leases go to the fallback", async () => {
    socket = await startSocketDownstream();
    relay = await startRelayDownstream();
    socket.onPublish = () => {
      if (socket!.acked.size >= 50) socket!.mode = "hang";
    };
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 1000 });
    for (let i = 0; i < 120; i++) queue.tryEnqueue(encoder.encode(`m${i}`));
    // A send timeout of 60 s: only the missed PONG can explain a prompt failover.
    running = bridge(queue, { wsUrl: socket.url, rpcUrl: relay.url, pingIntervalMs: 100, sendTimeoutMs: 60_000, concurrency: 4 });
    await waitFor(() => queue.stats().acked === 120, 25_000, "120 acks");
    expect(running.downstream!.stats.missedPongs).toBeGreaterThanOrEqual(1);
    const byRpc = relay.received();
    const bySocket = new Set(socket.payloads.values());
    expect(bySocket.size).toBe(50);
    for (const p of bySocket) expect(byRpc.has(p)).toBe(false);
    expect(byRpc.size).toBe(70);
    expect([...byRpc.values()].every((n) => n === 1)).toBe(true);
    expect(counters(queue)).toEqual({ acked: 120, failed: 0, attempts: 120, viaSocket: 50, viaRpc: 70 });
    expect(running.stats.fallbacks).toBeGreaterThanOrEqual(1);
  }, 30_000);

  test("RPC only, execute mode: concurrent leases share server-streaming Execute calls", async () => {
    relay = await startRelayDownstream();
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 1000 });
    for (let i = 0; i < 500; i++) queue.tryEnqueue(encoder.encode(`m${i}`));
    running = bridge(queue, { rpcUrl: relay.url, rpcMode: "execute", concurrency: 32 });
    await waitFor(() => queue.stats().acked === 500, 25_000, "500 acks");
    const byRpc = relay.received();
    expect(byRpc.size).toBe(500);
    expect([...byRpc.values()].every((n) => n === 1)).toBe(true);
    expect(counters(queue)).toEqual({ acked: 500, failed: 0, attempts: 500, viaSocket: 0, viaRpc: 500 });
  }, 30_000);

  test("stop(): in-flight leases go straight back to the queue, not counted as attempts", async () => {
    socket = await startSocketDownstream();
    socket.mode = "silent";
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: 100 });
    for (let i = 0; i < 10; i++) queue.tryEnqueue(encoder.encode(`m${i}`));
    running = bridge(queue, { wsUrl: socket.url, sendTimeoutMs: 60_000, pingIntervalMs: 60_000, concurrency: 4 });
    await waitFor(() => socket!.unacked.size === 4, 10_000, "4 sends waiting on the silent socket");
    const report = await running.stop();
    running = undefined;
    expect(report.error?.code).toBe("canceled");
    expect(queue.stats()).toMatchObject({ pending: 10, active: 0, acked: 0, failed: 0 });
  }, 30_000);
});
