// End-to-end load benchmark (issue 7). Run:  npx bun bench/load/load.bench.ts [--quick]
// Spawns the raw Bun WebSocket echo server and then the real Sluice server (src/runtime/bun.ts)
// as child processes on loopback, and drives both from this one process (one clock):
//   1. echo ceiling: N+M sockets, closed loop, 256-byte messages; and the same sockets in an
//      open loop at the test rate (the latency floor of the runtime and the box);
//   2. Sluice closed loop (max acked throughput): N WebSocket producers → M WebSocket consumers
//      acking every DELIVER; then the same with N HTTP duplex producers;
//   3. Sluice open loop at a fixed rate (default 6,000 msg/s), WS and duplex producers:
//      p50/p90/p99/max publish→receipt, publish→deliver and publish→ack from HDR histograms;
//   4. the server's RSS (/proc/<pid>/status) around the runs, and its stats checked at the end;
//   5. (issue 21) the SDK's own Producer/Consumer, batched (one message per turn each way) and
//      not, closed and open loop; the batched closed loop again on a server with the SQLite store;
//      and NATS core request/reply with pipelined replies on a private nats-server, the baseline;
//      server CPU time per settled message for every scenario; RSS at start beside the echo's.
// Progress on stderr once per second; ends with a `BENCH_JSON {...}` line on stdout.
// Options (flags): --producers 2 --consumers 2 --window 512 --credit 512 --rate 6000
// --payload 256 --measure-ms 4000 --open-ms 6000 --quick (shorter phases) --cpu-prof (server profiles, the
// memory server and the SQLite one: a file each).
// Env: LOAD_SERVER_ENV="K=V,K=V" adds variables to the server only (e.g. BUN_JSC_logGC=1 to log its
// collections); LOAD_DUMP=<path> writes each child's output to <path>.<pid> when it stops.
import { parseArgs } from "node:util";
import { cpus, loadavg } from "node:os";
import { connectEcho, connectSluice } from "./clients.ts";
import { type Child, readCpuMs, readRssBytes, spawnEcho, spawnServer } from "./child.ts";
import { closedLoop, openLoop, type ScenarioResult } from "./scenarios.ts";
import { connectSdk } from "./sdk-clients.ts";
import { connectNatsCore } from "./nats-baseline.ts";
import { natsServerVersion, startNatsServer } from "../support/nats-server.ts";

const { values } = parseArgs({
  options: {
    producers: { type: "string", default: "2" },
    consumers: { type: "string", default: "2" },
    window: { type: "string", default: "512" },
    credit: { type: "string", default: "512" },
    rate: { type: "string", default: "6000" },
    payload: { type: "string", default: "256" },
    "measure-ms": { type: "string" },
    "open-ms": { type: "string" },
    quick: { type: "boolean", default: false },
    "cpu-prof": { type: "boolean", default: false },
    only: { type: "string" },
  },
});
const producers = Number(values.producers);
const consumers = Number(values.consumers);
const window = Number(values.window);
const credit = Number(values.credit);
const rate = Number(values.rate);
const payloadBytes = Number(values.payload);
const warmupMs = values.quick ? 500 : 1000;
const measureMs = Number(values["measure-ms"] ?? (values.quick ? 2000 : 4000));
const openMs = Number(values["open-ms"] ?? (values.quick ? 3000 : 6000));
const only = values.only?.split(",");
const wants = (name: string) => only === undefined || only.includes(name);
const QUEUE = "bench";
const SERVER_CONFIG = {
  queues: { [QUEUE]: { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 } },
};

const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
const connectOptions = (producerKind: "ws" | "duplex") => ({ producers, consumers, credit, payloadBytes, producerKind });

async function withChild<T>(child: Child, run: (child: Child) => Promise<T>): Promise<T> {
  try {
    return await run(child);
  } finally {
    await child.stop();
  }
}

const results: Record<string, ScenarioResult> = {};
const rss: Record<string, number> = {};
/** Per scenario: CPU time of the server and of this load generator, as % of one core. */
const cpuShare: Record<string, { server: number; client: number }> = {};
/** Per scenario: the server's CPU time per settled message, in µs (over the whole scenario: warm-up, measurement, drain). */
const cpuPerMsgUs: Record<string, number> = {};
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
type Connected = Awaited<ReturnType<typeof connectSluice>>;

