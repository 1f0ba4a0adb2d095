/**
 * `ControlAgent`: the control role of one node — LKG bootstrap, the `control.watch` loop and the
 * `control.apply` pump — behind one start / stop, plus what the HTTP routes need (the node's
 * view, a compare-and-set publish).
 *
 * @module
 */
import { type Result } from "../../result/result.ts";
import type { SluiceError } from "../../result/errors.ts";
import { type AppliedControl, ControlApplier, type ControlApplierOptions, type ControlStatus } from "./apply.ts";
import type { ControlSource, PublishOutcome } from "./source.ts";
import { watchControl } from "./watch.ts";

/**
 * Options of `ControlAgent.create`: the applier's, plus where the document lives and how the
 * watch backs off (`pumps.control.watch.requeueDelayMs` is the first wait).
 *
 * @example
 * ```ts
 * const options: ControlAgentOptions<Doc> = { source, validate, apply, lkg, initial, nodeId: "node-a", watch: { initialBackoffMs: 1000 } };
 * ```
 */
export interface ControlAgentOptions<D> extends ControlApplierOptions<D> {
  readonly source: ControlSource;
  readonly watch?: { readonly initialBackoffMs?: number; readonly maxBackoffMs?: number; readonly jitter?: number };
}

/**
 * What a node shows of its control state (`GET /v1/control/config`): the version it runs, its
 * text, `status`, and — when the latest version it saw was rejected or failed — which and why.
 *
 * @example
 * ```ts
 * const view: ControlView = { node: "node-a", version: 7, text: "{…}", status: "applied" };
 * ```
 */
export interface ControlView {
  readonly node: string;
  readonly version: number;
  readonly text: string;
  readonly status: ControlStatus;
  readonly problem?: { readonly version: number; readonly error: SluiceError };
}

/**
 * One node's control role. `start()` applies the LKG first (awaited), then starts the apply pump
 * and the watch (resuming after the last settled version); `stop()` ends the watch and the pump
 * (an apply in progress finishes or is put back; nothing is half-applied by the stop itself).
 *
 * @example
 * ```ts
 * const agent = ControlAgent.create({ source, validate, apply, lkg, initial, nodeId: "node-a" });
 * await agent.start();
 * agent.view(); // { version: 7, status: "applied", … }
 * await agent.publish(nextText, 7); // ok({ kind: "published", version: 8 })
 * await agent.stop();
 * ```
 */
export class ControlAgent<D> {
  readonly applier: ControlApplier<D>;
  readonly source: ControlSource;
  readonly #options: ControlAgentOptions<D>;
  readonly #stop = new AbortController();
  #running: Promise<unknown>[] = [];

  static create<D>(options: ControlAgentOptions<D>): ControlAgent<D> {
    return new ControlAgent(options);
  }

  private constructor(options: ControlAgentOptions<D>) {
    this.#options = options;
    this.source = options.source;
    this.applier = ControlApplier.create(options);
  }

  /** The version this node runs, with its document. */
  get applied(): AppliedControl<D> {
    return this.applier.applied;
  }

  /** Bootstraps from the LKG, then runs the pump and the watch until `stop()`. */
  async start(): Promise<void> {
    if (this.#running.length > 0) return;
    await this.applier.bootstrap(this.#stop.signal);
    const signal = this.#stop.signal;
    const w = this.#options.watch ?? {};
    this.#running = [
      this.applier.run(signal),
      watchControl({
        source: this.source,
        deliver: (revision, s) => this.applier.offer(revision, s),
        resumeFrom: () => this.applier.settledVersion,
        signal,
        initialBackoffMs: w.initialBackoffMs,
        maxBackoffMs: w.maxBackoffMs,
        jitter: w.jitter,
        random: this.#options.random,
        clock: this.#options.clock,
        metrics: this.applier.metrics,
        log: this.#options.log,
      }),
    ];
  }

  /** The node's control state. */
  view(): ControlView {
    const { version, text } = this.applier.applied;
    const problem = this.applier.problem;
    return { node: this.#options.nodeId, version, text, status: this.applier.status, ...(problem === undefined ? {} : { problem }) };
  }

  /** Writes `text` as the next version if the store's current one is `expected` (validate first). */
  publish(text: string, expected: number, signal?: AbortSignal): Promise<Result<PublishOutcome>> {
    return this.source.publish(text, expected, signal);
  }

  /** Stops the watch and the pump and waits for both. */
  async stop(): Promise<void> {
    this.#stop.abort();
    for (const running of this.#running) await running;
    this.applier.queue.close();
  }
}
