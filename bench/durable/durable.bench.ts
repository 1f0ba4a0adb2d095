// Durable benchmark (issue 11). Run:  npx bun bench/durable/durable.bench.ts [--quick]
// (or `npm run bench`, which runs it several times and writes its section of bench/RESULTS.md).
// Three servers as child processes on loopback, driven from this one process (one clock) with
// the load bench's clients, loops and recorder (bench/load/*):
//   - Sluice in memory   (SLUICE_STORAGE=memory),
//   - Sluice durable     (SLUICE_STORAGE=sqlite, SLUICE_DATA_DIR = a fresh temp dir),
//   - NATS JetStream     (`nats-server -js`, file storage in a fresh temp dir, work-queue stream,
//                         one durable pull consumer; bench/durable/nats.ts).
// Same load on each: 2 producers, 2 consumers acking every message (credit / pull batch 512),
// 64-byte payloads; closed loop (512 in flight end to end) and open loop at 6,000 msg/s. Sluice
// producers over WebSocket and over HTTP duplex. The scenarios are interleaved (memory, durable,
// JetStream for each loop) so a change in box load hits all of them alike. Reports settled msg/s
// and publish→receipt / →deliver / →ack percentiles, the CPU each process used and the CPU the
// rest of the box used meanwhile (to tell when the box was loaded). Ends with `BENCH_JSON {...}`.
// Options (flags): --producers 2 --consumers 2 --window 512 --credit 512 --rate 6000 --payload 64
// --warmup-ms 1000 --measure-ms 3000 --open-ms 5000 --quick (short phases) --durability process|power
// (SLUICE_DURABILITY for the durable server; default process, which like JetStream's defaults
// survives a crash of the server process, not a power cut; "" = the server's default) --only memory,sqlite,jetstream
// --quiet <% of one core> (shared box: wait for quiet before each scenario, repeat one the neighbours
// disturbed; default SLUICE_BENCH_QUIET, else off)
// Env: LOAD_SERVER_ENV="K=V,K=V" is passed on to both Sluice servers (see bench/load/child.ts);
// NATS_SERVER_BIN=<path> picks the nats-server binary (default: from PATH).
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, mkdtempSync, rmSync, statSync } from "node:fs";
import { cpus, loadavg, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { type Child, readCpuMs, readRssBytes, spawnServer } from "../load/child.ts";
import { type Connected, connectSluice } from "../load/clients.ts";
import { closedLoop, openLoop, type ScenarioResult } from "../load/scenarios.ts";
import { connectJetStream, type NatsChild, natsServerBin, natsServerVersion, setupStream, spawnNats, streamState } from "./nats.ts";

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
  },
});
const producers = Number(values.producers);
const consumers = Number(values.consumers);
const window = Number(values.window);
const credit = Number(values.credit);
const rate = Number(values.rate);
const payloadBytes = Number(values.payload);
const warmupMs = Number(values["warmup-ms"] ?? (values.quick ? 500 : 1000));
const measureMs = Number(values["measure-ms"] ?? (values.quick ? 1500 : 3000));
const openMs = Number(values["open-ms"] ?? (values.quick ? 2000 : 5000));
const durability = values.durability;
const only = values.only?.split(",");
const wants = (name: string) => only === undefined || only.includes(name);
const QUEUE = "bench";
const SERVER_CONFIG = { queues: { [QUEUE]: { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 } } };
const ROOT = resolve(import.meta.dirname ?? ".", "../..");

const log = (line: string) => process.stderr.write(`[load] ${line}\n`);
const mib = (bytes: number) => Math.round((bytes / 2 ** 20) * 10) / 10;
const round3 = (n: number) => Math.round(n * 1000) / 1000;
const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Busy CPU time of the whole box in ms (all cores), from /proc/stat; NaN without /proc. */
function boxBusyMs(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal — everything but idle and iowait, in 100 Hz ticks.
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) * 10;
  } catch {
    return NaN;
  }
}

