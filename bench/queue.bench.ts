// Queue throughput and memory (issue 3). Run:
//   npx bun bench/queue.bench.ts   |   npx deno run -A --v8-flags=--expose-gc bench/queue.bench.ts
// enqueue → lease → ack cycles through `pump()` with an async no-op handler at concurrency
// 1, 64 and 1024, side by side with fastq.promise and p-queue doing the same no-op work; then
// heap bytes per pending item at 10^6 pending items. Ends with a `BENCH_JSON {...}` line.
import { bench, run, summary } from "mitata";
import fastq from "fastq";
import PQueue from "p-queue";
import { pump, SafeTaskQueue } from "../src/queue/mod.ts";
import { ok } from "../src/result/result.ts";
import { canForceGc, heapUsedAfterGc } from "../src/runtime/heap.ts";
import { wasmMode } from "../src/wasm/mod.ts";

const MESSAGES = 20_000;
const CONCURRENCY = [1, 64, 1024];
const PENDING = 1_000_000;
const OK = ok();

// Each contender is built once per concurrency level and reused across iterations, as a server
// would: an iteration is one batch of MESSAGES pushed through a warm queue.
// Stopped once the measurements are done, so their heartbeat timers let the process exit.
const pumpsRunning = new AbortController();
// …and their queues closed: a queue's lease sweeper timer otherwise outlives the run by leaseMs.
const pumpQueues: SafeTaskQueue<number>[] = [];

function pumpRunner(concurrency: number): () => Promise<void> {
  const queue = SafeTaskQueue.create<number>({ capacity: MESSAGES, leaseMs: 600_000, heartbeatMs: 300_000 });
  pumpQueues.push(queue);
  let handled = 0;
  let target = 0;
  let wake: () => void = () => {};
  void pump(
    queue,
    async () => {
      if (++handled === target) wake();
      return OK;
    },
    { concurrency, signal: pumpsRunning.signal },
  );
  return async () => {
    target += MESSAGES;
    const done = new Promise<void>((resolve) => (wake = resolve));
    for (let i = 0; i < MESSAGES; i++) queue.tryEnqueue(i);
    await done;
    // The last ack runs right after its handler returns; let it land before checking.
    await Promise.resolve();
    if (queue.stats().acked !== target) throw new Error(`pump acked ${queue.stats().acked}/${target}`);
  };
}

function fastqRunner(concurrency: number): () => Promise<void> {
  const q = fastq.promise(async (_n: number) => {}, concurrency);
  return async () => {
    for (let i = 0; i < MESSAGES; i++) void q.push(i);
    await q.drained();
  };
}

function pQueueRunner(concurrency: number): () => Promise<void> {
  const q = new PQueue({ concurrency });
  const noop = async () => {};
  return async () => {
    for (let i = 0; i < MESSAGES; i++) void q.add(noop);
    await q.onIdle();
  };
}

for (const concurrency of CONCURRENCY) {
  summary(() => {
    const viaPump = pumpRunner(concurrency);
    const viaFastq = fastqRunner(concurrency);
    const viaPQueue = pQueueRunner(concurrency);
    bench(`pump c=${concurrency}`, viaPump);
    bench(`fastq c=${concurrency}`, viaFastq);
    bench(`p-queue c=${concurrency}`, viaPQueue);
  });
}

const { benchmarks, context } = await run();
pumpsRunning.abort();
for (const queue of pumpQueues) queue.close();
const results: Record<string, { medianNs: number; msgsPerSec: number }> = {};
for (const b of benchmarks) {
  const p50 = b.runs[0]?.stats?.p50;
  if (p50) results[b.alias] = { medianNs: Math.round(p50), msgsPerSec: Math.round((MESSAGES / p50) * 1e9) };
}
const ratios: Record<string, number> = {};
for (const c of CONCURRENCY) {
  const mine = results[`pump c=${c}`]!.msgsPerSec;
  ratios[`pump/fastq c=${c}`] = Number((mine / results[`fastq c=${c}`]!.msgsPerSec).toFixed(2));
  ratios[`pump/p-queue c=${c}`] = Number((mine / results[`p-queue c=${c}`]!.msgsPerSec).toFixed(2));
}

// Memory: 10^6 pending items with a small-integer payload (no payload bytes of its own).
const before = heapUsedAfterGc();
const big = SafeTaskQueue.create<number>({ capacity: PENDING });
for (let i = 0; i < PENDING; i++) big.tryEnqueue(i);
const after = heapUsedAfterGc();
const bytesPerPending = Math.round((after - before) / PENDING);
if (big.stats().pending !== PENDING) throw new Error("memory run did not hold every item");
console.log(`heap bytes per pending item at ${PENDING} pending: ${bytesPerPending}${canForceGc() ? "" : " (no forced GC)"}`);
for (const [k, v] of Object.entries(ratios)) console.log(`${k}: ${v}x`);

console.log(
  "BENCH_JSON " +
    JSON.stringify({
      suite: "queue",
      runtime: context.runtime,
      version: (context as { version?: string }).version,
      wasm: wasmMode(),
      cpus: (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null,
      messagesPerIteration: MESSAGES,
      results,
      ratios,
      bytesPerPending,
    }),
);
