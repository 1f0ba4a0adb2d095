/**
 * The queue conformance suite (test/conformance/) against the in-process backends: a memory
 * `SafeTaskQueue` and one journaled to SQLite, both on a VirtualClock. JetStream runs the same
 * suite in test/integration/queue-conformance-jetstream.test.ts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { VirtualClock } from "../../src/result/mod.ts";
import { SafeTaskQueue } from "../../src/queue/mod.ts";
import { bytesCodec, SqlStore } from "../../src/store/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { type ConformanceBackend, virtualTime } from "../conformance/backend.ts";
import { queueConformance } from "../conformance/queue-conformance.ts";

function inProcess(name: string, journaled: boolean): ConformanceBackend {
  const clock = new VirtualClock();
  return {
    name,
    leaseMs: 1000,
    sweepMs: 100,
    ...virtualTime(clock),
    async open(options) {
      let store: SqlStore | undefined;
      let dir: string | undefined;
      if (journaled) {
        dir = mkdtempSync(join(tmpdir(), "sluice-conformance-"));
        const path = join(dir, "sluice.db");
        const opened = SqlStore.open({ driver: await openSqlite(path), path, clock });
        if (!opened.ok) throw new Error(opened.error.message);
        store = opened.value;
      }
      const queue = SafeTaskQueue.create<Uint8Array>({ name: "jobs", clock, ...options, journal: store?.journal("jobs", bytesCodec) });
      return {
        queue,
        stats: () => Promise.resolve(queue.stats()),
        close: async () => {
          queue.close();
          store?.flush();
          store?.close();
          if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
        },
      };
    },
  };
}

queueConformance(inProcess("memory", false));
queueConformance(inProcess("sqlite", true));
