// DuplexProducer against an in-memory server: receipts over HTTP duplex; a stalled stream (no
// receipt for stallTimeoutMs while publishes are outstanding) or a refused one (501) falls back
// to WebSocket publishing, transparently — every publish still gets its receipt — and reports it;
// 401 is `unauthorized` and ends it, with no fallback and no second request.
import { describe, expect, test } from "../harness.ts";
import { type ClientEvent, DuplexProducer } from "../../src/client/mod.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { FakeServer } from "./client-fakes.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const settle = async (clock: VirtualClock, ms = 0) => {
  for (let i = 0; i < 5; i++) await clock.advance(ms / 5);
};

function setup(stream: "receipts" | "stall" | number, stallTimeoutMs = 1000) {
  const server = new FakeServer();
  server.stream = stream;
  const clock = new VirtualClock();
  const events: ClientEvent[] = [];
  const producer = new DuplexProducer({
    url: "http://fake.test",
    queue: "q",
    clock,
    stallTimeoutMs,
    fetch: server.fetch,
    WebSocket: server.WebSocket,
    reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 10 }),
    onEvent: (e) => events.push(e),
  });
  const wsPublishes = () => server.sockets.flatMap((s) => s.received).filter((f) => f.type === FrameType.PUBLISH).map((f) => new TextDecoder().decode(f.payload));
  return { server, clock, events, producer, wsPublishes };
}

describe("client SDK: DuplexProducer", () => {
  test("publishes over HTTP duplex; no fallback while receipts keep coming, however long it runs", async () => {
    const { server, clock, events, producer } = setup("receipts");
    for (let i = 0; i < 5; i++) {
      const r = await producer.publish(bytes(`m${i}`));
      expect(r.ok).toBe(true);
      await settle(clock, 900); // idle time between publishes is not a stall
    }
    expect(producer.transport).toBe("duplex");
    expect(server.streams).toBe(1);
    expect(server.sockets.length).toBe(0);
    expect(events.map((e) => e.type)).toEqual(["connected"]);
    expect((await producer.end()).ok).toBe(true);
  });

  test("a stalled stream (no receipt for stallTimeoutMs) falls back to WebSocket: outstanding publishes are sent again and answered", async () => {
    const { clock, events, producer, wsPublishes } = setup("stall");
    const publishes = ["a", "b", "c"].map((p) => producer.publish(bytes(p)));
    await settle(clock, 500);
    expect(producer.transport).toBe("duplex");
    await settle(clock, 600);
    expect(producer.transport).toBe("websocket");
    const answers = await Promise.all(publishes);
    expect(answers.map((a) => a.ok)).toEqual([true, true, true]);
    const fallback = events.find((e) => e.type === "fallback");
    expect(fallback?.type === "fallback" && fallback.error.code).toBe("timeout");
    expect(fallback?.type === "fallback" && fallback.error.metadata?.outstanding).toBe(3);
    expect(wsPublishes()).toEqual(["a", "b", "c"]);
    // Later publishes go straight over the WebSocket.
    expect((await producer.publish(bytes("d"))).ok).toBe(true);
    expect(wsPublishes()).toEqual(["a", "b", "c", "d"]);
    expect((await producer.flush()).ok).toBe(true);
    expect((await producer.end()).ok).toBe(true);
  });

  test("stallTimeoutMs 0 never falls back", async () => {
    const { clock, producer } = setup("stall", 0);
    void producer.publish(bytes("a"));
    await settle(clock, 60_000);
    expect(producer.transport).toBe("duplex");
    expect(producer.inFlight).toBe(1);
  });

  test("a refused stream (501) falls back at once, with the status in the event", async () => {
    const { server, events, producer, wsPublishes } = setup(501);
    const r = await producer.publish(bytes("x"));
    expect(r.ok).toBe(true);
    expect(producer.transport).toBe("websocket");
    expect(server.streams).toBe(1);
    expect(wsPublishes()).toEqual(["x"]);
    const fallback = events.find((e) => e.type === "fallback");
    expect(fallback?.type === "fallback" && fallback.error.metadata?.status).toBe(501);
  });

  test("401 is `unauthorized`, ends the producer, and falls back to nothing", async () => {
    const { server, events, producer } = setup(401);
    const first = await producer.publish(bytes("x"));
    expect(!first.ok && first.error.code).toBe("unauthorized");
    const second = await producer.publish(bytes("y"));
    expect(!second.ok && second.error.code).toBe("unauthorized");
    expect(server.streams).toBe(1);
    expect(producer.transport).toBe("duplex");
    expect(events.some((e) => e.type === "fallback")).toBe(false);
  });

  test("503 is retried with the reconnect policy and then reported as unavailable, without fallback", async () => {
    const { server, clock, producer } = setup(503);
    const first = await producer.publish(bytes("x"));
    expect(!first.ok && first.error.code).toBe("unavailable");
    const second = producer.publish(bytes("y"));
    await settle(clock, 50);
    const r = await second;
    expect(!r.ok && r.error.metadata?.status).toBe(503);
    expect(server.streams).toBe(2);
    const third = await producer.publish(bytes("z"));
    expect(!third.ok && third.error.code).toBe("unavailable");
    expect(server.streams).toBe(2); // the policy's 2 attempts are used up
    expect(producer.transport).toBe("duplex");
  });
});
