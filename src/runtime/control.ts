/**
 * Starts the control role for a booted server (lifecycle.ts): where the document lives — NATS KV
 * (bucket `sluice_control`) when clustered (`natsUrl`), else `config.json` in `<dataDir>/control`
 * — the LKG files beside it, and the NATS connection the role and its live JetStream queues use.
 * The only place that opens that connection.
 *
 * @module
 */
import { join } from "node:path";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { type KV, Kvm } from "@nats-io/kv";
import { JetStreamQueue } from "../backends/jetstream/jetstream-queue.ts";
import { LkgStore } from "../mesh/control/lkg.ts";
import { FileControlSource } from "../mesh/control/file-source.ts";
import { CONTROL_BUCKET, NatsKvControlSource } from "../mesh/control/kv-source.ts";
import type { ControlSource } from "../mesh/control/source.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { delay } from "../result/delay.ts";
import { redactSecrets } from "../result/redact.ts";
import { err, ok, type Result } from "../result/result.ts";
import { type Broker, queueOptionsFor } from "../server/broker.ts";
import type { QueueConfig, SluiceConfig } from "../server/config.ts";
import { parseControlDocument } from "../server/control-document.ts";
import { effectiveConfig } from "../server/control-effective.ts";
import { type ControlPlaneHandle, startControlPlane } from "../server/control.ts";
import { DirFiles } from "./control-files.ts";
import { nodeIdOf } from "./leadership.ts";
import { connectNats, type NatsConnection } from "./nats.ts";
import { PendingQueue } from "./pending-queue.ts";

/**
 * The control role as started: its handle, and `close` (its NATS connection, after the broker
 * shut down — the shutdown already stopped the watch and the pump).
 *
 * @example
 * ```ts
 * const control = await startControl({ base, env, broker, log });
 * control.handle.agent.view().version; // 7
 * ```
 */
export interface ControlRuntime {
  readonly handle: ControlPlaneHandle;
  close(): Promise<void>;
}

/**
 * The configuration a node starts with: its own (`base`) with its last-known-good control
 * document applied, read before anything opens — so the store, the JetStream queues and the
 * broker start as the LKG says, also while the cluster's store is unreachable. No usable LKG:
 * `base`.
 *
 * @example
 * ```ts
 * const { config, lkgVersion } = await configWithLkg(base, env, console.log);
 * ```
 */
export async function configWithLkg(base: SluiceConfig, env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<{ config: SluiceConfig; lkgVersion?: number }> {
  const lkg = new LkgStore(new DirFiles(controlDir(base)));
  const loaded = await lkg.load();
  if (!loaded.ok || loaded.value === undefined) return { config: base };
  const { version, text } = loaded.value.revision;
  const doc = parseControlDocument(text);
  const next = doc.ok ? effectiveConfig(base, doc.value, env) : doc;
  if (!next.ok) {
    log(`sluice: control: last-known-good version ${version} in ${lkg.describe} cannot be used here (${next.error.message}); starting from sluice.config.json`);
    return { config: base };
  }
  log(`sluice: control: starting from last-known-good version ${version} (${lkg.describe}, ${Object.keys(next.value.queues).length} queue(s))`);
  return { config: next.value, lkgVersion: version };
}

/**
 * Placeholders for the JetStream queues of `config` when NATS could not be reached at start-up
 * (a node restarting with its LKG while NATS is down): publishes answer 503 until
 * `startControl` swaps the real queues in.
 *
 * @example
 * ```ts
 * const queues = pendingJetStreamQueues(config, metrics, "NATS at nats://127.0.0.1:4222 is unreachable");
 * ```
 */
export function pendingJetStreamQueues(config: SluiceConfig, names: readonly string[], metrics: Broker["metrics"], why: string): Map<string, RelayQueue<Uint8Array>> {
  return new Map(names.map((name) => [name, new PendingQueue(queueOptionsFor(name, config.queues[name]!), metrics, why)]));
}

/**
 * Starts the control role on `broker` (after its queues and leadership are up): the source —
 * NATS KV when `base.natsUrl` is set, else `<dataDir>/control/config.json` — the LKG files in
 * `<dataDir>/control`, live JetStream queues on the role's own NATS connection (reconnecting by
 * itself; a `/readyz` dependency), and the swap of `PendingQueue` placeholders for real queues
 * once NATS answers.
 *
 * @example
 * ```ts
 * const control = await startControl({ base, env, broker, log: console.log });
 * // at shutdown, after broker.shutdown():
 * await control.close();
 * ```
 */
export async function startControl(options: {
  readonly base: SluiceConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly broker: Broker;
  readonly log: (line: string) => void;
  /** Make the role's NATS connection a `/readyz` dependency (when no JetStream connection already is one). Default true. */
  readonly natsDependency?: boolean;
}): Promise<ControlRuntime> {
  const { base, broker, log } = options;
  const nodeId = nodeIdOf(base);
  const files = new DirFiles(controlDir(base));
  const link = base.natsUrl === undefined ? undefined : new NatsLink(base.natsUrl, nodeId, broker, log, options.natsDependency ?? true);
  // Connected before the node listens (bounded: 2 s), so /readyz is 503 only while NATS is really down.
  await link?.kv();
  const source: ControlSource = link === undefined ? new FileControlSource(files) : new NatsKvControlSource(() => link.kv(), link.display);
  const handle = await startControlPlane({
    broker,
    base,
    env: options.env,
    source,
    lkgFiles: files,
    nodeId,
    log,
    openJetStream: link === undefined ? undefined : (name, q, config) => link.openQueue(name, q, config),
  });
  const stop = new AbortController();
  const swapping = link === undefined ? Promise.resolve() : swapPending(broker, link, stop.signal, log);
  log(`sluice: control: node ${nodeId} runs version ${handle.agent.view().version} (${handle.agent.view().status}); watching ${source.describe}`);
  return {
    handle,
    close: async () => {
      stop.abort();
      await swapping;
      await link?.close();
    },
  };
}

/** `<dataDir>/control`: the LKG files and, on one node, `config.json`. */
function controlDir(config: SluiceConfig): string {
  return join(config.dataDir, "control");
}

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

// The control role's NATS connection: opened on first use (a failed first connect is retried on
// the next use), then reconnecting by itself (connectNats); the KV bucket and JetStream queues on it.
class NatsLink {
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
