/**
 * `control.apply`: the ordered apply pump of the control role (a `SafeTaskQueue` drained by
 * `pump()` with concurrency 1), its guard, validation, retries, poison and LKG rollback.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import type { SluiceError } from "../../result/errors.ts";
import { ok, type Result } from "../../result/result.ts";
import { RetryPolicy } from "../../result/retry-policy.ts";
import type { MetricsRegistry } from "../../queue/metrics/registry.ts";
import { pump, type PumpContext, type PumpReport } from "../../queue/pump.ts";
import type { Lease } from "../../queue/lease.ts";
import { SafeTaskQueue } from "../../queue/safe-task-queue.ts";
import type { LkgStore } from "./lkg.ts";
import { ControlMetrics } from "./metrics.ts";
import type { ControlRevision } from "./source.ts";

/**
 * Settings of the `control.apply` pump (`pumps.control.apply.*`); concurrency is always 1.
 *
 * @example
 * ```ts
 * const apply: ControlPumpSettings = { capacity: 16, maxRetries: 3, requeueDelayMs: 500 };
 * ```
 */
export interface ControlPumpSettings {
  /** Versions waiting at once (the watch waits while it is full). Default 16. */
  readonly capacity?: number;
  /** Apply attempts of one version before it is poisoned and the LKG re-applied. Default 3. */
  readonly maxRetries?: number;
  /** Stalls (an apply that outlived its lease) before poison. Default 3. */
  readonly maxStalls?: number;
  /** First retry wait, doubled per attempt up to 30 s. Default 500. */
  readonly requeueDelayMs?: number;
  /** How long one apply may run without a heartbeat (the pump heartbeats). Default 30000. */
  readonly leaseMs?: number;
}

/**
 * Options of `ControlApplier.create`. `validate` is pure; `apply` changes the node to the
 * document (idempotent: it is retried, and re-run on the LKG as the rollback).
 *
 * @example
 * ```ts
 * const options: ControlApplierOptions<Doc> = { validate, apply, lkg, initial: { version: 0, text: "{}", document: {} }, nodeId: "node-a" };
 * ```
 */
export interface ControlApplierOptions<D> {
  readonly validate: (text: string) => Result<D>;
  readonly apply: (document: D, version: number, signal: AbortSignal) => Promise<Result<void>>;
  readonly lkg: LkgStore;
  /** What the node runs before any version is applied (version 0: its own configuration). */
  readonly initial: AppliedControl<D>;
  readonly nodeId: string;
  readonly settings?: ControlPumpSettings;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly metrics?: MetricsRegistry;
  readonly log?: (line: string) => void;
}

/**
 * A version a node runs: its number, its text and its validated document.
 *
 * @example
 * ```ts
 * const applied: AppliedControl<Doc> = { version: 7, text, document };
 * ```
 */
export interface AppliedControl<D> {
  readonly version: number;
  readonly text: string;
  readonly document: D;
}

/**
 * `"applied"`: the node runs the latest version it accepted. `"degraded"`: a newer version failed
 * to apply after its retries, and the node re-applied (and runs) its last-known-good one.
 *
 * @example
 * ```ts
 * if (applier.status === "degraded") alert(applier.problem);
 * ```
 */
export type ControlStatus = "applied" | "degraded";

/**
 * The ordered apply pump. Per version (concurrency 1, in arrival order):
 * - version ≤ the last settled one (applied, rejected or poisoned) → acked as a no-op (`stale`);
 * - `validate` fails → poisoned at once, no retry (`invalid`); nothing changes;
 * - `apply` fails → failed back and retried after 500 ms, 1 s, 2 s … (`requeueDelayMs`, capped at
 *   30 s); the last allowed failure poisons it and, as its compensation, re-applies the LKG:
 *   status `degraded` until a later version applies;
 * - success → the LKG is persisted (atomically, `LkgStore`), the version becomes the last applied,
 *   status `applied`.
 * A newer version that arrives while an older one waits out a retry is applied first; the older
 * one is then stale.
 *
 * @example
 * ```ts
 * const applier = ControlApplier.create({ validate, apply, lkg, initial, nodeId: "node-a", clock });
 * await applier.bootstrap();           // the LKG, before any watch
 * const running = applier.run(signal);  // the pump
 * await applier.offer({ version: 8, text }, signal);
 * ```
 */
export class ControlApplier<D> {
  readonly queue: SafeTaskQueue<ControlRevision>;
  readonly metrics: ControlMetrics;
  readonly #options: ControlApplierOptions<D>;
  #applied: AppliedControl<D>;
  #settled: number;
  #status: ControlStatus = "applied";
  #problem: { readonly version: number; readonly error: SluiceError } | undefined;

  static create<D>(options: ControlApplierOptions<D>): ControlApplier<D> {
    return new ControlApplier(options);
  }

