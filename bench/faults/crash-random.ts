// Random kill -9 of the durable server under load (issue 11). Run:  npm run bench:crashes
// (= bun bench/faults/crash-random.ts). Not part of `npm test`.
//
// The real server (src/runtime/bun.ts, SQLite store in one data dir) is started, loaded and
// SIGKILLed at a random moment, `--crashes` times (default 25), then started once more and drained:
//   - producers over WebSocket (client Producer), HTTP POST and HTTP duplex (DuplexProducer),
//     `--loops` concurrent publish loops each, every payload unique ("<source>-<life>-<loop>-<n>");
//     a message counts as receipted when its RECEIPT / 202 arrived;
//   - 2 raw WebSocket consumers (credit 64), joining at a random point of each life so that a
//     backlog builds up first, ack what they get, hold a few leases unacked (those
//     come back after the crash as stalls), and send a PING every 25 acks: the PONG says every
//     ack before it is durable;
//   - after each kill, before the restart, a copy of the data dir (sluice.db + WAL) is read with
//     bun:sqlite, i.e. exactly what the restarted server will load, and checked: every receipted
//     message not acked since its last delivery must be stored (else it is LOST), and none whose
//     ack was confirmed durable may be (else that ack was lost). The restarted server must then
//     report the same number of stored items on its start-up line;
//   - at the end every receipted message must have been acked durably (or sit in the poison queue).
// It prints the figures and writes them to bench/CRASHES.md; exits 1 if anything was lost.
// Options: --crashes 25  --seed <n>  --min-ms 0  --max-ms 1500 (random time under load before a
// kill)  --loops 8 (publish loops per path)  --out bench/CRASHES.md ("" = do not write)
import { Database } from "bun:sqlite";
import { copyFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { cpus, tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { DuplexProducer, Producer } from "../../src/client/mod.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame, pingFrame } from "../../src/protocol/frame-builders.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { mulberry32 } from "../../test/seeded-random.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "../../test/integration/server-process.ts";
import { bounded } from "../../test/integration/frame-socket.ts";

const { values } = parseArgs({
  options: {
    crashes: { type: "string", default: "25" },
    seed: { type: "string" },
    "min-ms": { type: "string", default: "0" },
    "max-ms": { type: "string", default: "1500" },
    loops: { type: "string", default: "8" },
    out: { type: "string", default: "bench/CRASHES.md" },
  },
});
const CRASHES = Number(values.crashes);
const SEED = Number(values.seed ?? Date.now() % 2 ** 31);
const MIN_MS = Number(values["min-ms"]);
const MAX_MS = Number(values["max-ms"]);
const LOOPS = Number(values.loops);
const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const QUEUE = "crash";
// maxStalls high: a message in flight at several kills must not end in the poison queue here
// (that budget is test/integration/crash-loop.test.ts's subject); leases never expire on their own.
const CONFIG = { queues: { [QUEUE]: { capacity: 200_000, leaseMs: 600_000, maxStalls: 1000 } } };
const CONSUMERS = 2;
const CREDIT = 64;
const HOLD_PER_LIFE = 8; // leases each consumer keeps unacked per life at most
// Two streams, so the kill delays replay from the seed whatever the consumers' timing does to the holds.
const delays = mulberry32(SEED);
const holds = mulberry32(SEED ^ 0x5bd1e995);
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const log = (line: string) => process.stderr.write(`[crash] ${line}\n`);

/**
 * What the client side knows of each message: "pending" (receipted or delivered, and not acked
 * since its last delivery — must be stored), "ack-sent" (acked, commit not confirmed — may or may
 * not be stored), "acked" (ack confirmed durable by a PONG — must not be stored, nor delivered again).
 */
type State = "pending" | "ack-sent" | "acked";
const state = new Map<string, State>();
const receipted = new Set<string>();
const receiptedBySource: Record<string, number> = { ws: 0, http: 0, duplex: 0 };
let attempted = 0;
let deliveries = 0;
let redeliveries = 0;
/** Redeliveries of a message whose ack had been sent (not yet committed at the kill), or not. */
let redeliveredAfterAck = 0;
let redeliveredInFlight = 0;
/** Redeliveries at the same attempt as before the kill (that delivery's lease was never committed), of which not acked. */
let leaseNotRecorded = 0;
let leaseNotRecordedInFlight = 0;
const lastAttempt = new Map<string, number>();
let redeliveredAfterDurableAck = 0;
const distinctDelivered = new Set<string>();

interface LifeRow {
  life: number;
  delayMs: number;
  consumersAfterMs: number | undefined;
  receipted: number;
  acked: number;
  held: number;
  storedAtKill: number;
  mustBeStored: number;
  lost: number;
  ackLost: number;
  loadedAtRestart: number | undefined;
}
const rows: LifeRow[] = [];

function onDelivered(body: string, attempt: number): void {
  deliveries++;
  if (distinctDelivered.has(body)) {
    redeliveries++;
    const inFlight = state.get(body) === "pending";
    if (inFlight) redeliveredInFlight++;
    else redeliveredAfterAck++;
    if (attempt <= lastAttempt.get(body)!) {
      leaseNotRecorded++;
      if (inFlight) leaseNotRecordedInFlight++;
    }
  } else distinctDelivered.add(body);
  if (state.get(body) === "acked") redeliveredAfterDurableAck++;
  state.set(body, "pending");
  lastAttempt.set(body, attempt);
}

function onReceipt(body: string, source: string): void {
  receipted.add(body);
  receiptedBySource[source]!++;
  if (!state.has(body)) state.set(body, "pending");
}

/** A raw consumer: acks deliveries (a few held), PING every 25 acks, confirmed acks become "acked". */
async function consumer(url: string, stop: AbortSignal, counts: { acked: number; held: number }, hold = true): Promise<void> {
  const codec = createJsFrameCodec();
  const socket = new WebSocket(`${url.replace("http", "ws")}/v1/queues/${QUEUE}/ws`);
  socket.binaryType = "arraybuffer";
  let unconfirmed: string[] = [];
  const awaiting = new Map<number, string[]>();
  let pings = 0;
  let held = 0;
  const closed = new Promise<void>((r) => {
    socket.onclose = () => r();
    socket.onerror = () => r();
  });
  socket.onopen = () => socket.send(creditFrame(CREDIT));
  socket.onmessage = (e) => {
    const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), codec);
    if (!f.ok) return;
    const { type, id, arg, payload } = f.value;
    if (type === FrameType.DELIVER) {
      const body = decoder.decode(payload);
      onDelivered(body, arg);
      if (hold && held < HOLD_PER_LIFE && holds() < 0.01) {
        held++;
        counts.held++;
        return; // keep the lease: it is live when the process dies
      }
      socket.send(ackFrame(id));
      socket.send(creditFrame(1));
      state.set(body, "ack-sent");
      counts.acked++;
      unconfirmed.push(body);
      if (unconfirmed.length >= 25) {
        awaiting.set(++pings, unconfirmed);
        unconfirmed = [];
        socket.send(pingFrame(pings));
      }
    } else if (type === FrameType.PONG) {
      // Everything acked before this PING is committed — unless it was delivered again since (a later life).
      for (const body of awaiting.get(id) ?? []) if (state.get(body) === "ack-sent") state.set(body, "acked");
      awaiting.delete(id);
    }
  };
  stop.addEventListener("abort", () => socket.close(), { once: true });
  await closed;
}

