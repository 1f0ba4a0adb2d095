// Formatting helpers shared by the bench/RESULTS.md renderers (scripts/bench-report.mjs and
// scripts/bench-report-durable.mjs): medians over runs, number formats, run notes.

/** Median of each numeric leaf across `objects` (same shape); non-numbers are taken from the first. */
export function medianOf(objects) {
  if (objects.length === 0) return undefined;
  const first = objects[0];
  if (typeof first === "number") {
    const xs = objects.filter((x) => typeof x === "number" && Number.isFinite(x)).sort((a, b) => a - b);
    if (xs.length === 0) return first;
    const mid = xs.length >> 1;
    return xs.length % 2 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
  }
  if (Array.isArray(first)) return first.map((_, i) => medianOf(objects.map((o) => o?.[i])));
  if (first !== null && typeof first === "object") {
    const out = {};
    for (const key of Object.keys(first)) out[key] = medianOf(objects.map((o) => o?.[key]));
    return out;
  }
  return first;
}

export const fmt = (n, digits = 0) => (n === undefined || n === null || Number.isNaN(n) ? "–" : Number(n).toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits }));
export const ms = (n) => (n === undefined ? "–" : Number(n).toFixed(3));
export const x = (n) => (n === undefined ? "–" : `${Number(n).toFixed(2)}×`);
export const mark = (ok) => (ok ? "met" : "**missed**");

export function runsNote(suite) {
  const n = suite.runs.length;
  let note = `median of ${n} run${n === 1 ? "" : "s"}`;
  if (suite.skipped > 0) note += ` (${suite.skipped} more skipped to stay within the time budget)`;
  return note;
}

export function failureNote(suite) {
  return suite.failure ? `\n> **${suite.id} failed:** ${suite.failure.split("\n")[0]}\n>\n> \`\`\`\n${suite.failure.split("\n").slice(1).map((l) => `> ${l}`).join("\n")}\n> \`\`\`\n` : "";
}

// Per-run values of one numeric path (e.g. ["ratios", "x"]), finite only, for a "runs: a–b" range.
export function runRange(suite, path, format) {
  const xs = suite.runs.map((r) => path.reduce((o, k) => o?.[k], r)).filter((v) => typeof v === "number" && Number.isFinite(v));
  if (xs.length < 2) return "";
  return ` (runs ${format(Math.min(...xs))}–${format(Math.max(...xs))})`;
}
