/**
 * The Sluice servers of the durable benchmark, each a child process (bench/load/child.ts) with
 * its own temp data dir: in memory, on SQLite, and on NATS JetStream (`SLUICE_STORAGE=jetstream`,
 * `SLUICE_NATS_URL` = the bench's own nats-server). The JetStream one serves a queue of its own
 * name (`JETSTREAM_QUEUE`), so its stream `SLUICE_<queue>` and subject `sluice.q.<queue>` never
 * meet the raw client's stream (bench/durable/nats.ts: `SLUICE_BENCH`, `sluice.bench`) on the one
 * nats-server; `waitSluiceStreamDrained` checks between scenarios that nothing is left in it.
 *
 * @example
 * ```ts
 * const s = await startSluice("jetstream", { natsUrl: nats.url });
 * // …connectSluice(s.child.url, s.queue, …)…
 * await waitSluiceStreamDrained(nats.url, s.queue);
 * await stopSluice(s);
 * ```
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { jetstreamManager } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { jetStreamNames } from "../../src/backends/jetstream/names.ts";
import { type Child, spawnServer } from "../load/child.ts";

export type SluiceStorage = "memory" | "sqlite" | "jetstream";
/** Results key of each storage ("jetstream" alone is the raw client's). */
export const RESULT_KEY = { memory: "memory", sqlite: "sqlite", jetstream: "sluiceJetStream" } as const;
export type SluiceKey = (typeof RESULT_KEY)[SluiceStorage];

/** The queue of the memory and SQLite servers. */
export const QUEUE = "bench";
/** The queue of the JetStream server: stream `SLUICE_bench-js`, subject `sluice.q.bench-js`. */
export const JETSTREAM_QUEUE = "bench-js";
const QUEUE_CONFIG = { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 };

/** A Sluice server with the given storage, in its own temp data dir. */
export interface SluiceUnderTest {
  readonly storage: SluiceStorage;
  readonly key: SluiceKey;
  readonly queue: string;
  readonly child: Child;
  readonly dataDir: string;
  settled: number;
  /** Bytes in the data dir after the last scenario (the SQLite file and its WAL). */
  dataBytes: number;
}

export interface StartOptions {
  /** SLUICE_DURABILITY of the SQLite server ("" = the server's default). */
  readonly durability?: string;
  /** host:port of the nats-server (the JetStream server only). */
  readonly natsUrl?: string;
  /** Extra bun flags for the server process (e.g. `--cpu-prof`). */
  readonly bunFlags?: readonly string[];
}

/**
 * Starts Sluice on `storage`.
 *
 * @example
 * ```ts
 * const sqlite = await startSluice("sqlite", { durability: "process" });
 * ```
 */
export async function startSluice(storage: SluiceStorage, options: StartOptions = {}): Promise<SluiceUnderTest> {
  const dataDir = mkdtempSync(join(tmpdir(), `sluice-durable-${storage}-`));
  const queue = storage === "jetstream" ? JETSTREAM_QUEUE : QUEUE;
  // spawnServer reads LOAD_SERVER_ENV ("K=V,K=V") for server-only variables: add ours to it.
  const base = process.env.LOAD_SERVER_ENV;
  const env = [
    base,
    `SLUICE_STORAGE=${storage}`,
    `SLUICE_DATA_DIR=${dataDir}`,
    storage === "sqlite" && options.durability ? `SLUICE_DURABILITY=${options.durability}` : undefined,
    storage === "jetstream" ? `SLUICE_NATS_URL=nats://${options.natsUrl}` : undefined,
  ];
  process.env.LOAD_SERVER_ENV = env.filter(Boolean).join(",");
  try {
    const child = await spawnServer({ queues: { [queue]: QUEUE_CONFIG } }, options.bunFlags);
    return { storage, key: RESULT_KEY[storage], queue, child, dataDir, settled: 0, dataBytes: 0 };
  } catch (e) {
    rmSync(dataDir, { recursive: true, force: true });
    throw e;
  } finally {
    if (base === undefined) delete process.env.LOAD_SERVER_ENV;
    else process.env.LOAD_SERVER_ENV = base;
  }
}

export async function stopSluice(s: SluiceUnderTest | undefined): Promise<void> {
  if (!s) return;
  try {
    await s.child.stop();
  } finally {
    rmSync(s.dataDir, { recursive: true, force: true });
  }
}

/** Messages in a Sluice queue's stream and its shared consumer's unacked / undelivered counts. */
export async function sluiceStreamState(natsUrl: string, queue: string): Promise<{ messages: number; ackPending: number; pending: number; waiting: number }> {
  const names = jetStreamNames(queue);
  const nc = await connect({ servers: natsUrl, name: "sluice-bench-admin", timeout: 10_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const s = await jsm.streams.info(names.stream);
    const c = await jsm.consumers.info(names.stream, names.consumer);
    return { messages: s.state.messages, ackPending: c.num_ack_pending, pending: c.num_pending, waiting: c.num_waiting };
  } finally {
    await nc.close();
  }
}

/**
 * Waits (bounded) until the Sluice queue's stream is empty and nothing is unacked: the server
 * sends its acks without waiting for an answer, so the last ones may still be on their way
 * when the load generator has seen every message settled. Throws when it is not drained in time.
 */
export async function waitSluiceStreamDrained(natsUrl: string, queue: string, withinMs = 5000): Promise<void> {
  const until = performance.now() + withinMs;
  for (;;) {
    const state = await sluiceStreamState(natsUrl, queue);
    if (state.messages === 0 && state.ackPending === 0 && state.pending === 0) return;
    if (performance.now() > until) throw new Error(`Sluice on JetStream: stream of queue '${queue}' not drained ${withinMs} ms after the run: ${JSON.stringify(state)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Throws unless the server's counts agree with the load generator's: every settled message acked, none left. */
export async function checkServerStats(s: SluiceUnderTest): Promise<void> {
  const stats = (await (await fetch(`${s.child.url}/v1/queues/${s.queue}`)).json()) as Record<string, number>;
  // On JetStream `pending` is the stream's count as of the last refresh (every sweepMs): the stream itself was checked drained.
  const pending = s.storage === "jetstream" ? 0 : stats.pending;
  if (stats.acked !== s.settled || pending !== 0 || stats.active !== 0) {
    throw new Error(`${s.key}: server stats disagree with the client: acked ${stats.acked} vs ${s.settled} settled; pending ${stats.pending}, active ${stats.active}`);
  }
}
