// The durable section of bench/RESULTS.md (bench/durable/durable.bench.ts): Sluice in memory, on
// SQLite and on NATS JetStream, and the raw @nats-io/jetstream client on the same nats-server;
// the issue-11 targets (SQLite Sluice vs JetStream) and the issue-15 ones (Sluice on JetStream vs
// the raw client, goal ≥ 0.8×), with what the per-message NATS traffic and a CPU profile say limits it.

import { failureNote, fmt, mark, medianOf, ms, runRange, runsNote, x } from "./bench-report-format.mjs";

/**
 * Where Sluice on JetStream spends its time, from `bun bench/durable/durable.bench.ts --only
 * sluiceJetStream,jetstream --cpu-prof <dir>` (bun --cpu-prof of the Sluice server over both of its
 * closed loops and open loops). Hand-measured: it says which commit it was measured on, and is
 * rendered only while the bench's own per-message counts still show a pull request per message.
 */
const JETSTREAM_PROFILE = {
  measuredOn: "f675238 (src/backends/jetstream as of then; unchanged where it matters through dd401ab), 2026-11-28, bun 1.4.5, nats-server v2.9.10, @nats-io/jetstream 3.4.0, a 2-core box shared with other work",
  text: [
    "**Profile** (bun `--cpu-prof` of the Sluice server over its closed and open loops, sampled CPU time): ~33 % in the NATS client's socket writes (`@nats-io/transport-node` `socket.write` → Bun's `writeBuffered`: nats-core flushes its outbound buffer once per microtask checkpoint, and every pull request, publish and ack here starts from a WebSocket message or timer callback of its own, so nearly every NATS command goes out in a write syscall of its own); ~16 % in WebSocket `cork` + `send` of DELIVER frames leaving one or two at a time; ~7 % in `consumer.fetch()` setting up each pull (inbox subscription, request, idle-heartbeat monitor, timers, unsubscribe); ~5 % in `js.publish` (a promise, a timeout timer, an `Error` for its stack and a JSON parse per message). Sluice's own queue code is a few %. CPU per settled message (closed loop, WS producers): Sluice ~500 µs, its nats-server ~250–300 µs; the raw client's nats-server ~35 µs.",
    "**What limits it: one pull request per message.** `PullDemand` asks JetStream for `takers − ready − arriving` messages, and a WebSocket consumer parks one `leaseWith` at a time (`ConsumerOutlet.#pump`; the rest of a batch comes from `tryLease`, i.e. only from what was already pulled). With 2 consumers no more than 2 messages are ever requested, whatever credit they gave: each message costs a `fetch()` of 1 (the traffic table: 3 NATS messages in and 1 subscription created per settled message, where the raw client's `consume()` needs 2 and 0), a round trip before the next delivery, and a NATS write and a DELIVER frame of its own. Throughput is bounded by those round trips, not by JetStream; and at 6,000 msg/s the publishes take the CPU the pulls need, so deliveries fall further behind.",
    "**Tried on a scratch copy of the tree (src/ here unchanged)**, each step on top of the previous one; closed loop, Sluice on JetStream ÷ raw `js.publish` in the same run, median of 3 interleaved `--quick --quiet 30` runs (WS / HTTP duplex producers; Sluice CPU per settled message, WS): as committed 0.12× / 0.13× (~540 µs); pulls sized by demand × 128 instead of 1 per parked consumer 0.56× / 0.63× (~180 µs; 0.01 subscriptions and 2.01 NATS messages in per message, as the raw client); plus acks and publishes issued from one `setImmediate` per turn, so nats-core flushes them in one write 0.66× / 1.01× (~120 µs); plus a lean publish (a core PUB with a reply subject on one wildcard PubAck subscription instead of `js.publish`) 0.78× / 1.05× (~80 µs) — against the raw lean publisher still 0.37× / 0.73×. What is left is structural on this box: per message Sluice does the raw client's NATS work *and* a WebSocket round trip to each side, in a third process, on 2 cores that the load generator and nats-server share.",
  ],
};

function cpuCell(m, key) {
  const s = m.cpuShare?.[key];
  if (!s) return "–";
  return `${fmt(s.server)}${s.nats === undefined ? "" : ` + ${fmt(s.nats)} NATS`} / ${fmt(s.client)} / ${fmt(s.other)}`;
}

