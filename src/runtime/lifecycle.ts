/**
 * What both runtime entries (bun.ts, deno.ts) do around serving: boot (config from
 * sluice.config.json + env, the broker, the snapshot restore) and stop (graceful shutdown, the
 * snapshot write, the final log line). Only the listening and the signal wiring differ per runtime.
 *
 * Without `snapshotPath`, queues are in memory only: the items still pending at shutdown are
 * counted in the final log line and are lost when the process exits.
 *
 * @example
 * ```ts
 * const booted = boot(env, console.log);
 * if (!booted.ok) { console.error(booted.error.message); exit(1); }
 * // …serve createApp(booted.value.config, { broker: booted.value.broker, upgradeWebSocket })…
 * const code = await stop(booted.value, console.log);
 * ```
 */
import { delay } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import { Broker } from "../server/broker.ts";
import type { SluiceConfig } from "../server/config.ts";
import { restoreSnapshot, snapshotCounts } from "../server/snapshot.ts";
import { loadConfigFromFile } from "./config-file.ts";
import { markSnapshotRestored, readSnapshotFile, writeSnapshotFile } from "./snapshot-file.ts";

/** How long `stop` waits for WebSockets to finish closing after the drain. */
const CLOSE_GRACE_MS = 1000;

/** A booted server: its configuration and broker. */
export interface Booted {
  readonly config: SluiceConfig;
  readonly broker: Broker;
}

/**
 * Loads the configuration, creates the broker, restores the snapshot (if configured and present)
 * and starts the queue bridges (queues with a `bridge` config section).
 *
 * @example
 * ```ts
 * const r = boot(process.env, (line) => console.log(line));
 * ```
 */
export function boot(env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Result<Booted> {
  const loaded = loadConfigFromFile({ env });
  if (!loaded.ok) return err("validation", `sluice: invalid configuration\n${loaded.error.message}`);
  const config = loaded.value;
  const broker = new Broker({ config });
  if (config.snapshotPath !== undefined) {
    const snapshot = readSnapshotFile(config.snapshotPath);
    if (!snapshot.ok) return snapshot;
    if (snapshot.value !== undefined) {
      const restored = restoreSnapshot(snapshot.value, broker.queues);
      if (!restored.ok) return err("validation", `sluice: cannot restore ${config.snapshotPath}: ${restored.error.message}`);
      const moved = markSnapshotRestored(config.snapshotPath);
      if (!moved.ok) return moved;
      log(`sluice: restored ${restored.value.pending} pending and ${restored.value.poisoned} poisoned item(s) from ${config.snapshotPath}`);
    }
  }
  // After the restore, so restored items are bridged too; shutdown stops them before the drain.
  broker.startBridges({ log });
  return ok({ config, broker });
}

/**
 * Graceful shutdown: drain, write the snapshot, log the final line. Returns the exit code
 * (0, or 1 when the snapshot could not be written — then the items are lost and the log says so).
 *
 * @example
 * ```ts
 * process.exit(await stop(booted, console.log));
 * ```
 */
export async function stop(booted: Booted, log: (line: string) => void): Promise<number> {
  const { config, broker } = booted;
  const report = await broker.shutdown({ drainMs: config.drainMs });
  // Let the 1001 close frames reach the peers before the process exits (bounded).
  for (let waited = 0; broker.sessions > 0 && waited < CLOSE_GRACE_MS; waited += 10) await delay(10);
  const counts = snapshotCounts(report.snapshot);
  const held = counts.pending + counts.poisoned;
  if (config.snapshotPath === undefined) {
    log(
      `sluice: stopped; ${counts.pending} pending and ${counts.poisoned} poisoned item(s) were in memory and are lost` +
        (held > 0 ? " (set SLUICE_SNAPSHOT_PATH to keep them across restarts)" : ""),
    );
    return 0;
  }
  const written = writeSnapshotFile(config.snapshotPath, report.snapshot);
  if (!written.ok) {
    log(`sluice: stopped; ${written.error.message}; ${counts.pending} pending and ${counts.poisoned} poisoned item(s) are lost`);
    return 1;
  }
  log(`sluice: stopped; ${counts.pending} pending and ${counts.poisoned} poisoned item(s) saved to ${config.snapshotPath}`);
  return 0;
}

/**
 * The signal handler both entries install: the first signal starts `stop`, later ones only log;
 * `exit` gets the exit code once the drain is done.
 *
 * @example
 * ```ts
 * const shutdown = shutdownOnSignal(booted, log, (code) => process.exit(code));
 * process.on("SIGTERM", () => shutdown("SIGTERM"));
 * ```
 */
export function shutdownOnSignal(booted: Booted, log: (line: string) => void, exit: (code: number) => unknown): (signal: string) => void {
  let stopping = false;
  return (signal) => {
    if (stopping) return log(`sluice: ${signal} again; shutdown already in progress`);
    stopping = true;
    log(`sluice: ${signal} received; draining for up to ${booted.config.drainMs} ms`);
    void stop(booted, log).then(exit);
  };
}

/**
 * The URL to log for a listening server (0.0.0.0 / :: are shown as they are: reachable on every interface).
 *
 * @example
 * ```ts
 * listenUrl("0.0.0.0", 8787); // "http://0.0.0.0:8787"
 * ```
 */
export function listenUrl(host: string, port: number): string {
  return `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
}
