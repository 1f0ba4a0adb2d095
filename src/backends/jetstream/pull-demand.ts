/**
 * Pulls from a JetStream consumer only as many messages as there are consumers waiting: each
 * pulled message starts its AckWait on the server, so nothing is fetched ahead of a taker.
 *
 * @module
 */
import type { Consumer, ConsumerMessages, JsMsg } from "@nats-io/jetstream";
import type { Clock } from "../../result/clock.ts";

/** Largest single pull request. */
const MAX_BATCH = 256;
/** Pull requests open at once (so new demand need not wait for a long poll to end). */
const MAX_PULLS = 4;
/** How long one pull request waits on the server for messages (JetStream's minimum is 1 s). */
const PULL_EXPIRES_MS = 1000;
/** Back-off after a failed pull (NATS down), doubling to the cap. */
const RETRY_MS = 100;
const RETRY_MAX_MS = 2000;

/**
 * Keeps pull requests open for `demand()` messages, handing each one to `onMessage`.
 *
 * @example
 * ```ts
 * const pulls = new PullDemand(consumer, () => waiters.size, (msg) => arrive(msg), clock);
 * pulls.kick(); // after a consumer starts waiting
 * ```
 */
export class PullDemand {
  readonly #open = new Set<ConsumerMessages>();
  #requested = 0;
  #retryMs = 0;
  #retryTimer: unknown;
  #stopped = false;

  constructor(
    private readonly consumer: Consumer,
    private readonly demand: () => number,
    private readonly onMessage: (msg: JsMsg) => void,
    private readonly clock: Clock,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** Messages asked for and not yet received. */
  get requested(): number {
    return this.#requested;
  }

  /** Opens pull requests for demand not yet covered. */
  kick(): void {
    if (this.#stopped || this.#retryTimer !== undefined) return;
    while (this.#open.size < MAX_PULLS) {
      const wanted = Math.min(MAX_BATCH, this.demand() - this.#requested);
      if (wanted <= 0) return;
      void this.#pull(wanted);
    }
  }

  /**
   * Opens no more pull requests. Open ones run to their expiry (at most 1 s) and their messages
   * are still handed over: a pull request cannot be withdrawn from the server, and a message it
   * delivers to a closed inbox would come back only after AckWait, charged as a stall.
   */
  stop(): void {
    this.#stopped = true;
    if (this.#retryTimer !== undefined) this.clock.clearTimeout(this.#retryTimer);
  }

  /** Ends every open pull request at once (the connection is closing anyway). */
  abort(): void {
    this.stop();
    for (const pull of this.#open) void pull.close();
  }

  async #pull(wanted: number): Promise<void> {
    this.#requested += wanted;
    let pull: ConsumerMessages | undefined;
    let received = 0;
    try {
      pull = await this.consumer.fetch({ max_messages: wanted, expires: PULL_EXPIRES_MS });
      this.#open.add(pull);
      for await (const msg of pull) {
        received++;
        this.#requested--;
        this.#retryMs = 0;
        this.onMessage(msg);
      }
    } catch (error) {
      this.onError(error);
      this.#retryMs = Math.min(RETRY_MAX_MS, Math.max(RETRY_MS, this.#retryMs * 2));
    } finally {
      if (pull !== undefined) this.#open.delete(pull);
      this.#requested -= wanted - received;
    }
    if (this.#retryMs > 0 && received === 0 && !this.#stopped) {
      this.#retryTimer = this.clock.setTimeout(() => {
        this.#retryTimer = undefined;
        this.kick();
      }, this.#retryMs);
      return;
    }
    this.kick();
  }
}
