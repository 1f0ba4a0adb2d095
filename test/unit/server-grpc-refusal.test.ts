// Plain gRPC on the fetch-handler port: a trailers-only UNIMPLEMENTED naming SLUICE_GRPC_PORT,
// answered before auth and before anything is read or enqueued; gRPC-Web still served.
import { describe, expect, test } from "../harness.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { grpcMessageEncode, isPlainGrpc } from "../../src/server/grpc-refusal.ts";

function setup(file: Record<string, unknown> = {}) {
  const loaded = loadConfig({ fileText: JSON.stringify({ storage: "memory", ...file }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  return { app: createApp(loaded.value, { broker }), enqueued: () => broker.queue("default")!.stats().enqueued };
}

// One gRPC(-Web) envelope holding SendRequest{command{queue:"default", payload:"hi"}}.
function envelope(): Uint8Array<ArrayBuffer> {
  const command = [0x0a, 7, ...new TextEncoder().encode("default"), 0x22, 2, 0x68, 0x69];
  const message = [0x0a, command.length, ...command];
  return new Uint8Array([0, 0, 0, 0, message.length, ...message]);
}
const call = (path: string, contentType: string, headers: Record<string, string> = {}) =>
  new Request(`http://sluice.test${path}`, { method: "POST", body: envelope(), headers: { "content-type": contentType, ...headers } });

describe("plain gRPC on the fetch-handler port", () => {
  test("content types: application/grpc and +codec are plain gRPC; gRPC-Web and Connect are not", () => {
    expect(isPlainGrpc("application/grpc")).toBe(true);
    expect(isPlainGrpc("Application/GRPC+proto; charset=utf-8")).toBe(true);
    expect(isPlainGrpc("application/grpc+json")).toBe(true);
    expect(isPlainGrpc("application/grpc-web+proto")).toBe(false);
    expect(isPlainGrpc("application/connect+proto")).toBe(false);
    expect(isPlainGrpc(null)).toBe(false);
    expect(grpcMessageEncode("100% ✓")).toBe("100%25 %E2%9C%93");
  });

  test("Relay Send over plain gRPC: trailers-only UNIMPLEMENTED naming SLUICE_GRPC_PORT, before auth, nothing enqueued", async () => {
    const { app, enqueued } = setup({ grpcPort: 8788, authTokens: ["s3cret"] });
    for (const type of ["application/grpc", "application/grpc+proto"]) {
      const res = await app.fetch(call("/sluice.v1.Relay/Send", type, { te: "trailers" }));
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toBe("application/grpc");
      expect(res.headers.get("grpc-status")).toBe("12");
      const message = decodeURIComponent(res.headers.get("grpc-message") ?? "");
      expect(message).toContain("use the gRPC port 8788 (SLUICE_GRPC_PORT)");
      expect(message).toContain("nothing was enqueued");
      expect((await res.arrayBuffer()).byteLength).toBe(0);
    }
    // Any path: an HTTP publish route would otherwise take the gRPC envelope as a payload.
    const publish = await app.fetch(call("/v1/queues/default/messages", "application/grpc", { authorization: "Bearer s3cret" }));
    expect(publish.headers.get("grpc-status")).toBe("12");
    expect(enqueued()).toBe(0);
  });

  test("without grpcPort the message says how to turn it on; gRPC-Web on the same route still enqueues", async () => {
    const { app, enqueued } = setup();
    const res = await app.fetch(call("/sluice.v1.Relay/Send", "application/grpc"));
    expect(decodeURIComponent(res.headers.get("grpc-message") ?? "")).toContain("set SLUICE_GRPC_PORT (config grpcPort)");
    expect(enqueued()).toBe(0);
    const web = await app.fetch(call("/sluice.v1.Relay/Send", "application/grpc-web+proto", { "x-grpc-web": "1" }));
    expect(web.status).toBe(200);
    expect(web.headers.get("grpc-status")).toBeNull(); // gRPC-Web sends its status in a body trailer frame
    await web.arrayBuffer();
    expect(enqueued()).toBe(1);
  });
});
