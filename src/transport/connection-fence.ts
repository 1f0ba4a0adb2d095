/**
 * The receiving side of leadership fencing on one connection: the FENCE a sender announced, and
 * the check every later PUBLISH of that connection goes through.
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { Result } from "../result/result.ts";
import { decodeFencePayload, type FencePayload } from "../protocol/fence.ts";

/**
 * The server-wide highest term per scope, as a connection uses it (`FenceTerms` of
 * src/mesh/leadership implements it): `admit` a term a sender announces (refused when lower
 * than the highest; a higher one is recorded), `check` a term before a send (ok only while it is
 * still the highest).
 *
 * @example
 * ```ts
 * const terms: FenceCheck = new FenceTerms(new SqlFenceTermStore(driver));
 * ```
 */
export interface FenceCheck {
  admit(scope: string, term: number): Result<void>;
  check(scope: string, term: number): Result<void>;
}

/**
 * One connection's fence. Before any FENCE frame it is inactive and publishes are not checked
 * (a plain producer). After one, every PUBLISH is admitted only while the announced term is the
 * highest the server accepted for the scope — so once a newer leader announced a higher term
 * (on any connection), the deposed leader's publishes are refused (ERROR `lease.inactive`) — and
 * a refused FENCE leaves the connection fenced at its stale term, so nothing of it gets in.
 *
 * @example
 * ```ts
 * const fence = new ConnectionFence(broker.fences);
 * const refused = fence.announce(frame.payload); // on FENCE
 * if (refused) socket.send(errorFrame(refused, frame.id));
 * if (fence.active && fence.check() !== undefined) refusePublish();
 * ```
 */
export class ConnectionFence {
  readonly #terms: FenceCheck;
  #current: FencePayload | undefined;

  constructor(terms: FenceCheck) {
    this.#terms = terms;
  }

  /** True once the connection announced a fence. */
  get active(): boolean {
    return this.#current !== undefined;
  }

  /** The fence announced last. */
  get current(): FencePayload | undefined {
    return this.#current;
  }

  /** A FENCE frame's payload: the error to answer it with (malformed, or a superseded term), or undefined. */
  announce(payload: Uint8Array): SluiceError | undefined {
    const fence = decodeFencePayload(payload);
    if (!fence.ok) return fence.error;
    this.#current = fence.value;
    const admitted = this.#terms.admit(fence.value.scope, fence.value.term);
    return admitted.ok ? undefined : admitted.error;
  }

  /** Before a PUBLISH is admitted: why it may not be (its term was superseded), or undefined. */
  check(): SluiceError | undefined {
    const fence = this.#current;
    if (fence === undefined) return undefined;
    const checked = this.#terms.check(fence.scope, fence.term);
    return checked.ok ? undefined : checked.error;
  }
}
