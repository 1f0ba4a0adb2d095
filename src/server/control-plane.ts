/**
 * `ControlPlane`: what the broker and the routes see of the control role (`GET`/`PUT
 * /v1/control/config`); the runtime attaches one (src/runtime/control.ts).
 *
 * @module
 */
import type { Result } from "../result/result.ts";
import type { ControlView } from "../mesh/control/agent.ts";
import type { PublishOutcome } from "../mesh/control/source.ts";

/**
 * The control role as the routes use it.
 *
 * @example
 * ```ts
 * broker.attachControl(plane, () => agent.stop());
 * broker.control?.view().version; // 7
 * ```
 */
export interface ControlPlane {
  /** The node's control state: the version it runs, that document, its status. */
  view(): ControlView;
  /** Checks `text` as this node would apply it; `validation` with `metadata.fields` when not. */
  check(text: string): Result<unknown>;
  /** Publishes `text` as the next version if the current one is `expected`. */
  publish(text: string, expected: number, signal?: AbortSignal): Promise<Result<PublishOutcome>>;
}
