// The sluice.v1.Relay service as the Hono app serves it (Connect and gRPC-Web, through the app's
// fetch: no sockets), and bridge() on a VirtualClock against an in-memory socket with a second
// app as its RPC fallback: socket path, fallback; both down → circuit open, nothing counted or
// poisoned, every message delivered once back up; a refusal, or a message failing while others
// get through, still counts and poisons.
import { describe, expect, test } from "../harness.ts";
import { create } from "@bufbuild/protobuf";
import { VirtualClock } from "../../src/result/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { PublishOptionsSchema } from "../../src/gen/sluice/v1/publish_pb.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, nackFrame, pongFrame } from "../../src/protocol/frame-builders.ts";
import { loadConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";
import { RelayClient } from "../../src/transport/relay-client.ts";
import { bridge } from "../../src/transport/bridge.ts";
import { Downstream } from "../../src/transport/downstream.ts";
import { FakeNetwork } from "./fake-socket.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);

function relayServer(file: Record<string, unknown> = { queues: { jobs: {} } }) {
  const loaded = loadConfig({ fileText: JSON.stringify(file) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  const app = createApp(loaded.value, { broker });
  const fetch = ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input as string, init))) as typeof globalThis.fetch;
  return { broker, app, fetch, jobs: broker.queue("jobs")! };
}
const command = (queue: string, id: number, payload: string, key?: string) =>
  create(CommandSchema, {
    queue,
    id: { case: "sequenceId", value: BigInt(id) },
    payload: bytes(payload),
    attempt: 1,
    options: key ? create(PublishOptionsSchema, { idempotencyKey: key }) : undefined,
  });

describe("Relay service (served by the Hono app)", () => {
  for (const protocol of ["connect", "grpc-web"] as const) {
    test(`${protocol}: Send enqueues and answers with a receipt; a repeated idempotency key is a duplicate; unknown queue is not_found`, async () => {
      const { fetch, jobs } = relayServer();
      const relay = new RelayClient({ baseUrl: "http://relay.test", fetch, protocol });
      expect((await relay.send(command("jobs", 1, "a", "k1"))).ok).toBe(true);
      expect((await relay.send(command("jobs", 1, "a", "k1"))).ok).toBe(true);
      expect((await relay.send(command("jobs", 2, "b"))).ok).toBe(true);
      expect(jobs.stats().enqueued).toBe(2);
      const missing = await relay.send(command("nope", 3, "c"));
      expect(missing.error?.code).toBe("not_found");
      const leased = jobs.tryLease()!;
      expect(text(leased.payload)).toBe("a");
    });
  }

  test("Execute streams one reply per command, a rejected one does not end the stream", async () => {
    const { fetch, jobs } = relayServer();
    const relay = new RelayClient({ baseUrl: "http://relay.test", fetch });
    const replies = new Map<number, string>();
    const r = await relay.execute([command("jobs", 1, "a"), command("nope", 2, "b"), command("jobs", 3, "c")], {
      onReply: (id, outcome) => replies.set(id, outcome.ok ? "ok" : outcome.error.code),
    });
    expect(r.ok).toBe(true);
    expect([...replies.entries()].sort()).toEqual([[1, "ok"], [2, "not_found"], [3, "ok"]]);
    expect(jobs.stats().enqueued).toBe(2);
  });

  test("behind bearer auth like every /v1 route; shutting down → unavailable", async () => {
    const { fetch, broker } = relayServer({ authTokens: ["s3cret"], queues: { jobs: {} } });
    const anonymous = new RelayClient({ baseUrl: "http://relay.test", fetch });
    expect((await anonymous.send(command("jobs", 1, "a"))).error?.code).toBe("unauthorized");
    const authed = new RelayClient({ baseUrl: "http://relay.test", fetch, headers: { authorization: "Bearer s3cret" } });
    expect((await authed.send(command("jobs", 1, "a"))).ok).toBe(true);
    await broker.shutdown({ drainMs: 0 });
    expect((await authed.send(command("jobs", 2, "b"))).error?.code).toBe("unavailable");
  });
});