// Settled msg/s; for an open loop the server fell behind, what it settled within the window too,
// and the publishes it refused (median over the runs, and in how many runs it refused any).
function rateCell(suite, key, s, rate) {
  const notes = [];
  if (s.settledInWindowPerSec !== undefined && rate !== undefined && s.settledInWindowPerSec < 0.95 * rate) notes.push(`fell behind: settled ${fmt(s.settledInWindowPerSec)}/s within the window`);
  const [group, name] = key.split(".");
  const refusing = suite.runs.filter((run) => run.results?.[group]?.[name]?.refused > 0).length;
  if (refusing > 0) notes.push(`refused publishes in ${refusing} of ${suite.runs.length} run${suite.runs.length === 1 ? "" : "s"}: median ${fmt(s.refused)} of ${fmt(s.published)} (queue.full, GOAWAY, socket closed 1013) — percentiles over what settled`);
  return `${fmt(s.msgsPerSec)}${notes.length ? ` (${notes.join("; ")})` : ""}`;
}

function table(suite, m, rows, rate) {
  let md = `\n| server, producers | settled msg/s | publish→receipt p50 / p99 (ms) | publish→deliver p50 / p99 (ms) | publish→ack p99 (ms) | CPU % of one core: server / load gen / rest of box |\n|---|---|---|---|---|---|\n`;
  for (const [name, s, key] of rows) {
    if (!s) continue;
    md += `| ${name} | ${rateCell(suite, key, s, rate)} | ${ms(s.receipt.p50Ms)} / ${ms(s.receipt.p99Ms)} | ${ms(s.deliver.p50Ms)} / ${ms(s.deliver.p99Ms)} | ${ms(s.ack.p99Ms)} | ${cpuCell(m, key)} |\n`;
  }
  return md;
}

