/**
 * Creates (or brings up to date) what one Sluice queue needs on JetStream: the work-queue
 * stream, the shared durable pull consumer, the poison stream and the attempt-record bucket.
 * Every node runs this at start-up; all of it is idempotent.
 *
 * @module
 */
import { AckPolicy, DeliverPolicy, DiscardPolicy, type JetStreamClient, type JetStreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { Kvm, type KV } from "@nats-io/kv";
import { nanos } from "@nats-io/nats-core";
import type { JetStreamNames } from "./names.ts";

/**
 * The limits a queue's stream and consumer are made with.
 *
 * @example
 * ```ts
 * const limits: StreamLimits = { capacity: 100_000, maxBytes: 64 * 2 ** 20, leaseMs: 30_000, duplicateWindowMs: 300_000 };
 * ```
 */
export interface StreamLimits {
  /** `max_msgs`: a full stream refuses new messages (discard new → `queue.full`). */
  readonly capacity: number;
  /** `max_bytes`. */
  readonly maxBytes: number;
  /** The consumer's AckWait. */
  readonly leaseMs: number;
  /** How long a `Nats-Msg-Id` (Idempotency-Key) is remembered. */
  readonly duplicateWindowMs: number;
}

/** Attempt records outlive any sane lease; a week bounds a record whose message vanished. */
const ATTEMPT_RECORD_TTL_MS = 7 * 24 * 3600 * 1000;

/**
 * Ensures the stream, consumer, poison stream and attempt bucket of a queue; returns the bucket
 * and the stream's `max_msgs` as set (see `raisedLimits`: never lowered below what it was).
 *
 * @example
 * ```ts
 * const { kv, maxMsgs } = await ensureQueueOnJetStream(js, jsm, jetStreamNames("jobs"), limits);
 * ```
 */
export async function ensureQueueOnJetStream(js: JetStreamClient, jsm: JetStreamManager, names: JetStreamNames, limits: StreamLimits): Promise<{ kv: KV; maxMsgs: number }> {
  const raised = await raisedLimits(jsm, names.stream, limits);
  const stream = {
    name: names.stream,
    subjects: [names.subject],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    discard: DiscardPolicy.New,
    ...raised,
    duplicate_window: nanos(limits.duplicateWindowMs),
  };
  await upsert(() => jsm.streams.add(stream), () => jsm.streams.update(names.stream, stream));
  const consumer = {
    durable_name: names.consumer,
    ack_policy: AckPolicy.Explicit,
    deliver_policy: DeliverPolicy.All,
    ack_wait: nanos(limits.leaseMs),
    // Sluice counts failures and stalls itself (attempt-records.ts): a message that reached
    // MaxDeliver would stay in the work-queue stream forever (nats-server#5564).
    max_deliver: -1,
    max_ack_pending: -1,
  };
  await upsert(() => jsm.consumers.add(names.stream, consumer), () => jsm.consumers.update(names.stream, names.consumer, consumer));
  const poison = {
    name: names.poisonStream,
    subjects: [names.poisonSubject],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    allow_direct: true,
    duplicate_window: nanos(120_000),
  };
  await upsert(() => jsm.streams.add(poison), () => jsm.streams.update(names.poisonStream, poison));
  const kv = await new Kvm(js).create(names.attempts, { history: 1, ttl: ATTEMPT_RECORD_TTL_MS, storage: StorageType.File });
  return { kv, maxMsgs: raised.max_msgs };
}

/**
 * Changes a live queue's limits (the control role reconfigured it): the consumer's AckWait
 * follows `leaseMs`, the stream's `max_msgs` / `max_bytes` are raised when the new limits are
 * higher and kept otherwise (`raisedLimits`). Returns the stream's `max_msgs` as set.
 *
 * @example
 * ```ts
 * const { maxMsgs } = await updateQueueLimits(jsm, jetStreamNames("jobs"), { capacity: 100, maxBytes: 1 << 26, leaseMs: 10_000 });
 * ```
 */
export async function updateQueueLimits(jsm: JetStreamManager, names: JetStreamNames, limits: Omit<StreamLimits, "duplicateWindowMs">): Promise<{ maxMsgs: number }> {
  const info = await jsm.streams.info(names.stream);
  const raised = await raisedLimits(jsm, names.stream, limits);
  if (raised.max_msgs !== info.config.max_msgs || raised.max_bytes !== info.config.max_bytes) {
    await jsm.streams.update(names.stream, { ...info.config, ...raised });
  }
  const consumer = await jsm.consumers.info(names.stream, names.consumer);
  if (consumer.config.ack_wait !== nanos(limits.leaseMs)) {
    await jsm.consumers.update(names.stream, names.consumer, { ...consumer.config, ack_wait: nanos(limits.leaseMs) });
  }
  return { maxMsgs: raised.max_msgs };
}

/**
 * The `max_msgs` / `max_bytes` to set on a queue's stream: the new limits, but never below the
 * stream's current ones — nats-server deletes the oldest messages of a stream whose limit drops
 * below what it holds (work-queue and discard-new streams too), and another node may be
 * publishing while the limit changes. A lower `capacity` is enforced by Sluice's own admission
 * instead (`JetStreamQueue.tryEnqueue`); a new stream gets the limits as they are.
 *
 * @example
 * ```ts
 * await raisedLimits(jsm, "SLUICE_jobs", { capacity: 10, maxBytes: 1 << 20 }); // { max_msgs: 1000, … } if it had 1000
 * ```
 */
export async function raisedLimits(jsm: JetStreamManager, stream: string, limits: { capacity: number; maxBytes: number }): Promise<{ max_msgs: number; max_bytes: number }> {
  let current: { max_msgs: number; max_bytes: number };
  try {
    current = (await jsm.streams.info(stream)).config;
  } catch (error) {
    if (!/not found/i.test(String((error as Error)?.message))) throw error;
    return { max_msgs: limits.capacity, max_bytes: limits.maxBytes };
  }
  const keep = (now: number, wanted: number) => (now < 0 ? now : Math.max(now, wanted));
  return { max_msgs: keep(current.max_msgs, limits.capacity), max_bytes: keep(current.max_bytes, limits.maxBytes) };
}

// Adds; when it exists with other settings (a restart with a changed config), updates it.
async function upsert(add: () => Promise<unknown>, update: () => Promise<unknown>): Promise<void> {
  try {
    await add();
  } catch (error) {
    if (!/already (in use|exists)/i.test(String((error as Error)?.message))) throw error;
    await update();
  }
}