/** Publish loops over the three paths until `stop` aborts or the server is gone. */
function producers(url: string, life: number, stop: AbortSignal): Promise<unknown>[] {
  const options = { url, queue: QUEUE, reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 20 }) };
  const ws = new Producer({ ...options, maxInFlight: LOOPS });
  const duplex = new DuplexProducer({ ...options, maxInFlight: LOOPS });
  const post = async (body: Uint8Array) => {
    try {
      const res = await fetch(`${url}/v1/queues/${QUEUE}/messages`, { method: "POST", body, signal: stop });
      await res.arrayBuffer();
      return { ok: res.status === 202 };
    } catch {
      return { ok: false };
    }
  };
  const paths: Record<string, (body: Uint8Array) => Promise<{ ok: boolean }>> = {
    ws: (b) => ws.publish(b),
    http: post,
    duplex: (b) => duplex.publish(b),
  };
  stop.addEventListener("abort", () => {
    ws.close();
    void duplex.end();
  }, { once: true });
  return Object.entries(paths).flatMap(([source, publish]) =>
    Array.from({ length: LOOPS }, async (_, loop) => {
      for (let n = 0; !stop.aborted; n++) {
        const body = `${source}-${life}-${loop}-${n}`;
        attempted++;
        const r = await publish(encoder.encode(body));
        if (!r.ok) return; // no receipt: may or may not be stored, not counted
        onReceipt(body, source);
      }
    })
  );
}


