// The SDK in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) loads a page from one loopback origin, imports the SDK bundled for browsers
// (Bun.build of src/client/mod.ts), and talks to a real Sluice server child on another origin
// (SLUICE_CORS_ORIGINS, SLUICE_AUTH_TOKENS): Producer publishes and flushes, Consumer consumes,
// acks and flushes (token in `?token=`), a wrong token and an unknown queue surface as
// `unauthorized` and `not_found`, and the page reads the queue's stats. DuplexProducer: Chromium
// streams a request body only over HTTP/2, and Sluice serves HTTP/1.1, so the stream fails at
// once and the producer falls back to WebSocket — every publish still gets its receipt.
import { afterEach, describe, expect, test } from "../harness.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "s3cret-page";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => {});
});

/** The SDK as one browser ES module. */
async function sdkBundle(): Promise<string> {
  const built = await Bun.build({ entrypoints: [join(ROOT, "src/client/mod.ts")], target: "browser", format: "esm" });
  if (!built.success) throw new Error(built.logs.map(String).join("\n"));
  return await built.outputs[0]!.text();
}

/** A page server on its own loopback origin, serving the SDK at /sdk.js. */
function pageOrigin(sdk: string): string {
  const pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: (request) =>
      new URL(request.url).pathname === "/sdk.js"
        ? new Response(sdk, { headers: { "content-type": "text/javascript" } })
        : new Response("<!doctype html><title>SDK page</title>", { headers: { "content-type": "text/html" } }),
  });
  cleanups.push(() => pages.stop(true));
  return `http://127.0.0.1:${pages.port}`;
}

describe("SDK in headless Chromium (page on another origin)", () => {
  test("publishes, flushes, consumes; refusals surface their codes; DuplexProducer falls back to WebSocket", async () => {
    const page = pageOrigin(await sdkBundle());
    const server: ServerProcess = await startServer("bun", {
      config: { storage: "memory", queues: { jobs: {} } },
      env: { SLUICE_CORS_ORIGINS: page, SLUICE_AUTH_TOKENS: TOKEN },
    });
    cleanups.push(() => server.stop("SIGKILL"));
    const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
    cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
    const args = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];
    const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args, timeout: 30_000 });
    cleanups.push(() => context.close());
    const tab = await context.newPage();
    tab.setDefaultTimeout(30_000);
    await tab.goto(`${page}/`);

    const out = await tab.evaluate(async ({ sluice, token, page }) => {
      const { Consumer, DuplexProducer, Producer } = await import(`${page}/sdk.js`);
      const result: Record<string, unknown> = { userAgent: navigator.userAgent };
      const options = { url: sluice, queue: "jobs", token };
      const producer = new Producer(options);
      const receipts = await Promise.all(["p1", "p2", "p3"].map((s) => producer.publish(new TextEncoder().encode(s))));
      result.receipts = receipts.map((r: { ok: boolean; error?: { code: string } }) => (r.ok ? "ok" : r.error!.code));
      result.flush = (await producer.flush()).ok;
      producer.close();

      const events: string[] = [];
      let fellBackWith = "";
      const duplex = new DuplexProducer({ ...options, onEvent: (e: { type: string; error?: { message: string } }) => (events.push(e.type), e.type === "fallback" && (fellBackWith = e.error!.message)) });
      const streamed = await Promise.all(["d1", "d2"].map((s) => duplex.publish(new TextEncoder().encode(s))));
      result.duplex = streamed.map((r: { ok: boolean; error?: { code: string } }) => (r.ok ? "ok" : r.error!.code));
      result.duplexTransport = duplex.transport;
      result.duplexEvents = events;
      result.fallbackReason = fellBackWith;
      await duplex.end();

      const consumer = new Consumer({ ...options, credit: 8 });
      const consumed: string[] = [];
      while (consumed.length < 5) {
        const d = await consumer.receive();
        if (!d.ok) {
          result.consumeError = d.error.code;
          break;
        }
        consumed.push(new TextDecoder().decode(d.value.payload));
        consumer.ack(d.value);
      }
      result.consumed = consumed;
      result.ackFlush = (await consumer.flush()).ok;
      consumer.close();

      const wrong = await new Consumer({ ...options, token: "wrong" }).receive();
      result.wrongToken = wrong.ok ? "ok" : `${wrong.error.code} ${wrong.error.metadata?.status}`;
      const unknown = await new Producer({ ...options, queue: "nope" }).publish(new Uint8Array(1));
      result.unknownQueue = unknown.ok ? "ok" : unknown.error.code;
      const stats = await fetch(`${sluice}/v1/queues/jobs`, { headers: { authorization: `Bearer ${token}` } });
      result.stats = await stats.json();

      // A generic client in the page: the JSON text sub-protocol over the browser's own WebSocket,
      // and /metrics read across origins.
      result.json = await new Promise((resolve) => {
        const socket = new WebSocket(`${sluice.replace("http", "ws")}/v1/queues/jobs/ws?token=${token}`, ["sluice.json.v1"]);
        const timer = setTimeout(() => resolve("no answer"), 5000);
        socket.onopen = () => socket.send(JSON.stringify({ op: "publish", id: "1", data: "over json" }));
        socket.onmessage = (event) => {
          clearTimeout(timer);
          const message = JSON.parse(String(event.data));
          socket.close();
          resolve(`${socket.protocol} ${message.op} ${message.id}`);
        };
      });
      const metrics = await fetch(`${sluice}/metrics`, { headers: { authorization: `Bearer ${token}` } });
      result.metrics = metrics.status === 200 && (await metrics.text()).includes("sluice_enqueued_total");
      return result;
    }, { sluice: server.url, token: TOKEN, page });

    console.log(`client-browser: ${JSON.stringify(out)}`);
    expect(String(out.userAgent)).toContain("Chrome");
    expect(out.receipts).toEqual(["ok", "ok", "ok"]);
    expect(out.flush).toBe(true);
    expect(out.duplex).toEqual(["ok", "ok"]);
    expect(out.duplexTransport).toBe("websocket");
    expect(out.duplexEvents).toContain("fallback");
    expect(out.consumed).toEqual(["p1", "p2", "p3", "d1", "d2"]);
    expect(out.ackFlush).toBe(true);
    expect(out.wrongToken).toBe("unauthorized 401");
    expect(out.unknownQueue).toBe("not_found");
    expect(out.stats).toMatchObject({ pending: 0, acked: 5 });
    expect(out.json).toBe("sluice.json.v1 receipt 1");
    expect(out.metrics).toBe(true);
    const stats = await getJson<{ pending: number; acked: number }>(`${server.url}/v1/queues/jobs`, TOKEN);
    expect(stats).toMatchObject({ pending: 1, acked: 5 }); // the JSON publish
  }, 120_000);
});