  private constructor(options: ControlApplierOptions<D>) {
    this.#options = options;
    const s = options.settings ?? {};
    const maxRetries = s.maxRetries ?? 3;
    this.queue = SafeTaskQueue.create<ControlRevision>({
      name: "control.apply",
      role: "control",
      capacity: s.capacity ?? 16,
      maxRetries,
      maxStalls: s.maxStalls ?? 3,
      leaseMs: s.leaseMs ?? 30_000,
      requeueDelayMs: RetryPolicy.exponential({ attempts: maxRetries, initialMs: s.requeueDelayMs ?? 500, factor: 2, maxMs: 30_000 }),
      clock: options.clock ?? systemClock,
      random: options.random,
      metrics: options.metrics,
    });
    this.metrics = new ControlMetrics(this.queue.metrics.registry, options.nodeId);
    this.#applied = options.initial;
    this.#settled = options.initial.version;
    this.metrics.appliedVersion.set(this.#applied.version);
  }

  /** The version this node runs now. */
  get applied(): AppliedControl<D> {
    return this.#applied;
  }

  /** The highest version handled (applied, rejected, or poisoned): where a watch resumes. */
  get settledVersion(): number {
    return this.#settled;
  }

  get status(): ControlStatus {
    return this.#status;
  }

  /** The last version that was rejected or failed, and why (undefined once a later one applied). */
  get problem(): { readonly version: number; readonly error: SluiceError } | undefined {
    return this.#problem;
  }

  /**
   * Loads the LKG and applies it — before the first watch, so a node whose store is unreachable
   * serves what it last applied. No LKG (a first start) or an unusable one: `initial` stays.
   */
  async bootstrap(signal: AbortSignal = new AbortController().signal): Promise<Result<AppliedControl<D>>> {
    const log = this.#options.log;
    const loaded = await this.#options.lkg.load();
    if (!loaded.ok) {
      log?.(`sluice: control: ${loaded.error.message}; starting from the node's own configuration`);
      return ok(this.#applied);
    }
    if (loaded.value === undefined) return ok(this.#applied);
    const { revision, origin } = loaded.value;
    const where = origin === "current" ? "" : " (the newer LKG file was torn: using the previous one)";
    const valid = this.#options.validate(revision.text);
    if (!valid.ok) {
      log?.(`sluice: control: last-known-good version ${revision.version}${where} is not valid here (${valid.error.message}); starting from the node's own configuration`);
      return ok(this.#applied);
    }
    const applied = await this.#options.apply(valid.value, revision.version, signal);
    this.#settled = Math.max(this.#settled, revision.version);
    if (!applied.ok) {
      this.#degrade(revision.version, applied.error);
      log?.(`sluice: control: applying last-known-good version ${revision.version}${where} failed: ${applied.error.message}`);
      return applied;
    }
    this.#accept({ version: revision.version, text: revision.text, document: valid.value });
    log?.(`sluice: control: applied last-known-good version ${revision.version}${where} from ${this.#options.lkg.describe}`);
    return ok(this.#applied);
  }

  /** Queues a version for the pump (waits while the queue is full); a version already queued is not added twice. */
  offer(revision: ControlRevision, signal?: AbortSignal): Promise<Result<unknown>> {
    return this.queue.enqueue(revision, { signal, key: `v${revision.version}` });
  }

  /** Runs the pump until `signal` aborts (`canceled` with the report) or the queue closes. */
  run(signal: AbortSignal): Promise<Result<PumpReport>> {
    return pump(this.queue, (lease, context) => this.#handle(lease, context), { concurrency: 1, signal, name: "control.apply", role: "control" });
  }

  async #handle(lease: Lease<ControlRevision>, { signal, scope }: PumpContext): Promise<Result<unknown>> {
    const { version, text } = lease.payload;
    if (version <= this.#settled) {
      this.metrics.apply("stale");
      return ok();
    }
    const valid = this.#options.validate(text);
    if (!valid.ok) {
      this.metrics.apply("invalid");
      this.#settled = version;
      this.#problem = { version, error: valid.error };
      this.queue.moveToPoison(lease, valid.error); // the pump's ack then finds the lease inactive: nothing else happens
      this.#options.log?.(`sluice: control: version ${version} rejected (${valid.error.message}); still running version ${this.#applied.version}`);
      return ok();
    }
    const applied = await this.#options.apply(valid.value, version, signal);
    if (!applied.ok) {
      this.metrics.apply("failed");
      const last = lease.isPoisoned;
      this.#options.log?.(`sluice: control: applying version ${version} failed (attempt ${lease.attempt}${last ? ", the last" : ""}): ${applied.error.message}`);
      if (last) scope.register((reason) => (reason?.code === "canceled" ? undefined : this.#rollBack(version, applied.error)));
      return applied;
    }
    this.#accept({ version, text, document: valid.value });
    const saved = await this.#options.lkg.save({ version, text });
    if (!saved.ok) this.#options.log?.(`sluice: control: version ${version} applied, but persisting it as the last-known-good failed: ${saved.error.message}`);
    this.metrics.apply("applied");
    this.#options.log?.(`sluice: control: applied version ${version}`);
    return ok();
  }

  // The compensation of a version whose retries ran out: re-apply what the node ran before it.
  async #rollBack(version: number, error: SluiceError): Promise<Result<void>> {
    this.metrics.apply("poisoned");
    this.#settled = Math.max(this.#settled, version);
    this.#degrade(version, error);
    const lkg = this.#applied;
    const restored = await this.#options.apply(lkg.document, lkg.version, new AbortController().signal);
    this.metrics.apply("rolled_back");
    this.#options.log?.(
      restored.ok
        ? `sluice: control: version ${version} poisoned after its retries; re-applied last-known-good version ${lkg.version} (status degraded)`
        : `sluice: control: version ${version} poisoned; re-applying last-known-good version ${lkg.version} failed too: ${restored.error.message} (status degraded)`,
    );
    return restored.ok ? ok() : restored;
  }

  #accept(applied: AppliedControl<D>): void {
    this.#applied = applied;
    this.#settled = Math.max(this.#settled, applied.version);
    this.#status = "applied";
    this.#problem = undefined;
    this.metrics.appliedVersion.set(applied.version);
    this.metrics.degraded.set(0);
  }

  #degrade(version: number, error: SluiceError): void {
    this.#status = "degraded";
    this.#problem = { version, error };
    this.metrics.degraded.set(1);
  }
}
