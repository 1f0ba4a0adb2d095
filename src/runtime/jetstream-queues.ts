/**
 * Opens the queues whose storage is `"jetstream"` before the broker is built (lifecycle.ts):
 * one NATS connection per distinct URL (connectNats, which reconnects forever once up), then a
 * `JetStreamQueue` per queue with the options the broker would give it, the server's
 * `idempotencyWindowMs` (`Nats-Msg-Id` dedup window) and the broker's metrics registry.
 *
 * - **Start-up** waits for NATS at most `connectWithinMs` (10 s), retrying with backoff — so a
 *   node and its nats-server can start together — then fails with a message naming the URL
 *   (credentials masked) and the queues that need it.
 * - **After start-up** a lost connection makes the queues answer `unavailable` to producers
 *   (their `connected` is false) and `/readyz` 503 (each connection is a broker `Dependency`)
 *   while the client reconnects with backoff; nothing receipted is lost (JetStream holds it).
 * - **Shutdown**: the broker drains and closes the queues (in-flight deliveries go back to
 *   JetStream), then `close()` drains each connection (bounded) so those naks reach the server.
 *
 * @example
 * ```ts
 * const opened = await openJetStreamQueues(config, metrics, console.log);
 * if (!opened.ok) throw new Error(opened.error.message); // "sluice: nats: cannot connect to nats://127.0.0.1:4222 within 10000 ms …"
 * const broker = new Broker({ config, metrics, queues: opened.value.queues, dependencies: opened.value.dependencies });
 * // …serve; at shutdown:
 * await broker.shutdown();
 * await opened.value.close();
 * ```
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { JetStreamQueue } from "../backends/jetstream/jetstream-queue.ts";
import type { MetricsRegistry } from "../queue/metrics/registry.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { deadline, delay } from "../result/delay.ts";
import { redactSecrets } from "../result/redact.ts";
import { err, ok, type Result } from "../result/result.ts";
import { type Dependency, queueOptionsFor } from "../server/broker.ts";
import { natsUrlOf, type SluiceConfig, storageOf } from "../server/config.ts";
import { connectNats, type NatsConnection } from "./nats.ts";

/**
 * How long start-up waits for a NATS server to accept the connection, in ms.
 *
 * @example
 * ```ts
 * await openJetStreamQueues(config, metrics, log, { connectWithinMs: NATS_CONNECT_WITHIN_MS / 2 });
 * ```
 */
export const NATS_CONNECT_WITHIN_MS = 10_000;
/** How long shutdown waits for a connection to flush (the drained deliveries' naks) before closing it. */
const NATS_CLOSE_WITHIN_MS = 3_000;

/**
 * The JetStream queues of a config, opened, with what the broker and the lifecycle need.
 *
 * @example
 * ```ts
 * const { queues, dependencies, close } = opened.value;
 * ```
 */
export interface JetStreamQueues {
  /** By queue name: give them to the broker (`BrokerOptions.queues`). */
  readonly queues: ReadonlyMap<string, RelayQueue<Uint8Array>>;
  /** One per NATS connection, up while connected (`BrokerOptions.dependencies`). */
  readonly dependencies: readonly Dependency[];
  /** The NATS URLs in use, credentials masked (for log lines). */
  readonly urls: readonly string[];
  /** Drains and closes every NATS connection (after the broker shut down); bounded. */
  close(): Promise<void>;
}

/**
 * Options of `openJetStreamQueues`.
 *
 * @example
 * ```ts
 * await openJetStreamQueues(config, metrics, log, { connectWithinMs: 2000, name: "sluice-a" });
 * ```
 */
export interface OpenJetStreamOptions {
  /** How long to wait for each NATS server at start-up, in ms. Default `NATS_CONNECT_WITHIN_MS`. */
  readonly connectWithinMs?: number;
  /** NATS client name (shown by the server's `/connz`). Default "sluice". */
  readonly name?: string;
}

/** One NATS connection and whether it is up now (from its status events). */
interface Link {
  readonly url: string;
  readonly display: string;
  readonly nc: NatsConnection;
  up: boolean;
}

/**
 * Connects to NATS (one connection per distinct URL) and opens every `"jetstream"` queue of
 * `config`. Nothing to open → ok with no queues. Failure → `unavailable` naming the URL (masked),
 * after closing whatever was opened.
 *
 * @example
 * ```ts
 * const opened = await openJetStreamQueues(config, broker.metrics, (line) => console.log(line));
 * ```
 */
