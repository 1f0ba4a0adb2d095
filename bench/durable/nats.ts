/**
 * NATS JetStream for the durable benchmark: `nats-server -js` as a child process on a random
 * loopback port with its file store in a fresh temp dir, and the load generator's JetStream
 * clients (`@nats-io/jetstream` over `@nats-io/transport-node`) shaped like the Sluice ones
 * (bench/load/clients.ts), so the very same closed / open loops (bench/load/scenarios.ts) and
 * recorder drive both:
 *   - publisher = one NATS connection; `js.publish` per message, its PubAck is the receipt;
 *   - consumer = one NATS connection pulling from one shared durable pull consumer
 *     (`consume`, callback mode, `max_messages` = the Sluice consumers' credit), acking
 *     every message at once, like `WsConsumer` does.
 * Payloads carry the same 12-byte stamp (publish time, index) as the Sluice frames' payloads.
 *
 * @example
 * ```ts
 * const server = await spawnNats();
 * try {
 *   await setupStream(server.url, { maxAckPending: 1024 });
 *   const clients = await connectJetStream(server.url, { producers: 2, consumers: 2, credit: 512, payloadBytes: 64 });
 *   // …closedLoop / openLoop…
 *   await clients.close();
 * } finally {
 *   await server.stop();
 * }
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AckPolicy, type ConsumerMessages, type JetStreamClient, jetstream, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect, type NatsConnection, nanos } from "@nats-io/transport-node";
import type { Connected } from "../load/clients.ts";
import { LoadRecorder } from "../load/recorder.ts";
import { STAMP_BYTES } from "../load/wire.ts";
import type { Publisher, SettleHooks } from "../load/ws-clients.ts";

export const STREAM = "SLUICE_BENCH";
export const SUBJECT = "sluice.bench";
export const DURABLE = "bench";

/** A running nats-server. */
export interface NatsChild {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly storeDir: string;
  /** The monitoring endpoint (`-m`), e.g. "http://127.0.0.1:8222": /varz, /subsz (see `natsTraffic`). */
  readonly monitorUrl: string;
  readonly output: () => string;
  /** SIGTERM, SIGKILL after `graceMs`; removes the store dir; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

// The binary and its version: one definition, beside the private-server helper the tests use.
export { natsServerBin, natsServerVersion } from "../support/nats-server.ts";
import { natsServerBin } from "../support/nats-server.ts";

// Every nats-server this process started, so an exit or a signal takes them down too.
const live = new Set<ChildProcess>();
let hooked = false;
function killAllOnExit(): void {
  if (hooked) return;
  hooked = true;
  process.on("exit", () => {
    for (const c of live) c.kill("SIGKILL");
  });
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    process.on(sig, () => {
      for (const c of live) c.kill("SIGKILL");
      process.exit(130);
    });
  }
}

/**
 * Starts `nats-server -js` on 127.0.0.1 with a random port (`-p -1`), a random monitoring port
 * (`-m -1`) and its store in a fresh temp dir; waits (bounded) for the client listener and JetStream to be ready.
 *
 * @example
 * ```ts
 * const nats = await spawnNats();
 * ```
 */
export async function spawnNats(timeoutMs = 20_000): Promise<NatsChild> {
  const bin = natsServerBin();
  if (!bin) throw new Error("nats-server not found (apt-get install -y nats-server, or set NATS_SERVER_BIN)");
  const storeDir = mkdtempSync(join(tmpdir(), "sluice-jetstream-"));
  killAllOnExit();
  const child = spawn(bin, ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", "-1", "-m", "-1", "-n", "sluice-bench"], { stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let output = "";
  let exited = false;
  const gone = new Promise<void>((r) =>
    child.on("exit", () => {
      exited = true;
      live.delete(child);
      rmSync(storeDir, { recursive: true, force: true });
      r();
    }),
  );
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  const stop = async (graceMs = 5000) => {
    if (exited) return;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
    await gone;
    clearTimeout(timer);
  };
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const m = /Listening for client connections on [^\s]*:(\d+)/.exec(output);
    const monitor = /Starting http monitor on ([^\s]+)/.exec(output);
    if (m && monitor && /Server is ready/.test(output)) {
      const port = Number(m[1]);
      return { url: `127.0.0.1:${port}`, port, pid: child.pid!, storeDir, monitorUrl: `http://${monitor[1]}`, output: () => output, stop };
    }
    if (exited) throw new Error(`nats-server exited early:\n${output}`);
    if (Date.now() > deadline) {
      await stop(0);
      throw new Error(`nats-server did not start within ${timeoutMs} ms:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Creates the benchmark stream (file storage, work-queue retention: an acked message is
 * removed, like an acked Sluice message) and its durable pull consumer (explicit acks).
 *
 * @example
 * ```ts
 * await setupStream("127.0.0.1:4222", { maxAckPending: 1024 });
 * ```
 */
export async function setupStream(url: string, options: { maxAckPending: number }): Promise<void> {
  const nc = await connect({ servers: url, name: "sluice-bench-admin", timeout: 10_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    await jsm.streams.add({ name: STREAM, subjects: [SUBJECT], storage: StorageType.File, retention: RetentionPolicy.Workqueue, num_replicas: 1 });
    await jsm.consumers.add(STREAM, {
      durable_name: DURABLE,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: options.maxAckPending,
      ack_wait: nanos(60_000),
    });
  } finally {
    await nc.close();
  }
}

/** Messages still in the stream and unacked by the consumer (both 0 after a drained scenario). */
export async function streamState(url: string): Promise<{ messages: number; ackPending: number; pending: number; redelivered: number }> {
  const nc = await connect({ servers: url, name: "sluice-bench-admin", timeout: 10_000 });
  try {
    const jsm = await jetstreamManager(nc, { timeout: 10_000 });
    const s = await jsm.streams.info(STREAM);
    const c = await jsm.consumers.info(STREAM, DURABLE);
    return { messages: s.state.messages, ackPending: c.num_ack_pending, pending: c.num_pending, redelivered: c.num_redelivered };
  } finally {
    await nc.close();
  }
}

function stamp(payloadBytes: number, index: number, nowMs: number): Uint8Array {
  // A fresh buffer per message: the client may hold it until its outbound buffer is flushed.
  const bytes = new Uint8Array(payloadBytes);
  const view = new DataView(bytes.buffer);
  view.setFloat64(0, nowMs, true);
  view.setUint32(8, index, true);
  for (let i = STAMP_BYTES; i < payloadBytes; i++) bytes[i] = i & 0xff;
  return bytes;
}

/** One NATS connection publishing to the stream; the PubAck is the receipt. */
class JsPublisher implements Publisher {
  readonly #nc: NatsConnection;
  readonly #js: JetStreamClient;
  readonly #rec: LoadRecorder;
  readonly #payloadBytes: number;
  #outstanding = 0;

  constructor(nc: NatsConnection, rec: LoadRecorder, payloadBytes: number) {
    this.#nc = nc;
    this.#js = jetstream(nc, { timeout: 30_000 });
    this.#rec = rec;
    this.#payloadBytes = payloadBytes;
  }

  publish(count: number): void {
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      const index = this.#rec.nextIndex(now);
      this.#outstanding++;
      this.#js.publish(SUBJECT, stamp(this.#payloadBytes, index, now)).then(
        () => {
          this.#outstanding--;
          this.#rec.onReceipt(index, performance.now());
        },
        () => {
          this.#outstanding--;
          this.#rec.errors++;
        },
      );
    }
  }

  /** Waits (bounded) for the PubAcks still due, then closes the connection. */
  async close(): Promise<void> {
    const until = performance.now() + 5000;
    while (this.#outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    await this.#nc.close();
  }
}

/**
 * The lean variant: the same JetStream publish on the wire (a core NATS PUB to the stream's
 * subject with a reply subject; the server answers every such publish with a PubAck), without
 * the client's per-message request machinery (promise, timer, JSON parse): one wildcard
 * subscription takes all PubAcks, the message index rides in the reply subject. What the
 * Sluice load clients do with raw frames (bench/load/wire.ts), so neither side is held back
 * by a heavier client in the one load-generator process.
 */
class LeanJsPublisher implements Publisher {
  static #next = 0;
  readonly #nc: NatsConnection;
  readonly #rec: LoadRecorder;
  readonly #payloadBytes: number;
  readonly #prefix: string;
  #outstanding = 0;

  constructor(nc: NatsConnection, rec: LoadRecorder, payloadBytes: number) {
    this.#nc = nc;
    this.#rec = rec;
    this.#payloadBytes = payloadBytes;
    this.#prefix = `_INBOX.sluicebench.${process.pid}.${LeanJsPublisher.#next++}.`;
    const at = this.#prefix.length;
    nc.subscribe(`${this.#prefix}*`, {
      callback: (error, msg) => {
        this.#outstanding--;
        // A PubAck is {"stream":…,"seq":…}; a failure {"error":{…}} (or a status without a body).
        if (error || msg.data.length < 3 || msg.data[2] !== 0x73 /* "s" */) {
          this.#rec.errors++;
          return;
        }
        this.#rec.onReceipt(Number(msg.subject.slice(at)), performance.now());
      },
    });
  }

  publish(count: number): void {
    for (let i = 0; i < count; i++) {
      const now = performance.now();
      const index = this.#rec.nextIndex(now);
      this.#outstanding++;
      this.#nc.publish(SUBJECT, stamp(this.#payloadBytes, index, now), { reply: this.#prefix + index });
    }
  }

  async close(): Promise<void> {
    const until = performance.now() + 5000;
    while (this.#outstanding > 0 && performance.now() < until) await new Promise((r) => setTimeout(r, 5));
    await this.#nc.close();
  }
}

/** One NATS connection consuming from the shared durable; acks every message at once. */
class JsConsumer {
  readonly #nc: NatsConnection;
  readonly #messages: ConsumerMessages;

  private constructor(nc: NatsConnection, messages: ConsumerMessages) {
    this.#nc = nc;
    this.#messages = messages;
  }

  static async open(url: string, rec: LoadRecorder, credit: number, hooks: SettleHooks): Promise<JsConsumer> {
    const nc = await connect({ servers: url, name: "sluice-bench-consumer", timeout: 10_000 });
    const consumer = await jetstream(nc).consumers.get(STREAM, DURABLE);
    const messages = await consumer.consume({
      max_messages: credit,
      callback: (m) => {
        const now = performance.now();
        const data = m.data;
        const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
        const publishedAtMs = view.getFloat64(0, true);
        rec.onDeliver(view.getUint32(8, true), publishedAtMs, now);
        m.ack();
        rec.onAck(publishedAtMs, performance.now());
        hooks.settled();
      },
    });
    return new JsConsumer(nc, messages);
  }

  async close(): Promise<void> {
    this.#messages.stop();
    await this.#nc.close();
  }
}

export interface JetStreamConnectOptions {
  readonly producers: number;
  readonly consumers: number;
  /** Messages each consumer pulls ahead (`max_messages`), like a Sluice consumer's credit. */
  readonly credit: number;
  readonly payloadBytes: number;
  /** "client": `js.publish` per message (default); "lean": core publish with a reply subject (LeanJsPublisher). */
  readonly publisher?: "client" | "lean";
}

/**
 * Consumers first, then producers (as `connectSluice`); one NATS connection each.
 *
 * @example
 * ```ts
 * const clients = await connectJetStream(nats.url, { producers: 2, consumers: 2, credit: 512, payloadBytes: 64 });
 * ```
 */
export async function connectJetStream(url: string, options: JetStreamConnectOptions): Promise<Connected> {
  if (options.payloadBytes < STAMP_BYTES) throw new RangeError(`payload must hold the ${STAMP_BYTES}-byte stamp`);
  const rec = new LoadRecorder();
  const hooks: SettleHooks = { settled: () => {} };
  const consumers = await Promise.all(Array.from({ length: options.consumers }, () => JsConsumer.open(url, rec, options.credit, hooks)));
  const publishers = await Promise.all(
    Array.from({ length: options.producers }, async () => {
      const nc = await connect({ servers: url, name: "sluice-bench-producer", timeout: 10_000 });
      return options.publisher === "lean" ? new LeanJsPublisher(nc, rec, options.payloadBytes) : new JsPublisher(nc, rec, options.payloadBytes);
    }),
  );
  return {
    publishers,
    rec,
    hooks,
    async close() {
      await Promise.all(publishers.map((p) => p.close()));
      await Promise.all(consumers.map((c) => c.close()));
    },
  };
}
