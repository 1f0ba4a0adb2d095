/**
 * Loads the server configuration: embedded defaults ← `sluice.config.json` ← environment.
 * Pure (no file system, no `process`): the caller passes the file's text and the environment,
 * so this runs unchanged on Bun, Deno and workerd (src/runtime/config-file.ts reads the file).
 *
 * File format (every key optional; unknown keys are rejected so a typo never silently falls
 * back to a default). `queues`, when present, is the full set of queues; each queue starts from
 * `queueDefaults`, which starts from the built-in queue defaults:
 * ```json
 * {
 *   "port": 8787, "host": "0.0.0.0", "drainMs": 10000, "maxFrameBytes": 1048576,
 *   "idempotencyWindowMs": 300000, "authTokens": ["s3cret"],
 *   "storage": "sqlite", "dataDir": "/var/lib/sluice", "durability": "process", "natsUrl": "nats://10.0.0.5:4222",
 *   "corsOrigins": ["https://app.example.com"], "grpcPort": 8788,
 *   "queueDefaults": { "leaseMs": 60000 },
 *   "queues": {
 *     "default": {},
 *     "jobs": {
 *       "capacity": 1024, "fullMode": "wait", "leaseMs": 30000, "heartbeatMs": 5000, "sweepMs": 1000,
 *       "maxRetries": 5, "maxStalls": 3, "requeueDelayMs": 0, "maxBytes": 67108864, "storage": "memory",
 *       "bridge": { "wsUrl": "wss://worker.internal/sluice", "rpcUrl": "https://worker.internal",
 *                   "sendTimeoutMs": 3000, "pingIntervalMs": 15000, "concurrency": 8 }
 *     }
 *   },
 *   "mesh": { "nodeId": "node-a", "leadership": { "ttlMs": 10000, "renewMarginMs": 3000, "evaluationIntervalMs": 1000 } },
 *   "pumps": { "leadership": { "evaluate": { "concurrency": 4, "capacity": 1024, "maxRetries": 3, "maxStalls": 3, "requeueDelayMs": 250, "leaseMs": 10000 } } }
 * }
 * ```
 * Environment (wins over the file): `PORT` (or `SLUICE_PORT`, which wins over `PORT`),
 * `SLUICE_HOST`, `SLUICE_AUTH_TOKENS` (comma-separated; empty disables auth), `SLUICE_DRAIN_MS`,
 * `SLUICE_MAX_FRAME_BYTES`, `SLUICE_IDEMPOTENCY_WINDOW_MS`, `SLUICE_STORAGE` (`sqlite`|`memory`|`jetstream`),
 * `SLUICE_DATA_DIR`, `SLUICE_DURABILITY` (`process`|`power`), `SLUICE_MEMORY_BUDGET_BYTES`,
 * `SLUICE_CORS_ORIGINS` (comma-separated origins, or `*`), `SLUICE_GRPC_PORT`, `SLUICE_NATS_URL`,
 * `SLUICE_NODE_ID` (`mesh.nodeId`; see config-mesh.ts for `mesh` and `pumps`).
 * With a NATS URL and no storage set anywhere, queues are on JetStream; a queue may also have its
 * own `"natsUrl"` (then it is a JetStream queue) — see config-storage.ts.
 *
 * @example
 * ```ts
 * const r = loadConfig({ env: { PORT: "9000" }, fileText: '{"queues":{"jobs":{"leaseMs":5000}}}' });
 * if (!r.ok) throw new Error(r.error.message); // e.g. "config: queues.jobs.leaseMs must be a positive integer (got -5)"
 * r.value.port; // 9000
 * ```
 */
import { err, ok, type Result } from "../result/result.ts";
import { checkRule, type Rule, show } from "./config-rules.ts";
import {
  BRIDGE_RULES,
  type BridgeConfig,
  DEFAULT_BRIDGE_CONFIG,
  DEFAULT_CONFIG,
  libraryQueueDefaults,
  QUEUE_NAME_PATTERN,
  QUEUE_RULES,
  type QueueConfig,
  SERVER_RULES,
  type SluiceConfig,
} from "./config-schema.ts";
import { resolveStorage } from "./config-storage.ts";
import { buildMesh, buildPumps } from "./config-mesh.ts";

export type { BridgeConfig, QueueConfig, SluiceConfig, Storage } from "./config-schema.ts";
export { DEFAULT_BRIDGE_CONFIG, DEFAULT_CONFIG, DEFAULT_QUEUE_CONFIG } from "./config-schema.ts";
export { natsUrlOf, storageOf } from "./config-storage.ts";

/**
 * Inputs of `loadConfig`. `env` takes `process.env` or `Deno.env.toObject()` as they are.
 *
 * @example
 * ```ts
 * const input: LoadConfigInput = { env: process.env, fileText: undefined };
 * ```
 */
