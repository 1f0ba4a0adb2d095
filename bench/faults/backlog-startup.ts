// Start-up with a big stored backlog (issue 11). Run:  npm run bench:store
// (= bun bench/faults/backlog-startup.ts [--items 1000000] [--payload 64] [--runs 3] [--out bench/STORE.md]
//  [--quiet-wait-s 300] [--quiet-load 1.5]: on a shared box, wait at most that long for a quiet one).
//
// 1. Writes a backlog of `--items` messages of `--payload` bytes into a fresh store, through the
//    library the server runs on (SqlStore + a SafeTaskQueue of capacity 2,000,000, tryEnqueue in
//    batches of 10,000, each batch committed with store.flush()), and an empty store next to it.
// 2. Starts the real server (`src/runtime/bun.ts`, a child process on a free loopback port, queue
//    capacity 1024 — so the backlog is far over capacity) on each store, `--runs` times,
//    alternating, and measures: spawn → "loaded in N ms" line, spawn → "listening" line, the
//    N of that line, RSS (VmRSS) when listening and 1 s later, peak RSS (VmHWM), spawn → first
//    delivery to a WebSocket consumer, and SIGTERM → exit. Medians go side by side.
// 3. Rewrites bench/STORE.md with the figures, the Bun version, the date and the machine.
// Stores live in a temp dir that is removed at the end.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { SafeTaskQueue } from "../../src/queue/safe-task-queue.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { bytesCodec, SqlStore } from "../../src/store/mod.ts";
import { creditFrame } from "../../src/protocol/frame-builders.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFrameMessage } from "../../src/protocol/frames.ts";
import { createJsFrameCodec } from "../../src/wasm/mod.ts";
import { runtimeBin } from "../load/child.ts";

const { values } = parseArgs({
  options: {
    items: { type: "string", default: "1000000" },
    payload: { type: "string", default: "64" },
    runs: { type: "string", default: "3" },
    out: { type: "string" },
    "quiet-wait-s": { type: "string", default: "300" },
    "quiet-load": { type: "string", default: "1.5" },
  },
});
const ITEMS = Number(values.items);
const PAYLOAD = Number(values.payload);
const RUNS = Number(values.runs);
const BATCH = 10_000;
const QUEUE = "jobs";
const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const OUT = values.out ?? join(ROOT, "bench/STORE.md");
const START_TIMEOUT_MS = 120_000;
const QUIET_WAIT_MS = Number(values["quiet-wait-s"]) * 1000;
const QUIET_LOAD = Number(values["quiet-load"]);

