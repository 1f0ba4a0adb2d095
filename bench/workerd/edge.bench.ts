/**
 * Edge bench (issue 19): Sluice on local workerd (the Worker and one SluiceQueue Durable Object,
 * SQL storage on local disk: SQLite in WAL mode at its default synchronous=FULL, so every commit
 * is fsynced) beside Sluice on Bun with its SQLite store at durability "process" (the default: no
 * fsync per commit) and "power" (an fsync per commit, like workerd's local storage), on the same
 * box, end to end over loopback WebSockets, with and without client batching. One run per
 * process; `npm run bench` (id `workerd`) runs it up to 5 times and reports medians.
 *
 * 2 producers and 2 consumers (credit 512), 64-byte payloads, closed loop: 512 messages in flight
 * end to end, each settled (acked) one replaced at once; 1 s warm-up, 3 s measured. Unbatched: one
 * frame per WebSocket message (PUBLISH, ACK). Batched: a client sends everything it has to send
 * in one event-loop turn as one message (PUBLISH frames; ACK + CREDIT frames) — the server then
 * commits each batch in one storage write. Scenarios interleave (the three servers per mode).
 *
 * @example
 * ```sh
 * bun bench/workerd/edge.bench.ts   # prints BENCH_JSON {…}
 * ```
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join, resolve } from "node:path";
import { readCpuMs } from "../load/child.ts";
import { LoadRecorder } from "../load/recorder.ts";
import { closedLoop, type ScenarioResult } from "../load/scenarios.ts";
import { ControlWriter, FRAME_HEADER_BYTES, FrameType, type Header, PublishWriter, readHeader } from "../load/wire.ts";
import { openWs, type Publisher, type SettleHooks, WsConsumer, WsPublisher } from "../load/ws-clients.ts";
import { startServer, tempDir } from "../../test/integration/server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const CONFIG = { producers: 2, consumers: 2, credit: 512, window: 512, payloadBytes: 64, warmupMs: 1000, measureMs: 3000 };

/** PUBLISH frames of one turn go out as one WebSocket message. */
class BatchingPublisher implements Publisher {
  #pending: Uint8Array[] = [];
  #scheduled = false;
  constructor(private readonly ws: WebSocket, private readonly rec: LoadRecorder, private readonly writer: PublishWriter) {
    const header: Header = { type: 0, id: 0, arg: 0, payloadLength: 0 };
    ws.onmessage = (event) => {
      const h = readHeader(new DataView(event.data as ArrayBuffer), 0, header);
      if (h.type === FrameType.RECEIPT) rec.onReceipt(h.id, performance.now());
      else if (h.type === FrameType.ERROR || h.type === FrameType.GOAWAY) rec.errors++;
    };
  }
  publish(count: number): void {
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      this.#pending.push(this.writer.write(this.rec.nextIndex(now), now).slice());
    }
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.ws.send(concat(this.#pending.splice(0)));
    }, 0);
  }
  close(): Promise<void> {
    this.ws.close();
    return Promise.resolve();
  }
}