export interface LoadConfigInput {
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** The text of sluice.config.json, or undefined when there is no file. */
  readonly fileText?: string;
  /** Named in JSON syntax errors (default "sluice.config.json"). */
  readonly fileName?: string;
}

/** Environment variable → server key. Later entries win, so SLUICE_PORT beats PORT. */
const ENV_KEYS: readonly (readonly [string, keyof typeof SERVER_RULES])[] = [
  ["PORT", "port"],
  ["SLUICE_PORT", "port"],
  ["SLUICE_HOST", "host"],
  ["SLUICE_AUTH_TOKENS", "authTokens"],
  ["SLUICE_DRAIN_MS", "drainMs"],
  ["SLUICE_MAX_FRAME_BYTES", "maxFrameBytes"],
  ["SLUICE_IDEMPOTENCY_WINDOW_MS", "idempotencyWindowMs"],
  ["SLUICE_MEMORY_BUDGET_BYTES", "memoryBudgetBytes"],
  ["SLUICE_STORAGE", "storage"],
  ["SLUICE_DATA_DIR", "dataDir"],
  ["SLUICE_DURABILITY", "durability"],
  ["SLUICE_CORS_ORIGINS", "corsOrigins"],
  ["SLUICE_GRPC_PORT", "grpcPort"],
  ["SLUICE_NATS_URL", "natsUrl"],
];

/**
 * Merges defaults ← file ← env and validates the result. Every problem is reported at once
 * (one per line of the error message, all in `metadata.problems`), each naming the key and what
 * was expected, with code `validation`.
 *
 * @example
 * ```ts
 * loadConfig({}); // ok(DEFAULT_CONFIG): port 8787, one queue "default"
 * ```
 */
export function loadConfig(input: LoadConfigInput = {}): Result<SluiceConfig> {
  const problems: string[] = [];
  const file = parseFile(input.fileText, input.fileName ?? "sluice.config.json", problems);

  const server: Record<string, unknown> = { ...DEFAULT_CONFIG };
  const known = [...Object.keys(SERVER_RULES), "queues", "queueDefaults", "mesh", "pumps", "$schema"];
  rejectUnknown(file, known, "", problems);
  overlay(server, file, SERVER_RULES, "", problems);

  // Only what the file sets: every unset key takes the library's default (resolveQueueOptions),
  // so a derived default such as heartbeatMs = min(5000, leaseMs / 2) follows the keys set.
  const queueDefaults: Record<string, unknown> = {};
  const rawDefaults = section(file.queueDefaults, "queueDefaults", problems);
  rejectUnknown(rawDefaults, Object.keys(QUEUE_RULES), "queueDefaults.", problems);
  overlay(queueDefaults, rawDefaults, QUEUE_RULES, "queueDefaults.", problems);

  const queues = file.queues === undefined ? { default: {} } : section(file.queues, "queues", problems);
  if (file.queues !== undefined && isRecord(file.queues) && Object.keys(queues).length === 0) {
    problems.push("config: queues must name at least one queue (got {})");
  }
  const builtQueues: Record<string, QueueConfig> = {};
  for (const [name, raw] of Object.entries(queues)) {
    const queue = buildQueue(name, raw, queueDefaults, problems);
    if (queue) builtQueues[name] = queue;
  }
  server.queues = Object.freeze(builtQueues);
  server.mesh = buildMesh(file.mesh, input.env ?? {}, problems);
  server.pumps = buildPumps(file.pumps, Object.keys(builtQueues), problems);

  applyEnv(server, input.env ?? {}, problems);
  const envStorage = input.env?.SLUICE_STORAGE;
  resolveStorage(server, { storageSet: "storage" in file || (envStorage !== undefined && envStorage.trim() !== "") }, problems);
  if (server.grpcPort !== undefined && server.grpcPort !== 0 && server.grpcPort === server.port) {
    problems.push(`config: grpcPort must differ from port (both ${server.port}): gRPC needs its own HTTP/2 listener`);
  }

  if (problems.length > 0) {
    return err("validation", problems.join("\n"), { metadata: { problems } });
  }
  server.authTokens = Object.freeze([...(server.authTokens as string[])]);
  server.corsOrigins = Object.freeze([...(server.corsOrigins as string[])]);
  return ok(Object.freeze(server) as unknown as SluiceConfig);
}

function parseFile(text: string | undefined, fileName: string, problems: string[]): Record<string, unknown> {
  if (text === undefined || text.trim() === "") return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (thrown) {
    problems.push(`config: ${fileName} is not valid JSON (${thrown instanceof Error ? thrown.message : String(thrown)})`);
    return {};
  }
  if (!isRecord(parsed)) {
    problems.push(`config: ${fileName} must hold a JSON object (got ${show(parsed)})`);
    return {};
  }
  return parsed;
}

