/**
 * `NatsKvLeaseStore`: leadership leases in a NATS KV bucket, shared by every node of a cluster.
 * Runtime-neutral: it takes a `KV` handle (`@nats-io/kv`), opened by src/runtime/ on the
 * connection `connectNats` made.
 *
 * @module
 */
import type { KV, KvEntry } from "@nats-io/kv";
import { type Clock, systemClock } from "../../result/clock.ts";
import { ok } from "../../result/result.ts";
import { checkLeaseArgs, checkScope, type LeaderLease, type LeaseLookup, type LeaseResult, type LeaseStore, nextTerm, noFloor, refused, storeUnavailable } from "./lease-store.ts";

/**
 * The KV bucket the server keeps its leases in.
 *
 * @example
 * ```ts
 * const kv = await new Kvm(nc).create(LEADERSHIP_BUCKET, { history: 1 });
 * ```
 */
export const LEADERSHIP_BUCKET = "sluice_leadership";

/** What one key holds; a released lease keeps its term with holder "". */
interface Record_ {
  readonly holder: string;
  readonly term: number;
  readonly expiresAtMs: number;
  /** Set on the acquiring write, so a write whose reply was lost can be recognised as ours. */
  readonly nonce?: string;
}

/** A key's current record with the KV revision it was read at. */
interface Seen {
  readonly revision: number;
  readonly record: Record_ | undefined;
}

/**
 * Leases on NATS KV with compare-and-swap on the key's revision: `create` fails when the key
 * exists, `update(key, value, revision)` when someone wrote it since `revision` was read. So of
 * any number of nodes racing for an expired lease, exactly one write lands.
 *
 * **Terms** are written in the value: an acquisition's term is above the previous term, above
 * the revision it replaces (a bucket's revisions are its stream's sequence numbers: strictly
 * increasing, never reused, so terms keep increasing even if the key was purged) and at least
 * `termFloor()` (`nextTerm`). Renewals and releases keep the term.
 *
 * **Expiry** is `expiresAtMs` = the writer's clock at the start of the call + ttl, judged by
 * each reader on its own clock: nodes' clocks must agree to well within the leader's safety
 * margin (`renewMarginMs`; README "Leadership").
 *
 * A write that fails (revision mismatch, timeout, connection lost) is followed by one read: the
 * lease as it is now decides the answer (`held` / `not_leader`, or success if the write did land
 * — recognised by its nonce); if that read fails too, `unavailable`.
 *
 * @example
 * ```ts
 * const kv = await new Kvm(nc).create(LEADERSHIP_BUCKET, { history: 1 });
 * const store = new NatsKvLeaseStore(kv);
 * const won = await store.tryAcquire("bridge/jobs", "node-a", 10_000); // term above every earlier one
 * ```
 */
export class NatsKvLeaseStore implements LeaseStore {
  readonly #kv: KV;
  readonly #clock: Clock;
  readonly #termFloor: () => number;
  #nonces = 0;
  readonly #salt = Math.random().toString(36).slice(2, 10);

  constructor(kv: KV, options: { clock?: Clock; termFloor?: () => number } = {}) {
    this.#kv = kv;
    this.#clock = options.clock ?? systemClock;
    this.#termFloor = options.termFloor ?? noFloor;
  }

  async get(scope: string): Promise<LeaseLookup> {
    checkScope(scope);
    const seen = await this.#read(scope);
    if (!seen.ok) return seen;
    return ok(leaseOf(scope, seen.value));
  }

  async tryAcquire(scope: string, holder: string, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs);
    const now = this.#clock.now();
    const seen = await this.#read(scope);
    if (!seen.ok) return seen;
    const current = leaseOf(scope, seen.value);
    if (current !== undefined && current.holder !== holder && current.expiresAtMs > now) {
      return refused("held", `${scope} is held by ${current.holder} (term ${current.term}) until ${current.expiresAtMs}`, current);
    }
    const nonce = `${this.#salt}-${++this.#nonces}`;
    const previous = Math.max(seen.value.record?.term ?? 0, seen.value.revision);
    const record: Record_ = { holder, term: nextTerm(previous, this.#termFloor), expiresAtMs: now + ttlMs, nonce };
    try {
      if (seen.value.revision === 0) await this.#kv.create(keyOf(scope), JSON.stringify(record));
      else await this.#kv.update(keyOf(scope), JSON.stringify(record), seen.value.revision);
      return ok({ scope, holder, term: record.term, expiresAtMs: record.expiresAtMs });
    } catch (thrown) {
      const after = await this.#read(scope);
      if (!after.ok) return storeUnavailable(`leadership store: acquiring ${scope} failed (${describe(thrown)}), and so did reading it back`, thrown);
      if (after.value.record?.nonce === nonce) return ok(leaseOf(scope, after.value)!);
      const now_ = leaseOf(scope, after.value);
      return refused("held", `${scope} was taken first${now_ === undefined ? "" : ` by ${now_.holder} (term ${now_.term})`}`, now_, thrown);
    }
  }

  async tryRenew(scope: string, holder: string, term: number, ttlMs: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, ttlMs, term);
    const now = this.#clock.now();
    return this.#rewrite(scope, holder, term, { holder, term, expiresAtMs: now + ttlMs }, now);
  }

