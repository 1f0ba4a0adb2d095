// /metrics beyond the queue counters (issue 13): HTTP requests by route pattern and status,
// open WebSocket connections, the real `role` of a bridged queue, the server's memory budget, and
// lease-to-ack latency for WebSocket consumers (not only for in-process pumps).
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/mod.ts";
import { loadConfig } from "../../src/server/config.ts";
import { Broker } from "../../src/server/broker.ts";
import { createApp } from "../../src/server/app.ts";
import { ackFrame, creditFrame } from "../../src/protocol/frame-builders.ts";
import { decodeFrameMessage, type Frame } from "../../src/protocol/frames.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";

function setup(file: Record<string, unknown>) {
  const loaded = loadConfig({ fileText: JSON.stringify(file) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const clock = new VirtualClock();
  const broker = new Broker({ config: loaded.value, clock });
  return { broker, clock, app: createApp(loaded.value, { broker }) };
}
const series = (text: string, line: string) => text.split("\n").find((l) => l.startsWith(line));

describe("server metrics", () => {
  test("HTTP requests are counted by route pattern, method and status; refusals too", async () => {
    const { app } = setup({ queues: { jobs: {} } });
    for (let i = 0; i < 3; i++) await app.request("/v1/queues/jobs/messages", { method: "POST", body: "x" });
    await app.request("/v1/queues/nope/messages", { method: "POST", body: "x" });
    await app.request("/no/such/route");
    const text = await (await app.request("/metrics")).text();
    expect(series(text, 'sluice_http_requests_total{route="/v1/queues/:queue/messages",method="POST",status="202"}')).toMatch(/ 3$/);
    expect(series(text, 'sluice_http_requests_total{route="/v1/queues/:queue/messages",method="POST",status="404"}')).toMatch(/ 1$/);
    expect(series(text, 'sluice_http_requests_total{route="unmatched",method="GET",status="404"}')).toMatch(/ 1$/);
    expect(text).not.toContain("/v1/queues/jobs/messages"); // patterns, not raw paths
  });

  test("a bridged queue is labelled role=bridge; the memory budget and WebSocket connections are shown", async () => {
    const { app, broker } = setup({ memoryBudgetBytes: 1 << 20, queues: { plain: {}, out: { bridge: { rpcUrl: "http://127.0.0.1:9" } } } });
    const codec = createJsFrameCodec();
    const session = new WsSession({ queue: broker.queue("plain")!, codec, peer: { send: () => {}, close: () => {} }, accepting: () => true });
    const unregister = broker.register(session);
    const text = await (await app.request("/metrics")).text();
    expect(text).toContain('sluice_pending{queue="out",role="bridge"}');
    expect(text).toContain('sluice_pending{queue="plain",role="dispatcher"}');
    expect(series(text, "sluice_memory_budget_bytes")).toMatch(new RegExp(` ${1 << 20}$`));
    expect(series(text, "sluice_websocket_connections")).toMatch(/ 1$/);
    unregister();
    await broker.shutdown({ drainMs: 0 });
  });

  test("a WebSocket consumer's lease-to-ack time lands in sluice_pump_duration_seconds", async () => {
    const { app, broker, clock } = setup({ queues: { jobs: {} } });
    const codec = createJsFrameCodec();
    const sent: Frame[] = [];
    const session = new WsSession({
      queue: broker.queue("jobs")!,
      codec,
      peer: { send: (b: Uint8Array) => void sent.push((decodeFrameMessage(b, codec) as { value: Frame }).value), close: () => {} },
      accepting: () => true,
    });
    session.handleMessage(creditFrame(1));
    broker.queue("jobs")!.tryEnqueue(new Uint8Array([1]));
    for (let i = 0; i < 10; i++) await Promise.resolve();
    const deliver = sent.find((f) => f.type === FrameType.DELIVER)!;
    await clock.advance(250);
    session.handleMessage(ackFrame(deliver.id));
    const text = await (await app.request("/metrics")).text();
    expect(series(text, 'sluice_pump_duration_seconds_count{queue="jobs",role="dispatcher"}')).toMatch(/ 1$/);
    expect(series(text, 'sluice_pump_duration_seconds_bucket{queue="jobs",role="dispatcher",le="0.1"}')).toMatch(/ 0$/);
    expect(series(text, 'sluice_pump_duration_seconds_bucket{queue="jobs",role="dispatcher",le="0.5"}')).toMatch(/ 1$/);
  });
});
