/**
 * The ratios the durable benchmark reports, from one run's scenario results: durable Sluice
 * against the raw JetStream client and against Sluice in memory (issue 11), and Sluice on
 * JetStream against the raw `@nats-io/jetstream` client doing the same publish / consume / ack
 * on the same nats-server, and against Sluice on SQLite (issue 15, goal ≥ 0.8× of the raw client).
 *
 * Throughput ratios are settled msg/s ÷ settled msg/s in the closed loop (> 1: the first is
 * faster); latency ratios are p99 ÷ p99 at the open-loop rate (< 1: the first is faster).
 *
 * @example
 * ```ts
 * const ratios = durableRatios(results);
 * ratios.sluiceJetStreamWsClosedVsClient; // e.g. 0.62
 * ```
 */
import type { ScenarioResult } from "../load/scenarios.ts";

/** A scenario's result, with what the durable bench adds. */
export type DurableResult = ScenarioResult & {
  /** Open loop: messages settled per second within the measured window (below the rate: the server fell behind). */
  readonly settledInWindowPerSec?: number;
  /** Open loop: publishes the server refused (ERROR queue.full, GOAWAY, then 1013) or dropped, never settled (0: none). */
  readonly refused?: number;
  /** JetStream scenarios: NATS messages into / out of nats-server and subscriptions created, per settled message. */
  readonly nats?: { readonly inPerMsg: number; readonly outPerMsg: number; readonly subsPerMsg: number };
};
export type Results = Record<string, Record<string, DurableResult>>;

const round3 = (n: number) => Math.round(n * 1000) / 1000;
const ratio = (a: number | undefined, b: number | undefined) => (a === undefined || b === undefined || b === 0 ? undefined : round3(a / b));

/** Every ratio of one run (undefined where a scenario did not run). */
export function durableRatios(results: Results): Record<string, number | undefined> {
  const m = results.memory ?? {};
  const d = results.sqlite ?? {};
  const j = results.jetstream ?? {};
  const s = results.sluiceJetStream ?? {};
  // JetStream's closed-loop rate with whichever of its two producers was faster in this run.
  const jetStreamBest = Math.max(j.closed?.msgsPerSec ?? 0, j.leanClosed?.msgsPerSec ?? 0) || undefined;
  const ackP99 = (r: ScenarioResult | undefined) => r?.ack.p99Ms;
  return {
    // Durable Sluice settled msg/s ÷ JetStream's (goal ≥ 2), against the faster JetStream producer.
    sqliteWsClosedVsJetStream: ratio(d.wsClosed?.msgsPerSec, jetStreamBest),
    sqliteDuplexClosedVsJetStream: ratio(d.duplexClosed?.msgsPerSec, jetStreamBest),
    memoryWsClosedVsJetStream: ratio(m.wsClosed?.msgsPerSec, jetStreamBest),
    memoryDuplexClosedVsJetStream: ratio(m.duplexClosed?.msgsPerSec, jetStreamBest),
    // …and against the client's own js.publish.
    sqliteWsClosedVsJetStreamClient: ratio(d.wsClosed?.msgsPerSec, j.closed?.msgsPerSec),
    sqliteDuplexClosedVsJetStreamClient: ratio(d.duplexClosed?.msgsPerSec, j.closed?.msgsPerSec),
    // What durability costs in throughput: durable ÷ memory.
    sqliteVsMemoryWsClosed: ratio(d.wsClosed?.msgsPerSec, m.wsClosed?.msgsPerSec),
    sqliteVsMemoryDuplexClosed: ratio(d.duplexClosed?.msgsPerSec, m.duplexClosed?.msgsPerSec),
    // p99 publish→receipt at the open-loop rate, durable ÷ memory (goal ≤ 2).
    receiptP99SqliteVsMemoryWsOpen: ratio(d.wsOpen?.receipt.p99Ms, m.wsOpen?.receipt.p99Ms),
    receiptP99SqliteVsMemoryDuplexOpen: ratio(d.duplexOpen?.receipt.p99Ms, m.duplexOpen?.receipt.p99Ms),
    // Issue 15: Sluice on JetStream ÷ the raw client, closed-loop settled msg/s (goal ≥ 0.8)…
    sluiceJetStreamWsClosedVsClient: ratio(s.wsClosed?.msgsPerSec, j.closed?.msgsPerSec),
    sluiceJetStreamDuplexClosedVsClient: ratio(s.duplexClosed?.msgsPerSec, j.closed?.msgsPerSec),
    sluiceJetStreamWsClosedVsLean: ratio(s.wsClosed?.msgsPerSec, j.leanClosed?.msgsPerSec),
    sluiceJetStreamDuplexClosedVsLean: ratio(s.duplexClosed?.msgsPerSec, j.leanClosed?.msgsPerSec),
    // …p99 publish→ack at the open-loop rate, Sluice on JetStream ÷ the raw client (goal ≤ 1 / 0.8 = 1.25)…
    ackP99SluiceJetStreamWsOpenVsClient: ratio(ackP99(s.wsOpen), ackP99(j.open)),
    ackP99SluiceJetStreamDuplexOpenVsClient: ratio(ackP99(s.duplexOpen), ackP99(j.open)),
    ackP99SluiceJetStreamWsOpenVsLean: ratio(ackP99(s.wsOpen), ackP99(j.leanOpen)),
    ackP99SluiceJetStreamDuplexOpenVsLean: ratio(ackP99(s.duplexOpen), ackP99(j.leanOpen)),
    // …the same at the low open-loop rate (one Sluice on JetStream sustains)…
    ackP99SluiceJetStreamWsOpenLowVsClient: ratio(ackP99(s.wsOpenLow), ackP99(j.openLow)),
    ackP99SluiceJetStreamDuplexOpenLowVsClient: ratio(ackP99(s.duplexOpenLow), ackP99(j.openLow)),
    ackP99SluiceJetStreamWsOpenLowVsLean: ratio(ackP99(s.wsOpenLow), ackP99(j.leanOpenLow)),
    ackP99SluiceJetStreamDuplexOpenLowVsLean: ratio(ackP99(s.duplexOpenLow), ackP99(j.leanOpenLow)),
    // …and against Sluice on SQLite: msg/s and p99 publish→ack.
    sluiceJetStreamVsSqliteWsClosed: ratio(s.wsClosed?.msgsPerSec, d.wsClosed?.msgsPerSec),
    sluiceJetStreamVsSqliteDuplexClosed: ratio(s.duplexClosed?.msgsPerSec, d.duplexClosed?.msgsPerSec),
    ackP99SluiceJetStreamVsSqliteWsOpen: ratio(ackP99(s.wsOpen), ackP99(d.wsOpen)),
    ackP99SluiceJetStreamVsSqliteDuplexOpen: ratio(ackP99(s.duplexOpen), ackP99(d.duplexOpen)),
  };
}
