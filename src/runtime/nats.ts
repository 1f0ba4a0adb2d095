/**
 * The one place that opens a NATS connection (for the JetStream backend, `storage: "jetstream"`).
 *
 * It uses `@nats-io/transport-node`'s `connect`, which speaks TCP through `node:net` and so runs
 * unchanged on Bun and Deno (workerd has no TCP client; a WebSocket variant would live here too).
 * Everything above this file (src/backends/jetstream/) takes the connection as a
 * `NatsConnection` and imports only the runtime-neutral `@nats-io/nats-core` and
 * `@nats-io/jetstream`.
 *
 * Once connected, the connection never gives up: it reconnects forever (capped exponential
 * backoff with jitter, 250 ms → 2 s by default) and replays its subscriptions; what was
 * published while it was down is buffered by the client and fails with a timeout if no
 * server answers in time. Only the *first* connect can fail, and then `connectNats` answers an
 * `unavailable` error naming the URL, with its credentials masked.
 *
 * @example
 * ```ts
 * const r = await connectNats("nats://127.0.0.1:4222", { name: "sluice-node-a", log: console.log });
 * if (!r.ok) throw new Error(r.error.message); // "nats: cannot connect to nats://127.0.0.1:4222: connection refused"
 * const nc = r.value;
 * // …jetstream(nc)…
 * await nc.drain();
 * ```
 */
import type { NatsConnection as CoreNatsConnection } from "@nats-io/nats-core";
import { connect, type NodeConnectionOptions } from "@nats-io/transport-node";
import { redactSecrets } from "../result/redact.ts";
import { err, ok, type Result } from "../result/result.ts";

/**
 * A live NATS connection, as the JetStream backend needs it (`jetstream(nc)`,
 * `jetstreamManager(nc)`, `nc.status()`, `nc.drain()`). The `@nats-io/nats-core` type: the same
 * one `@nats-io/transport-node` returns.
 *
 * @example
 * ```ts
 * import { jetstream } from "@nats-io/jetstream";
 * function publisher(nc: NatsConnection) { return jetstream(nc); }
 * ```
 */
export type NatsConnection = CoreNatsConnection;

/**
 * Options of `connectNats`. Every field is optional.
 *
 * @example
 * ```ts
 * const options: NatsConnectOptions = { name: "sluice-node-b", timeoutMs: 2000, log: (l) => console.log(l) };
 * ```
 */
export interface NatsConnectOptions {
  /** Client name shown by the server's monitoring (`/connz`). Default "sluice". */
  readonly name?: string;
  /** How long one connect attempt (TCP + handshake) may take, in ms. Default 5000. */
  readonly timeoutMs?: number;
  /** First wait between reconnect attempts, in ms; it doubles per failed attempt. Default 250. */
  readonly reconnectWaitMs?: number;
  /** Largest wait between reconnect attempts, in ms. Default 2000. */
  readonly reconnectMaxWaitMs?: number;
  /** Client PINGs every this many ms; `maxPingOut` (2) unanswered ones mean the server is gone. Default 10,000. */
  readonly pingIntervalMs?: number;
  /**
   * Gets one line per connection event (disconnected, reconnected, closed with an error), URL
   * credentials masked. Default: silent.
   */
  readonly log?: (line: string) => void;
}

/** What `parseNatsUrl` makes of a `SLUICE_NATS_URL`. */
interface ParsedNatsUrl {
  /** host:port per server, without scheme or credentials (what the client's `servers` wants). */
  readonly servers: string[];
  /** The URL(s) as given, credentials masked: for messages. */
  readonly display: string;
  readonly user?: string;
  readonly pass?: string;
  readonly token?: string;
  readonly tls: boolean;
}

const SCHEMES = new Set(["nats:", "tls:"]);

/**
 * Parses `nats://[user:pass@|token@]host[:port]` (also `tls://`, a bare `host:port`, or several
 * of them separated by commas). The client library does not read credentials from the URL
 * itself (it would take `user:pass@host` for a host name), so they are lifted into options here.
 */
function parseNatsUrl(url: string): Result<ParsedNatsUrl> {
  const parts = url
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "");
  const display = redactSecrets(parts.map((p) => (p.includes("://") ? p : `nats://${p}`)).join(","));
  if (parts.length === 0) return err("validation", "nats: empty server URL");
  const servers: string[] = [];
  let user: string | undefined;
  let pass: string | undefined;
  let tls = false;
  for (const part of parts) {
    let u: URL;
    try {
      u = new URL(part.includes("://") ? part : `nats://${part}`);
    } catch {
      return err("validation", `nats: not a URL: ${redactSecrets(part)}`);
    }
    if (!SCHEMES.has(u.protocol)) {
      return err("validation", `nats: unsupported scheme in ${redactSecrets(part)} (use nats:// or tls://; WebSocket URLs are not supported here)`);
    }
    if (u.hostname === "") return err("validation", `nats: no host in ${redactSecrets(part)}`);
    if (u.protocol === "tls:") tls = true;
    if (u.username !== "" && user === undefined) {
      user = decodeURIComponent(u.username);
      pass = u.password === "" ? undefined : decodeURIComponent(u.password);
    }
    servers.push(`${u.hostname}:${u.port === "" ? "4222" : u.port}`);
  }
  // `nats://s3cret@host` is a token; `nats://user:pass@host` a user and password.
  if (user !== undefined && pass === undefined) return ok({ servers, display, token: user, tls });
  return ok({ servers, display, user, pass, tls });
}

