// Renders bench/RESULTS.md and bench/SOAK.md from the parsed `BENCH_JSON` objects of
// scripts/bench.mjs: every numeric leaf is reduced to its median over the runs, then each suite
// gets a table with its ratios against its baseline.
//   renderResults(env, suites) → markdown;  suites: [{ id, command, runs: [json…], failure?, skipped }]

import { renderDurable } from "./bench-report-durable.mjs";
import { failureNote, fmt, mark, medianOf, ms, runsNote, x } from "./bench-report-format.mjs";

export { medianOf };

function renderLoad(suite) {
  const m = medianOf(suite.runs);
  let md = `## End to end: load vs the raw runtime (issue 7)\n\n\`${suite.command}\` — ${runsNote(suite)}.\n`;
  md += failureNote(suite);
  if (!m) return md;
  const c = m.config;
  const r = m.results;
  md += `Real server (\`src/runtime/bun.ts\`, memory queues unless marked) and raw \`Bun.serve\` echo (\`bench/load/echo-server.ts\`) as child processes on loopback; one load-generator process (one clock) drives every row, so the generator's own CPU is part of each figure.\n`;
  md += `${c.producers} producers, ${c.consumers} consumers acking every delivery (credit ${c.credit}), ${c.payloadBytes}-byte payloads; closed loop = ${c.window} messages in flight end to end, ${c.measureMs / 1000} s measured after ${c.warmupMs / 1000} s warm-up; open loop = ${fmt(c.rate)} msg/s for ${c.openMs / 1000} s. Echo = ${c.producers + c.consumers} sockets, same window and frames, one frame per message. `;
  md += `"raw frames" rows use the bench's own frame clients (one frame per WebSocket message); "SDK" rows the real \`Producer\` / \`Consumer\` of \`src/client/\`, batched (the frames of one turn in one message each way, RECEIPT ranges) or with \`batch: false\`. NATS core: nats-server ${m.natsVersion ?? "–"} (JetStream off) on loopback, requests with one reply subscription per producer (pipelined, not \`request()\`), responders in a queue group replying with the 12-byte stamp; settled = reply received. Server CPU per message = the server process's CPU time over the whole scenario ÷ messages settled in it.\n\n`;
  md += `| scenario | settled msg/s | vs echo | server CPU µs/msg | publish→deliver p50 / p90 / p99 / max (ms) | p99 vs echo floor | publish→ack p99 (ms) | publish→receipt p99 (ms) |\n|---|---|---|---|---|---|---|---|\n`;
  const cpu = (k) => (m.cpuPerMsgUs?.[k] === undefined ? "–" : fmt(m.cpuPerMsgUs[k], 2));
  const floor = (k) => (m.latencyVsFloor?.[k]?.p99 === undefined ? "–" : x(m.latencyVsFloor[k].p99));
  const rows = [
    ["raw Bun WebSocket echo (ceiling)", "echo", 1],
    ["raw frames, WS producers, closed loop (unbatched)", "wsClosed", m.ratios?.wsClosedVsEcho],
    ["SDK, batched, closed loop", "sdkClosed", m.ratios?.sdkClosedVsEcho],
    ["SDK, batch: false, closed loop", "sdkUnbatchedClosed", m.ratios?.sdkUnbatchedClosedVsEcho],
    ["SDK, batched, closed loop, SQLite store", "sdkSqliteClosed", m.ratios?.sdkSqliteClosedVsEcho],
    ["NATS core request/reply, pipelined replies (baseline)", "natsClosed", m.ratios?.natsClosedVsEcho],
    ["raw frames, HTTP duplex producers, closed loop", "duplexClosed", m.ratios?.duplexClosedVsEcho],
    [`raw Bun WebSocket echo, open loop ${fmt(c.rate)}/s (latency floor)`, "echoOpen"],
    [`raw frames, WS producers, open loop ${fmt(c.rate)}/s`, "wsOpen"],
    [`SDK, batched, open loop ${fmt(c.rate)}/s`, "sdkOpen"],
    [`raw frames, HTTP duplex producers, open loop ${fmt(c.rate)}/s`, "duplexOpen"],
  ];
  for (const [name, key, ratio] of rows) {
    const s = r[key];
    if (!s) continue;
    const d = s.deliver;
    const noAck = key.startsWith("echo");
    const noReceipt = noAck || key.startsWith("nats");
    md += `| ${name} | ${fmt(s.msgsPerSec)} | ${ratio === undefined ? "–" : ratio.toFixed(2)} | ${cpu(key)} | ${ms(d.p50Ms)} / ${ms(d.p90Ms)} / ${ms(d.p99Ms)} / ${ms(d.maxMs)} | ${floor(key)} | ${noAck ? "–" : ms(s.ack.p99Ms)} | ${noReceipt ? "–" : ms(s.receipt.p99Ms)} |\n`;
  }
  md += `\nServer RSS (MiB) at start and after each scenario: ${Object.entries(m.rssMiB ?? {}).map(([k, v]) => `${k} ${fmt(v, 1)}`).join(", ")}.\n`;
  if (m.cpuShare) md += `CPU time during each scenario, % of one core (server / load generator): ${Object.entries(m.cpuShare).map(([k, v]) => `${k} ${fmt(v.server)} / ${fmt(v.client)}`).join(", ")}.\n`;
  if (m.loadavg) md += `Load average at the end of the runs (1 / 5 / 15 min, median): ${m.loadavg.map((v) => fmt(v, 1)).join(" / ")} on ${suite.runs[0]?.cpus ?? "?"} cores.\n`;
  md += `\n`;
  md += `Targets (Bun, ${c.payloadBytes}-byte messages, this machine, same run):\n`;
  const ws = m.ratios?.wsClosedVsEcho;
  const duplex = m.ratios?.duplexClosedVsEcho;
  md += `- (issue 7) acked throughput ≥ 50 % of the echo ceiling: raw-frame WS producers ${fmt((ws ?? NaN) * 100)} % — ${mark(ws >= 0.5)}; HTTP duplex producers ${fmt((duplex ?? NaN) * 100)} % — ${mark(duplex >= 0.5)}.\n`;
  const sdk = m.ratios?.sdkClosedVsEcho;
  const vsNats = m.ratios?.sdkClosedVsNats;
  const sdkCpu = m.cpuPerMsgUs?.sdkClosed;
  const sqlite = m.ratios?.sdkSqliteClosedVsEcho;
  md += `- (issue 21) SDK-batched WebSocket settled msg/s ≥ 2× the echo ceiling: ${x(sdk)} — ${mark(sdk >= 2)}; ≥ NATS core with pipelined replies: ${x(vsNats)} of it — ${mark(vsNats >= 1)}; server CPU ≤ 2.5 µs per settled message: ${fmt(sdkCpu, 2)} µs (NATS: ${fmt(m.cpuPerMsgUs?.natsClosed, 2)}) — ${mark(sdkCpu <= 2.5)}; with the SQLite store ≥ 1× the echo ceiling: ${x(sqlite)} — ${mark(sqlite >= 1)}.\n`;
  const p99 = (k) => (r[k] === undefined ? "–" : `${ms(r[k].deliver.p99Ms)} ms = ${floor(k)} the floor — ${mark(m.latencyVsFloor?.[k]?.p99 <= 2)}`);
  md += `- (issue 21) p99 publish→deliver at ${fmt(c.rate)} msg/s ≤ 2× the echo floor's p99 (${ms(r.echoOpen?.deliver.p99Ms)} ms this run): raw-frame WS ${p99("wsOpen")}; HTTP duplex ${p99("duplexOpen")}; SDK batched ${p99("sdkOpen")}. (Issue 7's absolute ≤ 1 ms: WS ${ms(r.wsOpen?.deliver.p99Ms)}, duplex ${ms(r.duplexOpen?.deliver.p99Ms)}.)\n`;
  const start = m.rssMiB?.start;
  const echoStart = m.rssMiB?.echoStart;
  md += `- (issue 21) server RSS at start, memory storage ≤ the bare \`Bun.serve\` echo's + 10 MiB: ${fmt(start, 1)} MiB vs ${fmt(echoStart, 1)} + 10 MiB — ${mark(start <= echoStart + 10)}; the SQLite default's: ${fmt(m.rssMiB?.sqliteStart, 1)} MiB; nats-server: ${fmt(m.rssMiB?.natsStart, 1)} MiB.\n`;
  md += `- server RSS flat (±20 %) over a 60 s soak: \`npm run bench:soak\` → [SOAK.md](SOAK.md) (kept out of \`npm run bench\` for its time budget).\n`;
  return md;
}

