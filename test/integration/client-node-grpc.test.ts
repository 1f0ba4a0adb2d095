// sluice.v1.Relay over plain gRPC (HTTP/2 with trailers) from Node: `node` (Node 20) calls a real
// Sluice server child (Bun, SLUICE_GRPC_PORT=0: the OS picks the gRPC port, the server logs it)
// with @connectrpc/connect-node's createGrpcTransport (httpVersion "2") and the generated `Relay`
// service descriptor as built into dist/: unary Send, server-streaming Execute, and a call without
// the bearer token refused with `unauthenticated` before anything is enqueued.
import { afterEach, describe, expect, test } from "../harness.ts";
import { execFile } from "node:child_process";
import { ensureDist, ROOT } from "./client-dist.ts";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

const TOKEN = "s3cret-node-grpc";
let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

// Run by `node --input-type=module -e` from ROOT: argv = gRPC base URL, token.
const SCRIPT = `
const [baseUrl, token] = [process.argv[1], process.argv[2]];
const { create } = await import("@bufbuild/protobuf");
const { Code, ConnectError, createClient } = await import("@connectrpc/connect");
const { createGrpcTransport } = await import("@connectrpc/connect-node");
const { Relay } = await import("./dist/src/gen/sluice/v1/relay_pb.js");
const { CommandSchema } = await import("./dist/src/gen/sluice/v1/command_pb.js");
const out = { runtime: process.version };
const command = (id) => create(CommandSchema, { queue: "jobs", id: { case: "sequenceId", value: BigInt(id) }, payload: new TextEncoder().encode("m" + id), attempt: 1 });
const headers = { authorization: "Bearer " + token };
const client = createClient(Relay, createGrpcTransport({ baseUrl, httpVersion: "2" }));
const sent = await client.send({ command: command(1) }, { headers, timeoutMs: 10000 });
out.send = { accepted: sent.accepted, status: sent.status, sequenceId: String(sent.receipt?.sequenceId ?? "") };
out.execute = [];
for await (const reply of client.execute({ commands: [command(2), command(3)] }, { headers, timeoutMs: 10000 })) {
  out.execute.push(String(reply.id.value) + ":" + reply.accepted);
}
out.execute.sort();
try {
  await client.send({ command: command(4) }, { timeoutMs: 10000 });
  out.anonymous = "accepted";
} catch (thrown) {
  const error = ConnectError.from(thrown);
  out.anonymous = Code[error.code] + ": " + error.rawMessage;
}
console.log(JSON.stringify(out));
`;

function runNode(baseUrl: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile("node", ["--input-type=module", "-e", SCRIPT, baseUrl, TOKEN], { cwd: ROOT, encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`node failed: ${String(error)}\n${stdout}\n${stderr}`));
      console.log(`client-node-grpc: ${stdout.trim()}`);
      resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>);
    });
  });
}

describe("Relay over gRPC from Node (connect-node's gRPC transport, HTTP/2)", () => {
  test("Send and Execute on the server's grpcPort with the bearer token; without it `unauthenticated`", async () => {
    ensureDist();
    server = await startServer("bun", {
      config: { storage: "memory", authTokens: [TOKEN], queues: { jobs: {} } },
      env: { SLUICE_GRPC_PORT: "0" },
    });
    const grpcPort = Number(/gRPC port (\d+)/.exec(server.output())?.[1]);
    expect(grpcPort).toBeGreaterThan(0);
    expect(grpcPort).not.toBe(server.port);
    const out = await runNode(`http://127.0.0.1:${grpcPort}`);
    expect(Number(/^v(\d+)/.exec(String(out.runtime))?.[1])).toBeGreaterThanOrEqual(20);
    expect(out.send).toMatchObject({ accepted: true, status: 1 }); // DELIVERY_STATUS_ACCEPTED
    expect(out.execute).toEqual(["2:true", "3:true"]);
    expect(out.anonymous).toBe("Unauthenticated: missing bearer token");
    const stats = await getJson<{ enqueued: number; pending: number }>(`${server.url}/v1/queues/jobs`, TOKEN);
    expect(stats).toMatchObject({ enqueued: 3, pending: 3 });
  });
});