/** Runs one scenario against a server process (pid): its CPU share and CPU per settled message. */
async function measured(name: string, pid: number, connect: () => Promise<Connected>, run: (c: Connected) => Promise<ScenarioResult>): Promise<number> {
  const clients = await connect();
  const server0 = readCpuMs(pid);
  const client0 = process.cpuUsage();
  const wall0 = performance.now();
  results[name] = await run(clients);
  const wallMs = performance.now() - wall0;
  const serverMs = readCpuMs(pid) - server0;
  const client = process.cpuUsage(client0);
  const percent = (ms: number) => Math.round((ms / wallMs) * 100);
  cpuShare[name] = { server: percent(serverMs), client: percent((client.user + client.system) / 1000) };
  cpuPerMsgUs[name] = Math.round((serverMs * 1000 * 100) / Math.max(1, clients.rec.acked)) / 100;
  const settled = clients.rec.acked;
  await clients.close();
  return settled;
}

if (wants("echo")) {
  log(`echo ceiling: ${producers + consumers} sockets, window ${window}, ${payloadBytes}-byte payloads`);
  results.echo = await withChild(await spawnEcho(), async (echo) => {
    rss.echoStart = mib(readRssBytes(echo.pid));
    const clients = await connectEcho(echo.url, producers + consumers, payloadBytes);
    const r = await closedLoop("echo closed", clients, { window, warmupMs, measureMs });
    await clients.close();
    // The latency floor of the runtime and this box at the same rate, for the open-loop rows.
    if (wants("echoOpen")) {
      const open = await connectEcho(echo.url, producers + consumers, payloadBytes);
      results.echoOpen = await openLoop(`echo open ${rate}/s`, open, { rate, warmupMs, measureMs: openMs });
      await open.close();
    }
    return r;
  });
}

let serverStats: Record<string, number> | undefined;
const profFlags = values["cpu-prof"] ? ["--cpu-prof", "--cpu-prof-dir=/tmp/sluice-prof"] : [];
await withChild(await spawnServer(SERVER_CONFIG, profFlags), async (server) => {
  rss.start = mib(readRssBytes(server.pid));
  let settled = 0;
  const scenario = async (name: string, kind: "ws" | "duplex" | "sdk" | "sdkUnbatched", run: (c: Connected) => Promise<ScenarioResult>) => {
    if (!wants(name)) return;
    const connect = kind === "ws" || kind === "duplex"
      ? () => connectSluice(server.url, QUEUE, connectOptions(kind))
      : () => connectSdk(server.url, QUEUE, { producers, consumers, credit, payloadBytes, window, batch: kind === "sdk" });
    settled += await measured(name, server.pid, connect, run);
    rss[name] = mib(readRssBytes(server.pid));
  };
  await scenario("wsClosed", "ws", (c) => closedLoop("ws closed", c, { window, warmupMs, measureMs }));
  await scenario("sdkClosed", "sdk", (c) => closedLoop("sdk batched closed", c, { window, warmupMs, measureMs }));
  await scenario("sdkUnbatchedClosed", "sdkUnbatched", (c) => closedLoop("sdk unbatched closed", c, { window, warmupMs, measureMs }));
  await scenario("duplexClosed", "duplex", (c) => closedLoop("duplex closed", c, { window, warmupMs, measureMs }));
  await scenario("wsOpen", "ws", (c) => openLoop(`ws open ${rate}/s`, c, { rate, warmupMs, measureMs: openMs }));
  await scenario("sdkOpen", "sdk", (c) => openLoop(`sdk batched open ${rate}/s`, c, { rate, warmupMs, measureMs: openMs }));
  await scenario("duplexOpen", "duplex", (c) => openLoop(`duplex open ${rate}/s`, c, { rate, warmupMs, measureMs: openMs }));
  serverStats = (await (await fetch(`${server.url}/v1/queues/${QUEUE}`)).json()) as Record<string, number>;
  if (serverStats.acked !== settled || serverStats.pending !== 0 || serverStats.active !== 0) {
    throw new Error(`server stats disagree with the client: acked ${serverStats.acked} vs ${settled} settled; pending ${serverStats.pending}, active ${serverStats.active}`);
  }
});

// The same batched SDK closed loop on a server with the SQLite store (durability "process", the default).
if (wants("sdkSqliteClosed")) {
  await withChild(await spawnServer(SERVER_CONFIG, profFlags, { SLUICE_STORAGE: "sqlite" }), async (stored) => {
    rss.sqliteStart = mib(readRssBytes(stored.pid));
    await measured("sdkSqliteClosed", stored.pid, () => connectSdk(stored.url, QUEUE, { producers, consumers, credit, payloadBytes, window, batch: true }), (c) =>
      closedLoop("sdk batched sqlite", c, { window, warmupMs, measureMs }));
    rss.sqliteAfter = mib(readRssBytes(stored.pid));
  });
}