/** What the next server will load: a copy of the data dir read with bun:sqlite (the original is left alone). */
function storedPayloads(dataDir: string): Set<string> {
  const copy = mkdtempSync(join(tmpdir(), "sluice-crash-copy-"));
  try {
    for (const suffix of ["", "-wal", "-shm"]) {
      const from = join(dataDir, `sluice.db${suffix}`);
      if (existsSync(from)) copyFileSync(from, join(copy, `sluice.db${suffix}`));
    }
    const db = new Database(join(copy, "sluice.db"));
    try {
      const rows = db.query("SELECT payload FROM items WHERE queue = ? UNION ALL SELECT payload FROM poison WHERE queue = ?").all(QUEUE, QUEUE) as { payload: Uint8Array }[];
      return new Set(rows.map((r) => decoder.decode(r.payload)));
    } finally {
      db.close();
    }
  } finally {
    rmSync(copy, { recursive: true, force: true });
  }
}

function loadedCount(server: ServerProcess): number | undefined {
  const m = new RegExp(`${QUEUE}: (\\d+) held, (\\d+) poisoned`).exec(server.output());
  return m ? Number(m[1]) + Number(m[2]) : undefined;
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), "sluice-crash-data-"));
  const started = Date.now();
  const start = () => startServer("bun", { config: CONFIG, env: { SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" } });
  let runtime = "";
  let expectedAtRestart: number | undefined;
  log(`seed ${SEED}, ${CRASHES} crashes, ${MIN_MS}–${MAX_MS} ms under load before each, data dir ${dataDir}`);

  for (let life = 1; life <= CRASHES; life++) {
    const server = await start();
    runtime ||= /runtime: ([^)]+)\)/.exec(server.output())?.[1] ?? "?";
    const loaded = loadedCount(server);
    if (rows.length > 0) rows[rows.length - 1]!.loadedAtRestart = loaded;
    if (expectedAtRestart !== undefined && loaded !== expectedAtRestart) {
      throw new Error(`life ${life}: the server loaded ${loaded} items, the data dir held ${expectedAtRestart}`);
    }
    const receiptedBefore = receipted.size;
    const stop = new AbortController();
    const counts = { acked: 0, held: 0 };
    const delayMs = Math.round(MIN_MS + delays() * (MAX_MS - MIN_MS));
    // Consumers join at a random point of the life, so a backlog of receipted, never-delivered
    // messages builds up first (some lives end before they join at all).
    const consumersAfterMs = Math.round(delays() * delayMs * 1.2);
    const loops = producers(server.url, life, stop.signal);
    const consumers: Promise<void>[] = [];
    const joining = setTimeout(() => {
      for (let i = 0; i < CONSUMERS; i++) consumers.push(consumer(server.url, stop.signal, counts));
    }, consumersAfterMs);
    await new Promise((r) => setTimeout(r, delayMs));
    clearTimeout(joining);
    // The crash: nothing gets a chance to finish.
    await server.stop("SIGKILL");
    stop.abort();
    await bounded(Promise.all([...loops, ...consumers]), 20_000, `life ${life}: clients to notice the kill`);

    const stored = storedPayloads(dataDir);
    const mustBeStored = [...receipted].filter((b) => state.get(b) === "pending");
    const lost = mustBeStored.filter((b) => !stored.has(b));
    const ackLost = [...stored].filter((b) => state.get(b) === "acked");
    rows.push({
      life, delayMs, consumersAfterMs: consumersAfterMs < delayMs ? consumersAfterMs : undefined, receipted: receipted.size - receiptedBefore, acked: counts.acked, held: counts.held,
      storedAtKill: stored.size, mustBeStored: mustBeStored.length, lost: lost.length, ackLost: ackLost.length, loadedAtRestart: undefined,
    });
    log(`crash ${life}: after ${delayMs} ms (consumers from ${consumersAfterMs < delayMs ? `${consumersAfterMs} ms` : "never"}), ${receipted.size - receiptedBefore} receipted, ${counts.acked} acked, ${counts.held} held; ` +
      `stored ${stored.size} (${mustBeStored.length} must be), lost ${lost.length}, durable acks lost ${ackLost.length}`);
    if (lost.length > 0) log(`  lost: ${lost.slice(0, 10).join(", ")}${lost.length > 10 ? " …" : ""}`);
    expectedAtRestart = stored.size;
  }

  // The last life: no producers, drain everything.
  const server = await start();
  const loaded = loadedCount(server);
  rows[rows.length - 1]!.loadedAtRestart = loaded;
  if (loaded !== expectedAtRestart) throw new Error(`final start: the server loaded ${loaded} items, the data dir held ${expectedAtRestart}`);
  const stop = new AbortController();
  const counts = { acked: 0, held: 0 };
  const draining = consumer(server.url, stop.signal, counts, false);
  await waitFor(async () => {
    const s = await getJson<{ pending: number; active: number }>(`${server.url}/v1/queues/${QUEUE}`);
    return s.pending === 0 && s.active === 0;
  }, 60_000, "the final drain");
  // A graceful stop commits the drainer's last acks.
  stop.abort();
  await bounded(draining, 10_000, "the drainer to close");
  const poison = await getJson<{ count: number; entries: { payload: string }[] }>(`${server.url}/v1/queues/${QUEUE}/poison`);
  const poisoned = new Set(poison.entries.map((e) => atob(e.payload)));
  const { code } = await server.stop("SIGTERM");
  if (code !== 0) throw new Error(`final SIGTERM exited ${code}:\n${server.output()}`);
  // After a graceful stop the store is empty but for poison entries.
  const left = storedPayloads(dataDir);
  const notAcked = [...receipted].filter((b) => state.get(b) !== "ack-sent" && state.get(b) !== "acked" && !poisoned.has(b));
  const leftover = [...left].filter((b) => !poisoned.has(b));
  if (leftover.length > 0) throw new Error(`after the final drain and SIGTERM the store still holds ${leftover.length} item(s): ${leftover.slice(0, 5).join(", ")}`);
  rmSync(dataDir, { recursive: true, force: true });

  const lostTotal = rows.reduce((n, r) => n + r.lost, 0) + notAcked.length;
  const ackLostTotal = rows.reduce((n, r) => n + r.ackLost, 0);
  const sqliteVersion = (new Database(":memory:").query("SELECT sqlite_version() AS v").get() as { v: string }).v;
  const figures = {
    crashes: CRASHES,
    receipted: receipted.size,
    receiptedBySource,
    attempted,
    lost: lostTotal,
    durableAcksLost: ackLostTotal,
    redeliveredAfterDurableAck,
    deliveries,
    redeliveredDuplicates: redeliveries,
    redeliveredInFlight,
    redeliveredAfterAck,
    leaseNotRecorded,
    leaseNotRecordedInFlight,
    poisoned: poisoned.size,
    leftInStore: left.size,
    runtime,
    sqlite: sqliteVersion,
    date: new Date().toISOString(),
    seed: SEED,
    runtimeMs: Date.now() - started,
  };
  const verdict = lostTotal === 0 && ackLostTotal === 0 && redeliveredAfterDurableAck === 0 ? "PASS" : "FAIL";
  console.log(`crashes ${CRASHES}, receipted ${receipted.size}, lost ${lostTotal}, redelivered duplicates ${redeliveries}, ` +
    `durable acks lost ${ackLostTotal}, runtime ${runtime}, ${figures.date} — ${verdict}`);
  console.log(`CRASH_JSON ${JSON.stringify(figures)}`);
  if (values.out) writeFileSync(resolve(ROOT, values.out), report(figures, verdict));
  if (verdict !== "PASS") process.exit(1);
}