export function renderDurable(suite) {
  let md = `## Durable storage: SQLite vs in-memory Sluice, and NATS JetStream (issue 11)\n\n\`${suite.command}\` — ${runsNote(suite)}.\n`;
  md += failureNote(suite);
  const m = medianOf(suite.runs);
  if (!m) return md;
  const c = m.config;
  const v = m.versions ?? {};
  const r = m.results ?? {};
  const mem = r.memory ?? {};
  const sql = r.sqlite ?? {};
  const sjs = r.sluiceJetStream ?? {};
  const js = r.jetstream ?? {};
  md += `bun ${v.bun} (its bundled SQLite ${v.sqlite}), nats-server ${v.natsServer}, @nats-io/jetstream ${v.natsJetstream} + @nats-io/transport-node ${v.natsTransportNode} (run under bun).\n`;
  md += `Servers as child processes on loopback, one load-generator process (one clock), the load bench's clients and loops (\`bench/load/\`): `;
  md += `Sluice with \`SLUICE_STORAGE=memory\`; Sluice with \`SLUICE_STORAGE=sqlite\` (fresh \`SLUICE_DATA_DIR\` per run, \`SLUICE_DURABILITY=${c.durability}\`${c.durability === "process" ? ": WAL with synchronous=NORMAL, survives a kill -9 of the server, not a power cut" : c.durability === "power" ? ": synchronous=FULL, an fsync per group commit" : ""}; a RECEIPT or 202 only after the group commit); `;
  md += `\`nats-server -js\` with file storage in a fresh temp dir (defaults: a PubAck once the message is written to the file, fsync in the background — also survives a kill -9, not a power cut), one work-queue stream, one durable pull consumer with explicit acks; `;
  md += `Sluice with \`SLUICE_STORAGE=jetstream\` and \`SLUICE_NATS_URL\` pointing at that same nats-server (its queue \`bench-js\` → stream \`SLUICE_bench-js\`, apart from the raw client's \`SLUICE_BENCH\`; both streams checked empty and fully acked after every scenario). `;
  md += `${c.producers} producers, ${c.consumers} consumers acking every message (credit / pull batch ${c.credit}), ${c.payloadBytes}-byte payloads; closed loop = ${c.window} in flight end to end, ${c.measureMs / 1000} s measured after ${c.warmupMs / 1000} s warm-up; open loop = ${fmt(c.rate)} msg/s for ${c.openMs / 1000} s. `;
  md += `Scenarios interleaved (memory, SQLite, Sluice on JetStream, raw JetStream for each loop). Raw JetStream producers two ways: \`js.publish\` per message (the client's API: a promise, a timer and a JSON parse each), and lean (the same publish on the wire, a core PUB with a reply subject, PubAcks on one wildcard subscription — as lean as the Sluice load clients' raw frames); the consumer is \`consume()\` in callback mode in both.\n`;
  if (c.quietPct !== undefined) {
    const repeats = suite.runs.reduce((n, run) => n + Object.values(run.attempts ?? {}).reduce((k, a) => k + a - 1, 0), 0);
    const scenarios = suite.runs.reduce((n, run) => n + Object.keys(run.attempts ?? {}).length, 0);
    md += `Shared box, quiet mode (\`SLUICE_BENCH_QUIET=${c.quietPct}\`): each scenario waited for the rest of the box to be at most ${c.quietPct} % of one core busy and was repeated (up to 3 attempts) when it rose above ${Math.max(2 * c.quietPct, c.quietPct + 25)} % during it, within ${c.quietBudgetS ?? 90} s of waiting per run; the figures are the last attempt's. ${repeats} repeat(s) over ${scenarios} scenarios; median wait ${fmt(m.quietWaitS, 0)} s per run.\n`;
  }
  if (m.storage?.sqliteWritten === false) {
    md += `\n> **The SQLite server wrote no data file**: this build ignores \`SLUICE_STORAGE\`, so both Sluice rows ran in memory.\n`;
  } else if (m.storage?.sqliteDataBytes !== undefined) {
    md += `SQLite data dir at the end of a run: ${fmt(m.storage.sqliteDataBytes / 2 ** 20, 1)} MiB (median).\n`;
  }
  const rows = (loop) => [
    ["Sluice memory, WS producers", mem[`ws${loop}`], `memory.ws${loop}`],
    ["Sluice SQLite, WS producers", sql[`ws${loop}`], `sqlite.ws${loop}`],
    ["Sluice on JetStream, WS producers", sjs[`ws${loop}`], `sluiceJetStream.ws${loop}`],
    ["Sluice memory, HTTP duplex producers", mem[`duplex${loop}`], `memory.duplex${loop}`],
    ["Sluice SQLite, HTTP duplex producers", sql[`duplex${loop}`], `sqlite.duplex${loop}`],
    ["Sluice on JetStream, HTTP duplex producers", sjs[`duplex${loop}`], `sluiceJetStream.duplex${loop}`],
    ["NATS JetStream, js.publish", js[loop === "Closed" ? "closed" : loop === "Open" ? "open" : "openLow"], `jetstream.${loop === "Closed" ? "closed" : loop === "Open" ? "open" : "openLow"}`],
    ["NATS JetStream, lean publish", js[`lean${loop}`], `jetstream.lean${loop}`],
  ];
  md += `\nClosed loop (${c.window} in flight):\n${table(suite, m, rows("Closed"))}`;
  md += `\nOpen loop, ${fmt(c.rate)} msg/s:\n${table(suite, m, rows("Open"), c.rate)}`;
  md += `\nCPU: for Sluice on JetStream "server" is the Sluice process + its nats-server. An open-loop row's settled msg/s counts the window's messages delivered by the end of the run; a server that fell behind says what it settled within the window.\n`;
  // Ratios of the medians in the tables; the per-run ratios' range says how steady they were.
  const best = Math.max(js.closed?.msgsPerSec ?? 0, js.leanClosed?.msgsPerSec ?? 0) || undefined;
  const bestName = best === undefined ? "" : best === js.leanClosed?.msgsPerSec ? "lean publish" : "js.publish";
  md += `\nTargets (ratios of the medians above; "runs" = the range of the same ratio within each run):\n`;
  if (best !== undefined && sql.wsClosed) {
    const vs = (s, ratioKey) => {
      if (!s) return "–";
      const k = s.msgsPerSec / best;
      return `${fmt(s.msgsPerSec)} ÷ ${fmt(best)} = ${x(k)}${runRange(suite, ["ratios", `sqlite${ratioKey}ClosedVsJetStream`], x)} — ${mark(k >= 2)}`;
    };
    md += `- durable Sluice settled msg/s ≥ 2× JetStream's (closed loop, against the faster JetStream producer, ${bestName}): WS producers ${vs(sql.wsClosed, "Ws")}; HTTP duplex producers ${vs(sql.duplexClosed, "Duplex")}.`;
    if (js.closed) md += ` Against \`js.publish\` (${fmt(js.closed.msgsPerSec)}): WS ${x(sql.wsClosed?.msgsPerSec / js.closed.msgsPerSec)}, duplex ${x(sql.duplexClosed?.msgsPerSec / js.closed.msgsPerSec)}.`;
    md += `\n`;
  }
  const p99 = (kind) => {
    const d = sql[`${kind}Open`];
    const mm = mem[`${kind}Open`];
    if (!d || !mm) return "–";
    const k = d.receipt.p99Ms / mm.receipt.p99Ms;
    return `${ms(d.receipt.p99Ms)} ÷ ${ms(mm.receipt.p99Ms)} ms = ${x(k)}${runRange(suite, ["ratios", `receiptP99SqliteVsMemory${kind === "ws" ? "Ws" : "Duplex"}Open`], x)} — ${mark(k <= 2)}`;
  };
  if (sql.wsOpen && mem.wsOpen) md += `- p99 publish→receipt at ${fmt(c.rate)} msg/s, durable ÷ memory ≤ 2×: WS producers ${p99("ws")}; HTTP duplex producers ${p99("duplex")}.\n`;
  if (mem.wsClosed && sql.wsClosed) md += `- what durability costs in closed-loop throughput (SQLite ÷ memory): WS ${x(sql.wsClosed.msgsPerSec / mem.wsClosed.msgsPerSec)}, HTTP duplex ${x(sql.duplexClosed?.msgsPerSec / mem.duplexClosed?.msgsPerSec)}.\n`;
  md += renderSluiceOnJetStream(suite, m);
  md += renderBox(suite, m);
  return md;
}

