#!/usr/bin/env node
// `npm run bench`: every benchmark, each run as its own process, within a time budget, then
// bench/RESULTS.md is rewritten from the runs' `BENCH_JSON {...}` lines (medians per metric).
//   - load (bench/load/load.bench.ts, server + echo on Bun), queue and wasm (Bun and Deno),
//     bridge (bench/bridge.bench.ts, Bun) when present; durable (bench/durable/durable.bench.ts,
//     Bun: SQLite vs in-memory Sluice, Sluice on JetStream and the raw JetStream client, which need
//     `nats-server`) when present;
//     workerd (bench/workerd/edge.bench.ts: Sluice on local workerd beside Bun, with and without
//     client batching) when present;
//   - up to 5 runs each, interleaved round by round (so box noise spreads over all of them); a
//     round skips a bench whose slowest run so far no longer fits the budget (default 9.5 min),
//     and RESULTS.md says how many runs each median is of;
//   - a run that fails or passes its timeout is reported and that bench is not run again.
// `npm run bench:soak` (`--soak`): the 60 s RSS soaks only (bench/load/soak.ts, SDK batched and raw frames), written to
// bench/SOAK.md. Hand-written notes live in bench/HISTORY.md, which this never touches.
// Env: SLUICE_BENCH_RUNS (5), SLUICE_BENCH_BUDGET_S (570), SLUICE_BENCH_ONLY (comma-separated ids),
// SLUICE_BENCH_SPLICE=1 (replace only the sections of the benches run in the existing RESULTS.md),
// SLUICE_BENCH_QUIET=<% of one core> (before each run, wait up to 2 min for the rest of a shared
// box to be at most that busy).
import { spawn, execFileSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { renderResults, renderSoak, spliceResults } from "./bench-report.mjs";
import { renderWorkerd, withSection } from "./bench-report-workerd.mjs";

const soak = process.argv.includes("--soak");
const RUNS = Number(process.env.SLUICE_BENCH_RUNS ?? 5);
const BUDGET_MS = Number(process.env.SLUICE_BENCH_BUDGET_S ?? 570) * 1000;
const only = process.env.SLUICE_BENCH_ONLY?.split(",");
// The runtime binaries themselves, not node_modules/.bin shims (deno's is a node script that
// spawns the binary): a kill must reach the process that runs the bench.
const BINARIES = { bun: "node_modules/bun/bin/bun.exe", deno: "node_modules/deno/deno" };
const bin = (name) => (existsSync(BINARIES[name] ?? "") ? BINARIES[name] : name);

const all = soak
  ? [
      { id: "soak-sdk", bin: "bun", args: ["bench/load/soak.ts", "--clients", "sdk"], timeoutMs: 150_000, runs: 1 },
      { id: "soak-ws", bin: "bun", args: ["bench/load/soak.ts", "--clients", "ws"], timeoutMs: 150_000, runs: 1 },
    ]
  : [
      { id: "load", bin: "bun", args: ["bench/load/load.bench.ts"], timeoutMs: 150_000 },
      { id: "queue-bun", bin: "bun", args: ["bench/queue.bench.ts"], timeoutMs: 150_000 },
      { id: "queue-deno", bin: "deno", args: ["run", "-A", "--v8-flags=--expose-gc", "bench/queue.bench.ts"], timeoutMs: 150_000 },
      { id: "wasm-bun", bin: "bun", args: ["bench/wasm.bench.ts"], timeoutMs: 90_000 },
      { id: "wasm-deno", bin: "deno", args: ["run", "-A", "bench/wasm.bench.ts"], timeoutMs: 90_000 },
      ...(existsSync("bench/bridge.bench.ts") ? [{ id: "bridge-bun", bin: "bun", args: ["bench/bridge.bench.ts"], timeoutMs: 90_000 }] : []),
      ...(existsSync("bench/durable/durable.bench.ts") ? [{ id: "durable", bin: "bun", args: ["bench/durable/durable.bench.ts"], timeoutMs: 600_000 }] : []),
      ...(existsSync("bench/workerd/edge.bench.ts") ? [{ id: "workerd", bin: "bun", args: ["bench/workerd/edge.bench.ts"], timeoutMs: 180_000 }] : []),
    ];
const benches = all.filter((b) => only === undefined || only.includes(b.id));

function runOnce(bench) {
  return new Promise((resolve) => {
    const started = Date.now();
    // Own process group, so ending a run also ends the servers it spawned.
    const child = spawn(bin(bench.bin), bench.args, { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, NO_COLOR: "1" }, detached: true });
    const kill = () => {
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        child.kill("SIGKILL");
      }
    };
    let out = "";
    let err = "";
    let graceTimer;
    child.stdout.on("data", (d) => {
      out += d;
      // A bench that printed its result but keeps the process alive (parked timers, open
      // handles) is done: give it a moment to exit on its own, then end it.
      if (graceTimer === undefined && out.includes("BENCH_JSON ") && out.endsWith("\n")) graceTimer = setTimeout(kill, 3000);
    });
    child.stderr.on("data", (d) => {
      err += d;
      // Pass the load generator's progress lines through; keep the rest for failure reports.
      for (const line of String(d).split("\n")) if (line.startsWith("[load]")) process.stderr.write(`  ${line}\n`);
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      kill();
    }, bench.timeoutMs);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      clearTimeout(graceTimer);
      const ms = Date.now() - started;
      const line = out.split("\n").reverse().find((l) => l.startsWith("BENCH_JSON "));
      if (timedOut) return resolve({ ok: false, ms, reason: `timed out after ${bench.timeoutMs / 1000} s`, tail: tail(out + err) });
      const endedAfterResult = graceTimer !== undefined && signal === "SIGKILL";
      if ((code !== 0 && !endedAfterResult) || line === undefined) return resolve({ ok: false, ms, reason: `exit ${code}${line ? "" : ", no BENCH_JSON line"}`, tail: tail(out + err) });
      try {
        resolve({ ok: true, ms, json: JSON.parse(line.slice("BENCH_JSON ".length)) });
      } catch (e) {
        resolve({ ok: false, ms, reason: `bad BENCH_JSON: ${e.message}`, tail: tail(out) });
      }
    });
  });
}