/** CPU ms and command line of every process (from /proc), to name what else loads the box. */
function processCpu(): Map<number, { cpuMs: number; name: string }> {
  const out = new Map<number, { cpuMs: number; name: string }>();
  try {
    for (const entry of readdirSync("/proc")) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const cpuMs = readCpuMs(pid);
      if (!Number.isFinite(cpuMs)) continue;
      let name = "";
      try {
        name = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").filter(Boolean).join(" ").slice(0, 80);
      } catch {
        // gone
      }
      out.set(pid, { cpuMs, name });
    }
  } catch {
    // no /proc
  }
  return out;
}

/** The processes (other than `exclude`) that used the most CPU between two `processCpu()` snapshots. */
function busiestOthers(before: Map<number, { cpuMs: number; name: string }>, exclude: readonly number[], wallMs: number): string {
  const after = processCpu();
  const rows: { pid: number; pct: number; name: string }[] = [];
  for (const [pid, a] of after) {
    if (exclude.includes(pid)) continue;
    const pct = Math.round(((a.cpuMs - (before.get(pid)?.cpuMs ?? 0)) / wallMs) * 100);
    if (pct >= 5) rows.push({ pid, pct, name: a.name || "?" });
  }
  const top = rows.sort((x, y) => y.pct - x.pct).slice(0, 4);
  for (const r of top) if (r.pct >= 20) loadedBy.add(r.name.split(" ").slice(0, 3).map((w) => w.split("/").at(-1)).join(" "));
  return top.map((r) => `${r.pct}% ${r.pid} ${r.name}`).join("; ");
}

/** Short names of the other processes that used ≥ 20 % of a core during some scenario. */
const loadedBy = new Set<string>();

function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return (db.query("select sqlite_version() as v").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

function dirBytes(dir: string): number {
  let total = 0;
  try {
    for (const name of readdirSync(dir)) {
      const st = statSync(join(dir, name));
      total += st.isDirectory() ? dirBytes(join(dir, name)) : st.size;
    }
  } catch {
    // gone already
  }
  return total;
}

/** A Sluice server with the given storage, in its own temp data dir. */
interface SluiceUnderTest {
  readonly storage: "memory" | "sqlite";
  readonly child: Child;
  readonly dataDir: string;
  settled: number;
  /** Bytes in the data dir after the last scenario (the SQLite file and its WAL). */
  dataBytes: number;
}

async function startSluice(storage: "memory" | "sqlite"): Promise<SluiceUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), `sluice-durable-${storage}-`));
  // spawnServer reads LOAD_SERVER_ENV ("K=V,K=V") for server-only variables: add ours to it.
  const base = process.env.LOAD_SERVER_ENV;
  const env = [base, `SLUICE_STORAGE=${storage}`, `SLUICE_DATA_DIR=${dataDir}`, storage === "sqlite" && durability ? `SLUICE_DURABILITY=${durability}` : undefined];
  process.env.LOAD_SERVER_ENV = env.filter(Boolean).join(",");
  try {
    const child = await spawnServer(SERVER_CONFIG);
    return { storage, child, dataDir, settled: 0, dataBytes: 0 };
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  } finally {
    if (base === undefined) delete process.env.LOAD_SERVER_ENV;
    else process.env.LOAD_SERVER_ENV = base;
  }
}

