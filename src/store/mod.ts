/**
 * The durable journal of queue state over SQL (runtime-neutral; drivers live in src/runtime/).
 *
 * @example
 * ```ts
 * import { bytesCodec, SqlStore } from "./src/store/mod.ts";
 * ```
 *
 * @module
 */
export * from "./sql-driver.ts";
export * from "./sql-store.ts";
export * from "./payload-codec.ts";
export * from "./schema.ts";
export type { SqlQueueJournal } from "./queue-journal.ts";
