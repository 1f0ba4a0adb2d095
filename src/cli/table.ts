/**
 * Plain-text tables and number formats for people (`--json` prints the server's JSON instead).
 *
 * @example
 * ```ts
 * console.log(formatTable(["QUEUE", "DEPTH"], [["jobs", 3]]));
 * // QUEUE  DEPTH
 * // jobs       3
 * ```
 *
 * @module
 */

/**
 * Lays out rows under headings; numbers are right-aligned, everything else left-aligned.
 *
 * @example
 * ```ts
 * formatTable(["A", "B"], [["x", 10], ["yy", 2]]);
 * ```
 */
export function formatTable(headings: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const numeric = headings.map((_, i) => rows.length > 0 && rows.every((r) => typeof r[i] === "number" || /^-?[\d,]+(\.\d+)?$/.test(String(r[i]))));
  const cells = [headings.map(String), ...rows.map((r) => r.map((c) => (typeof c === "number" ? formatNumber(c) : c)))];
  const widths = headings.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? "").length)));
  return cells
    .map((r) => r.map((c, i) => (numeric[i] ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join("  ").trimEnd())
    .join("\n");
}

/**
 * A count with thousands separators, or a rate with one decimal below 100.
 *
 * @example
 * ```ts
 * formatNumber(12345); // "12,345"
 * formatNumber(2.345); // "2.3"
 * ```
 */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return n.toLocaleString("en-US");
  return n < 100 ? n.toFixed(1) : Math.round(n).toLocaleString("en-US");
}

/**
 * A moment as local `YYYY-MM-DD HH:MM:SS`.
 *
 * @example
 * ```ts
 * formatInstant(0); // "1970-01-01 00:00:00" (in UTC)
 * ```
 */
export function formatInstant(ms: number): string {
  const d = new Date(ms);
  const p = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/**
 * Bytes as text when they are readable UTF-8, otherwise as base64 prefixed `base64:`.
 *
 * @example
 * ```ts
 * printable(new TextEncoder().encode("hi")); // { text: "hi", encoding: "utf8" }
 * ```
 */
export function printable(bytes: Uint8Array): { text: string; encoding: "utf8" | "base64" } {
  try {
    const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    if (!/[\u0000-\u0008\u000e-\u001f]/.test(text)) return { text, encoding: "utf8" };
  } catch {
    // not UTF-8
  }
  let binary = "";
  for (const b of bytes) binary += String.fromCharCode(b);
  return { text: btoa(binary), encoding: "base64" };
}

/**
 * Cuts `text` to `max` characters (with an ellipsis) and folds newlines, for a table cell.
 *
 * @example
 * ```ts
 * cell("a\nb", 10); // "a⏎b"
 * ```
 */
export function cell(text: string, max: number): string {
  const flat = text.replace(/\r?\n/g, "⏎");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}