function report(f: Record<string, unknown> & { receiptedBySource: Record<string, number> }, verdict: string): string {
  const table = rows.map((r) =>
    `| ${r.life} | ${r.delayMs} | ${r.consumersAfterMs ?? "—"} | ${r.receipted} | ${r.acked} | ${r.held} | ${r.storedAtKill} | ${r.mustBeStored} | ${r.lost} | ${r.ackLost} | ${r.loadedAtRestart ?? "—"} |`
  );
  return `# Random crashes (kill -9) of the durable server

Generated by \`npm run bench:crashes\` (bench/faults/crash-random.ts) — do not edit by hand.
The server (src/runtime/bun.ts, SQLite store, durability "process") is SIGKILLed ${f.crashes} times at
random moments (${MIN_MS}–${MAX_MS} ms into each life) while producers publish over WebSocket, HTTP POST
and HTTP duplex (${LOOPS} loops each) and ${CONSUMERS} WebSocket consumers, joining at a random point of
the life so that a backlog builds up, ack what they get (a few leases held unacked, a PING every 25
acks). After each kill a copy of the data dir is checked: every receipted message not acked since
its last delivery must be stored, and no ack confirmed by a PONG may have been lost; each restart
must load exactly that many items; a final life drains the queue and stops with SIGTERM.

| | |
| --- | --- |
| Result | **${verdict}** |
| Crashes | ${f.crashes} |
| Messages receipted | ${f.receipted} (WebSocket ${f.receiptedBySource.ws}, HTTP POST ${f.receiptedBySource.http}, duplex ${f.receiptedBySource.duplex}; ${f.attempted} publishes tried) |
| Lost (receipted, never acked, not stored) | **${f.lost}** |
| Durable acks lost (acked + PONG, still stored) | ${f.durableAcksLost} |
| Delivered again after a durable ack | ${f.redeliveredAfterDurableAck} |
| Deliveries | ${f.deliveries} |
| Redelivered duplicates | ${f.redeliveredDuplicates}: ${f.redeliveredInFlight} delivered and not acked at a kill (in flight or held), ${f.redeliveredAfterAck} acked by the consumer but the ack not read or not committed by the server at the kill |
| Redelivered at the same attempt | ${f.leaseNotRecorded} (${f.leaseNotRecordedInFlight} of them not acked at the kill): their DELIVER left before the commit that records the lease, so the kill counted no stall for them |
| Poisoned | ${f.poisoned} |
| Runtime | bun ${String(f.runtime).replace(/^bun /, "")}, SQLite ${f.sqlite}, ${cpus().length} CPU(s) |
| Date | ${f.date} |
| Seed | ${f.seed} (\`npm run bench:crashes -- --seed ${f.seed}\`) |
| Run time | ${Math.round(Number(f.runtimeMs) / 100) / 10} s |

Per crash (receipted / acked / held: during that life; stored: items in the data dir after the kill,
of which "must" were receipted and not acked since their last delivery; loaded: the restart's count):

| Life | ms before kill | Consumers from ms | Receipted | Acked | Held | Stored | Must be stored | Lost | Durable acks lost | Loaded at restart |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |
${table.join("\n")}
`;
}

await main();
