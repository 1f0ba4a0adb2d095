/**
 * The configuration of Sluice on workerd, from the Worker's env bindings: the text binding
 * `SLUICE_CONFIG` holds what `sluice.config.json` holds on Bun and Deno, and the other `SLUICE_*`
 * text bindings (`SLUICE_AUTH_TOKENS`, `SLUICE_MAX_FRAME_BYTES`, …) win over it, exactly as the
 * environment does there (`loadConfig`). Keys that mean nothing at the edge (`port`, `host`,
 * `dataDir`, `grpcPort`, `natsUrl`, bridges) are read and ignored; storage is always the Durable
 * Object's own SQL. Cached per env object (workerd hands the same one to every request).
 *
 * @example
 * ```ts
 * const config = workerConfig(env);
 * if (!config.ok) return new Response(config.error.message, { status: 500 });
 * Object.keys(config.value.queues); // ["default"]
 * ```
 */
import { err, ok, type Result } from "../../result/result.ts";
import { loadConfig, type SluiceConfig } from "../../server/config.ts";

/**
 * Payload bytes one Durable Object holds in memory at most (its queue's window and producer
 * backlogs), whatever `memoryBudgetBytes` says: an isolate has 128 MB in all, and a stored queue
 * leaves the rest of its backlog in storage.
 *
 * @example
 * ```ts
 * Math.min(config.memoryBudgetBytes, OBJECT_MEMORY_BUDGET_BYTES);
 * ```
 */
export const OBJECT_MEMORY_BUDGET_BYTES = 32 * 1024 * 1024;

const cache = new WeakMap<object, Result<SluiceConfig>>();

/**
 * The configuration the env bindings describe (see the module doc); `validation` naming the key
 * when a value is wrong.
 *
 * @example
 * ```ts
 * workerConfig({ SLUICE_QUEUE: ns, SLUICE_CONFIG: '{"queues":{"jobs":{"leaseMs":5000}}}' });
 * ```
 */
export function workerConfig(env: Readonly<Record<string, unknown>>): Result<SluiceConfig> {
  const cached = cache.get(env);
  if (cached !== undefined) return cached;
  const strings: Record<string, string> = {};
  for (const [key, value] of Object.entries(env)) if (typeof value === "string" && key !== "SLUICE_CONFIG") strings[key] = value;
  // Storage is the Durable Object's; a file path or a NATS URL here would only confuse the loader.
  delete strings.SLUICE_STORAGE;
  delete strings.SLUICE_DATA_DIR;
  delete strings.SLUICE_NATS_URL;
  const text = typeof env.SLUICE_CONFIG === "string" ? env.SLUICE_CONFIG : undefined;
  const loaded = loadConfig({ env: strings, fileText: text, fileName: "SLUICE_CONFIG" });
  const result = loaded.ok ? ok({ ...loaded.value, storage: "sqlite" as const }) : err("validation", `sluice: invalid configuration\n${loaded.error.message}`);
  cache.set(env, result);
  return result;
}

/**
 * The configuration one `SluiceQueue` object runs with: only its queue, no auth (the Worker in
 * front authenticates), and the object's memory cap.
 *
 * @example
 * ```ts
 * const objectConfig = configForObject(config, "jobs");
 * ```
 */
export function configForObject(config: SluiceConfig, name: string): SluiceConfig {
  return {
    ...config,
    authTokens: [],
    corsOrigins: [],
    grpcPort: undefined,
    memoryBudgetBytes: Math.min(config.memoryBudgetBytes, OBJECT_MEMORY_BUDGET_BYTES),
    queues: { [name]: { ...config.queues[name]!, bridge: undefined, storage: "sqlite", natsUrl: undefined } },
  };
}
