// Issue 12, secrets: a bridge takes a token (Authorization: Bearer on the socket upgrade and the
// RPC calls), and URLs with userinfo or token=/access_token= parameters are masked in every log
// line the bridges print (boot line, connect failures, socket down) and in their errors.
import { describe, expect, test } from "../harness.ts";
import { ackFrame } from "../../src/protocol/frame-builders.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { startQueueBridges } from "../../src/server/bridges.ts";
import { bridge } from "../../src/transport/bridge.ts";
import { Downstream } from "../../src/transport/downstream.ts";
import { FakeNetwork } from "./fake-socket.ts";

const SECRETS = ["hunter2", "tok-in-url", "acc-in-url", "s3cret-token", "rpcpass"];
const WS_URL = "ws://bot:hunter2@ingest.internal:9000/ingest?token=tok-in-url&region=eu";
const RPC_URL = "http://rpcuser:rpcpass@relay.internal:8787/?access_token=acc-in-url";
const tick = () => new Promise((r) => setTimeout(r, 5));

function leaks(lines: readonly string[]): string[] {
  return lines.filter((line) => SECRETS.some((secret) => line.includes(secret)));
}

function brokerWith(bridgeSection: Record<string, unknown>) {
  const loaded = loadConfig({ fileText: JSON.stringify({ queues: { jobs: { bridge: { sendTimeoutMs: 60_000, ...bridgeSection } } } }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  return new Broker({ config: loaded.value });
}

describe("bridge secrets", () => {
  test("the boot log and the failure logs of a bridge show its URLs with credentials masked", async () => {
    const broker = brokerWith({ wsUrl: WS_URL, rpcUrl: RPC_URL });
    const net = new FakeNetwork((frame, socket) => {
      if (frame.type === FrameType.PUBLISH) socket.reply(ackFrame(frame.id));
    });
    net.up = false;
    const lines: string[] = [];
    const bridges = startQueueBridges(broker.queues, broker.config, { socketFactory: net.factory, log: (l) => lines.push(l) });
    broker.queue("jobs")!.tryEnqueue(new Uint8Array([1])); // a send makes the bridge try to connect
    for (let i = 0; i < 50 && lines.length < 2; i++) await tick();
    expect(lines[0]).toContain("bridge jobs → socket ws://***@ingest.internal:9000/ingest?token=***&region=eu");
    expect(lines[0]).toContain("rpc http://***@relay.internal:8787/?access_token=***");
    expect(lines.some((l) => l.includes("cannot connect"))).toBe(true);
    net.up = true;
    await bridges.get("jobs")!.downstream!.connect();
    net.last!.kill(); // socket down
    await tick();
    expect(lines.some((l) => l.includes("socket down"))).toBe(true);
    expect(leaks(lines)).toEqual([]);
    for (const b of bridges.values()) await b.stop();
  });

  test("bridge.token is accepted by the config, sent as Authorization: Bearer on the upgrade, and never logged", async () => {
    const broker = brokerWith({ wsUrl: WS_URL, token: "s3cret-token" });
    const upgrades: Array<Readonly<Record<string, string>> | undefined> = [];
    const net = new FakeNetwork((frame, socket) => {
      if (frame.type === FrameType.PUBLISH) socket.reply(ackFrame(frame.id));
    });
    const lines: string[] = [];
    const bridges = startQueueBridges(broker.queues, broker.config, {
      socketFactory: (url, init) => (upgrades.push(init?.headers), net.factory(url)),
      log: (l) => lines.push(l),
    });
    const jobs = broker.queue("jobs")!;
    jobs.tryEnqueue(new Uint8Array([1]));
    for (let i = 0; i < 100 && jobs.stats().acked < 1; i++) await tick();
    expect(jobs.stats().acked).toBe(1);
    expect(upgrades).toEqual([{ authorization: "Bearer s3cret-token" }]);
    expect(lines.length).toBeGreaterThan(0);
    expect(leaks(lines)).toEqual([]);
    for (const b of bridges.values()) await b.stop();
  });

  test("the token goes on the RPC fallback's calls; Downstream and Relay errors carry no credentials", async () => {
    const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", maxRetries: 1 });
    // Both paths down: the delivery goes back uncounted (circuit breaker), so its errors are read
    // from the queue's "failed" events and the bridge's log lines, not from a poison entry.
    const failures: unknown[] = [];
    queue.events.subscribe((e) => void (e.type === "failed" && failures.push({ message: e.error?.message, metadata: e.error?.metadata })));
    const lines: string[] = [];
    const calls: Request[] = [];
    const realFetch = globalThis.fetch;
    // A fetch that fails the way runtimes do, quoting the URL (and here even the token).
    (globalThis as { fetch: unknown }).fetch = async (input: string | Request, init?: RequestInit) => {
      calls.push(typeof input === "string" ? new Request(input, init) : new Request(input, init));
      throw new TypeError(`connect ECONNREFUSED ${RPC_URL} (token s3cret-token)`);
    };
    try {
      const net = new FakeNetwork(() => {});
      net.up = false;
      const b = bridge(queue, {
        wsUrl: WS_URL,
        rpcUrl: "http://relay.internal:8787",
        token: "s3cret-token",
        socketFactory: net.factory,
        sendTimeoutMs: 1000,
        concurrency: 1,
        log: (l) => lines.push(l),
      });
      await queue.enqueue(new Uint8Array([1]));
      for (let i = 0; i < 400 && failures.length === 0; i++) await tick();
      await b.stop();
      expect(calls.length).toBeGreaterThan(0);
      expect(calls[0]!.headers.get("authorization")).toBe("Bearer s3cret-token");
      expect(queue.poison.list()).toEqual([]);
      const text = JSON.stringify(failures[0]);
      expect(text).toContain("***");
      expect(text).toContain("socketError");
      expect(leaks([text, ...lines])).toEqual([]);
      expect(lines.join("\n")).toContain("***");
    } finally {
      globalThis.fetch = realFetch;
    }
  });

  test("a Downstream names its URL masked in every error", async () => {
    const net = new FakeNetwork(() => {});
    net.up = false;
    const downstream = new Downstream({ url: WS_URL, socketFactory: net.factory, pingIntervalMs: 0 });
    const sent = await downstream.send(1, new Uint8Array([1]));
    const again = await downstream.send(2, new Uint8Array([1]));
    expect(downstream.shownUrl).toBe("ws://***@ingest.internal:9000/ingest?token=***&region=eu");
    expect(leaks([sent.ok ? "" : sent.error.message, again.ok ? "" : again.error.message])).toEqual([]);
    await downstream.close();
  });
});
