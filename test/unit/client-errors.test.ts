// The SDK reports every failure with its real code, against an in-memory server: refused
// upgrades (401 → unauthorized, 404 → not_found, 501 → the server's code with status 501) are
// not retried; a busy server (503) is, up to the policy; no WebSocket class at all is
// `validation`; a consumer that stops for good says why (receive(), endedWith, an `ended` event);
// a delivery over maxFrameBytes is reported and rejected instead of bouncing.
import { describe, expect, test } from "../harness.ts";
import { Consumer, type ClientEvent, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { deliverFrame, errorFrame } from "../../src/protocol/frame-builders.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { decodeNackPayload } from "../../src/protocol/messages.ts";
import { FakeServer, withoutGlobalWebSocket } from "./client-fakes.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const reconnect = RetryPolicy.fixed({ attempts: 3, delayMs: 1 });
const tick = () => new Promise((r) => setTimeout(r, 2));
/** Yields until `check` holds (the SDK sends a turn's frames together at its end), at most 200 times. */
const until = async (check: () => boolean) => {
  for (let i = 0; i < 200 && !check(); i++) await tick();
};

function setup(refuse?: number, code = "unauthorized") {
  const server = new FakeServer();
  server.refuse = refuse;
  server.refuseCode = code;
  const events: ClientEvent[] = [];
  const options = { url: "http://fake.test", queue: "q", token: "t", WebSocket: server.WebSocket, fetch: server.fetch, reconnect, onEvent: (e: ClientEvent) => events.push(e) };
  return { server, events, options };
}

describe("client SDK: refused connections surface their real code", () => {
  test("401: a publish fails with `unauthorized` after one attempt, not `unavailable` after five", async () => {
    const { server, options } = setup(401);
    const producer = new Producer(options);
    const sent = await producer.publish(bytes("x"));
    expect(sent.ok).toBe(false);
    if (sent.ok) return;
    expect(sent.error.code).toBe("unauthorized");
    expect(sent.error.metadata).toMatchObject({ status: 401, attempts: 1 });
    expect(sent.error.message).not.toContain("token=t"); // the token is masked
    expect(server.sockets.length).toBe(1);
    producer.close();
  });

  test("401: the consumer ends at once and says so — start(), receive(), endedWith, an `ended` event", async () => {
    const { server, events, options } = setup(401);
    const consumer = new Consumer(options);
    const iterated: unknown[] = [];
    for await (const d of consumer) iterated.push(d);
    expect(iterated).toEqual([]);
    expect(consumer.endedWith?.code).toBe("unauthorized");
    const started = await consumer.start();
    expect(!started.ok && started.error.code).toBe("unauthorized");
    const received = await consumer.receive();
    expect(!received.ok && received.error.code).toBe("unauthorized");
    expect(events.map((e) => e.type)).toEqual(["ended"]);
    expect(events[0]!.type === "ended" && events[0]!.error.code).toBe("unauthorized");
    expect(server.sockets.length).toBe(1);
  });

  test("501 (no WebSocket support on the server): the server's code, status 501, not retried", async () => {
    const { server, events, options } = setup(501, "unavailable");
    const consumer = new Consumer(options);
    const received = await consumer.receive();
    expect(received.ok).toBe(false);
    if (received.ok) return;
    expect(received.error.code).toBe("unavailable");
    expect(received.error.metadata).toMatchObject({ status: 501, retryable: false, attempts: 1 });
    expect(received.error.message).toContain("does not accept WebSockets");
    expect(events.map((e) => e.type)).toEqual(["ended"]);
    expect(server.sockets.length).toBe(1);
    const producer = new Producer(options);
    const sent = await producer.publish(bytes("x"));
    expect(!sent.ok && sent.error.metadata?.status).toBe(501);
  });

  test("404 (unknown queue) → not_found, not retried", async () => {
    const { server, options } = setup(404, "not_found");
    const consumer = new Consumer(options);
    const received = await consumer.receive();
    expect(!received.ok && received.error.code).toBe("not_found");
    expect(server.sockets.length).toBe(1);
  });

  test("503 (busy or shutting down) is retried up to the reconnect policy, then reported", async () => {
    const { server, events, options } = setup(503, "unavailable");
    const consumer = new Consumer(options);
    const received = await consumer.receive();
    expect(!received.ok && received.error.code).toBe("unavailable");
    expect(!received.ok && received.error.metadata?.attempts).toBe(3);
    expect(server.sockets.length).toBe(3);
    expect(events.map((e) => e.type)).toEqual(["ended"]);
  });

  test("an upgrade that fails although the route answers (426) is retried, and a later success connects", async () => {
    const { server, events, options } = setup(undefined);
    server.failOpens = 1;
    const consumer = new Consumer(options);
    const started = await consumer.start();
    expect(started.ok).toBe(true);
    expect(server.probes).toBe(1);
    expect(events.map((e) => e.type)).toEqual(["connected"]);
    consumer.close();
  });

  test("no WebSocket class (Node 20 without `ws`): `validation` naming the `WebSocket` option", async () => {
    await withoutGlobalWebSocket(async () => {
      const { events } = setup();
      const base = { url: "http://fake.test", queue: "q", reconnect, onEvent: (e: ClientEvent) => events.push(e) };
      const consumer = new Consumer(base);
      const received = await consumer.receive();
      expect(!received.ok && received.error.code).toBe("validation");
      expect(!received.ok && received.error.message).toContain("`WebSocket` option");
      expect(consumer.endedWith?.code).toBe("validation");
      expect(events.map((e) => e.type)).toEqual(["ended"]);
      const sent = await new Producer(base).publish(bytes("x"));
      expect(!sent.ok && sent.error.code).toBe("validation");
    });
  });

  test("close() ends receive() with `canceled`, no `ended` event, and endedWith stays unset", async () => {
    const { events, options } = setup();
    const consumer = new Consumer(options);
    expect((await consumer.start()).ok).toBe(true);
    const waiting = consumer.receive();
    consumer.close();
    const received = await waiting;
    expect(!received.ok && received.error.code).toBe("canceled");
    expect(consumer.endedWith).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(["connected"]);
  });
});

describe("client SDK: deliveries", () => {
  test("a delivery over maxFrameBytes is reported (frame.too_large, its token) and NACKed without requeue; the rest flow", async () => {
    const { server, events, options } = setup();
    const errors: string[] = [];
    const consumer = new Consumer({ ...options, credit: 4, maxFrameBytes: 64, onError: (e, id) => errors.push(`${e.code}@${id}`) });
    server.onFrame = (frame, socket) => {
      if (frame.type !== FrameType.CREDIT || frame.arg !== 4) return;
      socket.reply(deliverFrame(7, 1, new Uint8Array(100)));
      socket.reply(deliverFrame(8, 1, bytes("small")));
    };
    const received = await consumer.receive();
    expect(received.ok && received.value.token).toBe(8);
    expect(errors).toEqual(["frame.too_large@7"]);
    const reported = events.find((e) => e.type === "error");
    expect(reported?.type === "error" && reported.error.metadata).toMatchObject({ token: 7, payloadLength: 100, limit: 64 });
    const socket = server.sockets[0]!;
    await until(() => socket.received.some((f) => f.type === FrameType.NACK)); // the NACK leaves with this turn's batch
    const nack = socket.received.find((f) => f.type === FrameType.NACK)!;
    expect(nack.id).toBe(7);
    const reason = decodeNackPayload(nack.payload);
    expect(reason.ok && reason.value).toMatchObject({ code: "frame.too_large", requeue: false });
    // The rejected delivery counts as settled: acking the other one brings the credit back up.
    expect(consumer.ack(received.ok ? received.value : (undefined as never)).ok).toBe(true);
    await tick();
    const credits = socket.received.filter((f) => f.type === FrameType.CREDIT).map((f) => f.arg);
    expect(credits[0]).toBe(4);
    // The rejected delivery's credit came back (batched, with the NACK); never more than the window out.
    const toppedUp = credits.slice(1).reduce((a, b) => a + b, 0);
    expect(toppedUp).toBeGreaterThanOrEqual(1);
    expect(4 + toppedUp - 2).toBeLessThanOrEqual(4);
    consumer.close();
  });

  test("an ERROR frame nobody waits for reaches onError and an `error` event; settling after a drop is lease.inactive", async () => {
    const { server, events, options } = setup();
    const errors: string[] = [];
    const consumer = new Consumer({ ...options, credit: 2, onError: (e, id) => errors.push(`${e.code}@${id}`) });
    server.onFrame = (frame, socket) => {
      if (frame.type === FrameType.CREDIT && frame.arg === 2) {
        socket.reply(deliverFrame(5, 2, bytes("a")));
        socket.reply(deliverFrame(6, 1, bytes("b")));
      }
      if (frame.type === FrameType.ACK) socket.reply(errorFrame(sluiceError("lease.inactive", "too late"), frame.id));
    };
    const first = await consumer.receive();
    const second = await consumer.receive();
    expect(first.ok && first.value.attempt).toBe(2);
    expect(first.ok && consumer.ack(first.value).ok).toBe(true);
    await new Promise((r) => setTimeout(r, 5));
    expect(errors).toEqual(["lease.inactive@5"]);
    server.sockets[0]!.drop();
    await new Promise((r) => setTimeout(r, 5));
    expect(second.ok && consumer.ack(second.value).ok).toBe(false);
    expect(events.map((e) => e.type)).toEqual(["connected", "error", "disconnected", "connected"]);
    expect(server.sockets[1]!.received[0]).toMatchObject({ type: FrameType.CREDIT, arg: 2 });
    consumer.close();
  });
});
