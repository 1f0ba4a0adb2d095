/**
 * Writes a SQLite WAL back to the disk off the event loop (Bun and Deno: `node:fs`'s thread pool).
 *
 * Under durability "process" the only fsyncs are the checkpoint's, and the first of them — of the
 * WAL, up to `WAL_CHECKPOINT_PAGES` (32 MiB) of dirty pages — ran on the event loop for 100–200 ms
 * (strace of the store probe) once every ~35k messages: the publish→deliver tail. An
 * `fdatasync` of the WAL started in the background every few commits leaves the checkpoint's own
 * fsync little to write. SQLite still makes every fsync it made before, so what a commit survives
 * is unchanged; this only starts the disk writes earlier.
 *
 * @example
 * ```ts
 * const writeback = walWriteback("data/sluice.db");
 * writeback.committed(); // after each commit
 * writeback.close();
 * ```
 */
import { close, fdatasync, openSync } from "node:fs";

/** Commits between two background writebacks (one at a time; ~16 turns of a busy server). */
const COMMITS_PER_WRITEBACK = 16;

/**
 * Background writeback of the WAL of the database at `path` (none for ":memory:" or "").
 *
 * @example
 * ```ts
 * const writeback = walWriteback(path);
 * ```
 */
export function walWriteback(path: string): { committed(): void; close(): void } {
  if (path === "" || path === ":memory:" || path.startsWith("file:")) return { committed() {}, close() {} };
  let fd: number | undefined;
  let commits = 0;
  let running = false;
  let closed = false;
  const done = (): void => {
    running = false;
    if (closed && fd !== undefined) {
      close(fd, () => {});
      fd = undefined;
    }
  };
  return {
    committed() {
      if (running || closed || ++commits < COMMITS_PER_WRITEBACK) return;
      commits = 0;
      try {
        // Opened on first use: the WAL exists once something was committed (and, with the store's
        // exclusive lock, stays the same file until the connection closes).
        fd ??= openSync(`${path}-wal`, "r");
      } catch {
        return; // Advisory only: the checkpoint's own fsync still does the work.
      }
      running = true;
      fdatasync(fd, done);
    },
    close() {
      closed = true;
      if (!running && fd !== undefined) {
        close(fd, () => {});
        fd = undefined;
      }
    },
  };
}
