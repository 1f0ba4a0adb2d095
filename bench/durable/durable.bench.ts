// Durable benchmark (issues 11 and 15). Run:  npx bun bench/durable/durable.bench.ts [--quick]
// (or `npm run bench`, which runs it several times and writes its section of bench/RESULTS.md).
// Four servers as child processes on loopback, driven from this one process (one clock) with
// the load bench's clients, loops and recorder (bench/load/*):
//   - Sluice in memory     (SLUICE_STORAGE=memory),
//   - Sluice durable       (SLUICE_STORAGE=sqlite, SLUICE_DATA_DIR = a fresh temp dir),
//   - Sluice on JetStream  (SLUICE_STORAGE=jetstream, SLUICE_NATS_URL = the nats-server below,
//                           its own queue name so its stream never meets the raw client's one;
//                           bench/durable/sluice-servers.ts),
//   - NATS JetStream       (`nats-server -js`, file storage in a fresh temp dir, work-queue stream,
//                           one durable pull consumer, the raw @nats-io/jetstream client; bench/durable/nats.ts).
// Same load on each: 2 producers, 2 consumers acking every message (credit / pull batch 512),
// 64-byte payloads; closed loop (512 in flight end to end) and open loop at 6,000 msg/s. Sluice
// producers over WebSocket and over HTTP duplex. The scenarios are interleaved (memory, durable,
// Sluice on JetStream, raw JetStream for each loop) so a change in box load hits all of them alike.
// Reports settled msg/s and publish→receipt / →deliver / →ack percentiles, the CPU each process used
// and the CPU the rest of the box used meanwhile (to tell when the box was loaded); ratios in
// bench/durable/ratios.ts. Ends with `BENCH_JSON {...}`.
// Options (flags): --producers 2 --consumers 2 --window 512 --credit 512 --rate 6000 --payload 64
// --warmup-ms 1000 --measure-ms 3000 --open-ms 5000 --quick (short phases) --durability process|power
// (SLUICE_DURABILITY for the durable server; default process, which like JetStream's defaults
// survives a crash of the server process, not a power cut; "" = the server's default)
// --only memory,sqlite,sluiceJetStream,jetstream (sluiceJetStream needs jetstream's nats-server, started for either)
// --cpu-prof <dir> (bun --cpu-prof --cpu-prof-md of the Sluice-on-JetStream server: .cpuprofile and .md written to <dir> when it stops;
// e.g. `--only sluiceJetStream,jetstream --cpu-prof /tmp/prof`)
// --low-rate 1000 (an extra open loop at this rate for Sluice on JetStream and the raw client; 0 = none)
// --quiet <% of one core> (shared box: wait for quiet before each scenario, repeat one the neighbours
// disturbed; default SLUICE_BENCH_QUIET, else off)
// Env: LOAD_SERVER_ENV="K=V,K=V" is passed on to the Sluice servers (see bench/load/child.ts);
// NATS_SERVER_BIN=<path> picks the nats-server binary (default: from PATH).
import { mkdirSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { readRssBytes } from "../load/child.ts";
import { type Connected, connectSluice } from "../load/clients.ts";
import { closedLoop, openLoop } from "../load/scenarios.ts";
import { dirBytes, loadedBy, packageVersion, sqliteVersion } from "./box.ts";
import { QUIET_BUDGET_MS, ScenarioMeter } from "./measure.ts";
import { connectJetStream, type NatsChild, natsServerBin, natsServerVersion, setupStream, spawnNats, streamState } from "./nats.ts";
import { type DurableResult, durableRatios, type Results } from "./ratios.ts";
import { checkServerStats, type SluiceStorage, type SluiceUnderTest, startSluice, stopSluice, waitSluiceStreamDrained } from "./sluice-servers.ts";

const { values } = parseArgs({
  options: {
    producers: { type: "string", default: "2" },
    consumers: { type: "string", default: "2" },
    window: { type: "string", default: "512" },
    credit: { type: "string", default: "512" },
    rate: { type: "string", default: "6000" },
    payload: { type: "string", default: "64" },
    "warmup-ms": { type: "string" },
    "measure-ms": { type: "string" },
    "open-ms": { type: "string" },
    quick: { type: "boolean", default: false },
    durability: { type: "string", default: "process" },
    only: { type: "string" },
    quiet: { type: "string" },
    "cpu-prof": { type: "string" },
    "low-rate": { type: "string", default: "1000" },
  },
});
const producers = Number(values.producers);
const consumers = Number(values.consumers);
const window = Number(values.window);
const credit = Number(values.credit);
const rate = Number(values.rate);
const lowRate = Number(values["low-rate"]);
const payloadBytes = Number(values.payload);
const warmupMs = Number(values["warmup-ms"] ?? (values.quick ? 500 : 1000));
const measureMs = Number(values["measure-ms"] ?? (values.quick ? 1500 : 3000));
const openMs = Number(values["open-ms"] ?? (values.quick ? 2000 : 5000));
const durability = values.durability;
const only = values.only?.split(",");
const wants = (name: string) => only === undefined || only.includes(name);
const profileDir = values["cpu-prof"] === undefined ? undefined : resolve(values["cpu-prof"]);

const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;

const results: Results = { memory: {}, sqlite: {}, sluiceJetStream: {}, jetstream: {} };
const rss: Record<string, number> = {};
const meter = new ScenarioMeter(Number(values.quiet ?? process.env.SLUICE_BENCH_QUIET ?? NaN), log);
const measure = meter.measure.bind(meter);

const sluices: SluiceUnderTest[] = [];
let nats: NatsChild | undefined;
const loadavgStart = loadavg()[0]!;
const started = performance.now();
try {
  const needNats = wants("jetstream") || wants("sluiceJetStream");
  if (needNats && natsServerBin() === undefined) {
    log("nats-server not found (apt-get install -y nats-server, or NATS_SERVER_BIN=<path>): JetStream rows skipped");
  } else if (needNats) {
    nats = await spawnNats();
    if (wants("jetstream")) await setupStream(nats.url, { maxAckPending: consumers * credit });
  }
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  for (const storage of ["memory", "sqlite", "jetstream"] as SluiceStorage[]) {
    if (storage === "jetstream" ? !nats || !wants("sluiceJetStream") : !wants(storage)) continue;
    const bunFlags = storage === "jetstream" && profileDir ? ["--cpu-prof", "--cpu-prof-md", `--cpu-prof-dir=${profileDir}`] : [];
    sluices.push(await startSluice(storage, { durability, natsUrl: nats?.url, bunFlags }));
  }
  const rawJetStream = wants("jetstream") ? nats : undefined;
  for (const s of sluices) rss[`${s.key}Start`] = mib(readRssBytes(s.child.pid));
  log(`durable: ${sluices.map((s) => s.key).join(", ")}${rawJetStream ? ", jetstream" : ""}${nats ? ` (nats-server on :${nats.port})` : ""}; ${payloadBytes}-byte payloads, window ${window}, ${rate}/s open loop`);

  const sluiceScenario = async (s: SluiceUnderTest, name: string, kind: "ws" | "duplex", run: (c: Connected) => Promise<DurableResult>) => {
    const connect = () => connectSluice(s.child.url, s.queue, { producers, consumers, credit, payloadBytes, producerKind: kind });
    const onJetStream = s.storage === "jetstream" && nats ? nats : undefined;
    const pids = onJetStream ? [s.child.pid, onJetStream.pid] : [s.child.pid];
    // Between scenarios the Sluice queue's stream must be empty, as the raw client's is checked below.
    const drained = async () => void (onJetStream && (await waitSluiceStreamDrained(onJetStream.url, s.queue)));
    results[s.key]![name] = await measure(`${s.key}.${name}`, pids, connect, run, { settled: (n) => (s.settled += n), after: drained, monitorUrl: onJetStream?.monitorUrl });
  };
  const jetStreamScenario = async (name: string, publisher: "client" | "lean", run: (c: Connected) => Promise<DurableResult>) => {
    if (!rawJetStream) return;
    const url = rawJetStream.url;
    const connect = () => connectJetStream(url, { producers, consumers, credit, payloadBytes, publisher });
    const r = await measure(`jetstream.${name}`, [rawJetStream.pid], connect, run, { monitorUrl: rawJetStream.monitorUrl });
    const state = await streamState(url);
    if (state.messages !== 0 || state.ackPending !== 0 || state.pending !== 0) throw new Error(`jetstream ${name}: stream not drained after the run: ${JSON.stringify(state)}`);
    results.jetstream![name] = r;
  };
  const closed = (label: string) => (c: Connected) => closedLoop(label, c, { window, warmupMs, measureMs });
  // An open loop the server cannot keep up with builds a backlog: give it time to drain, and
  // record what it settled within the measured window (msgsPerSec counts the window's messages
  // delivered by the end, whenever that was).
  const open = (label: string, at = rate) => async (c: Connected): Promise<DurableResult> => {
    let acked0 = 0;
    let acked1 = 0;
    const timers = [setTimeout(() => (acked0 = c.rec.acked), warmupMs), setTimeout(() => (acked1 = c.rec.acked), warmupMs + openMs)];
    try {
      // A server that refuses publishes (Sluice on JetStream: queue.full past 4,096 PubAcks outstanding, then GOAWAY) leaves them unsettled for good.
      const r = await openLoop(label, c, { rate: at, warmupMs, measureMs: openMs, drainMs: 120_000, refusedStallMs: 10_000 });
      const refused = r.published - r.settled;
      return { ...r, settledInWindowPerSec: Math.round(((acked1 - acked0) * 1000) / openMs), refused };
    } finally {
      for (const t of timers) clearTimeout(t);
    }
  };

  // Interleaved: each loop runs on every server before the next loop starts.
  for (const kind of ["ws", "duplex"] as const) for (const s of sluices) await sluiceScenario(s, `${kind}Closed`, kind, closed(`${s.key} ${kind} closed`));
  await jetStreamScenario("closed", "client", closed("jetstream closed"));
  await jetStreamScenario("leanClosed", "lean", closed("jetstream lean closed"));
  for (const kind of ["ws", "duplex"] as const) for (const s of sluices) await sluiceScenario(s, `${kind}Open`, kind, open(`${s.key} ${kind} open ${rate}/s`));
  await jetStreamScenario("open", "client", open(`jetstream open ${rate}/s`));
  await jetStreamScenario("leanOpen", "lean", open(`jetstream lean open ${rate}/s`));
  // Issue 15: latency at a rate Sluice on JetStream sustains (the raw client's rows at the same rate).
  if (lowRate > 0) {
    for (const s of sluices.filter((x) => x.storage === "jetstream")) {
      for (const kind of ["ws", "duplex"] as const) await sluiceScenario(s, `${kind}OpenLow`, kind, open(`${s.key} ${kind} open ${lowRate}/s`, lowRate));
    }
    await jetStreamScenario("openLow", "client", open(`jetstream open ${lowRate}/s`, lowRate));
    await jetStreamScenario("leanOpenLow", "lean", open(`jetstream lean open ${lowRate}/s`, lowRate));
  }

  for (const s of sluices) {
    rss[`${s.key}End`] = mib(readRssBytes(s.child.pid));
    s.dataBytes = dirBytes(s.dataDir);
    await checkServerStats(s);
  }
  if (nats) rss.natsEnd = mib(readRssBytes(nats.pid));
} finally {
  await Promise.allSettled(sluices.map((s) => stopSluice(s)));
  await nats?.stop();
}

for (const group of Object.values(results)) {
  // Refusals are reported (`refused`), not failures; duplicates, and errors without a refusal, are.
  for (const r of Object.values(group)) if (r.duplicates !== 0 || (r.errors !== 0 && !r.refused)) throw new Error(`${r.label}: ${r.duplicates} duplicate deliveries, ${r.errors} ERROR/GOAWAY frames or failed publishes`);
}

const ratios = durableRatios(results);
// Did the durable server actually write a database? (Before the storage work, the env is ignored.)
const byKey = (key: string) => sluices.find((s) => s.key === key);
const sqlite = byKey("sqlite");
const storage = { sqliteDataBytes: sqlite?.dataBytes, memoryDataBytes: byKey("memory")?.dataBytes, sqliteWritten: sqlite ? sqlite.dataBytes > 0 : undefined };
const otherCpu = Object.values(meter.cpuShare).map((c) => c.other);
const box = {
  loadavg1Start: Math.round(loadavgStart * 100) / 100,
  loadavg1End: Math.round(loadavg()[0]! * 100) / 100,
  otherCpuMaxPct: otherCpu.length ? Math.max(...otherCpu) : undefined,
  otherCpuMeanPct: otherCpu.length ? Math.round(otherCpu.reduce((a, b) => a + b, 0) / otherCpu.length) : undefined,
  loadedBy: [...loadedBy],
};
const versions = {
  bun: process.versions.bun,
  sqlite: sqliteVersion(),
  natsServer: natsServerVersion() ?? "not found",
  natsJetstream: packageVersion("@nats-io/jetstream"),
  natsTransportNode: packageVersion("@nats-io/transport-node"),
};

const line = (r: DurableResult) =>
  `${r.label.padEnd(30)} ${String(r.msgsPerSec).padStart(7)} msg/s  receipt p50 ${r.receipt.p50Ms} p99 ${r.receipt.p99Ms}  deliver p50 ${r.deliver.p50Ms} p99 ${r.deliver.p99Ms}  ack p99 ${r.ack.p99Ms} ms` +
  (r.maxScheduleLagMs === undefined ? "" : `  (schedule lag max ${r.maxScheduleLagMs} ms, settled ${r.settledInWindowPerSec}/s in the window)`) +
  (r.refused ? `  REFUSED ${r.refused} of ${r.published} publishes (${r.errors} ERROR/GOAWAY frames)` : "") +
  (r.nats ? `  NATS msgs in/out per msg ${r.nats.inPerMsg}/${r.nats.outPerMsg}, subs ${r.nats.subsPerMsg}` : "");
console.log(`durable: ${producers} producers, ${consumers} consumers, window ${window}, credit ${credit}, ${payloadBytes}-byte payloads, ${JSON.stringify(versions)}, ${cpus().length} cpus, ${Math.round((performance.now() - started) / 1000)} s`);
for (const group of Object.values(results)) for (const r of Object.values(group)) console.log(line(r));
for (const [k, v] of Object.entries(ratios)) if (v !== undefined) console.log(`${k}: ${v}`);
console.log(`storage: ${JSON.stringify(storage)}; RSS MiB: ${JSON.stringify(rss)}`);
console.log(`CPU % of one core (server [+ its nats-server] / load generator / rest of the box): ${JSON.stringify(meter.cpuShare)}; box ${JSON.stringify(box)}`);
if (profileDir) console.log(`CPU profile(s) of the Sluice-on-JetStream server in ${profileDir}`);
console.log(
  "BENCH_JSON " +
    JSON.stringify({
      suite: "durable",
      runtime: "bun",
      version: process.versions.bun,
      cpus: cpus().length,
      versions,
      config: { producers, consumers, window, credit, rate, lowRate, payloadBytes, warmupMs, measureMs, openMs, durability: durability || "server default", quietPct: Number.isFinite(meter.quietPct) ? meter.quietPct : undefined, quietBudgetS: QUIET_BUDGET_MS / 1000 },
      attempts: meter.attempts,
      quietWaitS: Math.round(meter.quietSpentMs / 100) / 10,
      results,
      ratios,
      storage,
      rssMiB: rss,
      cpuShare: meter.cpuShare,
      box,
    }),
);
