// The sluice.v1.Relay service as the Hono app serves it (Connect and gRPC-Web, through the app's
// fetch: no sockets), and bridge() on a VirtualClock against an in-memory socket with a second
// app as its RPC fallback: socket path, fallback, retries then poison with the last error.
import { describe, expect, test } from "../harness.ts";
import { create } from "@bufbuild/protobuf";
import { VirtualClock } from "../../src/result/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { PublishOptionsSchema } from "../../src/gen/sluice/v1/publish_pb.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, pongFrame } from "../../src/protocol/frame-builders.ts";
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
    expect(queue.metrics.registry.value("sluice_bridge_delivered_total", { queue: "jobs", role: "dispatcher", path: "socket" })).toBe(20);
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

  test("both down: RPC retried 3x per delivery, poison after maxRetries with the last error; replay delivers all", async () => {
    const { clock, queue, relay, net, downstream, target, setRpc } = setup(2);
    net.up = false;
    setRpc(false);
    queue.tryEnqueue(bytes("x"));
    const b = bridge(queue, { downstream, relay, concurrency: 1, rpcRetry: RetryPolicy.exponential({ attempts: 3, initialMs: 250 }) });
    await until(clock, () => queue.poison.size === 1, 50);
    const [entry] = queue.poison.list();
    expect(entry!.attempts).toBe(2);
    expect(entry!.lastError.code).toBe("unavailable");
    expect(entry!.lastError.metadata?.attempts).toBe(3);
    expect(String(entry!.lastError.metadata?.socketError)).toContain("unavailable");
    expect(queue.stats()).toMatchObject({ failed: 2, poisonedTotal: 1, acked: 0 });
    setRpc(true);
    queue.poison.replay();
    await until(clock, () => queue.stats().acked === 1, 50);
    expect(target.jobs.stats().enqueued).toBe(1);
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
    const bridges = broker.startBridges({ socketFactory: net.factory, log: (l) => lines.push(l) });
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