async function stopSluice(s: SluiceUnderTest | undefined): Promise<void> {
  if (!s) return;
  try {
    await s.child.stop();
  } finally {
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

const results: Record<string, Record<string, ScenarioResult>> = { memory: {}, sqlite: {}, jetstream: {} };
/** Per scenario: CPU of the server under test, of this load generator and of everything else on the box, % of one core. */
const cpuShare: Record<string, { server: number; client: number; other: number }> = {};
const rss: Record<string, number> = {};

/**
 * Quiet mode for a shared box (`--quiet <pct>`, default SLUICE_BENCH_QUIET): before each scenario
 * wait until the rest of the box is at most `pct` % of one core busy, and repeat a scenario (up
 * to 3 attempts) during which it rose above max(2·pct, pct + 25) %; waits and repeats share a
 * bounded time per run, after which scenarios run as they come. Figures are of the last attempt.
 */
const quietPct = Number(values.quiet ?? process.env.SLUICE_BENCH_QUIET ?? NaN);
const QUIET_BUDGET_MS = 120_000;
let quietSpentMs = 0;
const attempts: Record<string, number> = {};

async function waitForQuiet(): Promise<void> {
  if (!Number.isFinite(quietPct)) return;
  while (quietSpentMs < QUIET_BUDGET_MS) {
    const t0 = performance.now();
    const box0 = boxBusyMs();
    const self0 = process.cpuUsage();
    await sleep(1000);
    const self = process.cpuUsage(self0);
    const wallMs = performance.now() - t0;
    // The servers under test are idle between scenarios: what is busy is the rest of the box.
    const busy = ((boxBusyMs() - box0 - (self.user + self.system) / 1000) / wallMs) * 100;
    if (busy <= quietPct) return;
    quietSpentMs += wallMs;
  }
}

/**
 * Runs one scenario: connect, loop, then wait (bounded) for receipts still due — a durable
 * server may deliver and see the ack before the commit that releases the receipt, and the
 * loops end on the last ack — and take the receipt percentiles again. Returns the CPU the rest
 * of the box used meanwhile too.
 */
async function measureOnce(key: string, serverPid: number, clients: Connected, run: (c: Connected) => Promise<ScenarioResult>): Promise<{ result: ScenarioResult; other: number }> {
  try {
    const procs0 = processCpu();
    const server0 = readCpuMs(serverPid);
    const box0 = boxBusyMs();
    const client0 = process.cpuUsage();
    const wall0 = performance.now();
    const r = await run(clients);
    const until = performance.now() + 10_000;
    while (clients.rec.receipts < clients.rec.published && performance.now() < until) await sleep(5);
    if (clients.rec.receipts < clients.rec.published) throw new Error(`${r.label}: ${clients.rec.published - clients.rec.receipts} receipt(s) missing 10 s after the last ack`);
    const wallMs = performance.now() - wall0;
    const server = readCpuMs(serverPid) - server0;
    const c = process.cpuUsage(client0);
    const client = (c.user + c.system) / 1000;
    const pct = (ms: number) => Math.round((ms / wallMs) * 100);
    const other = Math.max(0, pct(boxBusyMs() - box0 - server - client));
    cpuShare[key] = { server: pct(server), client: pct(client), other };
    if (other >= 25) log(`${key}: the rest of the box used ${other} % of one core: ${busiestOthers(procs0, [serverPid, process.pid], wallMs) || "no single process (kernel, short-lived processes)"}`);
    return { result: { ...r, receipt: clients.rec.summary("receipt") }, other };
  } finally {
    await clients.close();
  }
}

/** `measureOnce`, in quiet mode after waiting for a quiet box and repeated when the box got busy; `settled` sees every attempt. */
async function measure(key: string, serverPid: number, connect: () => Promise<Connected>, run: (c: Connected) => Promise<ScenarioResult>, settled: (n: number) => void = () => {}): Promise<ScenarioResult> {
  for (let attempt = 1; ; attempt++) {
    await waitForQuiet();
    const t0 = performance.now();
    const { result, other } = await measureOnce(key, serverPid, await connect(), run);
    settled(result.settled);
    const busy = Number.isFinite(quietPct) && other > Math.max(2 * quietPct, quietPct + 25);
    if (!busy || attempt >= 3 || quietSpentMs >= QUIET_BUDGET_MS) {
      attempts[key] = attempt;
      return result;
    }
    quietSpentMs += performance.now() - t0;
    log(`${key}: repeating it (attempt ${attempt + 1}): the rest of the box used ${other} % of one core`);
  }
}

let memory: SluiceUnderTest | undefined;
let sqlite: SluiceUnderTest | undefined;
let nats: NatsChild | undefined;
const loadavgStart = loadavg()[0]!;
const started = performance.now();
try {
  if (wants("memory")) memory = await startSluice("memory");
  if (wants("sqlite")) sqlite = await startSluice("sqlite");
  if (wants("jetstream") && natsServerBin() === undefined) {
    log("nats-server not found (apt-get install -y nats-server, or NATS_SERVER_BIN=<path>): JetStream rows skipped");
  } else if (wants("jetstream")) {
    nats = await spawnNats();
    await setupStream(nats.url, { maxAckPending: consumers * credit });
  }
  const sluices = [memory, sqlite].filter((s): s is SluiceUnderTest => s !== undefined);
  for (const s of sluices) rss[`${s.storage}Start`] = mib(readRssBytes(s.child.pid));
  log(`durable: ${sluices.map((s) => s.storage).join(", ")}${nats ? `, jetstream on :${nats.port}` : ""}; ${payloadBytes}-byte payloads, window ${window}, ${rate}/s open loop`);

  const sluiceScenario = async (s: SluiceUnderTest, name: string, kind: "ws" | "duplex", run: (c: Connected) => Promise<ScenarioResult>) => {
    const connect = () => connectSluice(s.child.url, QUEUE, { producers, consumers, credit, payloadBytes, producerKind: kind });
    results[s.storage]![name] = await measure(`${s.storage}.${name}`, s.child.pid, connect, run, (n) => (s.settled += n));
  };
  const jetStreamScenario = async (name: string, publisher: "client" | "lean", run: (c: Connected) => Promise<ScenarioResult>) => {
    if (!nats) return;
    const url = nats.url;
    const r = await measure(`jetstream.${name}`, nats.pid, () => connectJetStream(url, { producers, consumers, credit, payloadBytes, publisher }), run);
    const state = await streamState(nats.url);
    if (state.messages !== 0 || state.ackPending !== 0 || state.pending !== 0) throw new Error(`jetstream ${name}: stream not drained after the run: ${JSON.stringify(state)}`);
    results.jetstream![name] = r;
  };
  const closed = (label: string) => (c: Connected) => closedLoop(label, c, { window, warmupMs, measureMs });
  const open = (label: string) => (c: Connected) => openLoop(label, c, { rate, warmupMs, measureMs: openMs });

  // Interleaved: each loop runs on every server before the next loop starts.
  for (const kind of ["ws", "duplex"] as const) for (const s of sluices) await sluiceScenario(s, `${kind}Closed`, kind, closed(`${s.storage} ${kind} closed`));
  await jetStreamScenario("closed", "client", closed("jetstream closed"));
  await jetStreamScenario("leanClosed", "lean", closed("jetstream lean closed"));
  for (const kind of ["ws", "duplex"] as const) for (const s of sluices) await sluiceScenario(s, `${kind}Open`, kind, open(`${s.storage} ${kind} open ${rate}/s`));
  await jetStreamScenario("open", "client", open(`jetstream open ${rate}/s`));
  await jetStreamScenario("leanOpen", "lean", open(`jetstream lean open ${rate}/s`));

  for (const s of sluices) {
    rss[`${s.storage}End`] = mib(readRssBytes(s.child.pid));
    s.dataBytes = dirBytes(s.dataDir);
    const stats = (await (await fetch(`${s.child.url}/v1/queues/${QUEUE}`)).json()) as Record<string, number>;
    if (stats.acked !== s.settled || stats.pending !== 0 || stats.active !== 0) {
      throw new Error(`${s.storage}: server stats disagree with the client: acked ${stats.acked} vs ${s.settled} settled; pending ${stats.pending}, active ${stats.active}`);
    }
  }
  if (nats) rss.jetstreamEnd = mib(readRssBytes(nats.pid));
} finally {
  await Promise.allSettled([stopSluice(memory), stopSluice(sqlite), nats?.stop()]);
}

for (const group of Object.values(results)) {
  for (const r of Object.values(group)) if (r.duplicates !== 0 || r.errors !== 0) throw new Error(`${r.label}: ${r.duplicates} duplicate deliveries, ${r.errors} ERROR/GOAWAY frames or failed publishes`);
}

const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : round3(a / b));
const m = results.memory!;
const d = results.sqlite!;
const j = results.jetstream!;
// JetStream's closed-loop rate with whichever of its two producers was faster in this run.
const jetStreamBest = Math.max(j.closed?.msgsPerSec ?? 0, j.leanClosed?.msgsPerSec ?? 0) || undefined;
const ratios = {
  // Durable Sluice settled msg/s ÷ JetStream's (goal ≥ 2), against the faster JetStream producer.
  sqliteWsClosedVsJetStream: ratio(d.wsClosed?.msgsPerSec, jetStreamBest),
  sqliteDuplexClosedVsJetStream: ratio(d.duplexClosed?.msgsPerSec, jetStreamBest),
  memoryWsClosedVsJetStream: ratio(m.wsClosed?.msgsPerSec, jetStreamBest),
  memoryDuplexClosedVsJetStream: ratio(m.duplexClosed?.msgsPerSec, jetStreamBest),
  // …and against the client's own js.publish.
  sqliteWsClosedVsJetStreamClient: ratio(d.wsClosed?.msgsPerSec, j.closed?.msgsPerSec),
  sqliteDuplexClosedVsJetStreamClient: ratio(d.duplexClosed?.msgsPerSec, j.closed?.msgsPerSec),
  // What durability costs in throughput: durable ÷ memory.
  sqliteVsMemoryWsClosed: ratio(d.wsClosed?.msgsPerSec, m.wsClosed?.msgsPerSec),
  sqliteVsMemoryDuplexClosed: ratio(d.duplexClosed?.msgsPerSec, m.duplexClosed?.msgsPerSec),
  // p99 publish→receipt at the open-loop rate, durable ÷ memory (goal ≤ 2).
  receiptP99SqliteVsMemoryWsOpen: ratio(d.wsOpen?.receipt.p99Ms, m.wsOpen?.receipt.p99Ms),
  receiptP99SqliteVsMemoryDuplexOpen: ratio(d.duplexOpen?.receipt.p99Ms, m.duplexOpen?.receipt.p99Ms),
};
// Did the durable server actually write a database? (Before the storage work, the env is ignored.)
const storage = { sqliteDataBytes: sqlite?.dataBytes, memoryDataBytes: memory?.dataBytes, sqliteWritten: sqlite ? sqlite.dataBytes > 0 : undefined };
const otherCpu = Object.values(cpuShare).map((c) => c.other);
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

const line = (r: ScenarioResult) =>
  `${r.label.padEnd(26)} ${String(r.msgsPerSec).padStart(7)} msg/s  receipt p50 ${r.receipt.p50Ms} p99 ${r.receipt.p99Ms}  deliver p50 ${r.deliver.p50Ms} p99 ${r.deliver.p99Ms}  ack p99 ${r.ack.p99Ms} ms` +
  (r.maxScheduleLagMs === undefined ? "" : `  (schedule lag max ${r.maxScheduleLagMs} ms)`);
console.log(`durable: ${producers} producers, ${consumers} consumers, window ${window}, credit ${credit}, ${payloadBytes}-byte payloads, ${JSON.stringify(versions)}, ${cpus().length} cpus, ${Math.round((performance.now() - started) / 1000)} s`);
for (const group of Object.values(results)) for (const r of Object.values(group)) console.log(line(r));
for (const [k, v] of Object.entries(ratios)) if (v !== undefined) console.log(`${k}: ${v}`);
console.log(`storage: ${JSON.stringify(storage)}; RSS MiB: ${JSON.stringify(rss)}`);
console.log(`CPU % of one core (server / load generator / rest of the box): ${JSON.stringify(cpuShare)}; box ${JSON.stringify(box)}`);
console.log(
  "BENCH_JSON " +
    JSON.stringify({
      suite: "durable",
      runtime: "bun",
      version: process.versions.bun,
      cpus: cpus().length,
      versions,
      config: { producers, consumers, window, credit, rate, payloadBytes, warmupMs, measureMs, openMs, durability: durability || "server default", quietPct: Number.isFinite(quietPct) ? quietPct : undefined, quietBudgetS: QUIET_BUDGET_MS / 1000 },
      attempts,
      quietWaitS: Math.round(quietSpentMs / 100) / 10,
      results,
      ratios,
      storage,
      rssMiB: rss,
      cpuShare,
      box,
    }),
);
