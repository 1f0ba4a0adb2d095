/**
 * What both runtime entries (bun.ts, deno.ts) do around serving: boot (config from
 * sluice.config.json + env, the durable store, the broker whose stored queues load from it) and
 * stop (graceful shutdown, the store's last commit, the final log line). Only the listening and
 * the signal wiring differ per runtime.
 *
 * Stored queues (`storage: "sqlite"`, the default) need nothing at shutdown: every receipted
 * message is already committed. Memory queues lose what they hold, and the final line says so.
 * JetStream queues (`storage: "jetstream"`, jetstream-queues.ts) are opened before the broker
 * (start-up fails, naming the URL, when NATS cannot be reached within 10 s) and their NATS
 * connections are closed after the broker shut down.
 *
 * What a configuration does not use is not loaded (issue 21, RSS at start): the store and SQLite
 * only with a stored queue, the NATS client and the JetStream backend only with a JetStream
 * queue, leadership only with a bridged queue (each a dynamic `import()` below).
 *
 * @example
 * ```ts
 * const booted = await boot(env, console.log);
 * if (!booted.ok) { console.error(booted.error.message); exit(1); }
 * // …serve createApp(booted.value.config, { broker: booted.value.broker, upgradeWebSocket })…
 * const code = await stop(booted.value, console.log);
 * ```
 */
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { delay } from "../result/delay.ts";
import { err, ok, type Result } from "../result/result.ts";
import { MetricsRegistry } from "../queue/metrics/registry.ts";
import { Broker } from "../server/broker.ts";
import { type SluiceConfig, storageOf } from "../server/config.ts";
import type { SqlStore } from "../store/sql-store.ts";
import { loadConfigFromFile } from "./config-file.ts";
import type { JetStreamQueues } from "./jetstream-queues.ts";
import type { LeadershipRuntime } from "./leadership.ts";
import { configWithLkg, type ControlRuntime, pendingJetStreamQueues, startControl } from "./control.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";

/** How long `stop` waits for WebSockets to finish closing after the drain. */
const CLOSE_GRACE_MS = 1000;

/**
 * A booted server: its configuration, broker, (when any queue is stored there) SQLite store and
 * (when any queue is on JetStream) NATS connections.
 *
 * @example
 * ```ts
 * const { config, broker, store, jetstream } = booted.value;
 * ```
 */
export interface Booted {
  readonly config: SluiceConfig;
  readonly broker: Broker;
  readonly store?: SqlStore;
  readonly jetstream?: JetStreamQueues;
  /** Leadership of the bridged queues (leadership.ts); undefined when no queue has a bridge. */
  readonly leadership?: LeadershipRuntime;
  /** The control role (control.ts): the versioned cluster configuration, applied live. */
  readonly control?: ControlRuntime;
}

/**
 * Loads the configuration, opens the store in `dataDir` when any queue is stored there (a
 * corrupt, unreadable or locked database stops start-up with a message naming the file and the
 * cause — never an empty start over an existing store), creates the broker (stored queues load
 * their first memory window; crashed leases become stalls), and starts leadership, which runs
 * each queue bridge on the node that leads its queue's scope (leadership.ts), then the control
 * role (control.ts). The node's last-known-good control version is read first and decides the
 * queues it starts with; with one, a NATS server that does not answer within 2 s no longer stops
 * start-up: the JetStream queues answer 503 until it does.
 *
 * @example
 * ```ts
 * const r = await boot(process.env, (line) => console.log(line));
 * ```
 */