// Issue 15: Sluice on JetStream against the raw client and against Sluice on SQLite.
function renderSluiceOnJetStream(suite, m) {
  const c = m.config;
  const r = m.results ?? {};
  const sjs = r.sluiceJetStream ?? {};
  const js = r.jetstream ?? {};
  const sql = r.sqlite ?? {};
  if (!sjs.wsClosed && !sjs.duplexClosed) return "";
  let md = `\n### Sluice on JetStream vs the raw \`@nats-io/jetstream\` client (issue 15)\n`;
  if (c.lowRate > 0 && (sjs.wsOpenLow || js.openLow)) {
    md += `\nOpen loop, ${fmt(c.lowRate)} msg/s (latency below saturation; a row that fell behind says so):\n`;
    md += table(suite, m, [
      ["Sluice on JetStream, WS producers", sjs.wsOpenLow, "sluiceJetStream.wsOpenLow"],
      ["Sluice on JetStream, HTTP duplex producers", sjs.duplexOpenLow, "sluiceJetStream.duplexOpenLow"],
      ["NATS JetStream, js.publish", js.openLow, "jetstream.openLow"],
      ["NATS JetStream, lean publish", js.leanOpenLow, "jetstream.leanOpenLow"],
    ], c.lowRate);
  }
  const trafficRows = [
    ["Sluice on JetStream, WS producers", sjs.wsClosed],
    ["Sluice on JetStream, HTTP duplex producers", sjs.duplexClosed],
    ["raw client, js.publish", js.closed],
    ["raw client, lean publish", js.leanClosed],
  ].filter(([, s]) => s?.nats);
  if (trafficRows.length) {
    md += `\nNATS traffic per settled message, closed loop (nats-server \`/varz\` and \`/subsz\` before and after each scenario):\n\n| client of nats-server | NATS messages in (PUB: publish, pull request, ack, API) | out (MSG: PubAck, delivery, pull status) | subscriptions created |\n|---|---|---|---|\n`;
    for (const [name, s] of trafficRows) md += `| ${name} | ${fmt(s.nats.inPerMsg, 2)} | ${fmt(s.nats.outPerMsg, 2)} | ${fmt(s.nats.subsPerMsg, 2)} |\n`;
  }
  md += `\nTargets (goal: Sluice on JetStream ≥ 0.8× of the raw client doing the same publish / consume / ack on the same nats-server; "runs" = the range of the same ratio within each run):\n`;
  const thr = (s, base, key) => {
    if (!s || !base) return "–";
    const k = s.msgsPerSec / base.msgsPerSec;
    return `${fmt(s.msgsPerSec)} ÷ ${fmt(base.msgsPerSec)} = ${x(k)}${runRange(suite, ["ratios", key], x)} — ${mark(k >= 0.8)}`;
  };
  md += `- closed-loop settled msg/s ≥ 0.8× the raw client's \`js.publish\`: WS producers ${thr(sjs.wsClosed, js.closed, "sluiceJetStreamWsClosedVsClient")}; HTTP duplex producers ${thr(sjs.duplexClosed, js.closed, "sluiceJetStreamDuplexClosedVsClient")}.\n`;
  md += `- …and ≥ 0.8× its lean publish: WS producers ${thr(sjs.wsClosed, js.leanClosed, "sluiceJetStreamWsClosedVsLean")}; HTTP duplex producers ${thr(sjs.duplexClosed, js.leanClosed, "sluiceJetStreamDuplexClosedVsLean")}.\n`;
  // Latency: ≥ 0.8× as fast means p99 ≤ 1 / 0.8 = 1.25× the raw client's.
  const lat = (s, base, key) => {
    if (!s || !base) return "–";
    const k = s.ack.p99Ms / base.ack.p99Ms;
    return `${ms(s.ack.p99Ms)} ÷ ${ms(base.ack.p99Ms)} ms = ${x(k)}${runRange(suite, ["ratios", key], x)} — ${mark(k <= 1.25)}`;
  };
  for (const [suffix, rate, label] of [["Open", c.rate, ""], ["OpenLow", c.lowRate, "Low"]]) {
    const base = suffix === "Open" ? js.open : js.openLow;
    if (!sjs[`ws${suffix}`] || !base) continue;
    md += `- p99 publish→ack at ${fmt(rate)} msg/s ≤ 1.25× the raw client's (the latency form of ≥ 0.8×), against \`js.publish\`: WS producers ${lat(sjs[`ws${suffix}`], base, `ackP99SluiceJetStreamWsOpen${label}VsClient`)}; HTTP duplex producers ${lat(sjs[`duplex${suffix}`], base, `ackP99SluiceJetStreamDuplexOpen${label}VsClient`)}.`;
    const lean = suffix === "Open" ? js.leanOpen : js.leanOpenLow;
    if (lean) md += ` Against lean publish (${ms(lean.ack.p99Ms)} ms): WS ${x(sjs[`ws${suffix}`].ack.p99Ms / lean.ack.p99Ms)}, duplex ${x(sjs[`duplex${suffix}`]?.ack.p99Ms / lean.ack.p99Ms)}.`;
    md += `\n`;
  }
  if (sql.wsClosed) {
    const k = (a, b) => (a === undefined || b === undefined ? "–" : x(a / b));
    md += `- against Sluice on SQLite (same Sluice, other storage): closed-loop msg/s WS ${k(sjs.wsClosed?.msgsPerSec, sql.wsClosed?.msgsPerSec)}, HTTP duplex ${k(sjs.duplexClosed?.msgsPerSec, sql.duplexClosed?.msgsPerSec)}; p99 publish→ack at ${fmt(c.rate)} msg/s WS ${k(sjs.wsOpen?.ack.p99Ms, sql.wsOpen?.ack.p99Ms)}, HTTP duplex ${k(sjs.duplexOpen?.ack.p99Ms, sql.duplexOpen?.ack.p99Ms)} (> 1: slower than SQLite).\n`;
  }
  // The hand-measured profile, while the counts still show the pull-per-message pattern it explains.
  const pullPerMessage = [sjs.wsClosed, sjs.duplexClosed].some((s) => s?.nats && s.nats.subsPerMsg >= 0.5);
  if (pullPerMessage) {
    md += `\nWhere the time goes (profiled on ${JETSTREAM_PROFILE.measuredOn}; reproduce with \`bun bench/durable/durable.bench.ts --only sluiceJetStream,jetstream --cpu-prof /tmp/prof\`):\n\n`;
    md += JETSTREAM_PROFILE.text.map((p) => `${p}\n`).join("\n");
  }
  return md;
}

