/**
 * Where each configured queue lives, decided once the file and the environment are merged
 * (config.ts calls `resolveStorage`), and the two questions the runtime asks per queue
 * (`storageOf`, `natsUrlOf`).
 *
 * The rules (DESIGN.md "Storage": "Clustered" means `SLUICE_NATS_URL` is set):
 * - `natsUrl` (or env `SLUICE_NATS_URL`) set and `storage` set nowhere (neither the file nor
 *   `SLUICE_STORAGE`): the default storage is `"jetstream"`.
 * - A queue with its own `natsUrl` and no `storage` of its own is a JetStream queue too; a queue
 *   whose own `storage` is not `"jetstream"` cannot have a `natsUrl`.
 * - A `"jetstream"` queue needs a NATS URL (its own or the server's): a config error names the key.
 * - `durability: "power"` with any `"jetstream"` queue refuses to start: nats-server 2.9 has no
 *   per-message fsync, so a receipt could not promise what "power" promises.
 *
 * @example
 * ```ts
 * const config = loadConfig({ env: { SLUICE_NATS_URL: "nats://127.0.0.1:4222" } });
 * if (config.ok) storageOf(config.value, "default"); // "jetstream"
 * ```
 */
import type { QueueConfig, SluiceConfig, Storage } from "./config-schema.ts";

/**
 * The storage of queue `queue` (a name in `config.queues`, or its config): its own `storage`,
 * else the server's.
 *
 * @example
 * ```ts
 * storageOf(config, "jobs"); // "sqlite" | "memory" | "jetstream"
 * ```
 */
export function storageOf(config: SluiceConfig, queue: string | QueueConfig): Storage {
  const q = typeof queue === "string" ? config.queues[queue] : queue;
  return q?.storage ?? config.storage;
}

/**
 * The NATS URL of a `"jetstream"` queue: its own `natsUrl`, else the server's (undefined for
 * other storages, or when none is set — `loadConfig` refuses that for a JetStream queue).
 *
 * @example
 * ```ts
 * natsUrlOf(config, "jobs"); // "nats://127.0.0.1:4222"
 * ```
 */
export function natsUrlOf(config: SluiceConfig, queue: string | QueueConfig): string | undefined {
  const q = typeof queue === "string" ? config.queues[queue] : queue;
  if (q === undefined || storageOf(config, q) !== "jetstream") return undefined;
  return q.natsUrl ?? config.natsUrl;
}

/**
 * Applies the storage rules above to a merged (not yet frozen) server config: sets the default
 * storage, marks queues with their own `natsUrl` as JetStream queues (`queues` is replaced by an
 * updated frozen copy), and pushes one problem per broken rule.
 *
 * @example
 * ```ts
 * const problems: string[] = [];
 * resolveStorage(server, { storageSet: env.SLUICE_STORAGE !== undefined || "storage" in file }, problems);
 * ```
 */
export function resolveStorage(server: Record<string, unknown>, options: { readonly storageSet: boolean }, problems: string[]): void {
  if (!options.storageSet && server.natsUrl !== undefined) server.storage = "jetstream";
  const serverStorage = server.storage as Storage;
  const serverUrl = server.natsUrl as string | undefined;
  const queues: Record<string, QueueConfig> = { ...(server.queues as Record<string, QueueConfig>) };
  const jetstreamQueues: string[] = [];
  const missingUrl: string[] = [];
  for (const [name, q] of Object.entries(queues)) {
    let queue = q;
    if (queue.natsUrl !== undefined) {
      if (queue.storage === undefined && serverStorage !== "jetstream") queue = queues[name] = Object.freeze({ ...queue, storage: "jetstream" });
      const storage = queue.storage ?? serverStorage;
      if (storage !== "jetstream") {
        problems.push(`config: queues.${name}.natsUrl is set but the queue's storage is ${JSON.stringify(storage)}: natsUrl applies only to storage "jetstream"`);
        continue;
      }
    }
    if ((queue.storage ?? serverStorage) !== "jetstream") continue;
    jetstreamQueues.push(name);
    if (queue.natsUrl !== undefined || serverUrl !== undefined) continue;
    if (queue.storage === "jetstream") {
      problems.push(`config: queues.${name}.storage is "jetstream" but no NATS URL is set (set queues.${name}.natsUrl, natsUrl, or env SLUICE_NATS_URL)`);
    } else missingUrl.push(name);
  }
  if (missingUrl.length > 0) {
    problems.push(`config: storage is "jetstream" but natsUrl is not set (set natsUrl or env SLUICE_NATS_URL, e.g. "nats://127.0.0.1:4222"; queues: ${missingUrl.join(", ")})`);
  }
  if (server.durability === "power" && jetstreamQueues.length > 0) {
    problems.push(
      `config: durability "power" cannot be honoured by storage "jetstream" (queues: ${jetstreamQueues.join(", ")}): nats-server 2.9 has no per-message fsync; use durability "process", or storage "sqlite" for these queues`,
    );
  }
  server.queues = Object.freeze(queues);
}