export async function boot(env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<Result<Booted>> {
  const loaded = loadConfigFromFile({ env });
  if (!loaded.ok) return err("validation", `sluice: invalid configuration\n${loaded.error.message}`);
  // The control role's last-known-good version first: the node starts as it last ran (control.ts).
  const { config, lkgVersion } = await configWithLkg(loaded.value, env, log);
  const storedQueues = Object.keys(config.queues).filter((name) => storageOf(config, name) === "sqlite");
  let store: SqlStore | undefined;
  if (storedQueues.length > 0) {
    const path = join(config.dataDir, "sluice.db");
    try {
      mkdirSync(config.dataDir, { recursive: true });
      const [{ SqlStore }, { openSqlite }] = await Promise.all([import("../store/sql-store.ts"), import("./sqlite.ts")]);
      const opened = SqlStore.open({ driver: await openSqlite(path), path, durability: config.durability, log });
      if (!opened.ok) return err("unavailable", `sluice: ${opened.error.message}`);
      store = opened.value;
    } catch (thrown) {
      return err("unavailable", `sluice: store: cannot open ${path}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
    }
  }
  const metrics = new MetricsRegistry();
  let jetstream: JetStreamQueues | undefined;
  let pending: Map<string, RelayQueue<Uint8Array>> | undefined;
  const onJetStream = Object.keys(config.queues).filter((name) => storageOf(config, name) === "jetstream");
  if (onJetStream.length > 0) {
    // With a last-known-good config a node starts without NATS: those queues answer 503 until it is back.
    const { openJetStreamQueues } = await import("./jetstream-queues.ts");
    const opened = await openJetStreamQueues(config, metrics, log, lkgVersion === undefined ? {} : { connectWithinMs: 2000 });
    if (opened.ok) jetstream = opened.value;
    else if (lkgVersion === undefined) {
      store?.close();
      return opened;
    } else {
      log(`${opened.error.message}; serving last-known-good version ${lkgVersion}: queue(s) ${onJetStream.join(", ")} answer 503 until NATS is back`);
      pending = pendingJetStreamQueues(config, onJetStream, metrics, "NATS (JetStream) is unreachable; retrying");
    }
  }
  const started = Date.now();
  let broker: Broker;
  try {
    broker = new Broker({ config, store, metrics, queues: jetstream?.queues ?? pending, dependencies: jetstream?.dependencies });
  } catch (thrown) {
    store?.close();
    await jetstream?.close();
    return err("unavailable", `sluice: store: cannot read ${store?.path}: ${thrown instanceof Error ? thrown.message : String(thrown)}`);
  }
  if (store !== undefined) {
    const counts = storedQueues.map((name) => {
      const s = broker.queue(name)!.stats();
      return `${name}: ${s.held} held, ${s.poisoned} poisoned`;
    });
    log(`sluice: store ${store.path} (durability ${config.durability}) loaded in ${Date.now() - started} ms (${counts.join("; ")})`);
  }
  if (jetstream !== undefined) {
    const counts = [...jetstream.queues.keys()].map((name) => {
      const s = broker.queue(name)!.stats();
      return `${name}: ${s.pending} pending, ${s.active} leased, ${s.poisoned} poisoned`;
    });
    log(`sluice: JetStream at ${jetstream.urls.join(", ")} (${counts.join("; ")})`);
  }
  // After the load, so stored items are bridged too; shutdown stops them before the drain. Each
  // bridge runs only on the node that leads its queue's scope (leader-bridges.ts).
  const bridged = Object.values(config.queues).some((q) => q.bridge !== undefined);
  const leadership = bridged ? await (await import("./leadership.ts")).startLeadership(config, broker, store, log) : ok(undefined);
  if (!leadership.ok) {
    store?.close();
    await jetstream?.close();
    return leadership;
  }
  // Its NATS connection counts for /readyz only when no JetStream connection does already.
  const control = await startControl({ base: loaded.value, env, broker, log, natsDependency: jetstream === undefined });
  return ok({ config, broker, store, jetstream, leadership: leadership.value, control });
}

/**
 * Graceful shutdown: drain, commit and close the store, log the final line. Returns the exit
 * code (0, or 1 when the store's last commit failed — the log then says what may be redelivered).
 *
 * @example
 * ```ts
 * process.exit(await stop(booted, console.log));
 * ```
 */
export async function stop(booted: Booted, log: (line: string) => void): Promise<number> {
  const { broker, store, jetstream } = booted;
  const report = await broker.shutdown({ drainMs: booted.config.drainMs });
  // The shutdown released the leases; now the leadership's own NATS connection can go.
  await booted.leadership?.close();
  // The shutdown stopped the control role's watch and pump; its NATS connection goes too.
  await booted.control?.close();
  // The drained deliveries' naks are buffered in the NATS client: flush them, then close.
  await jetstream?.close();
  // Let the 1001 close frames reach the peers before the process exits (bounded).
  for (let waited = 0; broker.sessions > 0 && waited < CLOSE_GRACE_MS; waited += 10) await delay(10);
  let kept = 0;
  let onJetStream = 0;
  let lost = 0;
  for (const [name, q] of Object.entries(report.queues)) {
    if (storageOf(broker.config, name) === "jetstream") onJetStream += q.pending + q.poisoned;
    else if (q.stored) kept += q.pending + q.poisoned;
    else lost += q.pending + q.poisoned;
  }
  const closed = store?.close() ?? ok();
  const parts = store === undefined && jetstream !== undefined ? [] : [`${kept} item(s) stored${store === undefined ? "" : ` in ${store.path}`}`];
  if (jetstream !== undefined) parts.push(`${onJetStream} item(s) on JetStream at ${jetstream.urls.join(", ")}`);
  if (lost > 0) parts.push(`${lost} item(s) of memory queues are lost`);
  if (!closed.ok) {
    log(`sluice: stopped; ${closed.error.message}; changes since the last commit (acks, requeues) will be replayed at-least-once`);
    return 1;
  }
  log(`sluice: stopped; ${parts.join("; ")}`);
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
