// RSS soak (issues 7 and 21). Run:  npx bun bench/load/soak.ts [--seconds 60] [--rate 6000] [--clients ws|sdk]
// (or `npm run bench:soak`, which runs both client kinds and writes bench/SOAK.md). The real server
// on Bun, as a child process, under an open loop of `rate` msg/s (producers → consumers acking every
// DELIVER, 256-byte payloads) for `seconds` after a warm-up; `ws` = the bench's raw frame clients,
// one frame per WebSocket message; `sdk` = the SDK's Producer / Consumer with batching on (the
// frames of one turn in one message each way, RECEIPT ranges). The server's VmRSS is read from
// /proc/<pid>/status every `sample` seconds. Flat = max ÷ min − 1 ≤ 20 % over the soak.
// Progress on stderr once per second; ends with a `BENCH_JSON {...}` line.
import { parseArgs } from "node:util";
import { cpus } from "node:os";
import { connectSluice } from "./clients.ts";
import { readRssBytes, spawnServer } from "./child.ts";
import { openLoop } from "./scenarios.ts";
import { connectSdk } from "./sdk-clients.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    warmup: { type: "string", default: "5" },
    sample: { type: "string", default: "5" },
    rate: { type: "string", default: "6000" },
    payload: { type: "string", default: "256" },
    clients: { type: "string", default: "sdk" },
  },
});
const soakS = Number(values.seconds);
const warmupS = Number(values.warmup);
const sampleS = Number(values.sample);
const rate = Number(values.rate);
const payloadBytes = Number(values.payload);
const clientKind = values.clients;
if (clientKind !== "ws" && clientKind !== "sdk") throw new Error(`--clients must be ws or sdk, got ${clientKind}`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

const server = await spawnServer({ queues: { bench: { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 } } });
try {
  const clients = clientKind === "ws"
    ? await connectSluice(server.url, "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes, producerKind: "ws" })
    : await connectSdk(server.url, "bench", { producers: 2, consumers: 2, credit: 512, payloadBytes, window: 512, batch: true });
  const samples: { t: number; rssMiB: number }[] = [];
  const soakStart = performance.now() + warmupS * 1000;
  // Samples at t = 0, sample, 2·sample … soakS (relative to the end of the warm-up).
  const sampler = setInterval(() => {
    const t = (performance.now() - soakStart) / 1000;
    const due = samples.length * sampleS;
    if (t >= due - 0.05 && due <= soakS) {
      samples.push({ t: Math.round(t * 10) / 10, rssMiB: mib(readRssBytes(server.pid)) });
      process.stderr.write(`[load] soak RSS t=${due}s ${samples.at(-1)!.rssMiB} MiB\n`);
    }
  }, 50);
  const result = await openLoop(`soak ${rate}/s`, clients, { rate, warmupMs: warmupS * 1000, measureMs: soakS * 1000 });
  // The last sample (t = soakS) is due as publishing stops; take it if the interval missed it.
  if (samples.length * sampleS <= soakS) samples.push({ t: soakS, rssMiB: mib(readRssBytes(server.pid)) });
  clearInterval(sampler);
  await clients.close();
  const values = samples.map((s) => s.rssMiB);
  const first = values[0]!;
  const last = values.at(-1)!;
  const min = Math.min(...values);
  const max = Math.max(...values);
  const round1 = (n: number) => Math.round(n * 10) / 10;
  const summary = {
    suite: "soak",
    runtime: "bun",
    version: process.versions.bun,
    clients: clientKind,
    cpus: cpus().length,
    rate,
    payloadBytes,
    warmupS,
    soakS,
    sampleS,
    samples,
    firstMiB: first,
    lastMiB: last,
    minMiB: min,
    maxMiB: max,
    spreadPct: round1((max / min - 1) * 100),
    growthPct: round1((last / first - 1) * 100),
    deliver: result.deliver,
    settled: result.settled,
    duplicates: result.duplicates,
    errors: result.errors,
  };
  console.log(`soak: RSS first ${first} MiB, last ${last}, min ${min}, max ${max} (spread ${summary.spreadPct} %, growth ${summary.growthPct} %); deliver p99 ${result.deliver.p99Ms} ms`);
  console.log("BENCH_JSON " + JSON.stringify(summary));
} finally {
  await server.stop();
}
