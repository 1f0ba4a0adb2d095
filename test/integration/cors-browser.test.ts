// CORS from a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) loads a page from one loopback origin and calls a real Sluice server child on
// another — Connect (preflighted: JSON + Connect-Protocol-Version + Authorization), gRPC-Web
// (body trailers) and a simple HTTP publish — and reads every answer, including an exposed
// `sluice-error-code` header. A page on an origin not in SLUICE_CORS_ORIGINS can read nothing and
// enqueues nothing. No chromium, or one that does not start, fails the test (it never skips).
import { afterEach, describe, expect, test } from "../harness.ts";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { CommandSchema } from "../../src/gen/sluice/v1/command_pb.ts";
import { SendRequestSchema } from "../../src/gen/sluice/v1/relay_pb.ts";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

const CHROMIUM = "/usr/bin/chromium";
const TOKEN = "s3cret-cors";
const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => {});
});

/** A page server on its own loopback origin (http://127.0.0.1:<port>). */
function pageOrigin(): string {
  const pages = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    fetch: () => new Response("<!doctype html><title>cross-origin page</title>", { headers: { "content-type": "text/html" } }),
  });
  cleanups.push(() => pages.stop(true));
  return `http://127.0.0.1:${pages.port}`;
}

/** Chromium with a fresh profile; launch failures (no binary, no display libs) fail the test. */
async function browser(): Promise<BrowserContext> {
  const profile = mkdtempSync(join(tmpdir(), "sluice-chromium-"));
  cleanups.push(() => rmSync(profile, { recursive: true, force: true }));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS, timeout: 30_000 });
  cleanups.push(() => context.close());
  return context;
}

async function openPage(context: BrowserContext, origin: string): Promise<Page> {
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  await page.goto(`${origin}/`, { timeout: 15_000 });
  return page;
}

/** One gRPC-Web request body: an uncompressed envelope around SendRequest. */
function grpcWebSend(id: number): number[] {
  const command = create(CommandSchema, { queue: "jobs", id: { case: "sequenceId", value: BigInt(id) }, payload: new TextEncoder().encode(`web${id}`) });
  const message = toBinary(SendRequestSchema, create(SendRequestSchema, { command }));
  const header = [0, (message.length >>> 24) & 0xff, (message.length >>> 16) & 0xff, (message.length >>> 8) & 0xff, message.length & 0xff];
  return [...header, ...message];
}

interface Calls {
  connect: { status: number; accepted: boolean } | string;
  grpcWeb: { status: number; trailer: string } | string;
  publish: { status: number; sequenceId: number } | string;
  tooLarge: { status: number; errorCode: string | null } | string;
}

/** The page's fetches to Sluice; each is its answer as read by the page, or the thrown error's text. */
function callFromPage(page: Page, sluice: string, grpcWebBody: number[]): Promise<Calls> {
  return page.evaluate(async ({ sluice, token, grpcWebBody }) => {
    const attempt = async <T>(run: () => Promise<T>): Promise<T | string> => {
      try {
        return await run();
      } catch (thrown) {
        return String(thrown);
      }
    };
    const connectHeaders = { "content-type": "application/json", "connect-protocol-version": "1", authorization: `Bearer ${token}` };
    const send = (payload: string) =>
      fetch(`${sluice}/sluice.v1.Relay/Send`, { method: "POST", headers: connectHeaders, body: JSON.stringify({ command: { queue: "jobs", sequenceId: "1", payload } }) });
    return {
      connect: await attempt(async () => {
        const res = await send(btoa("from the page"));
        return { status: res.status, accepted: ((await res.json()) as { accepted?: boolean }).accepted === true };
      }),
      grpcWeb: await attempt(async () => {
        const res = await fetch(`${sluice}/sluice.v1.Relay/Send`, {
          method: "POST",
          headers: { "content-type": "application/grpc-web+proto", "x-grpc-web": "1", authorization: `Bearer ${token}` },
          body: new Uint8Array(grpcWebBody),
        });
        const bytes = new Uint8Array(await res.arrayBuffer());
        let trailer = "";
        for (let at = 0; at + 5 <= bytes.length; ) {
          const length = new DataView(bytes.buffer, at + 1, 4).getUint32(0);
          if (bytes[at]! & 0x80) trailer = new TextDecoder().decode(bytes.subarray(at + 5, at + 5 + length));
          at += 5 + length;
        }
        return { status: res.status, trailer };
      }),
      publish: await attempt(async () => {
        // A "simple" request: no preflight, so only the server's own check keeps a refused origin out.
        const res = await fetch(`${sluice}/v1/queues/jobs/messages`, { method: "POST", headers: { "content-type": "text/plain" }, body: "simple" });
        return { status: res.status, sequenceId: ((await res.json()) as { sequenceId: number }).sequenceId };
      }),
      tooLarge: await attempt(async () => {
        const res = await send(btoa("x".repeat(200)));
        await res.arrayBuffer();
        return { status: res.status, errorCode: res.headers.get("sluice-error-code") };
      }),
    };
  }, { sluice, token: TOKEN, grpcWebBody });
}

describe("CORS from headless Chromium", () => {
  test(`chromium is installed at ${CHROMIUM} (.ci/run installs the Debian package)`, async () => {
    expect(await Bun.file(CHROMIUM).exists()).toBe(true);
  });

  for (const runtime of ["bun", "deno"] as const) {
    test(`a page on an allowed origin reads Connect, gRPC-Web and HTTP answers from a ${runtime} server; a refused origin reads and enqueues nothing`, async () => {
      const allowed = pageOrigin();
      const refused = pageOrigin();
      // Auth off, so the publish can be a "simple" request; the RPCs send Authorization anyway (preflighted).
      const server: ServerProcess = await startServer(runtime, {
        config: { storage: "memory", maxFrameBytes: 64, queues: { jobs: {} } },
        env: { SLUICE_CORS_ORIGINS: `${allowed},https://other.example` },
      });
      cleanups.push(() => server.stop("SIGKILL"));
      const enqueued = async () => (await getJson<{ enqueued: number }>(`${server.url}/v1/queues/jobs`)).enqueued;
      const context = await browser();

      const ok = await callFromPage(await openPage(context, allowed), server.url, grpcWebSend(2));
      expect(ok.connect).toEqual({ status: 200, accepted: true });
      expect(typeof ok.grpcWeb === "string" ? ok.grpcWeb : ok.grpcWeb.status).toBe(200);
      expect(typeof ok.grpcWeb === "string" ? ok.grpcWeb : ok.grpcWeb.trailer).toMatch(/grpc-status:\s*0/);
      expect(typeof ok.publish === "string" ? ok.publish : ok.publish.status).toBe(202);
      // An error answer is readable too, with its exposed Sluice error code (Connect: 429, resource_exhausted).
      expect(ok.tooLarge).toEqual({ status: 429, errorCode: "frame.too_large" });
      expect(await enqueued()).toBe(3);

      const denied = await callFromPage(await openPage(context, refused), server.url, grpcWebSend(3));
      for (const answer of Object.values(denied)) expect(answer).toMatch(/TypeError: Failed to fetch/);
      expect(await enqueued()).toBe(3);
    }, 120_000);
  }
});
