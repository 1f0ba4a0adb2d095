/**
 * Snapshot file I/O for graceful shutdown (the format lives in src/server/snapshot.ts). Uses
 * `node:fs`, which Bun and Deno both provide. Writes go to a temporary file that is then renamed
 * over the target, so a crash mid-write never leaves a half-written snapshot behind. A loaded
 * snapshot is renamed to `<path>.restored`, so a restart does not enqueue the same items twice.
 *
 * @example
 * ```ts
 * const loaded = readSnapshotFile("/var/lib/sluice/snapshot.json"); // ok(undefined) when absent
 * writeSnapshotFile(path, report.snapshot);
 * ```
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { err, ok, type Result } from "../result/result.ts";
import { parseSnapshot, type Snapshot } from "../server/snapshot.ts";

/**
 * Reads and parses the snapshot at `path`; `ok(undefined)` when there is none.
 *
 * @example
 * ```ts
 * const r = readSnapshotFile(config.snapshotPath!);
 * ```
 */
export function readSnapshotFile(path: string): Result<Snapshot | undefined> {
  if (!existsSync(path)) return ok(undefined);
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (thrown) {
    return err("validation", `snapshot: cannot read ${path} (${thrown instanceof Error ? thrown.message : String(thrown)})`);
  }
  const parsed = parseSnapshot(text);
  return parsed.ok ? parsed : err("validation", `${parsed.error.message} in ${path}`);
}

/**
 * Writes `snapshot` to `path` atomically (temp file + rename).
 *
 * @example
 * ```ts
 * writeSnapshotFile("/tmp/sluice.json", report.snapshot);
 * ```
 */
export function writeSnapshotFile(path: string, snapshot: Snapshot): Result<void> {
  const temp = `${path}.tmp-${Date.now()}`;
  try {
    writeFileSync(temp, JSON.stringify(snapshot));
    renameSync(temp, path);
    return ok();
  } catch (thrown) {
    return err("internal", `snapshot: cannot write ${path} (${thrown instanceof Error ? thrown.message : String(thrown)})`);
  }
}

/**
 * Moves a restored snapshot out of the way (to `<path>.restored`).
 *
 * @example
 * ```ts
 * markSnapshotRestored(path);
 * ```
 */
export function markSnapshotRestored(path: string): Result<void> {
  try {
    renameSync(path, `${path}.restored`);
    return ok();
  } catch (thrown) {
    return err("internal", `snapshot: restored ${path} but cannot rename it (${thrown instanceof Error ? thrown.message : String(thrown)}); move it away before the next start`);
  }
}
