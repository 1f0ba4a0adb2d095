// Issue 12, "every input checked", Relay part: Send/Execute enforce maxFrameBytes
// (resource_exhausted, nothing enqueued), read the request body within a limit, and answer an
// undecodable binary body with invalid_argument, over real requests through the app's fetch.
import { describe, expect, test } from "../harness.ts";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { ExecuteRequestSchema, Relay } from "../../src/gen/sluice/v1/relay_pb.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { RelayClient } from "../../src/transport/relay-client.ts";

const LIMIT = 1024;

function relayServer() {
  const loaded = loadConfig({ fileText: JSON.stringify({ maxFrameBytes: LIMIT, queues: { jobs: {} } }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  const app = createApp(loaded.value, { broker });
  const fetch = ((input: string | URL | Request, init?: RequestInit) => app.fetch(new Request(input as string, init))) as typeof globalThis.fetch;
  return { app, fetch, jobs: broker.queue("jobs")! };
}
const command = (id: number, size: number) =>
  create(CommandSchema, { queue: "jobs", id: { case: "sequenceId", value: BigInt(id) }, payload: new Uint8Array(size).fill(7), attempt: 1 });

async function thrownBy(call: () => Promise<unknown>): Promise<ConnectError> {
  try {
    await call();
  } catch (thrown) {
    return ConnectError.from(thrown);
  }
  throw new Error("the call succeeded");
}

// The largest request body (Execute: 64 commands) is under 5 MiB with a 1 KiB frame limit.
const READ_BOUND = 8 * 1024 * 1024;

// A request body too large to read (it errors past 2 × READ_BOUND) that counts what the server pulled.
function endlessBody(chunkBytes = 64 * 1024) {
  const counter = { pulled: 0 };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (counter.pulled > 2 * READ_BOUND) return controller.error(new Error("read too far"));
      counter.pulled += chunkBytes;
      controller.enqueue(new Uint8Array(chunkBytes).fill(0x0a));
    },
  });
  return { body, counter };
}

describe("Relay input limits", () => {
  test("Send over maxFrameBytes is resource_exhausted and enqueues nothing; at the limit it is accepted", async () => {
    for (const protocol of ["connect", "grpc-web"] as const) {
      const { fetch, jobs } = relayServer();
      const transport = (protocol === "connect" ? createConnectTransport : createGrpcWebTransport)({ baseUrl: "http://relay.test", fetch, useBinaryFormat: true });
      const client = createClient(Relay, transport);
      const error = await thrownBy(() => client.send({ command: command(1, LIMIT + 1) }));
      expect(error.code).toBe(Code.ResourceExhausted);
      expect(jobs.stats().enqueued).toBe(0);
      // A Relay client (the bridge's fallback) reads it as too large, not as a full queue to retry.
      const relay = new RelayClient({ baseUrl: "http://relay.test", fetch, protocol });
      const sent = await relay.send(command(2, LIMIT + 1));
      expect(sent.ok ? "ok" : sent.error.code).toBe("frame.too_large");
      expect(jobs.stats().enqueued).toBe(0);
      expect((await relay.send(command(3, LIMIT))).ok).toBe(true);
      expect(jobs.stats().enqueued).toBe(1);
    }
  });

  test("Execute with one oversize payload is resource_exhausted for the whole batch: nothing enqueued", async () => {
    const { fetch, jobs } = relayServer();
    const client = createClient(Relay, createConnectTransport({ baseUrl: "http://relay.test", fetch, useBinaryFormat: true }));
    const error = await thrownBy(async () => {
      for await (const _ of client.execute({ commands: [command(1, 10), command(2, LIMIT + 1), command(3, 10)] })) { /* drain */ }
    });
    expect(error.code).toBe(Code.ResourceExhausted);
    expect(jobs.stats().enqueued).toBe(0);
    const replies = [];
    for await (const reply of client.execute({ commands: [command(4, LIMIT), command(5, 1)] })) replies.push(reply.accepted);
    expect(replies).toEqual([true, true]);
  });

  test("a request body past the method's limit is refused without being read to its end", async () => {
    const { fetch, jobs } = relayServer();
    for (const [method, type] of [["Send", "application/proto"], ["Execute", "application/connect+proto"]] as const) {
      const { body, counter } = endlessBody();
      const response = await fetch(`http://relay.test/sluice.v1.Relay/${method}`, {
        method: "POST",
        headers: { "content-type": type, "connect-protocol-version": "1" },
        body,
        duplex: "half",
      } as RequestInit);
      const text = await response.text();
      expect(text).toContain("resource_exhausted");
      expect(counter.pulled).toBeLessThan(READ_BOUND);
    }
    // A declared Content-Length past the limit is refused before reading anything.
    const big = await fetch("http://relay.test/sluice.v1.Relay/Send", {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1", "content-length": String(60 * 1024 * 1024) },
      body: new Uint8Array(16),
    });
    expect(big.status).toBe(429);
    expect(((await big.json()) as { code: string }).code).toBe("resource_exhausted");
    expect(jobs.stats().enqueued).toBe(0);
  });

  test("an undecodable binary body is invalid_argument (HTTP 400), not internal (500), on every protocol", async () => {
    const { fetch, jobs } = relayServer();
    const garbage = new Uint8Array([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01]); // field 1, length past the end
    const unary = await fetch("http://relay.test/sluice.v1.Relay/Send", {
      method: "POST",
      headers: { "content-type": "application/proto", "connect-protocol-version": "1" },
      body: garbage,
    });
    expect(unary.status).toBe(400);
    expect(((await unary.json()) as { code: string }).code).toBe("invalid_argument");

    const envelope = (bytes: Uint8Array) => {
      const out = new Uint8Array(5 + bytes.byteLength);
      new DataView(out.buffer).setUint32(1, bytes.byteLength);
      out.set(bytes, 5);
      return out;
    };
    const stream = await fetch("http://relay.test/sluice.v1.Relay/Execute", {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: envelope(garbage),
    });
    const streamText = new TextDecoder().decode(new Uint8Array(await stream.arrayBuffer()));
    expect(streamText).toContain('"code":"invalid_argument"');

    const grpcWeb = await fetch("http://relay.test/sluice.v1.Relay/Send", {
      method: "POST",
      headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1" },
      body: envelope(garbage),
    });
    const grpcWebText = new TextDecoder().decode(new Uint8Array(await grpcWeb.arrayBuffer()));
    expect(grpcWeb.headers.get("grpc-status") ?? /grpc-status:\s*(\d+)/.exec(grpcWebText)?.[1]).toBe("3"); // INVALID_ARGUMENT
    expect(jobs.stats().enqueued).toBe(0);

    // A well-formed request still goes through the same reader.
    const good = toBinary(ExecuteRequestSchema, create(ExecuteRequestSchema, { commands: [command(1, 3)] }));
    const ok = await fetch("http://relay.test/sluice.v1.Relay/Execute", {
      method: "POST",
      headers: { "content-type": "application/connect+proto", "connect-protocol-version": "1" },
      body: envelope(good),
    });
    expect(new TextDecoder().decode(new Uint8Array(await ok.arrayBuffer()))).not.toContain("error");
    expect(jobs.stats().enqueued).toBe(1);
  });
});