const log = (line: string) => process.stderr.write(`[store] ${line}\n`);
const mib = (bytes: number) => (bytes / 2 ** 20).toFixed(1);
const median = (xs: number[]) => {
  const s = xs.toSorted((a, b) => a - b);
  return s.length % 2 === 1 ? s[(s.length - 1) >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** VmRSS and VmHWM of a process, bytes (NaN without /proc). */
function memory(pid: number): { rss: number; peak: number } {
  try {
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
    return { rss: kb("VmRSS"), peak: kb("VmHWM") };
  } catch {
    return { rss: NaN, peak: NaN };
  }
}

/** Writes `items` messages into a new store at `dir` through the library; returns ms taken. */
async function writeBacklog(dir: string, items: number): Promise<number> {
  const path = join(dir, "sluice.db");
  const opened = SqlStore.open({ driver: await openSqlite(path), path, durability: "process" });
  if (!opened.ok) throw new Error(opened.error.message);
  const store = opened.value;
  // A small memory window: the writer keeps almost nothing in memory, like a server past its window.
  const queue = SafeTaskQueue.create<Uint8Array>({ name: QUEUE, capacity: 2_000_000, maxBytes: 1 << 20, journal: store.journal(QUEUE, bytesCodec) });
  const started = performance.now();
  for (let i = 0; i < items; ) {
    for (const end = Math.min(items, i + BATCH); i < end; i++) {
      const payload = new Uint8Array(PAYLOAD);
      new DataView(payload.buffer).setUint32(0, i, true);
      const added = queue.tryEnqueue(payload);
      if (!added.ok) throw new Error(`enqueue ${i}: ${added.error.message}`);
    }
    const flushed = store.flush();
    if (!flushed.ok) throw new Error(flushed.error.message);
    if (i % 200_000 === 0) log(`  ${i} written`);
  }
  const ms = performance.now() - started;
  queue.close();
  const closed = store.close();
  if (!closed.ok) throw new Error(closed.error.message);
  return ms;
}

interface Run {
  readonly store: "backlog" | "empty";
  /** spawn → "loaded in N ms" line on stdout. */
  readonly toLoadedMs: number;
  /** The N of that line (the store's own measurement of broker creation). */
  readonly loadedMs: number;
  readonly held: number;
  /** spawn → "listening on" line. */
  readonly toListeningMs: number;
  readonly rssListening: number;
  readonly rssSettled: number;
  readonly peak: number;
  /** spawn → first DELIVER to a consumer that connected once the server listened (backlog only). */
  readonly toFirstDeliveryMs: number;
  /** SIGTERM → exit. */
  readonly exitMs: number;
  readonly exitCode: number | null;
}

async function startOnce(store: Run["store"], dataDir: string, configPath: string): Promise<Run> {
  const workDir = mkdtempSync(join(tmpdir(), "sluice-store-run-"));
  const t0 = performance.now();
  const child: ChildProcess = spawn(runtimeBin("bun"), [join(ROOT, "src/runtime/bun.ts")], {
    cwd: workDir,
    env: { ...process.env, PORT: "0", SLUICE_HOST: "127.0.0.1", SLUICE_CONFIG: configPath, SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let toLoadedMs = NaN;
  let toListeningMs = NaN;
  let rssListening = NaN;
  let exitCode: number | null | undefined;
  let exitedAt = NaN;
  const exited = new Promise<void>((r) => child.on("exit", (code) => ((exitCode = code), (exitedAt = performance.now()), r())));
  const listening = new Promise<number>((resolvePort, reject) => {
    const onData = (d: Buffer) => {
      const now = performance.now();
      output += String(d);
      if (Number.isNaN(toLoadedMs) && /loaded in \d+ ms/.test(output)) toLoadedMs = now - t0;
      const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(output);
      if (m && Number.isNaN(toListeningMs)) {
        toListeningMs = now - t0;
        rssListening = memory(child.pid!).rss;
        resolvePort(Number(m[1]));
      }
    };
    child.stdout!.on("data", onData);
    child.stderr!.on("data", (d: Buffer) => (output += String(d)));
    void exited.then(() => reject(new Error(`server exited (${exitCode}) before listening:\n${output}`)));
    setTimeout(() => reject(new Error(`server did not listen within ${START_TIMEOUT_MS} ms:\n${output}`)), START_TIMEOUT_MS).unref?.();
  });
  try {
    const port = await listening;
    const line = /loaded in (\d+) ms \(.*jobs: (\d+) held/.exec(output);
    if (line === null) throw new Error(`no store line in:\n${output}`);
    // The first delivery: one consumer, credit 1, connected as soon as the server listens. It keeps
    // the lease through the SIGTERM: with drainMs 0 the drain puts it back uncounted, so every
    // run starts on the same store (an ack would remove it, a disconnect would count a stall).
    const consumer = store === "backlog" ? await firstDelivery(port, t0) : undefined;
    await new Promise((r) => setTimeout(r, 1000));
    const settled = memory(child.pid!);
    const signalled = performance.now();
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 30_000);
    await exited;
    clearTimeout(timer);
    consumer?.socket.close();
    const toFirstDeliveryMs = consumer?.ms ?? NaN;
    return {
      store,
      toLoadedMs,
      loadedMs: Number(line[1]),
      held: Number(line[2]),
      toListeningMs,
      rssListening,
      rssSettled: settled.rss,
      peak: settled.peak,
      toFirstDeliveryMs,
      exitMs: exitedAt - signalled,
      exitCode: exitCode ?? null,
    };
  } finally {
    if (exitCode === undefined) {
      child.kill("SIGKILL");
      await exited;
    }
    rmSync(workDir, { recursive: true, force: true });
  }
}

/** Opens a WebSocket consumer with credit 1; resolves with spawn → first DELIVER and the open socket. */
async function firstDelivery(port: number, t0: number): Promise<{ ms: number; socket: WebSocket }> {
  const codec = createJsFrameCodec();
  const socket = new WebSocket(`ws://127.0.0.1:${port}/v1/queues/${QUEUE}/ws`);
  socket.binaryType = "arraybuffer";
  const ms = await new Promise<number>((resolveAt, reject) => {
    const timer = setTimeout(() => reject(new Error("no delivery within 30 s")), 30_000);
    socket.onopen = () => socket.send(creditFrame(1));
    socket.onerror = () => reject(new Error("consumer socket failed"));
    socket.onmessage = (e) => {
      const f = decodeFrameMessage(new Uint8Array(e.data as ArrayBuffer), codec);
      if (f.ok && f.value.type === FrameType.DELIVER) {
        clearTimeout(timer);
        resolveAt(performance.now() - t0);
      }
    };
  }).catch((e) => {
    socket.close();
    throw e;
  });
  return { ms, socket };
}

/** On a shared box, waits (at most --quiet-wait-s) until the 1-minute load average is below --quiet-load. */
async function waitForQuietBox(): Promise<void> {
  const until = Date.now() + QUIET_WAIT_MS;
  if (loadavg()[0]! >= QUIET_LOAD) log(`waiting up to ${QUIET_WAIT_MS / 1000} s for load average < ${QUIET_LOAD} (now ${loadavg()[0]!.toFixed(2)})`);
  while (loadavg()[0]! >= QUIET_LOAD && Date.now() < until) await new Promise((r) => setTimeout(r, 2000));
  log(`starting the runs at load average ${loadavg()[0]!.toFixed(2)}`);
}

/** The commit measured: short hash, plus a note when the work tree has uncommitted changes to src/. */
function commitMeasured(): string {
  const git = (...args: string[]) => spawnSync("git", args, { cwd: ROOT, encoding: "utf8" }).stdout?.trim() ?? "";
  const head = git("rev-parse", "--short", "HEAD") || "unknown";
  return git("status", "--porcelain", "--", "src") === "" ? head : `${head} + uncommitted changes in src/`;
}

function fileSize(path: string): number {
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

async function main(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "sluice-store-bench-"));
  try {
    const backlogDir = join(root, "backlog");
    const emptyDir = join(root, "empty");
    for (const d of [backlogDir, emptyDir]) mkdirSync(d);
    await waitForQuietBox();
    const loadWriting = loadavg()[0]!;
    log(`writing ${ITEMS} × ${PAYLOAD} B into ${backlogDir}`);
    const writeMs = await writeBacklog(backlogDir, ITEMS);
    await writeBacklog(emptyDir, 0);
    const dbBytes = fileSize(join(backlogDir, "sluice.db")) + fileSize(join(backlogDir, "sluice.db-wal"));
    log(`backlog written in ${(writeMs / 1000).toFixed(1)} s (${Math.round(ITEMS / (writeMs / 1000))} msg/s); store ${mib(dbBytes)} MiB`);

    const configPath = join(root, "sluice.config.json");
    writeFileSync(configPath, JSON.stringify({ drainMs: 0, queues: { [QUEUE]: { capacity: 1024 } } }));
    await waitForQuietBox();
    const loadBefore = loadavg();
    const runs: Run[] = [];
    for (let r = 0; r < RUNS; r++) {
      for (const [store, dir] of [["backlog", backlogDir], ["empty", emptyDir]] as const) {
        const run = await startOnce(store, dir, configPath);
        runs.push(run);
        log(
          `${store} #${r + 1}: loaded line at ${run.toLoadedMs.toFixed(0)} ms (says ${run.loadedMs} ms, ${run.held} held), listening at ${run.toListeningMs.toFixed(0)} ms, ` +
            `RSS ${mib(run.rssListening)} → ${mib(run.rssSettled)} MiB (peak ${mib(run.peak)}), first delivery ${run.toFirstDeliveryMs.toFixed(0)} ms, exit ${run.exitMs.toFixed(0)} ms (code ${run.exitCode})`,
        );
      }
    }
    const bad = runs.filter((r) => r.exitCode !== 0 || (r.store === "backlog" && r.held !== ITEMS) || (r.store === "empty" && r.held !== 0));
    if (bad.length > 0) throw new Error(`unexpected runs: ${JSON.stringify(bad)}`);
    writeReport({ writeMs, dbBytes, runs, load: [loadWriting, loadBefore[0]!, loadavg()[0]!] });
    log(`wrote ${OUT}`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

function writeReport({ writeMs, dbBytes, runs, load }: { writeMs: number; dbBytes: number; runs: Run[]; load: [number, number, number] }): void {
  const of = (store: Run["store"]) => runs.filter((r) => r.store === store);
  const backlog = of("backlog");
  const empty = of("empty");
  const row = (label: string, pick: (r: Run) => number, unit: "ms" | "MiB") => {
    const fmt = (n: number) => (Number.isNaN(n) ? "—" : unit === "ms" ? n.toFixed(0) : mib(n));
    const b = median(backlog.map(pick));
    const e = median(empty.map(pick));
    const all = (rs: Run[]) => rs.map((r) => fmt(pick(r))).join(" / ");
    return `| ${label} | ${fmt(b)} | ${fmt(e)} | ${Number.isNaN(b) || Number.isNaN(e) ? "—" : fmt(b - e)} | ${all(backlog)} | ${all(empty)} |`;
  };
  const date = new Date().toISOString().slice(0, 10);
  const cpu = cpus();
  const n = ITEMS.toLocaleString("en-US");
  const text = `# Store start-up with a ${n}-item backlog

Generated by \`npm run bench:store\` (\`bench/faults/backlog-startup.ts\`) on ${date}, commit ${commitMeasured()}.
Bun ${Bun.version}, ${process.platform}/${process.arch}, ${cpu.length} × ${cpu[0]?.model.trim() ?? "unknown CPU"}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM.

**Backlog**: ${n} messages of ${PAYLOAD} B in queue \`${QUEUE}\`, written through the library
(\`SqlStore\` + \`SafeTaskQueue\`, capacity 2,000,000, \`tryEnqueue\` in batches of ${BATCH.toLocaleString("en-US")} each committed by
\`store.flush()\`, durability \`process\`; box load average ${load[0].toFixed(2)}) in ${(writeMs / 1000).toFixed(1)} s — ${Math.round(ITEMS / (writeMs / 1000)).toLocaleString("en-US")} msg/s.
Store file: ${mib(dbBytes)} MiB. **Empty**: a store with the schema and no items.

**Server**: \`src/runtime/bun.ts\` as a child process (\`SLUICE_DATA_DIR\` = that store), queue \`${QUEUE}\` with capacity 1024
(the backlog is ${Math.round(ITEMS / 1024)}× over capacity) and \`drainMs: 0\`. ${RUNS} start(s) on each store, alternating; medians, then
every run. Box load average (1 min) ${load[1].toFixed(2)} before the starts, ${load[2].toFixed(2)} after.

| | backlog (${n}) | empty | difference | backlog runs | empty runs |
| --- | ---: | ---: | ---: | --- | --- |
${row("spawn → \"loaded in N ms\" line (ms)", (r) => r.toLoadedMs, "ms")}
${row("N of that line: opening the queues on the store (ms)", (r) => r.loadedMs, "ms")}
${row("spawn → \"listening\" (ms)", (r) => r.toListeningMs, "ms")}
${row("spawn → first delivery to a consumer (ms)", (r) => r.toFirstDeliveryMs, "ms")}
${row("RSS when listening (MiB)", (r) => r.rssListening, "MiB")}
${row("RSS 1 s later (after the first delivery, if any) (MiB)", (r) => r.rssSettled, "MiB")}
${row("peak RSS, VmHWM (MiB)", (r) => r.peak, "MiB")}
${row("SIGTERM → exit (ms)", (r) => r.exitMs, "ms")}

A consumer (WebSocket, credit 1) connects as soon as the server listens and keeps its one delivery
through the SIGTERM; \`drainMs: 0\` puts it back without counting the attempt, so every start sees
the same store.

"Loaded in N ms" is the server's own line: creating the broker, whose stored queues recover crashed
leases, count the stored items, read the poison entries and idempotency keys of stored items, and
page in the first memory window (at most ${1024} ready items) — the rest stays in the store and is
paged in as the window drains. "spawn → listening" adds the runtime's start, module loading and
opening the database. RSS is VmRSS of the server process from /proc/<pid>/status.
`;
  writeFileSync(OUT, text);
}

await main();
