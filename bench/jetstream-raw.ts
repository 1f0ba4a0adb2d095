// The raw-client baseline for issue #15's benchmark. Run:  npx bun bench/jetstream-raw.ts
// What Sluice-on-JetStream is measured against: the plain `@nats-io/jetstream` client doing the
// same publish → consume → ack on the same box, with no Sluice in between:
//   - a private nats-server (bench/support/nats-server.ts: JetStream, loopback, temp store);
//   - one work-queue stream with file storage, one durable pull consumer (explicit acks);
//   - a producer connection: `js.publish` awaiting each PubAck, at most --window (256) in flight;
//   - a consumer connection: `consume()` (callback mode, --batch 256 pulled ahead), `ack()` of
//     every message on arrival;
//   - --messages (20,000) of --payload (256) bytes, after an untimed warm-up of --warmup (2,000).
// Throughput = messages / (first publish → last ack); latency per message = publish call →
// the consumer's ack of it (the payload carries its publish time: one process, one clock), and
// publish → PubAck (the receipt). At the end the stream must be empty (every ack landed).
// Progress on stderr; ends with one `BENCH_JSON {...}` line on stdout. Not in `npm run bench` yet.
import { cpus } from "node:os";
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { AckPolicy, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { connectNats, type NatsConnection } from "../src/runtime/nats.ts";
import { natsServerVersion, startNatsServer } from "./support/nats-server.ts";

const { values } = parseArgs({
  options: {
    messages: { type: "string", default: "20000" },
    payload: { type: "string", default: "256" },
    window: { type: "string", default: "256" },
    batch: { type: "string", default: "256" },
    warmup: { type: "string", default: "2000" },
  },
});
const MESSAGES = Number(values.messages);
const PAYLOAD = Number(values.payload);
const WINDOW = Number(values.window);
const BATCH = Number(values.batch);
const WARMUP = Number(values.warmup);
const STAMP_BYTES = 12; // float64 publish time (performance.now(), ms) + uint32 index
if (PAYLOAD < STAMP_BYTES) throw new RangeError(`--payload must hold the ${STAMP_BYTES}-byte stamp`);

const STREAM = "RAW_BENCH";
const SUBJECT = "raw.bench";
const DURABLE = "raw";
const runtime = "Bun" in globalThis ? "bun" : "Deno" in globalThis ? "deno" : "node";
const runtimeVersion = process.versions.bun ?? (globalThis as { Deno?: { version: { deno: string } } }).Deno?.version.deno ?? process.version;
const clientVersion = (JSON.parse(readFileSync(new URL("../node_modules/@nats-io/jetstream/package.json", import.meta.url), "utf8")) as { version: string }).version;

function must(r: { ok: true; value: NatsConnection } | { ok: false; error: { message: string } }): NatsConnection {
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}
const round = (ms: number) => Math.round(ms * 1000) / 1000;
function summary(samples: Float64Array) {
  const sorted = samples.slice().sort();
  return { p50Ms: round(percentile(sorted, 50)), p90Ms: round(percentile(sorted, 90)), p99Ms: round(percentile(sorted, 99)), maxMs: round(sorted[sorted.length - 1] ?? NaN) };
}

/** One phase: `count` messages through publish → consume → ack; per-message latencies. */
async function phase(pub: NatsConnection, sub: NatsConnection, count: number) {
  const js = jetstream(pub, { timeout: 30_000 });
  const consumer = await jetstream(sub).consumers.get(STREAM, DURABLE);
  const e2e = new Float64Array(count);
  const receipt = new Float64Array(count);
  const seen = new Uint8Array(count);
  let acked = 0;
  let duplicates = 0;
  let lastAckAt = 0;
  let allAcked!: () => void;
  const done = new Promise<void>((r) => (allAcked = r));
  const messages = await consumer.consume({
    max_messages: BATCH,
    callback: (m) => {
      const view = new DataView(m.data.buffer, m.data.byteOffset, m.data.byteLength);
      const publishedAt = view.getFloat64(0, true);
      const index = view.getUint32(8, true);
      m.ack();
      const now = performance.now();
      if (seen[index]) {
        duplicates++;
        return;
      }
      seen[index] = 1;
      e2e[index] = now - publishedAt;
      lastAckAt = now;
      if (++acked === count) allAcked();
    },
  });

  let next = 0;
  let errors = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < count) {
      const index = next++;
      const bytes = new Uint8Array(PAYLOAD); // fresh: the client may hold it until flushed
      const view = new DataView(bytes.buffer);
      const at = performance.now();
      view.setFloat64(0, at, true);
      view.setUint32(8, index, true);
      for (let i = STAMP_BYTES; i < PAYLOAD; i++) bytes[i] = i & 0xff;
      try {
        await js.publish(SUBJECT, bytes);
        receipt[index] = performance.now() - at;
      } catch (e) {
        errors++;
        if (errors === 1) console.error(`[jetstream-raw] publish failed: ${e instanceof Error ? e.message : String(e)}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(WINDOW, count) }, worker));
  const published = performance.now();
  const timeout = setTimeout(() => allAcked(), 60_000);
  await done;
  clearTimeout(timeout);
  messages.stop();
  await messages.closed();
  if (acked < count) throw new Error(`only ${acked} of ${count} messages acked within 60 s (${errors} publish errors)`);
  const elapsedMs = lastAckAt - started;
  return {
    msgsPerSec: Math.round((count / elapsedMs) * 1000),
    elapsedMs: Math.round(elapsedMs),
    publishMsgsPerSec: Math.round((count / (published - started)) * 1000),
    e2e: summary(e2e),
    receipt: summary(receipt),
    duplicates,
    errors,
  };
}

const nats = await startNatsServer({ jetstream: true, name: "sluice-bench-raw", readyTimeoutMs: 10_000 });
try {
  const admin = must(await connectNats(nats.url, { name: "raw-bench-admin" }));
  const jsm = await jetstreamManager(admin);
  await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File, retention: RetentionPolicy.Workqueue, num_replicas: 1 });
  await jsm.consumers.add(STREAM, {
    durable_name: DURABLE,
    ack_policy: AckPolicy.Explicit,
    ack_wait: nanos(60_000),
    max_deliver: -1,
    max_ack_pending: Math.max(1000, BATCH * 4),
  });
  const pub = must(await connectNats(nats.url, { name: "raw-bench-producer" }));
  const sub = must(await connectNats(nats.url, { name: "raw-bench-consumer" }));

  if (WARMUP > 0) {
    const w = await phase(pub, sub, WARMUP);
    console.error(`[jetstream-raw] warm-up: ${WARMUP} messages, ${w.msgsPerSec} msg/s`);
  }
  const r = await phase(pub, sub, MESSAGES);

  // Every ack landed: the work-queue stream is empty and nothing is pending (bounded wait).
  let left = { messages: -1, ackPending: -1, redelivered: -1 };
  for (const until = performance.now() + 5000; performance.now() < until; ) {
    const s = await jsm.streams.info(STREAM);
    const c = await jsm.consumers.info(STREAM, DURABLE);
    left = { messages: s.state.messages, ackPending: c.num_ack_pending, redelivered: c.num_redelivered };
    if (left.messages === 0 && left.ackPending === 0) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  await pub.drain();
  await sub.drain();
  await admin.drain();

  console.error(
    `[jetstream-raw] ${MESSAGES} × ${PAYLOAD} B, window ${WINDOW}, batch ${BATCH}: ${r.msgsPerSec} msg/s; ` +
      `publish→ack p50 ${r.e2e.p50Ms} p99 ${r.e2e.p99Ms} max ${r.e2e.maxMs} ms; publish→PubAck p50 ${r.receipt.p50Ms} p99 ${r.receipt.p99Ms} ms; ` +
      `left in stream ${left.messages}, ack pending ${left.ackPending}`,
  );
  console.log(
    "BENCH_JSON " +
      JSON.stringify({
        suite: "jetstream-raw",
        runtime,
        version: runtimeVersion,
        natsServer: natsServerVersion(),
        client: `@nats-io/jetstream ${clientVersion}`,
        cpus: cpus().length,
        config: { messages: MESSAGES, payloadBytes: PAYLOAD, window: WINDOW, batch: BATCH, warmup: WARMUP, storage: "file", retention: "workqueue" },
        msgsPerSec: r.msgsPerSec,
        elapsedMs: r.elapsedMs,
        publishMsgsPerSec: r.publishMsgsPerSec,
        publishToAck: r.e2e,
        publishToReceipt: r.receipt,
        duplicates: r.duplicates,
        publishErrors: r.errors,
        leftInStream: left.messages,
        ackPendingAtEnd: left.ackPending,
      }),
  );
} finally {
  await nats.stop();
}