function renderQueue(suites) {
  let md = `## Queue pump vs fastq / p-queue (issue 3)\n\n\`bench/queue.bench.ts\`: ${suites[0]?.runs[0]?.messagesPerIteration ? fmt(suites[0].runs[0].messagesPerIteration) : "20,000"} enqueue→lease→ack cycles per iteration, async no-op handler. msg/s (ratio = pump ÷ baseline, > 1 means the pump is faster).\n`;
  for (const suite of suites) {
    const m = medianOf(suite.runs);
    md += `\n### ${suite.id.replace("queue-", "")} — ${runsNote(suite)}\n${failureNote(suite)}`;
    if (!m) continue;
    md += `\n| concurrency | pump | fastq | p-queue | pump/fastq | pump/p-queue |\n|---|---|---|---|---|---|\n`;
    for (const c of [1, 64, 1024]) {
      const v = (name) => m.results[`${name} c=${c}`]?.msgsPerSec;
      md += `| ${c} | ${fmt(v("pump"))} | ${fmt(v("fastq"))} | ${fmt(v("p-queue"))} | ${x(m.ratios[`pump/fastq c=${c}`])} | ${x(m.ratios[`pump/p-queue c=${c}`])} |\n`;
    }
    md += `\nHeap per pending item at 10^6 pending: ${fmt(m.bytesPerPending)} bytes (WASM: ${m.wasm}) — issue 21 target ≤ 100 bytes: ${mark(m.bytesPerPending <= 100)}.\n`;
    const behind = [1, 64, 1024].filter((c) => !(m.ratios[`pump/fastq c=${c}`] >= 1));
    md += `Issue 21 target pump ≥ 1.0× fastq.promise at concurrency 1, 64 and 1024: ${behind.length === 0 ? "met" : `**missed** at c=${behind.join(", ")}`}.\n`;
  }
  return md;
}

