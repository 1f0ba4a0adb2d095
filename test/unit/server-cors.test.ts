// CORS through app.fetch: preflight and actual requests from allowed and refused origins, on the
// HTTP routes and the Relay's Connect protocol; the corsOrigins / grpcPort config keys.
import { describe, expect, test } from "../harness.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";

const ALLOWED = "http://127.0.0.1:5173";
const REFUSED = "http://evil.localhost:5173";

function setup(file: Record<string, unknown> = {}, env: Record<string, string> = {}) {
  const loaded = loadConfig({ fileText: JSON.stringify({ storage: "memory", ...file }), env });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  const app = createApp(loaded.value, { broker });
  const enqueued = () => broker.queue("default")!.stats().enqueued;
  return { app, broker, enqueued };
}

const preflight = (origin: string, path = "/v1/queues/default/messages", headers = "content-type,idempotency-key") =>
  new Request(`http://sluice.test${path}`, {
    method: "OPTIONS",
    headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": headers },
  });
const publish = (origin: string | undefined, extra: Record<string, string> = {}) =>
  new Request("http://sluice.test/v1/queues/default/messages", {
    method: "POST",
    body: "hello",
    headers: { "content-type": "text/plain", ...(origin === undefined ? {} : { origin }), ...extra },
  });
const connectSend = (origin: string) =>
  new Request("http://sluice.test/sluice.v1.Relay/Send", {
    method: "POST",
    body: JSON.stringify({ command: { queue: "default", sequenceId: "1", payload: "aGk=" } }),
    headers: { origin, "content-type": "application/json", "connect-protocol-version": "1" },
  });
const listOf = (value: string | null) => (value ?? "").split(",").map((s) => s.trim().toLowerCase());

describe("CORS (corsOrigins)", () => {
  test("none configured: no CORS headers, no preflight answer, requests with any Origin work as before", async () => {
    const { app, enqueued } = setup();
    const pre = await app.fetch(preflight(REFUSED));
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(pre.status).toBe(404);
    const res = await app.fetch(publish(REFUSED));
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(enqueued()).toBe(1);
  });

  test("preflight from an allowed origin: 204 with methods, Connect/gRPC-Web/Sluice headers, max-age — before auth", async () => {
    const { app } = setup({ corsOrigins: [ALLOWED], authTokens: ["s3cret"] });
    const res = await app.fetch(preflight(ALLOWED, "/sluice.v1.Relay/Send", "content-type,connect-protocol-version,authorization"));
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(listOf(res.headers.get("access-control-allow-methods"))).toEqual(expect.arrayContaining(["post", "get"]));
    const allowed = listOf(res.headers.get("access-control-allow-headers"));
    for (const h of ["content-type", "connect-protocol-version", "connect-timeout-ms", "x-grpc-web", "x-user-agent", "grpc-timeout", "authorization", "idempotency-key"]) {
      expect(allowed).toContain(h);
    }
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(listOf(res.headers.get("vary"))).toContain("origin");
  });

  test("actual requests from an allowed origin are served and readable: HTTP publish, Connect Send, a 401", async () => {
    const { app, enqueued } = setup({ corsOrigins: [ALLOWED, "https://other.example"] });
    const res = await app.fetch(publish(ALLOWED));
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    const exposed = listOf(res.headers.get("access-control-expose-headers"));
    for (const h of ["grpc-status", "grpc-message", "grpc-status-details-bin", "sluice-error-code", "trailer-sluice-error-code", "retry-after"]) {
      expect(exposed).toContain(h);
    }
    const rpc = await app.fetch(connectSend(ALLOWED));
    expect(rpc.status).toBe(200);
    expect(rpc.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(((await rpc.json()) as { accepted: boolean }).accepted).toBe(true);
    expect(enqueued()).toBe(2);

    const locked = setup({ corsOrigins: [ALLOWED], authTokens: ["s3cret"] });
    const denied = await locked.app.fetch(publish(ALLOWED));
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe(ALLOWED);
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe("unauthorized");
    const ok = await locked.app.fetch(publish(ALLOWED, { authorization: "Bearer s3cret" }));
    expect(ok.status).toBe(202);
    expect(ok.headers.get("access-control-allow-origin")).toBe(ALLOWED);
  });

  test("a refused origin gets 403 without CORS headers, on preflight and actual requests; nothing is enqueued", async () => {
    const { app, enqueued } = setup({ corsOrigins: [ALLOWED] });
    const pre = await app.fetch(preflight(REFUSED));
    expect(pre.status).toBe(403);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    for (const request of [publish(REFUSED), connectSend(REFUSED), publish("null")]) {
      const res = await app.fetch(request);
      expect(res.status).toBe(403);
      expect(res.headers.get("access-control-allow-origin")).toBeNull();
      const body = (await res.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe("unauthorized");
      expect(body.error.message).toContain("SLUICE_CORS_ORIGINS");
    }
    expect(enqueued()).toBe(0);
    // Servers, CLIs and SDKs send no Origin: unaffected.
    expect((await app.fetch(publish(undefined))).status).toBe(202);
    expect(enqueued()).toBe(1);
  });

  test('"*" allows every origin with Access-Control-Allow-Origin: *', async () => {
    const { app } = setup({}, { SLUICE_CORS_ORIGINS: "*" });
    const pre = await app.fetch(preflight(REFUSED));
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe("*");
    const res = await app.fetch(publish(REFUSED));
    expect(res.status).toBe(202);
    expect(res.headers.get("access-control-allow-origin")).toBe("*");
  });
});

describe("config: corsOrigins and grpcPort", () => {
  test("SLUICE_CORS_ORIGINS is comma-separated and wins over the file; SLUICE_GRPC_PORT sets grpcPort", () => {
    const r = loadConfig({ fileText: '{"corsOrigins":["https://a.example"]}', env: { SLUICE_CORS_ORIGINS: " https://b.example, http://localhost:3000 ", SLUICE_GRPC_PORT: "8788" } });
    expect(r.ok && r.value.corsOrigins).toEqual(["https://b.example", "http://localhost:3000"]);
    expect(r.ok && r.value.grpcPort).toBe(8788);
    const d = loadConfig({ env: { SLUICE_GRPC_PORT: "" } });
    expect(d.ok && d.value.corsOrigins).toEqual([]);
    expect(d.ok && d.value.grpcPort).toBeUndefined();
  });

  test("an origin with a path or trailing slash, a bad port, or grpcPort = port is refused, naming the key", () => {
    const slash = loadConfig({ fileText: '{"corsOrigins":["https://a.example/"]}' });
    expect(slash.ok).toBe(false);
    expect(!slash.ok && slash.error.message).toContain("config: corsOrigins must be an array of origins");
    const env = loadConfig({ env: { SLUICE_CORS_ORIGINS: "a.example" } });
    expect(!env.ok && env.error.message).toContain("env SLUICE_CORS_ORIGINS");
    const port = loadConfig({ env: { SLUICE_GRPC_PORT: "70000" } });
    expect(!port.ok && port.error.message).toContain("env SLUICE_GRPC_PORT must be an integer from 0 to 65535");
    const same = loadConfig({ env: { SLUICE_PORT: "9000", SLUICE_GRPC_PORT: "9000" } });
    expect(!same.ok && same.error.message).toContain("grpcPort must differ from port");
  });
});