// NATS core request/reply with pipelined replies (the baseline), when nats-server is installed.
let natsVersion: string | undefined;
if (wants("natsClosed") && (natsVersion = natsServerVersion()) !== undefined) {
  const nats = await startNatsServer({ jetstream: false });
  try {
    rss.natsStart = mib(readRssBytes(nats.pid!));
    await measured("natsClosed", nats.pid!, () => connectNatsCore(nats.url, { producers, consumers, payloadBytes }), (c) => closedLoop("nats core pipelined", c, { window, warmupMs, measureMs }));
  } finally {
    await nats.stop();
  }
}

for (const r of Object.values(results)) {
  if (r.duplicates !== 0 || r.errors !== 0) throw new Error(`${r.label}: ${r.duplicates} duplicate deliveries, ${r.errors} ERROR/GOAWAY frames`);
}

const echoRate = results.echo?.msgsPerSec;
const ratio = (r: ScenarioResult | undefined) => (r && echoRate ? Math.round((r.msgsPerSec / echoRate) * 1000) / 1000 : undefined);
const ratios = {
  wsClosedVsEcho: ratio(results.wsClosed),
  duplexClosedVsEcho: ratio(results.duplexClosed),
  sdkClosedVsEcho: ratio(results.sdkClosed),
  sdkUnbatchedClosedVsEcho: ratio(results.sdkUnbatchedClosed),
  sdkSqliteClosedVsEcho: ratio(results.sdkSqliteClosed),
  natsClosedVsEcho: ratio(results.natsClosed),
  sdkClosedVsNats: results.sdkClosed && results.natsClosed ? Math.round((results.sdkClosed.msgsPerSec / results.natsClosed.msgsPerSec) * 1000) / 1000 : undefined,
};
// Latency as a multiple of the raw echo floor of this run (p99 publish→deliver at the same rate).
const floor = results.echoOpen?.deliver;
const vsFloor = (r: ScenarioResult | undefined) =>
  r && floor ? { p50: Math.round((r.deliver.p50Ms / floor.p50Ms) * 100) / 100, p99: Math.round((r.deliver.p99Ms / floor.p99Ms) * 100) / 100 } : undefined;
const latencyVsFloor = { wsOpen: vsFloor(results.wsOpen), sdkOpen: vsFloor(results.sdkOpen), duplexOpen: vsFloor(results.duplexOpen) };

const line = (r: ScenarioResult) =>
  `${r.label.padEnd(18)} ${String(r.msgsPerSec).padStart(7)} msg/s  deliver p50 ${r.deliver.p50Ms} p90 ${r.deliver.p90Ms} p99 ${r.deliver.p99Ms} max ${r.deliver.maxMs} ms` +
  `  ack p99 ${r.ack.p99Ms} ms  receipt p99 ${r.receipt.p99Ms} ms` +
  (r.maxScheduleLagMs === undefined ? "" : `  (schedule lag max ${r.maxScheduleLagMs} ms)`);
console.log(`load: ${producers} producers, ${consumers} consumers, window ${window}, credit ${credit}, ${payloadBytes}-byte payloads, bun ${process.versions.bun}, ${cpus().length} cpus`);
for (const r of Object.values(results)) console.log(line(r));
for (const [k, v] of Object.entries(ratios)) if (v !== undefined) console.log(`${k}: ${v}`);
console.log(`server RSS MiB: ${JSON.stringify(rss)}`);
console.log(`CPU % of one core (server / load generator): ${JSON.stringify(cpuShare)}`);
console.log(`server CPU µs per settled message: ${JSON.stringify(cpuPerMsgUs)}`);
console.log(`p50 / p99 publish→deliver vs the echo floor: ${JSON.stringify(latencyVsFloor)}`);
console.log(
  "BENCH_JSON " +
    JSON.stringify({
      suite: "load",
      runtime: "bun",
      version: process.versions.bun,
      cpus: cpus().length,
      config: { producers, consumers, window, credit, rate, payloadBytes, warmupMs, measureMs, openMs },
      results,
      ratios,
      latencyVsFloor,
      rssMiB: rss,
      cpuShare,
      cpuPerMsgUs,
      natsVersion,
      loadavg: loadavg(),
      serverStats,
    }),
);