function renderBox(suite, m) {
  const b = m.box;
  if (!b) return "";
  const maxes = suite.runs.map((run) => run.box?.otherCpuMaxPct).filter((n) => typeof n === "number");
  const loaded = b.otherCpuMeanPct > 25;
  const disturbed = !loaded && b.otherCpuMaxPct > 40;
  let md = `\nBox: the rest of the box (other processes) used a median ${fmt(b.otherCpuMeanPct)} % of one core per scenario (the busiest scenario of a run: median ${fmt(b.otherCpuMaxPct)} %, worst ${fmt(Math.max(...maxes, 0))} %); 1-min load average ${fmt(b.loadavg1Start, 2)} at the start of a run. `;
  // The other processes seen most often across the runs (at most five).
  const seen = new Map();
  for (const name of suite.runs.flatMap((run) => run.box?.loadedBy ?? [])) seen.set(name, (seen.get(name) ?? 0) + 1);
  const by = [...seen.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5).map(([name]) => name);
  const who = by.length ? ` (e.g. ${by.map((n) => `\`${n}\``).join(", ")})` : "";
  if (loaded) md += `**The box was loaded by other work during these runs${who}: read the numbers as lower bounds.**\n`;
  else if (disturbed) md += `Mostly quiet, but some scenarios ran beside other work${who}: the last column of the tables shows which rows, whose numbers are then lower bounds.\n`;
  else md += `Quiet enough that the numbers are the servers', not the neighbours'.\n`;
  return md;
}
