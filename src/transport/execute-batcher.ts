import { type Clock, systemClock } from "../result/clock.ts";
import { canceledError } from "../result/errors.ts";
import { err, type Result } from "../result/result.ts";
import { withTimeout } from "../result/with-timeout.ts";
import type { Command } from "../gen/sluice/v1/command_pb.ts";
import type { RelayClient } from "./relay-client.ts";
import type { FencePayload } from "../protocol/fence.ts";

interface Entry {
  readonly command: Command;
  readonly id: number;
  resolve(result: Result<void>): void;
}

/**
 * Turns many concurrent single-command sends into server-streaming `Execute`
 * calls, one batch at a time, with no timers.
 *
 * Batching is natural: commands submitted while a call is in flight wait, and the next call takes
 * all of them (at most `maxBatch`). A lone command goes out at once (after the current microtask
 * turn, so sends started together share a call). Each submitter gets its own command's outcome
 * as soon as its reply streams back. A submitter whose signal aborts while its command waits
 * leaves the batch; once the call is out, its outcome is simply ignored (the far side's
 * idempotency key makes the later re-send a duplicate, not a second message).
 *
 * @example
 * ```ts
 * const batcher = new ExecuteBatcher(relay, { maxBatch: 64 });
 * const sent = await batcher.submit(commandOf(lease), signal); // Result<void>
 * ```
 */
export class ExecuteBatcher {
  readonly #relay: Pick<RelayClient, "execute">;
  readonly #maxBatch: number;
  readonly #callTimeoutMs: number;
  readonly #clock: Clock;
  readonly #waiting: Entry[] = [];
  #running = false;
  /** Execute calls made (for stats and tests). */
  calls = 0;

  readonly #fence: FencePayload | undefined;

  /**
   * `callTimeoutMs` bounds one Execute call, so a hung call cannot stall every later batch;
   * `fence` (a bridge's leadership scope and term) goes with every call.
   */
  constructor(relay: Pick<RelayClient, "execute">, options: { maxBatch?: number; callTimeoutMs?: number; clock?: Clock; fence?: FencePayload } = {}) {
    this.#relay = relay;
    this.#fence = options.fence;
    this.#maxBatch = options.maxBatch ?? 64;
    this.#callTimeoutMs = options.callTimeoutMs ?? 10_000;
    this.#clock = options.clock ?? systemClock;
  }

  /** Sends `command` in the next batch; resolves with its own outcome. */
  submit(command: Command, signal?: AbortSignal): Promise<Result<void>> {
    if (signal?.aborted) return Promise.resolve(err(canceledError(signal)));
    const id = command.id.case === "sequenceId" ? Number(command.id.value) : NaN;
    return new Promise((resolve) => {
      const onAbort = () => {
        const at = this.#waiting.indexOf(entry);
        if (at >= 0) this.#waiting.splice(at, 1);
        resolve(err(canceledError(signal)));
      };
      const entry: Entry = {
        command,
        id,
        resolve: (result) => {
          signal?.removeEventListener("abort", onAbort);
          resolve(result);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#waiting.push(entry);
      if (!this.#running) {
        this.#running = true;
        // One microtask turn: workers that submit in the same turn share the first call.
        queueMicrotask(() => void this.#drain());
      }
    });
  }

  async #drain(): Promise<void> {
    while (this.#waiting.length > 0) {
      const batch = this.#waiting.splice(0, this.#maxBatch);
      const byId = new Map(batch.map((e) => [e.id, e]));
      this.calls++;
      const onReply = (id: number, outcome: Result<void>) => {
        byId.get(id)?.resolve(outcome);
        byId.delete(id);
      };
      const call = await withTimeout((signal) => this.#relay.execute(batch.map((e) => e.command), { signal, onReply, fence: this.#fence }), this.#callTimeoutMs, {
        clock: this.#clock,
      });
      // Timed out: whoever is still unanswered gets the timeout (the call itself was aborted).
      if (!call.ok) for (const entry of byId.values()) entry.resolve(call);
    }
    this.#running = false;
  }
}