/** ACKs (and credit top-ups) of one turn go out as one WebSocket message. */
class BatchingConsumer {
  #out: Uint8Array[] = [];
  #owed = 0;
  #scheduled = false;
  readonly #control = new ControlWriter();
  constructor(private readonly ws: WebSocket, rec: LoadRecorder, credit: number, hooks: SettleHooks) {
    const header: Header = { type: 0, id: 0, arg: 0, payloadLength: 0 };
    ws.onmessage = (event) => {
      const now = performance.now();
      const view = new DataView(event.data as ArrayBuffer);
      for (let at = 0; at + FRAME_HEADER_BYTES <= view.byteLength; at += FRAME_HEADER_BYTES + header.payloadLength) {
        const h = readHeader(view, at, header);
        if (h.type !== FrameType.DELIVER) {
          if (h.type === FrameType.ERROR || h.type === FrameType.GOAWAY) rec.errors++;
          continue;
        }
        const publishedAtMs = view.getFloat64(at + FRAME_HEADER_BYTES, true);
        rec.onDeliver(view.getUint32(at + FRAME_HEADER_BYTES + 8, true), publishedAtMs, now);
        this.#send(this.#control.write(FrameType.ACK, h.id).slice());
        rec.onAck(publishedAtMs, performance.now());
        if (++this.#owed >= credit >> 1) {
          this.#send(this.#control.write(FrameType.CREDIT, 0, this.#owed).slice());
          this.#owed = 0;
        }
        hooks.settled();
      }
    };
    ws.send(this.#control.write(FrameType.CREDIT, 0, credit));
  }
  #send(frame: Uint8Array): void {
    this.#out.push(frame);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setTimeout(() => {
      this.#scheduled = false;
      this.ws.send(concat(this.#out.splice(0)));
    }, 0);
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
  let at = 0;
  for (const p of parts) out.set(p, (at += p.byteLength) - p.byteLength);
  return out;
}

// Busy CPU time of the whole box in 1/100 s (all cores), from /proc/stat.
function boxBusyTicks(): number {
  const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
  return f[0] + f[1] + f[2] + f[5] + f[6] + f[7];
}

type Target = "bun" | "bunPower" | "workerd";

async function scenario(target: Target, batched: boolean): Promise<ScenarioResult & { serverCpuPct: number }> {
  const env: Record<string, string> = { SLUICE_DATA_DIR: tempDir() };
  if (target !== "workerd") Object.assign(env, { SLUICE_STORAGE: "sqlite", SLUICE_DURABILITY: target === "bun" ? "process" : "power" });
  const server = await startServer(target === "workerd" ? "workerd" : "bun", { config: { queues: { bench: { capacity: 100_000 } } }, env });
  try {
    const rec = new LoadRecorder();
    const hooks: SettleHooks = { settled: () => {} };
    const writer = new PublishWriter(CONFIG.payloadBytes);
    const url = `${server.url.replace("http", "ws")}/v1/queues/bench/ws`;
    const consumers = await Promise.all(Array.from({ length: CONFIG.consumers }, async () => {
      const ws = await openWs(url);
      return batched ? new BatchingConsumer(ws, rec, CONFIG.credit, hooks) : new WsConsumer(ws, rec, CONFIG.credit, hooks);
    }));
    const publishers = await Promise.all(Array.from({ length: CONFIG.producers }, async () => {
      const ws = await openWs(url);
      return batched ? new BatchingPublisher(ws, rec, writer) : new WsPublisher(ws, rec, writer);
    }));
    const cpu0 = readCpuMs(server.pid);
    const t0 = performance.now();
    const label = `${target} ${batched ? "batched" : "unbatched"}`;
    const result = await closedLoop(label, { publishers, rec, hooks }, { window: CONFIG.window, warmupMs: CONFIG.warmupMs, measureMs: CONFIG.measureMs, drainMs: 30_000 });
    const serverCpuPct = Math.round(((readCpuMs(server.pid) - cpu0) / (performance.now() - t0)) * 100);
    await Promise.all(publishers.map((p) => p.close()));
    for (const c of consumers) (c as unknown as { close?: () => unknown }).close?.();
    return { ...result, serverCpuPct };
  } finally {
    await server.stop("SIGKILL");
  }
}

const version = (bin: string, args: string[]) => execFileSync(bin, args, { encoding: "utf8" }).split("\n")[0]!.trim();
const busy0 = boxBusyTicks();
const started = performance.now();
const load0 = loadavg()[0]!;
const results: Record<string, ScenarioResult & { serverCpuPct: number }> = {};
for (const batched of [false, true]) {
  for (const target of ["bun", "bunPower", "workerd"] as const) results[`${target}${batched ? "Batched" : "Unbatched"}`] = await scenario(target, batched);
}
const boxBusyPct = Math.round((boxBusyTicks() - busy0) / ((performance.now() - started) / 1000));
const json = {
  config: CONFIG,
  versions: { bun: Bun.version, workerd: version(join(ROOT, "node_modules/.bin/workerd"), ["--version"]) },
  box: { cores: cpus().length, loadavg1Before: Math.round(load0 * 100) / 100, loadavg1After: Math.round(loadavg()[0]! * 100) / 100, busyPctOfOneCore: boxBusyPct },
  results,
};
console.log(`BENCH_JSON ${JSON.stringify(json)}`);
