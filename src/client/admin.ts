/**
 * `AdminClient`: the operator side of the SDK over the public HTTP API — queue stats, the poison
 * queue (list, replay, purge), one-off publishes, cluster members and leaders, the control config
 * (read, and replace with If-Match), and the live stats feed. The `sluice` CLI and the `/ui`
 * dashboard are built on it. Every call returns a `Result`; a refusal carries the server's code
 * and `metadata.status` (see `httpFailure`).
 *
 * @example
 * ```ts
 * const admin = new AdminClient({ url: "http://127.0.0.1:8787", token: "s3cret" });
 * const poison = await admin.poison("jobs");
 * if (poison.ok) await admin.replay("jobs", poison.value.entries.map((e) => e.sequenceId));
 * ```
 *
 * @module
 */
import { err, ok, type Result } from "../result/result.ts";
import { type AdminOptions, callJson } from "./admin-http.ts";
import type { ControlConfigView, ClusterLeader, ClusterMembers, PoisonListView, QueueStatsView, StatsSample } from "./admin-types.ts";
import { readStatsFeed } from "./stats-feed.ts";

/**
 * Which poison entries a replay or purge takes: these sequence ids, or `"all"`.
 *
 * @example
 * ```ts
 * const which: PoisonSelection = [41, 42];
 * ```
 */
export type PoisonSelection = readonly number[] | "all";

/**
 * The HTTP operator API of one server, as `Result`s.
 *
 * @example
 * ```ts
 * const admin = new AdminClient({ url, token });
 * const queues = await admin.queues();
 * if (queues.ok) for (const q of queues.value) console.log(q.queue, q.pending);
 * ```
 */
export class AdminClient {
  readonly options: AdminOptions;

  constructor(options: AdminOptions) {
    this.options = options;
  }

  /** `GET /healthz`: the server's status and version. */
  async health(options: { signal?: AbortSignal } = {}): Promise<Result<{ status: string; version: string }>> {
    return body(await callJson(this.options, "GET", "/healthz", options));
  }

  /** `GET /v1/queues`: every queue with its stats. */
  async queues(options: { signal?: AbortSignal } = {}): Promise<Result<QueueStatsView[]>> {
    const got = await callJson<{ queues: QueueStatsView[] }>(this.options, "GET", "/v1/queues", options);
    return got.ok ? ok(got.value.body.queues) : got;
  }

  /** `GET /v1/queues/:queue`: one queue's stats. */
  async stats(queue: string, options: { signal?: AbortSignal } = {}): Promise<Result<QueueStatsView>> {
    return body(await callJson(this.options, "GET", queuePath(queue), options));
  }

  /** `GET /v1/queues/:queue/poison`: the poison entries, oldest poisoned first, with their histories. */
  async poison(queue: string, options: { signal?: AbortSignal } = {}): Promise<Result<PoisonListView>> {
    return body(await callJson(this.options, "GET", `${queuePath(queue)}/poison`, options));
  }

  /** `POST /v1/queues/:queue/poison/replay`: puts entries back at attempt 1; how many went back. */
  async replay(queue: string, which: PoisonSelection, options: { signal?: AbortSignal } = {}): Promise<Result<number>> {
    const got = await callJson<{ replayed: number }>(this.options, "POST", `${queuePath(queue)}/poison/replay`, { json: selection(which), ...options });
    return got.ok ? ok(got.value.body.replayed) : got;
  }

  /** `POST /v1/queues/:queue/poison/purge`: drops entries for good; how many were dropped. */
  async purge(queue: string, which: PoisonSelection, options: { signal?: AbortSignal } = {}): Promise<Result<number>> {
    const got = await callJson<{ purged: number }>(this.options, "POST", `${queuePath(queue)}/poison/purge`, { json: selection(which), ...options });
    return got.ok ? ok(got.value.body.purged) : got;
  }

  /** `POST /v1/queues/:queue/messages`: one message, answered once it is stored. For many, use `Producer`. */
  async publish(
    queue: string,
    payload: Uint8Array,
    options: { idempotencyKey?: string; signal?: AbortSignal } = {},
  ): Promise<Result<{ sequenceId: number; duplicate: boolean }>> {
    const headers: Record<string, string> = options.idempotencyKey ? { "idempotency-key": options.idempotencyKey } : {};
    return body(await callJson(this.options, "POST", `${queuePath(queue)}/messages`, { body: payload, headers, signal: options.signal }));
  }

  /** `GET /v1/cluster/members`: the members this node knows (a 404 with `metadata.missingRoute` on a server without gossip). */
  async members(options: { signal?: AbortSignal } = {}): Promise<Result<ClusterMembers>> {
    return body(await callJson(this.options, "GET", "/v1/cluster/members", options));
  }

  /** `GET /v1/cluster/leaders`: each leadership scope and who leads it. */
  async leaders(options: { signal?: AbortSignal } = {}): Promise<Result<ClusterLeader[]>> {
    const got = await callJson<{ scopes: ClusterLeader[] }>(this.options, "GET", "/v1/cluster/leaders", options);
    return got.ok ? ok(got.value.body.scopes) : got;
  }

  /** `GET /v1/control/config`: the applied config document, its version and status. */
  async config(options: { signal?: AbortSignal } = {}): Promise<Result<ControlConfigView>> {
    return body(await callJson(this.options, "GET", "/v1/control/config", options));
  }

  /**
   * `PUT /v1/control/config` with `If-Match: "<version>"`: replaces the whole document if the
   * applied version is still `ifMatch`; the new version. A mismatch is the server's 409, a bad
   * document its 400 with the offending fields in the message.
   */
  async putConfig(document: unknown, ifMatch: number, options: { signal?: AbortSignal } = {}): Promise<Result<{ version: number }>> {
    if (!Number.isSafeInteger(ifMatch) || ifMatch < 0) return err("validation", `If-Match must be a config version (a non-negative integer), got ${ifMatch}`);
    return body(await callJson(this.options, "PUT", "/v1/control/config", { json: document, headers: { "if-match": `"${ifMatch}"` }, ...options }));
  }

  /**
   * `GET /v1/stats/stream`: every queue's stats, once at once and then every `intervalMs`, until
   * `signal` aborts or the server ends the stream. Sent over a streaming `fetch` with the token in
   * the `Authorization` header (EventSource cannot set headers, and a token must not go in a URL).
   * A refused or broken stream yields one error Result and ends.
   */
  statsFeed(options: { intervalMs?: number; signal?: AbortSignal } = {}): AsyncGenerator<Result<StatsSample>> {
    return readStatsFeed(this.options, options);
  }
}

function queuePath(queue: string): string {
  return `/v1/queues/${encodeURIComponent(queue)}`;
}

function selection(which: PoisonSelection): { ids: readonly number[] } | { all: true } {
  return which === "all" ? { all: true } : { ids: which };
}

function body<T>(got: Result<{ body: T }>): Result<T> {
  return got.ok ? ok(got.value.body) : got;
}
