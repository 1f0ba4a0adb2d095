/**
 * The control role's NATS connection (control.ts loads this only when `natsUrl` is set): the KV
 * bucket of the control document, the JetStream queues the role opens live, and the swap of
 * `PendingQueue` placeholders for real queues once NATS answers.
 *
 * @module
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { JetStreamQueue } from "../backends/jetstream/jetstream-queue.ts";
import { CONTROL_BUCKET } from "../mesh/control/kv-source.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { delay } from "../result/delay.ts";
import { redactSecrets } from "../result/redact.ts";
import { err, ok, type Result } from "../result/result.ts";
import { type Broker, queueOptionsFor } from "../server/broker.ts";
import type { QueueConfig, SluiceConfig } from "../server/config.ts";
import { connectNats, type NatsConnection } from "./nats.ts";
import { PendingQueue } from "./pending-queue.ts";

// Replaces each PendingQueue with the real JetStream queue once NATS answers (retried with backoff).
async function swapPending(broker: Broker, link: NatsLink, signal: AbortSignal, log: (line: string) => void): Promise<void> {
  let waitMs = 500;
  for (;;) {
    const pending = [...broker.queues].filter(([, q]) => q instanceof PendingQueue && !q.closed);
    if (pending.length === 0 || signal.aborted) return;
    for (const [name, placeholder] of pending) {
      const q = broker.config.queues[name];
      if (q === undefined || broker.queue(name) !== placeholder) continue;
      const opened = await link.openQueue(name, q, broker.config);
      if (!opened.ok || broker.queue(name) !== placeholder) {
        if (opened.ok) opened.value.close();
        continue;
      }
      broker.setQueue(name, opened.value);
      if (broker.isRemoved(name)) opened.value.seal?.(`queue '${name}' was removed from the configuration`);
      placeholder.close();
      log(`sluice: control: queue ${name} is on JetStream again (NATS answered)`);
    }
    const waited = await delay(waitMs, { signal });
    if (!waited.ok) return;
    waitMs = Math.min(5000, waitMs * 2);
  }
}

/**
 * The control role's NATS connection: opened on first use (a failed first connect is retried on
 * the next use), then reconnecting by itself (connectNats); the KV bucket and JetStream queues on it.
 *
 * @example
 * ```ts
 * const link = new NatsLink(url, nodeId, broker, log, true);
 * await link.kv();
 * ```
 */
export class NatsLink {
  readonly display: string;
  #nc: NatsConnection | undefined;
  #connecting: Promise<Result<NatsConnection>> | undefined;
  #kv: KV | undefined;
  #up = false;

  constructor(
    private readonly url: string,
    private readonly nodeId: string,
    private readonly broker: Broker,
    private readonly log: (line: string) => void,
    dependency: boolean,
  ) {
    this.display = redactSecrets(url);
    if (dependency) broker.addDependency({ name: `nats ${this.display} (control)`, up: () => this.#up && this.#nc !== undefined && !this.#nc.isClosed() });
  }

  async kv(): Promise<Result<KV>> {
    const nc = await this.#connection();
    if (!nc.ok) return nc;
    try {
      this.#kv ??= await new Kvm(nc.value).create(CONTROL_BUCKET, { history: 5 });
      return ok(this.#kv);
    } catch (thrown) {
      return err("unavailable", `cannot open KV bucket ${CONTROL_BUCKET} at ${this.display}: ${redactSecrets(String((thrown as Error)?.message ?? thrown))}`);
    }
  }

  async openQueue(name: string, q: QueueConfig, config: SluiceConfig): Promise<Result<RelayQueue<Uint8Array>>> {
    const nc = await this.#connection();
    if (!nc.ok) return nc;
    try {
      const queue = await JetStreamQueue.open({
        ...queueOptionsFor(name, q),
        js: jetstream(nc.value),
        jsm: await jetstreamManager(nc.value),
        idempotencyWindowMs: config.idempotencyWindowMs > 0 ? config.idempotencyWindowMs : undefined,
        metrics: this.broker.metrics,
        connected: () => this.#up,
      });
      return ok(queue);
    } catch (thrown) {
      return err("unavailable", `queue '${name}': cannot open it on JetStream at ${this.display}: ${redactSecrets(String((thrown as Error)?.message ?? thrown))}`);
    }
  }

  /** Swaps the broker's `PendingQueue` placeholders for JetStream queues once NATS answers, until `signal` aborts. */
  swapPending(signal: AbortSignal): Promise<void> {
    return swapPending(this.broker, this, signal, this.log);
  }

  async close(): Promise<void> {
    const nc = this.#nc;
    if (nc !== undefined && !nc.isClosed()) await nc.drain().catch(() => nc.close().catch(() => {}));
  }

  #connection(): Promise<Result<NatsConnection>> {
    if (this.#nc !== undefined && !this.#nc.isClosed()) return Promise.resolve(ok(this.#nc));
    this.#connecting ??= connectNats(this.url, { name: `sluice-control ${this.nodeId}`, timeoutMs: 2000, log: this.log }).then((connected) => {
      this.#connecting = undefined;
      if (!connected.ok) return connected;
      const nc = connected.value;
      this.#nc = nc;
      this.#kv = undefined;
      this.#up = true;
      void this.#follow(nc);
      return connected;
    });
    return this.#connecting;
  }

  async #follow(nc: NatsConnection): Promise<void> {
    try {
      for await (const s of nc.status()) {
        if (s.type === "disconnect") this.#up = false;
        else if (s.type === "reconnect") this.#up = true;
      }
    } catch {
      // ends with the connection
    }
    this.#up = false;
  }
}
