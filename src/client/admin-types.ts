/**
 * What the server's operator routes answer, as the SDK's `AdminClient` returns it: queue stats,
 * poison entries with their failure history, cluster members and leaders, the control config.
 * Plain JSON shapes (DESIGN.md "Mesh roles" for members, leaders and the control config).
 *
 * @example
 * ```ts
 * const stats: QueueStatsView = { queue: "jobs", pending: 3, active: 1, poisoned: 0, ... };
 * ```
 *
 * @module
 */

/**
 * One queue's stats (`GET /v1/queues/:queue`, and each entry of `GET /v1/queues` and of the
 * stats feed).
 *
 * @example
 * ```ts
 * const depth = (s: QueueStatsView) => s.pending + s.active;
 * ```
 */
export interface QueueStatsView {
  readonly queue: string;
  /** Ready, waiting out a requeue delay, or waiting in the store. */
  readonly pending: number;
  /** Leases in flight. */
  readonly active: number;
  /** Entries now in the poison queue. */
  readonly poisoned: number;
  readonly enqueued: number;
  readonly acked: number;
  readonly failed: number;
  readonly requeued: number;
  readonly expired: number;
  readonly poisonedTotal: number;
  readonly backpressure: boolean;
  readonly capacity?: number;
  readonly held?: number;
  readonly stored?: number;
  /** Set on a queue the control config removed (read-only until its poison entries are purged). */
  readonly removed?: boolean;
}

/**
 * One ended delivery in a poison entry's history.
 *
 * @example
 * ```ts
 * const line = (a: AttemptView) => `#${a.attempt} ${a.code}: ${a.message}`;
 * ```
 */
export interface AttemptView {
  readonly attempt: number;
  readonly code: string;
  readonly message: string;
  /** When the delivery ended, ms since the epoch. */
  readonly at: number;
}

/**
 * One poison (dead-letter) entry (`GET /v1/queues/:queue/poison`).
 *
 * @example
 * ```ts
 * const text = new TextDecoder().decode(bytesFromBase64(entry.payload));
 * ```
 */
export interface PoisonEntryView {
  readonly sequenceId: number;
  /** The message, base64. */
  readonly payload: string;
  readonly lastError: { readonly code: string; readonly message: string };
  /** Deliveries in the round that poisoned it. */
  readonly attempts: number;
  readonly exhausted: "failures" | "stalls" | "rejected";
  /** Every ended delivery, across replays, oldest first. */
  readonly history: readonly AttemptView[];
  readonly enqueuedAt: number;
  readonly poisonedAt: number;
}

/**
 * A queue's poison list.
 *
 * @example
 * ```ts
 * const { count, entries } = (await admin.poison("jobs")).value;
 * ```
 */
export interface PoisonListView {
  /** The poison queue's name (`<queue>.poison`). */
  readonly queue: string;
  readonly count: number;
  readonly entries: readonly PoisonEntryView[];
}

/**
 * One cluster member (`GET /v1/cluster/members`).
 *
 * @example
 * ```ts
 * const alive = members.filter((m: ClusterMember) => m.status === "alive");
 * ```
 */
export interface ClusterMember {
  readonly id: string;
  readonly url: string;
  readonly status: "alive" | "suspect" | "dead" | "left";
  readonly incarnation: number;
  readonly lastSeenAtMs: number;
  /** Pending messages per queue, as that member last said. */
  readonly queues: Readonly<Record<string, number>>;
}

/**
 * `GET /v1/cluster/members`: the answering node's id and every member it knows, itself included.
 *
 * @example
 * ```ts
 * const me = view.members.find((m) => m.id === view.self);
 * ```
 */
export interface ClusterMembers {
  readonly self: string;
  readonly members: readonly ClusterMember[];
}

/**
 * One leadership scope (`GET /v1/cluster/leaders`).
 *
 * @example
 * ```ts
 * const line = (l: ClusterLeader) => `${l.scope} → ${l.leader ?? "nobody"} (term ${l.term})`;
 * ```
 */
export interface ClusterLeader {
  readonly scope: string;
  /** The leading node's id, or null when nobody holds an unexpired lease. */
  readonly leader: string | null;
  readonly term: number;
  /** When the leader's lease runs out, ms since the epoch (null when unknown). */
  readonly expiresAtMs: number | null;
}

/**
 * `GET /v1/control/config`: the applied cluster configuration and its version.
 *
 * @example
 * ```ts
 * const next = { ...view.config, queues: { ...view.config.queues, jobs: { maxRetries: 3 } } };
 * await admin.putConfig(next, view.version);
 * ```
 */
export interface ControlConfigView {
  readonly version: number;
  readonly status: "applied" | "degraded";
  readonly config: Readonly<Record<string, unknown>>;
}

/**
 * One sample of the stats feed (`GET /v1/stats/stream`): every queue's stats at one instant.
 *
 * @example
 * ```ts
 * for await (const sample of admin.statsFeed()) if (sample.ok) draw(sample.value.at, sample.value.queues);
 * ```
 */
export interface StatsSample {
  /** When the server took it, ms since the epoch. */
  readonly at: number;
  readonly queues: readonly QueueStatsView[];
}

/**
 * Per-second rates between two samples of one queue.
 *
 * @example
 * ```ts
 * const r: QueueRates = queueRates(before, after, 1000); // r.enqueued: messages/s
 * ```
 */
export interface QueueRates {
  readonly enqueued: number;
  readonly acked: number;
  readonly failed: number;
  readonly poisoned: number;
}

/**
 * Rates per second of a queue's counters between two stats taken `elapsedMs` apart (0 when
 * nothing elapsed, and never negative: a restarted server's counters start again at 0).
 *
 * @example
 * ```ts
 * queueRates({ ...s, enqueued: 10 }, { ...s, enqueued: 30 }, 2000).enqueued; // 10
 * ```
 */
export function queueRates(before: QueueStatsView, after: QueueStatsView, elapsedMs: number): QueueRates {
  const per = (a: number, b: number) => (elapsedMs > 0 ? Math.max(0, ((b - a) * 1000) / elapsedMs) : 0);
  return {
    enqueued: per(before.enqueued, after.enqueued),
    acked: per(before.acked, after.acked),
    failed: per(before.failed, after.failed),
    poisoned: per(before.poisonedTotal, after.poisonedTotal),
  };
}
