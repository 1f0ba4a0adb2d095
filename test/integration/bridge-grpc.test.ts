// The gRPC protocol proper (HTTP/2 with trailers) for the Relay fallback, on Bun: the Relay router
// served by node:http2 + connectNodeAdapter, called with connect-node's createGrpcTransport
// through RelayClient — Send and server-streaming Execute.
import { afterEach, describe, expect, test } from "../harness.ts";
import * as http2 from "node:http2";
import { create } from "@bufbuild/protobuf";
import { connectNodeAdapter, createGrpcTransport } from "@connectrpc/connect-node";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { relayRouter } from "../../src/server/relay-service.ts";
import { RelayClient } from "../../src/transport/relay-client.ts";

let server: http2.Http2Server | undefined;
afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
});

const command = (id: number, queue = "jobs") =>
  create(CommandSchema, { queue, id: { case: "sequenceId", value: BigInt(id) }, payload: new TextEncoder().encode(`m${id}`), attempt: 1 });

describe("Relay over gRPC (HTTP/2) on Bun", () => {
  test("Send and Execute through connect-node's gRPC transport", async () => {
    const loaded = loadConfig({ fileText: JSON.stringify({ queues: { jobs: {} } }) });
    if (!loaded.ok) throw new Error(loaded.error.message);
    const broker = new Broker({ config: loaded.value });
    server = http2.createServer(connectNodeAdapter({ routes: (router) => relayRouter(broker, router) }));
    await new Promise<void>((resolve) => server!.listen(0, "127.0.0.1", () => resolve()));
    const { port } = server.address() as { port: number };
    const relay = new RelayClient({ transport: createGrpcTransport({ baseUrl: `http://127.0.0.1:${port}` }) });

    expect((await relay.send(command(1))).ok).toBe(true);
    expect((await relay.send(command(2, "nope"))).error?.code).toBe("not_found");
    const replies = new Map<number, boolean>();
    const streamed = await relay.execute([command(3), command(4), command(5)], { onReply: (id, r) => replies.set(id, r.ok) });
    expect(streamed.ok).toBe(true);
    expect([...replies.entries()].sort()).toEqual([[3, true], [4, true], [5, true]]);
    expect(broker.queue("jobs")!.stats().enqueued).toBe(4);
  }, 20_000);
});