function renderWasm(suites) {
  let md = `## WASM vs JS reference (issue 4)\n\n\`bench/wasm.bench.ts\`: decode+CRC over 1 MiB of back-to-back frames (arena = zero-copy, copy in = incl. the copy), lease table ops, 100k-lease expiry sweep. Speedup = JS time ÷ WASM time (> 1 means WASM is faster).\n`;
  for (const suite of suites) {
    const m = medianOf(suite.runs);
    md += `\n### ${suite.id.replace("wasm-", "")} — ${runsNote(suite)}\n${failureNote(suite)}`;
    if (!m) continue;
    md += `\n| benchmark | median | rate | \n|---|---|---|\n`;
    for (const [name, v] of Object.entries(m.results)) {
      const rate = v.framesPerSec ? `${fmt(v.framesPerSec / 1e6, 2)} M frames/s, ${fmt(v.gbPerSec, 2)} GB/s` : v.opsPerSec ? `${fmt(v.opsPerSec / 1e6, 2)} M ops/s` : "";
      md += `| ${name} | ${fmt(v.medianNs / 1e6, 3)} ms | ${rate} |\n`;
    }
    md += `\n| speedup (WASM vs JS) | ${Object.keys(m.speedup).join(" | ")} |\n|---|${Object.keys(m.speedup).map(() => "---").join("|")}|\n| ${suite.id.replace("wasm-", "")} | ${Object.values(m.speedup).map(x).join(" | ")} |\n`;
    // Issue 21: WASM ≥ 1.5× the JS reference in every case, or the selector's choice never slower than it.
    const speedups = Object.values(m.speedup).filter((v) => typeof v === "number");
    const slowest = Math.min(...speedups);
    const chosen = m.selected ?? "wasm";
    const below = Object.entries(m.speedup).filter(([, v]) => !(v >= 1.5)).map(([k]) => k);
    md += `\nIssue 21 targets: WASM ≥ 1.5× JS in every case — ${below.length === 0 ? "met" : `**missed** in ${below.join(", ")}`}; the selector picks \`${chosen}\` here (\`createFrameCodec\` / \`createLeaseTable\`), whose slowest case is ${chosen === "wasm" ? x(slowest) : "1.00×"} the JS reference — never slower than JS: ${mark(chosen !== "wasm" || slowest >= 1)}.\n`;
  }
  return md;
}

