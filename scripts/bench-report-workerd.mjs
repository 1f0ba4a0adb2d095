// The "Edge: workerd beside Bun (issue 19)" section of bench/RESULTS.md, from the BENCH_JSON runs of
// bench/workerd/edge.bench.ts (bench id `workerd` in scripts/bench.mjs): medians over the runs.
//   renderWorkerd(suite) → markdown;  withSection(md, section, note?) → md with it replaced or appended.
import { medianOf } from "./bench-report.mjs";

const fmt = (n, digits = 0) => (Number.isFinite(n) ? n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }) : "–");
const ms = (n) => (Number.isFinite(n) ? n.toFixed(1) : "–");

export const WORKERD_TITLE = "## Edge: workerd beside Bun (issue 19)";

/** The section, from the suite's runs. */
export function renderWorkerd(suite) {
  let md = `${WORKERD_TITLE}\n\n\`${suite.command}\` — median of ${suite.runs.length} run(s)${suite.skipped ? ` (${suite.skipped} skipped for time)` : ""}.\n`;
  if (suite.failure) md += `\n**Failed:** \`${suite.failure.split("\n")[0]}\`\n`;
  const m = medianOf(suite.runs);
  if (!m) return md;
  const c = m.config;
  const first = suite.runs[0];
  md += `\nThe same load on three servers, one after the other, as child processes on loopback: Sluice on local workerd ${first.versions.workerd} (\`workerd/sluice.capnp\`: the Worker and one \`SluiceQueue\` Durable Object, SQL storage on local disk — SQLite in WAL mode at its default \`synchronous=FULL\`, so every commit is fsynced before the output gate lets the RECEIPT out), and Sluice on Bun ${first.versions.bun} with its SQLite store at \`SLUICE_DURABILITY=process\` (the default: no fsync per commit) and at \`power\` (an fsync per commit, as workerd's local storage does). ${c.producers} producers, ${c.consumers} consumers (credit ${c.credit}), ${c.payloadBytes}-byte payloads, closed loop: ${c.window} messages in flight end to end, ${c.measureMs / 1000} s measured after ${c.warmupMs / 1000} s warm-up. **Unbatched**: one frame per WebSocket message (PUBLISH; ACK). **Batched**: each client sends what one event-loop turn produced as one message (PUBLISH frames; ACK and CREDIT frames) — the server commits a batch in one storage write. Latencies are of messages published inside the measured window; a closed loop at saturation, so they are mostly queueing.\n\n`;
  md += `| server | client batching | settled msg/s | publish→receipt p50 / p99 (ms) | publish→ack p50 / p99 (ms) | server CPU (% of one core) |\n|---|---|---|---|---|---|\n`;
  const names = { bun: "Bun, durability process", bunPower: "Bun, durability power", workerd: "workerd (Durable Object)" };
  for (const [key, name] of Object.entries(names)) {
    for (const batched of [false, true]) {
      const r = m.results?.[`${key}${batched ? "Batched" : "Unbatched"}`];
      if (!r) continue;
      md += `| ${name} | ${batched ? "batched" : "one frame per message"} | ${fmt(r.msgsPerSec)} | ${ms(r.receipt.p50Ms)} / ${ms(r.receipt.p99Ms)} | ${ms(r.ack.p50Ms)} / ${ms(r.ack.p99Ms)} | ${fmt(r.serverCpuPct)} |\n`;
    }
  }
  const r = m.results ?? {};
  const ratio = (a, b) => (a && b ? `${(a.msgsPerSec / b.msgsPerSec).toFixed(2)}×` : "–");
  md += `\nworkerd ÷ Bun (process): unbatched ${ratio(r.workerdUnbatched, r.bunUnbatched)}, batched ${ratio(r.workerdBatched, r.bunBatched)}; workerd ÷ Bun (power): unbatched ${ratio(r.workerdUnbatched, r.bunPowerUnbatched)}, batched ${ratio(r.workerdBatched, r.bunPowerBatched)}; batching on workerd: ${ratio(r.workerdBatched, r.workerdUnbatched)}.\n`;
  md += `Box during the runs (medians${first.box.cores ? `, ${first.box.cores} cores` : ""}): load average ${fmt(m.box.loadavg1Before, 2)} before, ${fmt(m.box.loadavg1After, 2)} after; all cores together ${fmt(m.box.busyPctOfOneCore)} % of one core busy (this bench included). Local workerd only: nothing here was measured on Cloudflare.\n`;
  return md;
}

/** `md` with the section titled like `section` replaced (or appended), marked with `note` when given. */
export function withSection(md, section, note) {
  const parts = md.split(/^(?=## )/m);
  const lines = section.split("\n");
  const marked = note ? `${lines[0]}\n\n${note}${lines.slice(2).join("\n")}` : section;
  const at = parts.findIndex((p) => p.split("\n")[0] === lines[0]);
  if (at >= 0) parts[at] = `${marked}\n`;
  else parts.push(`${parts.at(-1)?.endsWith("\n\n") ? "" : "\n"}${marked}\n`);
  return parts.join("");
}
