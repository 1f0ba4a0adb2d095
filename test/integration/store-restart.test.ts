// The durable store across real server restarts (child processes of src/runtime/bun.ts):
//   (a) SIGTERM with 1 GiB pending (1024 × 1 MiB) exits within drainMs + 1 s, with no memory
//       spike — nothing is serialised at shutdown, the store already holds it all — and a restart
//       loads only its memory window of that gigabyte;
//   (b) a restart with more stored items than `capacity` starts, serves them all in order, and a
//       producer publishing meanwhile waits for room (its receipt comes once there is room);
//   (c) an Idempotency-Key accepted before a SIGKILL is still remembered after the restart.
// Each test prints what it measured (exit time, peak RSS), so a run doubles as a report.
import { rmSync } from "node:fs";
import { afterEach, describe, expect, test } from "../harness.ts";
import { Consumer, type Delivery, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { delay } from "../../src/result/delay.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { getJson, processMemory, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const MiB = 1024 * 1024;
const encoder = new TextEncoder();
const decoder = new TextDecoder();
let servers: ServerProcess[] = [];
let dataDirs: string[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  servers = [];
  // (a) leaves a 1 GiB store behind otherwise.
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true });
  dataDirs = [];
});

/** A fresh data dir, removed after the test. */
function dataDir(): string {
  const dir = tempDir();
  dataDirs.push(dir);
  return dir;
}

/** Starts a Bun server whose store lives in `dataDir` (shared by the restarts of one test). */
async function start(dataDir: string, config: Record<string, unknown>): Promise<ServerProcess> {
  const server = await startServer("bun", { config, env: { SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" } });
  servers.push(server);
  return server;
}

/** The "(jobs: X held, Y poisoned)" counts of the start-up line. */
function loaded(output: string, queue: string): { held: number; poisoned: number; ms: number } {
  const m = new RegExp(`loaded in (\\d+) ms \\(.*${queue}: (\\d+) held, (\\d+) poisoned`).exec(output);
  if (m === null) throw new Error(`no store line for ${queue} in:\n${output}`);
  return { ms: Number(m[1]), held: Number(m[2]), poisoned: Number(m[3]) };
}

/** Samples a process's peak RSS (VmHWM) every 10 ms until stopped; keeps the last value seen. */
function sampleMemory(pid: number): { stop(): { peak: number; rss: number } } {
  let last = processMemory(pid) ?? { rss: 0, peak: 0 };
  const timer = setInterval(() => {
    const now = processMemory(pid);
    if (now !== undefined) last = now;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      const now = processMemory(pid);
      if (now !== undefined) last = now;
      return last;
    },
  };
}

/** Takes `n` deliveries from `consumer`, handing each to `each`; fails after `timeoutMs` or if the consumer ends. */
async function consume(consumer: Consumer, n: number, timeoutMs: number, each: (d: Delivery) => void): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (let got = 0; got < n; got++) {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), Math.max(0, until - Date.now()))));
    const d = await Promise.race([consumer.next(), late]);
    clearTimeout(timer);
    if (d === "timeout") throw new Error(`timed out after ${timeoutMs} ms with ${got} of ${n} deliveries`);
    if (d === undefined) throw new Error(`consumer ended after ${got} of ${n} deliveries: ${consumer.endedWith?.message ?? "closed"}`);
    each(d);
  }
}