function renderBridge(suite) {
  let md = `## Bridge: socket vs RPC fallback (issue 6)\n\n\`${suite.command}\` — ${runsNote(suite)}.\n${failureNote(suite)}`;
  // results is an array of cases; key them by name so medians pair the same case across runs.
  const keyed = suite.runs.map((run) => Object.fromEntries((run.results ?? []).map((c) => [c.name, c])));
  const m = medianOf(keyed);
  if (!m) return md;
  md += `\n| case | msg/s | lease→ack p50 (ms) | p99 (ms) |\n|---|---|---|---|\n`;
  for (const [name, c] of Object.entries(m)) md += `| ${name} | ${fmt(c.msgPerSec)} | ${ms(c.p50Ms)} | ${ms(c.p99Ms)} |\n`;
  const sockets = Object.values(m).filter((c) => c.path === "socket");
  const rpcs = Object.values(m).filter((c) => c.path === "rpc");
  const lines = [];
  for (const rpc of rpcs) {
    // Pair each RPC case with the socket case of the same concurrency, else the most concurrent one.
    const socket = sockets.find((c) => c.concurrency === rpc.concurrency) ?? sockets.slice().sort((a, b) => b.concurrency - a.concurrency)[0];
    if (socket) lines.push(`${socket.name} ÷ ${rpc.name}: ${x(socket.msgPerSec / rpc.msgPerSec)}`);
  }
  if (lines.length) md += `\nSocket throughput as a multiple of the RPC fallback: ${lines.join("; ")}.\n`;
  return md;
}

/** The whole bench/RESULTS.md. */
export function renderResults(env, suites) {
  const by = (prefix) => suites.filter((s) => s.id.startsWith(prefix));
  let md = `# Benchmark results\n\n`;
  md += `Generated by \`npm run bench\` (scripts/bench.mjs) on ${env.date} in ${env.elapsedS} s — **do not edit by hand**: the next run overwrites this file. `;
  md += `Hand-written notes (before/after numbers of optimisations) live in [HISTORY.md](HISTORY.md).\n\n`;
  md += `Machine: ${env.cores} cores (${env.cpu}); bun ${env.bun}, ${env.deno}, node ${env.node}. `;
  md += `Each bench runs as its own process, up to ${env.targetRuns} times, interleaved; every number is the median over its runs. A shared box: expect run-to-run noise.\n\n`;
  const load = suites.find((s) => s.id === "load");
  if (load) md += renderLoad(load) + "\n";
  if (by("queue").length) md += renderQueue(by("queue")) + "\n";
  if (by("wasm").length) md += renderWasm(by("wasm")) + "\n";
  const bridge = suites.find((s) => s.id.startsWith("bridge"));
  if (bridge) md += renderBridge(bridge) + "\n";
  const durable = suites.find((s) => s.id === "durable");
  if (durable) md += renderDurable(durable) + "\n";
  return md;
}