/**
 * Opens a NATS connection to `url` (`nats://[user:pass@|token@]host[:port]`, `tls://…`, or
 * several comma-separated) that reconnects forever: capped exponential backoff with jitter
 * between attempts (`reconnectWaitMs` 250 → `reconnectMaxWaitMs` 2000, plus up to half of
 * that at random, so N nodes do not reconnect in step), and the client's subscriptions replayed
 * on every reconnect. When the first connect fails (nothing listening, handshake timeout,
 * authorization refused) it answers `unavailable` with a message naming the URL, credentials
 * masked; a URL it cannot read is `validation`.
 *
 * @example
 * ```ts
 * const r = await connectNats(process.env.SLUICE_NATS_URL ?? "nats://127.0.0.1:4222", { name: "sluice" });
 * if (!r.ok) {
 *   console.error(r.error.message); // e.g. "nats: cannot connect to nats://***@10.0.0.5:4222: connection refused"
 * } else {
 *   await r.value.close();
 * }
 * ```
 */
export async function connectNats(url: string, options: NatsConnectOptions = {}): Promise<Result<NatsConnection>> {
  const parsed = parseNatsUrl(url);
  if (!parsed.ok) return parsed;
  const { servers, display, user, pass, token, tls } = parsed.value;
  const secrets = [pass, token];
  const base = Math.max(1, options.reconnectWaitMs ?? 250);
  const cap = Math.max(base, options.reconnectMaxWaitMs ?? 2000);
  // Failed attempts since the connection was last up, counted from the client's status events
  // ("reconnecting" is sent before each dial). The client asks for the wait several times per
  // attempt while it sleeps, so the jitter is drawn once per attempt, not per call.
  let failed = 0;
  let jitterFor = -1;
  let jitter = 0;
  const reconnectDelayHandler = (): number => {
    const wait = Math.min(cap, base * 2 ** Math.max(0, failed - 1));
    if (jitterFor !== failed) {
      jitterFor = failed;
      jitter = Math.floor(Math.random() * (wait / 2 + 1));
    }
    return wait + jitter;
  };
  const connectOptions: NodeConnectionOptions = {
    servers,
    name: options.name ?? "sluice",
    timeout: options.timeoutMs ?? 5000,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectDelayHandler,
    pingInterval: options.pingIntervalMs ?? 10_000,
    maxPingOut: 2,
    // Connect errors and timeouts without the client's extra "async trace" stack capture.
    noAsyncTraces: true,
    ...(user !== undefined ? { user, pass } : {}),
    ...(token !== undefined ? { token } : {}),
    ...(tls ? { tls: {} } : {}),
  };
  let nc: NatsConnection;
  try {
    nc = await connect(connectOptions);
  } catch (thrown) {
    const reason = thrown instanceof Error ? thrown.message : String(thrown);
    return err("unavailable", redactSecrets(`nats: cannot connect to ${display}: ${reason}`, secrets), {
      cause: thrown,
      metadata: { url: display },
    });
  }
  void watchStatus(nc, display, secrets, options.log, (event) => {
    if (event === "attempt") failed++;
    else failed = 0;
  });
  return ok(nc);
}

/** Follows the connection's status events: counts reconnect attempts, logs the few that matter. */
async function watchStatus(
  nc: NatsConnection,
  display: string,
  secrets: (string | undefined)[],
  log: ((line: string) => void) | undefined,
  count: (event: "attempt" | "up") => void,
): Promise<void> {
  const say = (line: string) => log?.(redactSecrets(line, secrets));
  try {
    for await (const s of nc.status()) {
      switch (s.type) {
        case "disconnect":
          say(`nats: disconnected from ${display} (${s.server}); reconnecting`);
          break;
        case "reconnecting":
          count("attempt");
          break;
        case "reconnect":
          count("up");
          say(`nats: reconnected to ${display} (${s.server})`);
          break;
        case "error":
          say(`nats: ${display}: ${s.error.message}`);
          break;
      }
    }
  } catch {
    // The status iterator ends with the connection.
  }
  const closed = await nc.closed();
  if (closed) say(`nats: connection to ${display} closed: ${closed.message}`);
}