function buildQueue(
  name: string,
  raw: unknown,
  defaults: Record<string, unknown>,
  problems: string[],
): QueueConfig | undefined {
  const path = `queues.${name}`;
  if (!QUEUE_NAME_PATTERN.test(name)) {
    problems.push(
      `config: queue name ${JSON.stringify(name)} must start with a letter or digit and use only letters, digits, ".", "_", "-" (at most 128 characters)`,
    );
    return undefined;
  }
  const section_ = section(raw, path, problems);
  rejectUnknown(section_, [...Object.keys(QUEUE_RULES), "bridge"], `${path}.`, problems);
  const set: Record<string, unknown> = { ...defaults };
  const before = problems.length;
  overlay(set, section_, QUEUE_RULES, `${path}.`, problems);
  const queue: Record<string, unknown> = { ...resolvedDefaults(set), ...set };

  // A heartbeat must land within the lease, or a healthy consumer's lease expires between beats.
  const { heartbeatMs, leaseMs } = queue as { heartbeatMs: number; leaseMs: number };
  if (problems.length === before && heartbeatMs >= leaseMs) {
    problems.push(`config: ${path}.heartbeatMs must be less than ${path}.leaseMs (got ${heartbeatMs} >= ${leaseMs})`);
  }

  if (section_.bridge !== undefined) queue.bridge = buildBridge(section_.bridge, `${path}.bridge`, problems);
  return Object.freeze(queue) as unknown as QueueConfig;
}

// The library's defaults for the keys not set, given those that are (one home for defaults).
function resolvedDefaults(set: Record<string, unknown>): QueueConfig {
  const known: { leaseMs?: number; capacity?: number } = {};
  for (const key of ["leaseMs", "capacity"] as const) if (Number.isSafeInteger(set[key]) && (set[key] as number) > 0) known[key] = set[key] as number;
  return libraryQueueDefaults(known);
}

function buildBridge(raw: unknown, path: string, problems: string[]): BridgeConfig {
  const section_ = section(raw, path, problems);
  rejectUnknown(section_, Object.keys(BRIDGE_RULES), `${path}.`, problems);
  const bridge: Record<string, unknown> = { ...DEFAULT_BRIDGE_CONFIG };
  overlay(bridge, section_, BRIDGE_RULES, `${path}.`, problems);
  if (isRecord(raw) && bridge.wsUrl === undefined && bridge.rpcUrl === undefined) {
    problems.push(`config: ${path} needs wsUrl or rpcUrl (or both)`);
  }
  return Object.freeze(bridge) as unknown as BridgeConfig;
}

function applyEnv(server: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>, problems: string[]): void {
  for (const [name, key] of ENV_KEYS) {
    const text = env[name];
    // Unset and empty mean "not configured" (shells and compose files leave empty vars around),
    // except for the token list, where empty explicitly turns auth off.
    if (text === undefined || (text.trim() === "" && key !== "authTokens")) continue;
    const rule: Rule = SERVER_RULES[key];
    const value = fromEnvText(rule, text);
    const problem = checkRule(rule, value, `env ${name}`);
    if (problem) problems.push(problem);
    else server[key] = value;
  }
}

function fromEnvText(rule: Rule, text: string): unknown {
  const trimmed = text.trim();
  if (rule.kind === "int") return /^-?\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
  if (rule.kind === "tokens" || rule.kind === "origins") return trimmed.split(",").map((t) => t.trim()).filter((t) => t !== "");
  return trimmed;
}

// Copies the keys of `raw` that have a rule into `target`, validating each.
function overlay(
  target: Record<string, unknown>,
  raw: Record<string, unknown>,
  rules: Readonly<Record<string, Rule>>,
  prefix: string,
  problems: string[],
): void {
  for (const [key, rule] of Object.entries(rules)) {
    if (!(key in raw)) continue;
    const problem = checkRule(rule, raw[key], `${prefix}${key}`);
    if (problem) problems.push(problem);
    else target[key] = raw[key];
  }
}

function rejectUnknown(raw: Record<string, unknown>, known: readonly string[], prefix: string, problems: string[]): void {
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  const where = prefix === "" ? "at the top level" : `in ${prefix.slice(0, -1)}`;
  problems.push(
    `config: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `${prefix}${k}`).join(", ")} ${where} (expected one of ${known.filter((k) => k !== "$schema").join(", ")})`,
  );
}

// A nested section must be an object; anything else is reported and treated as empty.
function section(raw: unknown, path: string, problems: string[]): Record<string, unknown> {
  if (raw === undefined) return {};
  if (isRecord(raw)) return raw;
  problems.push(`config: ${path} must be an object (got ${show(raw)})`);
  return {};
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