function tail(text) {
  return text.replace(/\u001b\[[0-9;]*m/g, "").trim().split("\n").slice(-8).join("\n");
}

function version(cmd, args) {
  try {
    return execFileSync(bin(cmd), args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).split("\n")[0].trim();
  } catch {
    return "not found";
  }
}

// Busy CPU time of the whole box (all cores) in 1/100 s, from /proc/stat; NaN without /proc.
function boxBusyTicks() {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return f[0] + f[1] + f[2] + f[5] + f[6] + f[7]; // all but idle and iowait
  } catch {
    return NaN;
  }
}

// SLUICE_BENCH_QUIET: wait (bounded) until the box is at most that busy over 3 s.
async function waitForQuiet() {
  const quiet = Number(process.env.SLUICE_BENCH_QUIET);
  if (!Number.isFinite(quiet)) return;
  const until = Date.now() + 120_000;
  for (;;) {
    const b0 = boxBusyTicks();
    await new Promise((r) => setTimeout(r, 3000));
    const pct = Math.round((boxBusyTicks() - b0) / 3);
    if (!(pct > quiet) || Date.now() > until) {
      process.stderr.write(`[bench] box ${pct} % of one core busy before the run${pct > quiet ? " (not quiet after 2 min: running anyway)" : ""}\n`);
      return;
    }
  }
}

function gitCommit() {
  try {
    const head = execFileSync("git", ["rev-parse", "--short", "HEAD"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    const dirty = execFileSync("git", ["status", "--porcelain", "--", "src", "assembly"], { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    return dirty ? `${head} + uncommitted changes in src/` : head;
  } catch {
    return "unknown";
  }
}

const commit = gitCommit();
const started = Date.now();
const state = new Map(benches.map((b) => [b.id, { bench: b, runs: [], failure: undefined, skipped: 0, slowestMs: 0 }]));
const rounds = soak ? 1 : RUNS;
for (let round = 1; round <= rounds; round++) {
  for (const s of state.values()) {
    if (s.failure) continue;
    const left = BUDGET_MS - (Date.now() - started);
    // The first run of each bench always happens; later ones only if the slowest so far still fits.
    if (round > 1 && s.slowestMs > left) {
      s.skipped++;
      continue;
    }
    await waitForQuiet();
    process.stderr.write(`[bench] round ${round}/${rounds} ${s.bench.id} …\n`);
    const r = await runOnce(s.bench);
    s.slowestMs = Math.max(s.slowestMs, r.ms);
    process.stderr.write(`[bench] round ${round}/${rounds} ${s.bench.id}: ${(r.ms / 1000).toFixed(1)} s ${r.ok ? "ok" : `FAILED (${r.reason})\n${r.tail}`}\n`);
    if (r.ok) s.runs.push(r.json);
    else s.failure = r.reason + (r.tail ? `\n${r.tail}` : "");
  }
}
const elapsedS = Math.round((Date.now() - started) / 1000);

const env = {
  date: new Date().toISOString().replace(/\.\d+Z$/, "Z"),
  bun: version("bun", ["--version"]),
  deno: version("deno", ["--version"]),
  node: process.version,
  cores: cpus().length,
  cpu: cpus()[0]?.model ?? "unknown",
  elapsedS,
  targetRuns: rounds,
  commit,
};
const suites = [...state.values()].map((s) => ({ id: s.bench.id, command: `${s.bench.bin} ${s.bench.args.join(" ")}`, runs: s.runs, failure: s.failure, skipped: s.skipped }));
if (soak) {
  writeFileSync("bench/SOAK.md", renderSoak(env, suites));
  process.stderr.write(`[bench] wrote bench/SOAK.md in ${elapsedS} s\n`);
} else if (process.env.SLUICE_BENCH_SPLICE === "1" && existsSync("bench/RESULTS.md")) {
  // Only the sections of the benches run here are replaced; the rest of RESULTS.md stays.
  writeFileSync("bench/RESULTS.md", withWorkerd(spliceResults(readFileSync("bench/RESULTS.md", "utf8"), env, suites), true));
  process.stderr.write(`[bench] spliced ${suites.map((s) => s.id).join(", ")} into bench/RESULTS.md in ${elapsedS} s\n`);
} else {
  writeFileSync("bench/RESULTS.md", withWorkerd(renderResults(env, suites), false));
  process.stderr.write(`[bench] wrote bench/RESULTS.md in ${elapsedS} s\n`);
}

// The edge section (bench/workerd/, scripts/bench-report-workerd.mjs), after the others.
function withWorkerd(md, spliced) {
  const edge = suites.find((s) => s.id === "workerd");
  if (edge === undefined) return md;
  const note = spliced ? `_Section regenerated alone on ${env.date} in ${env.elapsedS} s (\`SLUICE_BENCH_ONLY=${suites.map((s) => s.id).join(",")} SLUICE_BENCH_SPLICE=1 npm run bench\` on ${env.commit}); the other sections are from the run named at the top._\n\n` : undefined;
  return withSection(md, renderWorkerd(edge), note);
}
const failed = suites.filter((s) => s.failure);
if (failed.length > 0) process.stderr.write(`[bench] failed: ${failed.map((s) => s.id).join(", ")}\n`);
process.exit(failed.length > 0 ? 1 : 0);