  async release(scope: string, holder: string, term: number): Promise<LeaseResult> {
    checkLeaseArgs(scope, holder, undefined, term);
    return this.#rewrite(scope, holder, term, { holder: "", term, expiresAtMs: 0 }, undefined);
  }

  // Renew (with `now`: refuses an expired lease) or release: CAS on the revision the lease was read at.
  async #rewrite(scope: string, holder: string, term: number, next: Record_, now: number | undefined): Promise<LeaseResult> {
    const seen = await this.#read(scope);
    if (!seen.ok) return seen;
    const current = leaseOf(scope, seen.value);
    if (current === undefined || current.holder !== holder || current.term !== term) return refused("not_leader", `${holder} does not hold ${scope} in term ${term}`, current);
    if (now !== undefined && current.expiresAtMs <= now) return refused("expired", `${holder}'s lease of ${scope} (term ${term}) expired at ${current.expiresAtMs}`, current);
    try {
      await this.#kv.update(keyOf(scope), JSON.stringify(next), seen.value.revision);
      return ok(now === undefined ? current : { scope, holder, term, expiresAtMs: next.expiresAtMs });
    } catch (thrown) {
      const after = await this.#read(scope);
      if (!after.ok) return storeUnavailable(`leadership store: writing ${scope} failed (${describe(thrown)}), and so did reading it back`, thrown);
      const record = after.value.record;
      // Our write landed (its reply was lost): the value is exactly what we wrote.
      if (record !== undefined && record.holder === next.holder && record.term === term && record.expiresAtMs === next.expiresAtMs) {
        return ok(now === undefined ? current : { scope, holder, term, expiresAtMs: next.expiresAtMs });
      }
      return refused("not_leader", `${holder} no longer holds ${scope} in term ${term}`, leaseOf(scope, after.value), thrown);
    }
  }

  async #read(scope: string): Promise<{ ok: true; value: Seen } | ReturnType<typeof storeUnavailable>> {
    // A record we cannot read (or one without a term) is treated as no lease: the next acquire
    // overwrites it (CAS on its revision), with a term above that revision.
    let entry: KvEntry | null;
    try {
      entry = await this.#kv.get(keyOf(scope));
    } catch (thrown) {
      return storeUnavailable(`leadership store: cannot read ${scope}: ${describe(thrown)}`, thrown);
    }
    if (entry === null) return ok({ revision: 0, record: undefined });
    if (entry.operation !== "PUT" || entry.length === 0) return ok({ revision: entry.revision, record: undefined });
    try {
      return ok({ revision: entry.revision, record: entry.json<Record_>() });
    } catch {
      return ok({ revision: entry.revision, record: undefined });
    }
  }
}

/**
 * The KV key of a scope: `.` and `=` escaped (`=2E`, `=3D`), so a scope is one subject token.
 *
 * @example
 * ```ts
 * keyOf("bridge/jobs.eu"); // "bridge/jobs=2Eeu"
 * ```
 */
export function keyOf(scope: string): string {
  return scope.replaceAll("=", "=3D").replaceAll(".", "=2E");
}

function leaseOf(scope: string, seen: Seen): LeaderLease | undefined {
  const record = seen.record;
  if (record === undefined || typeof record.holder !== "string" || record.holder === "" || typeof record.expiresAtMs !== "number") return undefined;
  if (!Number.isSafeInteger(record.term) || record.term < 1) return undefined;
  return { scope, holder: record.holder, term: record.term, expiresAtMs: record.expiresAtMs };
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