describe("bridge() on a virtual clock", () => {
  const setup = (maxRetries = 3) => {
    const clock = new VirtualClock();
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", clock, maxRetries, leaseMs: 60_000, heartbeatMs: 10_000 });
    const target = relayServer();
    let rpcUp = true;
    const fetch = ((input: string | URL | Request, init?: RequestInit) =>
      rpcUp ? target.fetch(input, init) : Promise.reject(new TypeError("connection refused"))) as typeof globalThis.fetch;
    const relay = new RelayClient({ baseUrl: "http://relay.test", fetch });
    const socketAcks = new Map<number, number>();
    const net = new FakeNetwork((frame, socket) => {
      if (frame.type === FrameType.PING) return socket.reply(pongFrame(frame.id));
      if (frame.type !== FrameType.PUBLISH) return;
      socketAcks.set(frame.id, (socketAcks.get(frame.id) ?? 0) + 1);
      socket.reply(ackFrame(frame.id));
    });
    const downstream = new Downstream({ url: "ws://fake/", clock, socketFactory: net.factory, pingIntervalMs: 0 });
    return { clock, queue, target, relay, net, downstream, socketAcks, setRpc: (up: boolean) => (rpcUp = up) };
  };
  const until = async (clock: VirtualClock, check: () => boolean, stepMs = 0) => {
    for (let i = 0; i < 5000 && !check(); i++) await (stepMs > 0 ? clock.advance(stepMs) : clock.flush());
    expect(check()).toBe(true);
  };

  test("healthy socket: every message goes by socket and is acked once", async () => {
    const { clock, queue, relay, downstream, socketAcks } = setup();
    for (let i = 0; i < 20; i++) queue.tryEnqueue(bytes(`m${i}`));
    const b = bridge(queue, { downstream, relay, concurrency: 4 });
    await until(clock, () => queue.stats().acked === 20);
    expect(b.stats).toMatchObject({ viaSocket: 20, viaRpc: 0, fallbacks: 0 });
    expect([...socketAcks.values()].every((n) => n === 1)).toBe(true);
    expect(queue.metrics.registry.value("sluice_bridge_delivered_total", { queue: "jobs", role: "bridge", path: "socket" })).toBe(20);
    expect(queue.metrics.registry.value("sluice_bridge_sends_total", { queue: "jobs", role: "bridge", path: "socket", outcome: "ok" })).toBe(20);
    expect((await b.stop()).error?.code).toBe("canceled");
  });

  test("socket down: the fallback takes every message; rollback registered, nothing lost", async () => {
    const { clock, queue, relay, net, downstream, target } = setup();
    net.up = false;
    for (let i = 0; i < 10; i++) queue.tryEnqueue(bytes(`m${i}`));
    const b = bridge(queue, { downstream, relay, concurrency: 2 });
    await until(clock, () => queue.stats().acked === 10, 10);
    expect(b.stats.viaRpc).toBe(10);
    expect(b.stats.fallbacks).toBe(10);
    expect(target.jobs.stats().enqueued).toBe(10);
    await b.stop();
  });

  test("both down: the circuit opens, the bridge stops leasing and probes with backoff; nothing counted or poisoned; back up: each message once", async () => {
    const { clock, queue, relay, net, downstream, target, setRpc, socketAcks } = setup(1);
    net.up = false;
    setRpc(false);
    for (let i = 0; i < 6; i++) queue.tryEnqueue(bytes(`m${i}`));
    const lines: string[] = [];
    const b = bridge(queue, { downstream, relay, concurrency: 3, log: (l) => lines.push(l), circuit: { random: () => 0 } });
    await until(clock, () => b.circuit.state === "open", 10);
    // Open: the workers park holding nothing (a probe holds one lease); every message waits in
    // the queue, uncounted. The deliveries in flight when it opened end first.
    await clock.advance(2000);
    let mostActive = 0;
    for (let s = 0; s < 300; s++) {
      await clock.advance(100); // 30 s of outage
      mostActive = Math.max(mostActive, queue.stats().active);
      expect(queue.stats()).toMatchObject({ failed: 0, poisonedTotal: 0, acked: 0 });
    }
    expect(mostActive).toBe(1);
    const m = (name: string, extra: Record<string, string> = {}) => queue.metrics.registry.value(name, { queue: "jobs", role: "bridge", ...extra });
    // Probes at +0.5, +1, +2, +4, then every 5 s (plus each probe's ~0.75 s of RPC retries):
    // about 7 in 32 s, one delivery each.
    const probes = m("sluice_bridge_circuit_probes_total");
    expect(probes).toBeGreaterThanOrEqual(7);
    expect(probes).toBeLessThanOrEqual(10);
    expect(queue.stats()).toMatchObject({ failed: 0, poisonedTotal: 0, acked: 0 });
    expect(m("sluice_bridge_circuit_opened_total")).toBe(1);
    expect(m("sluice_bridge_circuit_state", { state: "closed" })).toBe(0);
    expect(m("sluice_bridge_sends_total", { path: "rpc", outcome: "failed" })).toBeGreaterThan(probes);
    expect(m("sluice_bridge_deferred_total")).toBeGreaterThanOrEqual(probes);
    expect(lines.filter((l) => l.includes("downstream down")).length).toBe(1);
    net.up = true;
    setRpc(true);
    await until(clock, () => queue.stats().acked === 6, 100);
    expect(b.circuit.state).toBe("closed");
    expect(m("sluice_bridge_circuit_state", { state: "closed" })).toBe(1);
    expect(queue.stats()).toMatchObject({ failed: 0, poisonedTotal: 0, pending: 0 });
    // Each message once, by one path or the other.
    expect(target.jobs.stats().enqueued + socketAcks.size).toBe(6);
    expect([...socketAcks.values()].every((n) => n === 1)).toBe(true);
    expect(lines.at(-1)).toContain("downstream back after");
    await b.stop();
  });

  test("a refusal (the downstream's verdict on the message) counts and poisons; the circuit stays closed", async () => {
    const { clock, queue, net, downstream } = setup(2);
    net.onFrame = (frame, socket) => {
      if (frame.type === FrameType.PUBLISH) socket.reply(nackFrame(frame.id, { code: "validation", message: "bad payload", requeue: false }));
    };
    queue.tryEnqueue(bytes("x"));
    const b = bridge(queue, { downstream, concurrency: 1 });
    await until(clock, () => queue.poison.size === 1, 50);
    const [entry] = queue.poison.list();
    expect(entry!.attempts).toBe(2);
    expect(entry!.lastError.code).toBe("validation");
    expect(b.circuit.state).toBe("closed");
    expect(queue.metrics.registry.value("sluice_bridge_sends_total", { queue: "jobs", role: "bridge", path: "socket", outcome: "refused" })).toBe(2);
    await b.stop();
  });

  test("a message that fails while others get through counts (every second such failure) and is poisoned; the others are delivered", async () => {
    const { clock, queue, net, downstream } = setup(1);
    net.onFrame = (frame, socket) => {
      if (frame.type !== FrameType.PUBLISH || text(frame.payload) === "bad") return; // never answered
      clock.setTimeout(() => socket.reply(ackFrame(frame.id)), 10);
    };
    queue.tryEnqueue(bytes("bad"));
    // Others keep coming (one per 20 ms for 2 s) and get through in 10 ms each.
    for (let i = 0; i < 100; i++) clock.setTimeout(() => void queue.tryEnqueue(bytes(`m${i}`)), i * 20);
    const b = bridge(queue, { downstream, concurrency: 2, sendTimeoutMs: 100 });
    await until(clock, () => queue.poison.size === 1 && queue.stats().acked === 100, 20);
    const [entry] = queue.poison.list();
    expect(text(entry!.payload)).toBe("bad");
    expect(entry!.lastError.code).toBe("timeout");
    expect(b.stats).toMatchObject({ viaSocket: 100, failed: 1, deferred: 1 });
    expect(b.circuit.state).toBe("closed");
    await b.stop();
  });
});