/**
 * `existing` (a RESULTS.md) with the sections of `suites` replaced by fresh ones (appended when
 * absent), each marked with when and how it was regenerated; every other section stays as it was.
 * For SLUICE_BENCH_ONLY=… SLUICE_BENCH_SPLICE=1 npm run bench.
 */
export function spliceResults(existing, env, suites) {
  const sections = (md) => md.split(/^(?=## )/m);
  const title = (section) => section.split("\n")[0];
  const fresh = sections(renderResults(env, suites)).slice(1); // [0] is the file header
  const note = `_Section regenerated alone on ${env.date} in ${env.elapsedS} s (\`SLUICE_BENCH_ONLY=${suites.map((s) => s.id).join(",")} SLUICE_BENCH_SPLICE=1 npm run bench\`${env.commit ? ` on ${env.commit}` : ""}; bun ${env.bun}, node ${env.node}); the other sections are from the run named at the top._\n\n`;
  const out = sections(existing);
  for (const section of fresh) {
    const lines = section.split("\n");
    const marked = `${lines[0]}\n\n${note}${lines.slice(2).join("\n")}`;
    const at = out.findIndex((s) => title(s) === title(section));
    if (at >= 0) out[at] = marked;
    else out.push((out.at(-1)?.endsWith("\n\n") ? "" : "\n") + marked);
  }
  return out.join("");
}

/** bench/SOAK.md from the soak run. */
export function renderSoak(env, suites) {
  let md = `# RSS soak\n\nGenerated by \`npm run bench:soak\` (scripts/bench.mjs --soak) on ${env.date} — do not edit by hand. `;
  md += `Machine: ${env.cores} cores (${env.cpu}); bun ${env.bun}.\n`;
  for (const suite of suites) md += renderOneSoak(suite);
  return md;
}

const SOAK_CLIENTS = {
  sdk: "the SDK's `Producer` / `Consumer` with batching on (the frames of one turn in one WebSocket message each way, RECEIPT ranges)",
  ws: "the bench's raw frame clients, one frame per WebSocket message",
};

function renderOneSoak(suite) {
  const s = suite.runs[0];
  let md = `\n## ${suite.id} (\`${suite.command}\`)\n${failureNote(suite)}`;
  if (!s) return md;
  md += `\nThe real server on Bun under an open loop of ${fmt(s.rate)} msg/s (${s.payloadBytes}-byte payloads, 2 producers → 2 consumers acking every DELIVER; clients: ${SOAK_CLIENTS[s.clients ?? "ws"]}) for ${s.soakS} s after ${s.warmupS} s of warm-up; `;
  md += `server VmRSS (/proc/<pid>/status) sampled every ${s.sampleS} s.\n\n`;
  md += `| t (s) | RSS (MiB) |\n|---|---|\n${s.samples.map((p) => `| ${fmt(p.t, 0)} | ${fmt(p.rssMiB, 1)} |`).join("\n")}\n\n`;
  md += `First ${fmt(s.firstMiB, 1)} MiB, last ${fmt(s.lastMiB, 1)} MiB, min ${fmt(s.minMiB, 1)}, max ${fmt(s.maxMiB, 1)}: spread (max ÷ min − 1) ${fmt(s.spreadPct, 1)} %, `;
  md += `growth (last ÷ first − 1) ${fmt(s.growthPct, 1)} % — target flat within 20 %: ${mark(s.spreadPct <= 20)}.\n\n`;
  md += `Latency over the soak: publish→deliver p50 ${ms(s.deliver.p50Ms)} / p99 ${ms(s.deliver.p99Ms)} / max ${ms(s.deliver.maxMs)} ms; ${fmt(s.settled)} messages settled, ${s.duplicates} duplicates, ${s.errors} errors.\n`;
  return md;
}
