/**
 * `BridgeLog`: a bridge's log lines, rate-limited: one line per outage start and end, at most
 * one per `everyMs` while it lasts or while sends keep failing, each with counts.
 *
 * @module
 */
import type { Clock } from "../result/clock.ts";
import type { SluiceError } from "../result/errors.ts";
import type { BridgePath } from "./bridge-metrics.ts";
import type { CircuitChange } from "./circuit-breaker.ts";
import type { DownstreamEvent } from "./downstream-options.ts";

/**
 * Options of `BridgeLog`.
 *
 * @example
 * ```ts
 * new BridgeLog({ name: "jobs", log: console.log, clock: systemClock, everyMs: 30_000 });
 * ```
 */
export interface BridgeLogOptions {
  /** The bridged queue's name (each line says `bridge <name>:`). */
  readonly name: string;
  /** Gets each line; the caller masks secrets (URLs in errors are masked already). */
  readonly log: (line: string) => void;
  readonly clock: Clock;
  /** Least time between two "still down" or "sends failing" lines. Default 30000. */
  readonly everyMs?: number;
}

/** Counts of an outage. */
interface Tally {
  failedSends: number;
  probes: number;
  deferred: number;
  socketDrops: number;
}

const empty = (): Tally => ({ failedSends: 0, probes: 0, deferred: 0, socketDrops: 0 });

/** Per kind of line: when it was last printed, and how many were held back since. */
interface Limit {
  lastAt: number;
  held: number;
}

/**
 * Turns a bridge's events into few log lines. An outage is the circuit being away from
 * `closed`: its start (`closed → open`) and its end (`→ closed`) are one line each, with the
 * last error and the counts; in between, at most one "still down" line per `everyMs`. While the
 * circuit is closed, each kind of trouble — a failed socket send, a failed RPC call, a socket
 * drop or failed connection — gets a line at once, then at most one per `everyMs`, which says
 * how many more like it were held back.
 *
 * @example
 * ```ts
 * const log = new BridgeLog({ name: "jobs", log: (l) => console.log(redactSecrets(l, [token])), clock });
 * log.circuit({ from: "closed", to: "open", openings: 1, retryInMs: 500 }, lastError);
 * log.sendFailed("socket", error);
 * ```
 */
export class BridgeLog {
  readonly #name: string;
  readonly #print: (line: string) => void;
  readonly #clock: Clock;
  readonly #everyMs: number;
  readonly #limits = new Map<string, Limit>();
  #outageSince: number | undefined;
  #outage: Tally = empty();
  #lastError: string | undefined;
  #stillDownAt = -Infinity;

  constructor(options: BridgeLogOptions) {
    this.#name = options.name;
    this.#print = options.log;
    this.#clock = options.clock;
    this.#everyMs = options.everyMs ?? 30_000;
  }

  /** The circuit changed; `lastError` is why the last send failed. */
  circuit(change: CircuitChange, lastError?: SluiceError): void {
    const now = this.#clock.now();
    if (lastError !== undefined) this.#lastError = describe(lastError);
    if (change.to === "open" && change.from === "closed") {
      this.#outageSince = now;
      this.#stillDownAt = now;
      this.#outage = empty();
      this.#line(
        `downstream down (${this.#lastError ?? "no answer"}); circuit open: no new leases, probing in ${Math.round(change.retryInMs ?? 0)} ms; ` +
          "deliveries wait in the queue, not counted against maxRetries",
      );
    } else if (change.to === "open") {
      if (now - this.#stillDownAt < this.#everyMs) return;
      this.#stillDownAt = now;
      const since = seconds(now - (this.#outageSince ?? now));
      this.#line(`downstream still down after ${since} (${this.#counts()}; last: ${this.#lastError ?? "?"}); next probe in ${Math.round(change.retryInMs ?? 0)} ms`);
    } else if (change.to === "closed" && this.#outageSince !== undefined) {
      this.#line(`downstream back after ${seconds(now - this.#outageSince)}: circuit closed (${this.#counts()} during the outage)`);
      this.#outageSince = undefined;
    }
  }

  /** A send on `path` failed (no answer, or refused). */
  sendFailed(path: BridgePath, error: SluiceError): void {
    this.#lastError = `${path}: ${describe(error)}`;
    if (this.#outageSince !== undefined) this.#outage.failedSends++;
    else this.#limited(`send:${path}`, `${path} send failed (${describe(error)})`);
  }

  /** A probe went out (the circuit was half-open). */
  probe(): void {
    this.#outage.probes++;
  }

  /** A delivery went back to the queue uncounted because the downstream was down. */
  deferred(): void {
    if (this.#outageSince !== undefined) this.#outage.deferred++;
  }

  /** Socket connection events (open, down, connect failures); `shownUrl` is already masked. */
  socket(event: DownstreamEvent, shownUrl: string): void {
    if (event.type === "open") {
      if (event.connection === 1) this.#line(`socket ${shownUrl} open (connection 1)`);
      else if (this.#outageSince === undefined) this.#limited("socket-open", `socket ${shownUrl} open again (connection ${event.connection})`);
      return;
    }
    if (this.#outageSince !== undefined) {
      this.#outage.socketDrops++;
      return;
    }
    if (event.type === "down") this.#limited("socket-down", `socket down (${event.reason.message}); ${event.failedSends} send(s) go to the fallback`);
    else this.#limited("socket-connect", `socket cannot connect (${event.error.message}); retrying in ${event.retryInMs} ms, sends go to the fallback meanwhile`);
  }

  // The first line of a kind at once, then at most one per `everyMs`, saying how many were held back.
  #limited(kind: string, text: string): void {
    const now = this.#clock.now();
    const limit = this.#limits.get(kind);
    if (limit !== undefined && now - limit.lastAt < this.#everyMs) {
      limit.held++;
      return;
    }
    const held = limit !== undefined && limit.held > 0 ? ` [+${limit.held} more like it in the last ${seconds(now - limit.lastAt)}]` : "";
    this.#limits.set(kind, { lastAt: now, held: 0 });
    this.#line(text + held);
  }

  #counts(): string {
    const t = this.#outage;
    const parts = [`${t.failedSends} failed send(s)`, `${t.probes} probe(s)`];
    if (t.deferred > 0) parts.push(`${t.deferred} deliveries put back uncounted`);
    if (t.socketDrops > 0) parts.push(`${t.socketDrops} socket drop(s)/connect failure(s)`);
    return parts.join(", ");
  }

  #line(text: string): void {
    this.#print(`sluice: bridge ${this.#name}: ${text}`);
  }
}

function describe(error: SluiceError): string {
  return `${error.code}: ${error.message}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}
