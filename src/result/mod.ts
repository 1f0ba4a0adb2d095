/**
 * The Result pipeline layer: results and errors, clocks, waiting helpers, retry, timeouts,
 * compensations and bounded-concurrency iteration. Runtime-neutral.
 *
 * @example
 * ```ts
 * import { retry, RetryPolicy, withTimeout } from "./src/result/mod.ts";
 * ```
 */
export * from "./errors.ts";
export * from "./result.ts";
export * from "./clock.ts";
export * from "./virtual-clock.ts";
export * from "./signals.ts";
export * from "./delay.ts";
export * from "./compensation.ts";
export * from "./with-timeout.ts";
export * from "./retry-policy.ts";
export * from "./retry.ts";
export * from "./for-each.ts";
export * from "./tap.ts";
export * from "./ticker.ts";
export * from "./options.ts";
