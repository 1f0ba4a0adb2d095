// DuplexProducer falls back to WebSocket on Node: `node` (Node 20, no global WebSocket) imports
// the built package by name (`exports` → dist/mod.js) with the `ws` package's WebSocket injected
// and publishes through DuplexProducer to a Sluice app (Bun.serve in this process, app-server.ts)
// whose HTTP duplex route is broken the two ways a runtime breaks it: a stream answered but never
// read (a stall: fallback after stallTimeoutMs, code `timeout`) and a stream refused with 501
// (fallback at once). Every publish gets its receipt, the fallback is reported, and the messages
// are stored exactly once, in order (read back by a Consumer in the same Node process).
import { afterEach, describe, expect, test } from "../harness.ts";
import { execFile } from "node:child_process";
import { ensureDist, ROOT } from "./client-dist.ts";
import { type AppServer, serveApp } from "./app-server.ts";

let server: AppServer | undefined;
afterEach(async () => {
  await server?.stop();
  server = undefined;
});

const COUNT = 20;

// Run by `node --input-type=module -e`, from ROOT so that "sluice" resolves to this package.
const SCRIPT = `
const [url, count] = [process.argv[1], Number(process.argv[2])];
const sdk = await import("sluice");
const { WebSocket } = await import("ws");
const out = { runtime: process.version, globalWebSocket: typeof globalThis.WebSocket !== "undefined" };
out.fromDist = sdk.DuplexProducer === (await import("./dist/mod.js")).DuplexProducer;
const events = [];
const producer = new sdk.DuplexProducer({ url, queue: "jobs", WebSocket, stallTimeoutMs: 300, onEvent: (e) => events.push(e) });
const started = Date.now();
const answers = await Promise.all(Array.from({ length: count }, (_, i) => producer.publish(new TextEncoder().encode("m" + i))));
out.answers = answers.map((a) => (a.ok ? "ok" : a.error.code));
out.ms = Date.now() - started;
out.transport = producer.transport;
const more = await producer.publish(new TextEncoder().encode("m" + count));
out.more = more.ok ? "ok" : more.error.code;
out.flush = (await producer.flush()).ok;
out.end = (await producer.end()).ok;
out.events = events.map((e) => e.type);
const fallback = events.find((e) => e.type === "fallback");
out.fallback = fallback && { code: fallback.error.code, status: fallback.error.metadata?.status ?? null };
const consumer = new sdk.Consumer({ url, queue: "jobs", WebSocket, credit: 64 });
out.consumed = [];
while (out.consumed.length < count + 1) {
  const d = await consumer.receive({ signal: AbortSignal.timeout(10000) });
  if (!d.ok) { out.consumeError = d.error.code; break; }
  out.consumed.push(new TextDecoder().decode(d.value.payload));
  consumer.ack(d.value);
}
out.ackFlush = (await consumer.flush()).ok;
consumer.close();
console.log(JSON.stringify(out));
`;

/** Runs SCRIPT with `node` (killed after 30 s) and returns its last printed line, parsed. */
function runNode(url: string): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    execFile("node", ["--input-type=module", "-e", SCRIPT, url, String(COUNT)], { cwd: ROOT, encoding: "utf8", timeout: 30_000 }, (error, stdout, stderr) => {
      if (error !== null) return reject(new Error(`node failed: ${String(error)}\n${stdout}\n${stderr}`));
      console.log(`client-node-fallback: ${stdout.trim()}`);
      resolve(JSON.parse(stdout.trim().split("\n").at(-1)!) as Record<string, unknown>);
    });
  });
}

describe("SDK on Node (the built package): DuplexProducer falls back to WebSocket (`ws` injected)", () => {
  for (const broken of ["stall", "refuse"] as const) {
    test(`${broken === "stall" ? "a stalled stream (answered, never read)" : "a stream refused with 501"}: every publish receipted over WebSocket, fallback reported, each message stored once`, async () => {
      ensureDist();
      server = serveApp({ stream: broken });
      const out = await runNode(server.url);
      expect(Number(/^v(\d+)/.exec(String(out.runtime))?.[1])).toBeGreaterThanOrEqual(20);
      expect(out.fromDist).toBe(true);
      expect(out.answers).toEqual(Array.from({ length: COUNT }, () => "ok"));
      expect(out.transport).toBe("websocket");
      expect(out.more).toBe("ok");
      expect(out.flush).toBe(true);
      expect(out.end).toBe(true);
      expect(out.events).toContain("fallback");
      if (broken === "stall") {
        expect(out.fallback).toEqual({ code: "timeout", status: null });
        expect(Number(out.ms)).toBeGreaterThanOrEqual(290);
      } else {
        expect(out.fallback).toEqual({ code: "unavailable", status: 501 });
        expect(Number(out.ms)).toBeLessThan(3000);
      }
      expect(out.consumed).toEqual(Array.from({ length: COUNT + 1 }, (_, i) => `m${i}`));
      expect(out.ackFlush).toBe(true);
      expect(server.streams()).toBe(1);
      expect(server.queue("jobs").stats()).toMatchObject({ pending: 0, acked: COUNT + 1 });
    });
  }
});
