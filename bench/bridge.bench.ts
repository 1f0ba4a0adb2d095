// Socket bridge throughput and per-message latency (issue 6). Run:
//   npx bun bench/bridge.bench.ts
// A queue is filled, then bridge() drains it into a real loopback downstream: the socket path
// (a `ws` server that ACKs each PUBLISH) or the RPC path (a second Sluice app on Bun.serve taking
// Relay `Send`, or `Execute` batches). Throughput = messages / wall time from bridge start to the
// last ack; latency = lease → ack per message (the send and the downstream's answer, no queueing
// time). Bounded: 20k messages on the socket path, 5k on the RPC paths. Ends with `BENCH_JSON {...}`.
import { SafeTaskQueue } from "../src/queue/mod.ts";
import { bridge, type BridgeOptions } from "../src/transport/bridge.ts";
import { wasmMode } from "../src/wasm/mod.ts";
import { startRelayDownstream, startSocketDownstream } from "../test/integration/downstreams.ts";

interface Case {
  readonly name: string;
  readonly path: "socket" | "rpc";
  readonly messages: number;
  readonly concurrency: number;
  readonly options: (urls: { ws: string; rpc: string }) => BridgeOptions;
}

const PAYLOAD = new Uint8Array(256).fill(7);
const socket = await startSocketDownstream();
const relay = await startRelayDownstream();
const urls = { ws: socket.url, rpc: relay.url };

const cases: Case[] = [
  { name: "socket c=1", path: "socket", messages: 2_000, concurrency: 1, options: (u) => ({ wsUrl: u.ws }) },
  { name: "socket c=64", path: "socket", messages: 20_000, concurrency: 64, options: (u) => ({ wsUrl: u.ws }) },
  { name: "rpc Send c=1", path: "rpc", messages: 1_000, concurrency: 1, options: (u) => ({ rpcUrl: u.rpc }) },
  { name: "rpc Send c=32", path: "rpc", messages: 5_000, concurrency: 32, options: (u) => ({ rpcUrl: u.rpc }) },
  { name: "rpc Execute c=32", path: "rpc", messages: 5_000, concurrency: 32, options: (u) => ({ rpcUrl: u.rpc, rpcMode: "execute" }) },
];

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function runCase(c: Case) {
  const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", capacity: c.messages, leaseMs: 600_000, heartbeatMs: 300_000 });
  for (let i = 0; i < c.messages; i++) queue.tryEnqueue(PAYLOAD);
  const leasedAt = new Float64Array(c.messages + 1);
  const latencies = new Float64Array(c.messages);
  let acked = 0;
  let finish: () => void = () => {};
  const done = new Promise<void>((resolve) => (finish = resolve));
  queue.events.subscribe((event) => {
    if (event.type === "leased") leasedAt[event.sequenceId!] = performance.now();
    else if (event.type === "acked") {
      latencies[acked++] = performance.now() - leasedAt[event.sequenceId!]!;
      if (acked === c.messages) finish();
    } else if (event.type === "poisoned") finish(); // a broken setup: end the case, the check below reports it
  });
  const started = performance.now();
  const running = bridge(queue, { ...c.options(urls), concurrency: c.concurrency, sendTimeoutMs: 10_000 });
  await done;
  const seconds = (performance.now() - started) / 1000;
  await running.stop();
  if (running.stats.fallbacks > 0 || queue.stats().acked !== c.messages) throw new Error(`${c.name}: not a clean run (${JSON.stringify(running.stats)})`);
  latencies.sort();
  return {
    name: c.name,
    path: c.path,
    messages: c.messages,
    concurrency: c.concurrency,
    msgPerSec: Math.round(c.messages / seconds),
    p50Ms: Number(percentile(latencies, 50).toFixed(3)),
    p99Ms: Number(percentile(latencies, 99).toFixed(3)),
  };
}

const results = [];
// Warm-up: connection setup, JIT.
await runCase({ ...cases[1]!, name: "warm-up socket", messages: 2_000 });
await runCase({ ...cases[3]!, name: "warm-up rpc", messages: 500 });
for (const c of cases) {
  const r = await runCase(c);
  results.push(r);
  console.log(`${r.name.padEnd(18)} ${String(r.msgPerSec).padStart(8)} msg/s   p50 ${r.p50Ms.toFixed(3)} ms   p99 ${r.p99Ms.toFixed(3)} ms   (${r.messages} messages)`);
}
await socket.kill();
await relay.stop();

const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const version = runtime === "bun" ? (globalThis as unknown as { Bun: { version: string } }).Bun.version : undefined;
const cpus = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null;
console.log("BENCH_JSON " + JSON.stringify({ suite: "bridge", runtime, version, wasm: wasmMode(), cpus, payloadBytes: PAYLOAD.byteLength, results }));