describe("queue bridges in the broker", () => {
  test("startBridges runs one per configured queue; shutdown stops them before the drain, leases back uncounted", async () => {
    const loaded = loadConfig({
      fileText: JSON.stringify({ queues: { jobs: { bridge: { wsUrl: "ws://fake/", sendTimeoutMs: 60_000, concurrency: 2 } }, plain: {} } }),
    });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const net = new FakeNetwork(() => {}); // a socket that never answers
    const broker = new Broker({ config: loaded.value });
    const lines: string[] = [];
    const bridges = await broker.startBridges({ socketFactory: net.factory, log: (l) => lines.push(l) });
    expect([...bridges.keys()]).toEqual(["jobs"]);
    expect(lines[0]).toContain("bridge jobs → socket ws://fake/");
    const jobs = broker.queue("jobs")!;
    for (let i = 0; i < 5; i++) jobs.tryEnqueue(bytes(`m${i}`));
    for (let i = 0; i < 100 && jobs.stats().active < 2; i++) await new Promise((r) => setTimeout(r, 1));
    expect(jobs.stats().active).toBe(2);
    const report = await broker.shutdown({ drainMs: 0 });
    expect(report.queues.jobs).toEqual({ pending: 5, poisoned: 0, requeuedInFlight: 0, stored: false });
    expect(jobs.stats()).toMatchObject({ failed: 0, acked: 0 });
    expect(bridges.get("jobs")!.downstream!.state).toBe("closed");
  });
});