const mb = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`;
/** 1 MiB: i in the first 4 bytes, then i & 0xff. */
function bigPayload(i: number): Uint8Array {
  const payload = new Uint8Array(MiB);
  new DataView(payload.buffer).setUint32(0, i, true);
  payload.fill(i & 0xff, 4);
  return payload;
}
const indexOf = (payload: Uint8Array) => new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(0, true);

describe("store across restarts (server on bun)", () => {
  test("(a) SIGTERM with 1024 × 1 MiB pending: exit within drainMs + 1 s, no memory spike; a restart loads a window", async () => {
    const dir = dataDir();
    const drainMs = 1500;
    const config = { drainMs, maxFrameBytes: MiB + 1024, queues: { jobs: { capacity: 2048 } } };
    const server = await start(dir, config);
    const memory = sampleMemory(server.pid);
    const options = { url: server.url, queue: "jobs", reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 20 }) };

    // 1 GiB over four WebSocket producers (message i carries i in its first 4 bytes). WebSockets,
    // not one HTTP duplex stream: Bun.serve cuts a request body at 128 MiB by default.
    const published = Date.now();
    const sequenceOf: number[] = [];
    await Promise.all(
      [0, 1, 2, 3].map(async (k) => {
        const producer = new Producer({ ...options, maxInFlight: 8 });
        const receipts: Promise<void>[] = [];
        for (let i = k; i < 1024; i += 4) {
          receipts.push(
            producer.publish(bigPayload(i)).then((r) => {
              if (!r.ok) throw new Error(`publish ${i} failed: ${r.error.message}`);
              sequenceOf[i] = r.value.sequenceId;
            }),
          );
        }
        await Promise.all(receipts);
        producer.close();
      }),
    );
    const publishMs = Date.now() - published;
    expect((await getJson<{ pending: number; held: number }>(`${server.url}/v1/queues/jobs`)).held).toBe(1024);

    // A consumer holds 8 deliveries through the shutdown, so the drain has in-flight work to wait for.
    const consumer = new Consumer({ ...options, credit: 8 });
    const heldByConsumer: Delivery[] = [];
    const consuming = (async () => {
      for await (const d of consumer) heldByConsumer.push(d);
    })();
    await waitFor(() => heldByConsumer.length === 8, 10_000, "8 deliveries in flight");
    const beforeStop = processMemory(server.pid)!;

    const signalled = Date.now();
    const { code, output } = await server.stop("SIGTERM", drainMs + 10_000);
    const exitMs = Date.now() - signalled;
    const { peak } = memory.stop();
    await consuming;
    console.log(
      `store-restart (a): published 1024 × 1 MiB in ${publishMs} ms; RSS before SIGTERM ${mb(beforeStop.rss)} (peak so far ${mb(beforeStop.peak)}); ` +
        `exit ${exitMs} ms after SIGTERM (drainMs ${drainMs}); peak RSS (VmHWM) over the whole run ${mb(peak)}`,
    );
    expect(code).toBe(0);
    expect(output).toContain("SIGTERM received");
    // All 1024 stay in the store (the 8 in flight were put back); nothing was serialised to say so.
    expect(output).toMatch(/sluice: stopped; 1024 item\(s\) stored in \S*sluice\.db/);
    expect(exitMs).toBeLessThan(drainMs + 1000);
    expect(peak).toBeLessThan(1.5 * 1024 * MiB);
    // The shutdown itself adds no spike (writing a 1 GiB snapshot would have added more than 1 GiB).
    expect(peak - beforeStop.peak).toBeLessThan(128 * MiB);

    // The restart finds all 1024 (the 8 in flight came back) and loads only a memory window.
    const again = await start(dir, config);
    const counts = loaded(again.output(), "jobs");
    expect(counts).toMatchObject({ held: 1024, poisoned: 0 });
    const restartMemory = processMemory(again.pid)!;
    console.log(`store-restart (a): restart loaded 1 GiB store in ${counts.ms} ms; RSS after start ${mb(restartMemory.rss)} (peak ${mb(restartMemory.peak)})`);
    // Well below the stored gigabyte: a restart holds a memory window (maxBytes, 64 MiB of payloads), not the store.
    expect(restartMemory.peak).toBeLessThan(1024 * MiB);
    const drainStarted = Date.now();
    const drainer = new Consumer({ ...options, url: again.url, credit: 1 });
    const firsts: { sequenceId: number; attempt: number; intact: boolean }[] = [];
    await consume(drainer, 4, 30_000, (d) => {
      const i = indexOf(d.payload);
      firsts.push({ sequenceId: sequenceOf[i]!, attempt: d.attempt, intact: d.payload.byteLength === MiB && d.payload[MiB - 1] === (i & 0xff) });
      drainer.ack(d);
    }).finally(() => drainer.close());
    console.log(`store-restart (a): consumed the first 4 × 1 MiB after the restart in ${Date.now() - drainStarted} ms`);
    // In order, whole, and the shutdown did not count against the 8 that were in flight (the first 8).
    const lowest = sequenceOf.toSorted((x, y) => x - y).slice(0, 4);
    expect(firsts).toEqual(lowest.map((sequenceId) => ({ sequenceId, attempt: 1, intact: true })));
    expect((await again.stop("SIGTERM")).code).toBe(0);
  }, 90_000); // ~25 s on a quiet 2-core box, most of it SQLite writing the gigabyte

  test("(b) restart with more stored than capacity: starts, serves all in order, a producer waits for room", async () => {
    const dir = dataDir();
    const queueConfig = { drainMs: 1000, queues: { jobs: { capacity: 5000 } } };
    const first = await start(dir, queueConfig);
    const options = { url: first.url, queue: "jobs", reconnect: RetryPolicy.fixed({ attempts: 2, delayMs: 20 }) };
    const filler = new DuplexProducer({ ...options, maxInFlight: 512 });
    const filled = await Promise.all(Array.from({ length: 5000 }, (_, i) => filler.publish(encoder.encode(`m-${i}`))));
    await filler.end();
    expect(filled.every((r) => r.ok)).toBe(true);
    // Sequence ids follow the publishes on one stream; a stream re-sent after a hiccup (a loaded
    // box) may reorder some, so "in order" below means in sequence-id order.
    const fillSequences = filled.map((r) => (r.ok ? r.value.sequenceId : NaN));
    expect(new Set(fillSequences).size).toBe(5000);
    const storedBySequence = fillSequences.map((sequenceId, i) => ({ sequenceId, body: `m-${i}` })).toSorted((x, y) => x.sequenceId - y.sequenceId).map((f) => f.body);
    expect((await getJson<{ held: number }>(`${first.url}/v1/queues/jobs`)).held).toBe(5000);
    expect((await first.stop("SIGTERM")).code).toBe(0);

    // Same store, capacity 1000: 5000 held is over capacity, and that is fine.
    const started = Date.now();
    const server = await start(dir, { drainMs: 1000, queues: { jobs: { capacity: 1000 } } });
    const startMs = Date.now() - started;
    expect(loaded(server.output(), "jobs")).toMatchObject({ held: 5000, poisoned: 0 });
    const stats = await getJson<{ held: number; capacity: number; pending: number }>(`${server.url}/v1/queues/jobs`);
    expect(stats).toMatchObject({ held: 5000, capacity: 1000, pending: 5000 });
    const url = { ...options, url: server.url };

    // A producer publishes 10 messages while the queue is over capacity: they wait, they do not fail.
    let acked = 0;
    const producer = new Producer({ ...url, maxInFlight: 16 });
    const late: { body: string; sequenceId: number; ackedBefore: number }[] = [];
    const lateFailures: string[] = [];
    const publishing = Promise.all(
      Array.from({ length: 10 }, (_, k) =>
        producer.publish(encoder.encode(`late-${k}`)).then((r) => {
          if (r.ok) late.push({ body: `late-${k}`, sequenceId: r.value.sequenceId, ackedBefore: acked });
          else lateFailures.push(r.error.message);
        }),
      ),
    );
    await delay(500);
    expect({ receipts: late.length, failures: lateFailures }).toEqual({ receipts: 0, failures: [] });

    const consumer = new Consumer({ ...url, credit: 100 });
    const seen: { body: string; attempt: number }[] = [];
    const drained = Date.now();
    await consume(consumer, 5010, 30_000, (d) => {
      seen.push({ body: decoder.decode(d.payload), attempt: d.attempt });
      if (!consumer.ack(d).ok) throw new Error(`ack of ${decoder.decode(d.payload)} failed`);
      acked++;
    }).finally(() => consumer.close());
    const drainMs = Date.now() - drained;
    await publishing;
    producer.close();
    console.log(`store-restart (b): restart with 5000 stored over capacity 1000 listening after ${startMs} ms; 5010 served in ${drainMs} ms; late receipts after ${late.map((l) => l.ackedBefore).join(", ")} acks`);

    expect(lateFailures).toEqual([]);
    // Each late receipt came only once there was room: held (5000 + earlier late ones) minus acks below 1000.
    late.forEach((l, i) => expect(l.ackedBefore).toBeGreaterThanOrEqual(4001 + i));
    // Everything, in order: the 5000 stored ones first, then the late ones by sequence id — each on its first attempt.
    expect(late.length).toBe(10);
    const lateBySequence = late.toSorted((x, y) => x.sequenceId - y.sequenceId).map((l) => l.body);
    expect(seen.map((s) => s.body)).toEqual([...storedBySequence, ...lateBySequence]);
    expect(seen.every((s) => s.attempt === 1)).toBe(true);
    expect(Math.min(...late.map((l) => l.sequenceId))).toBeGreaterThan(Math.max(...fillSequences));
    expect(await getJson<{ held: number; pending: number }>(`${server.url}/v1/queues/jobs`)).toMatchObject({ held: 0, pending: 0 });
    expect((await server.stop("SIGTERM")).code).toBe(0);
  }, 60_000);

  test("(c) an Idempotency-Key accepted before a SIGKILL is a duplicate after the restart, for the window", async () => {
    const dir = dataDir();
    const windowMs = 4000;
    const config = { idempotencyWindowMs: windowMs, queues: { jobs: {} } };
    const post = (server: ServerProcess, key: string, body: string) =>
      fetch(`${server.url}/v1/queues/jobs/messages`, { method: "POST", body, headers: { "idempotency-key": key } }).then(async (res) => ({
        status: res.status,
        ...((await res.json()) as { sequenceId: number; duplicate: boolean }),
      }));
    const first = await start(dir, config);
    // The server stamps the key between these two instants: its window ends within [sent, answered] + windowMs.
    const sent = Date.now();
    const a = await post(first, "order-17", "first");
    const answered = Date.now();
    expect(a).toMatchObject({ status: 202, duplicate: false });
    expect(await post(first, "order-17", "again")).toMatchObject({ status: 202, duplicate: true, sequenceId: a.sequenceId });
    // The kill follows the second receipt at once: a 202 means the key is committed with the message.
    const b = await post(first, "order-18", "second");
    expect(b).toMatchObject({ status: 202, duplicate: false });
    expect((await first.stop("SIGKILL")).code).toBeNull();

    const server = await start(dir, config);
    expect(loaded(server.output(), "jobs")).toMatchObject({ held: 2, poisoned: 0 });
    expect(await post(server, "order-17", "retry")).toMatchObject({ status: 202, duplicate: true, sequenceId: a.sequenceId });
    expect(await post(server, "order-18", "retry")).toMatchObject({ status: 202, duplicate: true, sequenceId: b.sequenceId });
    expect((await getJson<{ held: number }>(`${server.url}/v1/queues/jobs`)).held).toBe(2);
    // A new key gets a new sequence id: ids are never reused across the restart.
    const fresh = await post(server, "order-19", "third");
    expect(fresh).toMatchObject({ status: 202, duplicate: false });
    expect(fresh.sequenceId).toBeGreaterThan(b.sequenceId);

    // Consuming the message does not end the window: the key is remembered for idempotencyWindowMs, not while held.
    const consumer = new Consumer({ url: server.url, queue: "jobs", credit: 8 });
    const bodies: string[] = [];
    await consume(consumer, 3, 10_000, (d) => {
      bodies.push(decoder.decode(d.payload));
      consumer.ack(d);
    }).finally(() => consumer.close());
    expect(bodies).toEqual(["first", "second", "third"]);
    await waitFor(async () => (await getJson<{ held: number }>(`${server.url}/v1/queues/jobs`)).held === 0, 5000, "the acks");
    const beforeExpiry = Date.now() - sent;
    expect(await post(server, "order-17", "retry")).toMatchObject({ status: 202, duplicate: true, sequenceId: a.sequenceId });
    expect(beforeExpiry).toBeLessThan(windowMs); // (else the check above proved nothing)

    // Once the window has passed, the key is free again.
    await delay(Math.max(0, answered + windowMs + 50 - Date.now()));
    const after = await post(server, "order-17", "after the window");
    expect(after).toMatchObject({ status: 202, duplicate: false });
    expect(after.sequenceId).toBeGreaterThan(fresh.sequenceId);
    console.log(`store-restart (c): order-17 was a duplicate across a SIGKILL restart ${beforeExpiry} ms after it was accepted; new again after ${windowMs} ms`);
    expect((await server.stop("SIGTERM")).code).toBe(0);
  }, 30_000);
});
