/**
 * What a `Consumer` hands out (`Delivery`) and how it is set up (`ConsumerOptions`).
 *
 * @example
 * ```ts
 * const options: ConsumerOptions = { url: "http://127.0.0.1:8787", queue: "jobs", credit: 16 };
 * ```
 *
 * @module
 */
import type { SluiceError } from "../result/errors.ts";
import type { ClientOptions } from "./options.ts";

/**
 * One delivery: settle it with `ack`, `nack` or keep it alive with `touch`.
 *
 * @example
 * ```ts
 * for await (const delivery of consumer) if (delivery.attempt > 3) consumer.nack(delivery);
 * ```
 */
export interface Delivery {
  /** Lease token (fencing token of this delivery). */
  readonly token: number;
  /** 1 on first delivery. */
  readonly attempt: number;
  /**
   * The message. A view of the WebSocket message it arrived in (no copy): the deliveries of one
   * batch share that message's buffer until the last of them is let go.
   */
  readonly payload: Uint8Array;
  /** Which connection delivered it (settling works only on that one). */
  readonly connection: number;
}

/**
 * Options of `Consumer`.
 *
 * @example
 * ```ts
 * new Consumer({ url, queue: "jobs", credit: 8, onError: (e, id) => log(e.code, id) });
 * ```
 */
export interface ConsumerOptions extends ClientOptions {
  /** Unsettled deliveries allowed at once. Default 32. */
  readonly credit?: number;
  /** Largest delivery payload taken, in bytes (match the server's `maxFrameBytes`). Default 1 MiB. */
  readonly maxFrameBytes?: number;
  /** Called with ERROR frames the server sends (e.g. `lease.inactive` for a late ack) and deliveries over `maxFrameBytes`. */
  readonly onError?: (error: SluiceError, id: number) => void;
  /**
   * Deliveries to take in all (like a `nats` fetch batch): credit is never granted past what is
   * left of it, so after the last one is settled no further delivery is out to this consumer and
   * closing fails nothing back. Default: no limit.
   */
  readonly limit?: number;
}
