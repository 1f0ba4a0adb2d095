/**
 * What the durable benchmark reads about the box it runs on: busy CPU time of the whole box and
 * of every process (from /proc, to tell when neighbours loaded it and name them), package and
 * SQLite versions, and the size of a data dir.
 *
 * @example
 * ```ts
 * const procs0 = processCpu();
 * const box0 = boxBusyMs();
 * // …run a scenario…
 * console.log(boxBusyMs() - box0, busiestOthers(procs0, [server.pid, process.pid], wallMs));
 * ```
 */
import { Database } from "bun:sqlite";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { readCpuMs } from "../load/child.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

/** Busy CPU time of the whole box in ms (all cores), from /proc/stat; NaN without /proc. */
export function boxBusyMs(): number {
  try {
    const f = readFileSync("/proc/stat", "utf8").split("\n")[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal — everything but idle and iowait, in 100 Hz ticks.
    return (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!) * 10;
  } catch {
    return NaN;
  }
}

/** CPU ms and command line of every process (from /proc), to name what else loads the box. */
export function processCpu(): Map<number, { cpuMs: number; name: string }> {
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

/** Short names of the other processes that used ≥ 20 % of a core during some scenario. */
export const loadedBy = new Set<string>();

/** The processes (other than `exclude`) that used the most CPU between two `processCpu()` snapshots. */
export function busiestOthers(before: Map<number, { cpuMs: number; name: string }>, exclude: readonly number[], wallMs: number): string {
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

/** The installed version of an npm package, or "not installed". */
export function packageVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "not installed";
  }
}

/** The SQLite version bun:sqlite bundles. */
export function sqliteVersion(): string {
  const db = new Database(":memory:");
  try {
    return (db.query("select sqlite_version() as v").get() as { v: string }).v;
  } finally {
    db.close();
  }
}

/** Bytes under `dir` (0 once it is gone). */
export function dirBytes(dir: string): number {
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