export async function openJetStreamQueues(
  config: SluiceConfig,
  metrics: MetricsRegistry,
  log: (line: string) => void,
  options: OpenJetStreamOptions = {},
): Promise<Result<JetStreamQueues>> {
  const byUrl = new Map<string, string[]>();
  for (const name of Object.keys(config.queues)) {
    if (storageOf(config, name) !== "jetstream") continue;
    const url = natsUrlOf(config, name)!; // loadConfig refuses a JetStream queue without one
    byUrl.set(url, [...(byUrl.get(url) ?? []), name]);
  }
  const links: Link[] = [];
  const queues = new Map<string, JetStreamQueue>();
  const close = async () => {
    for (const queue of queues.values()) queue.close();
    await Promise.all(links.map((link) => closeLink(link)));
  };
  for (const [url, names] of byUrl) {
    const display = redactSecrets(url);
    const linked = await connectWithin(url, display, names, log, options);
    if (!linked.ok) {
      await close();
      return linked;
    }
    const link = linked.value;
    links.push(link);
    try {
      const js = jetstream(link.nc);
      const jsm = await jetstreamManager(link.nc);
      for (const name of names) {
        const queue = await JetStreamQueue.open({
          ...queueOptionsFor(name, config.queues[name]!),
          js,
          jsm,
          // 0 turns deduplication off (the broker then sends no key); JetStream needs a window anyway.
          idempotencyWindowMs: config.idempotencyWindowMs > 0 ? config.idempotencyWindowMs : undefined,
          metrics,
          connected: () => link.up,
        });
        queues.set(name, queue);
      }
    } catch (thrown) {
      await close();
      const reason = redactSecrets(thrown instanceof Error ? thrown.message : String(thrown));
      return err("unavailable", `sluice: JetStream at ${display}: cannot set up queue(s) ${names.join(", ")}: ${reason} (is nats-server running with JetStream, -js?)`);
    }
  }
  const dependencies: Dependency[] = links.map((link) => ({ name: `nats ${link.display}`, up: () => link.up && !link.nc.isClosed() }));
  return ok({ queues, dependencies, urls: links.map((l) => l.display), close });
}

// The first connection, retried with backoff until `connectWithinMs` has passed.
async function connectWithin(url: string, display: string, names: readonly string[], log: (line: string) => void, options: OpenJetStreamOptions): Promise<Result<Link>> {
  const within = options.connectWithinMs ?? NATS_CONNECT_WITHIN_MS;
  const until = Date.now() + within;
  let waitMs = 250;
  let said = false;
  for (;;) {
    const left = until - Date.now();
    const connected = await connectNats(url, { name: options.name ?? "sluice", timeoutMs: Math.max(500, Math.min(5000, left)), log });
    if (connected.ok) return ok(follow({ url, display, nc: connected.value, up: true }));
    if (connected.error.code !== "unavailable" || Date.now() + waitMs >= until) {
      return err("unavailable", `sluice: ${connected.error.message} (waited ${within} ms; needed by queue(s) ${names.join(", ")} with storage "jetstream")`, {
        metadata: { url: display },
      });
    }
    if (!said) log(`sluice: waiting up to ${within} ms for NATS at ${display} (${connected.error.message})`);
    said = true;
    await delay(waitMs);
    waitMs = Math.min(2000, waitMs * 2);
  }
}

// Keeps `link.up` in step with the connection's status events.
function follow(link: Link): Link {
  void (async () => {
    try {
      for await (const s of link.nc.status()) {
        if (s.type === "disconnect") link.up = false;
        else if (s.type === "reconnect") link.up = true;
      }
    } catch {
      // The status iterator ends with the connection.
    }
    link.up = false;
  })();
  return link;
}

// Flushes what is still buffered (a drain's naks) and closes; a connection that is down is closed at once.
async function closeLink(link: Link): Promise<void> {
  if (link.nc.isClosed()) return;
  if (link.up) {
    const drained = await deadline(link.nc.drain(), NATS_CLOSE_WITHIN_MS);
    if (drained.ok) return;
  }
  await link.nc.close().catch(() => {});
}
