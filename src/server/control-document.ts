/**
 * The control document (DESIGN.md "Mesh roles", Control): the cluster's queue configuration as
 * one JSON object, what it may hold and how it is checked (every problem named by its path); a
 * node turns it into the configuration it runs with control-effective.ts.
 *
 * ```json
 * {
 *   "queues": { "jobs": { "capacity": 5000, "leaseMs": 30000, "storage": "jetstream",
 *                          "bridge": { "rpcUrl": "https://worker.internal", "token": { "env": "JOBS_BRIDGE_TOKEN" } } } },
 *   "limits": { "memoryBudgetBytes": 268435456 },
 *   "auth": { "tokens": [{ "env": "SLUICE_TOKEN_A" }, { "env": "SLUICE_TOKEN_B" }] }
 * }
 * ```
 * Queue options are those of `sluice.config.json` (unset ones take the library's defaults) except
 * `natsUrl`, which stays in each node's own configuration. Secrets (tokens) are only ever
 * references to environment variables, resolved by each node when it applies the document; a
 * literal token is rejected. `limits` and `auth` left out keep each node's own values.
 *
 * @module
 */
import { sluiceError } from "../result/errors.ts";
import { err, ok, type Result } from "../result/result.ts";
import { BRIDGE_RULES, type BridgeConfig, checkRule, libraryQueueDefaults, QUEUE_NAME_PATTERN, QUEUE_RULES, type QueueConfig } from "./config-schema.ts";

/**
 * A reference to an environment variable, the only way a secret appears in the document.
 *
 * @example
 * ```ts
 * const ref: EnvRef = { env: "SLUICE_TOKEN_A" };
 * ```
 */
export interface EnvRef {
  readonly env: string;
}

/**
 * One queue of the document: the options it sets (the rest take their defaults).
 *
 * @example
 * ```ts
 * const q: ControlQueue = { capacity: 100, bridge: { rpcUrl: "https://w", token: { env: "T" } } };
 * ```
 */
export type ControlQueue = Readonly<Partial<Omit<QueueConfig, "natsUrl" | "bridge">>> & {
  readonly bridge?: Readonly<Partial<Omit<BridgeConfig, "token">>> & { readonly token?: EnvRef };
};

/**
 * The control document, checked.
 *
 * @example
 * ```ts
 * const doc: ControlDocument = { queues: { jobs: { capacity: 100 } }, limits: { memoryBudgetBytes: 1 << 28 } };
 * ```
 */
export interface ControlDocument {
  readonly queues: Readonly<Record<string, ControlQueue>>;
  readonly limits?: { readonly memoryBudgetBytes?: number };
  readonly auth?: { readonly tokens: readonly EnvRef[] };
}

/**
 * One problem of a rejected document: where (`queues.jobs.leaseMs`) and what.
 *
 * @example
 * ```ts
 * const p: FieldProblem = { path: "queues.jobs.leaseMs", message: "must be a positive integer (got -5)" };
 * ```
 */
export interface FieldProblem {
  readonly path: string;
  readonly message: string;
}

const QUEUE_KEYS = Object.keys(QUEUE_RULES).filter((k) => k !== "natsUrl");
const BRIDGE_KEYS = Object.keys(BRIDGE_RULES);
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;

/**
 * Parses and checks a document's text — the shape only, the same on every node. Failure:
 * `validation` with `metadata.fields` (every problem, by path); values are never echoed for
 * secrets.
 *
 * @example
 * ```ts
 * parseControlDocument('{"queues":{"jobs":{"leaseMs":-5}}}');
 * // err validation, fields [{ path: "queues.jobs.leaseMs", message: "must be a positive integer (got -5)" }]
 * ```
 */
export function parseControlDocument(text: string): Result<ControlDocument> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (thrown) {
    return rejected([{ path: "", message: `is not JSON (${thrown instanceof Error ? thrown.message : String(thrown)})` }]);
  }
  return checkControlDocument(raw);
}

/**
 * Checks a parsed document (see `parseControlDocument`).
 *
 * @example
 * ```ts
 * checkControlDocument({ queues: { jobs: {} } }); // ok({ queues: { jobs: {} } })
 * ```
 */
export function checkControlDocument(raw: unknown): Result<ControlDocument> {
  const problems: FieldProblem[] = [];
  if (!isRecord(raw)) return rejected([{ path: "", message: `must be a JSON object with "queues" (got ${kind(raw)})` }]);
  unknownKeys(raw, ["queues", "limits", "auth"], "", problems);
  const queues: Record<string, ControlQueue> = {};
  if (!isRecord(raw.queues)) problems.push({ path: "queues", message: `must be an object naming every queue (got ${kind(raw.queues)})` });
  else if (Object.keys(raw.queues).length === 0) problems.push({ path: "queues", message: "must name at least one queue" });
  else for (const [name, q] of Object.entries(raw.queues)) {
    const queue = checkQueue(name, q, problems);
    if (queue !== undefined) queues[name] = queue;
  }
  const doc: { queues: Record<string, ControlQueue>; limits?: ControlDocument["limits"]; auth?: ControlDocument["auth"] } = { queues };
  if (raw.limits !== undefined) {
    if (!isRecord(raw.limits)) problems.push({ path: "limits", message: `must be an object (got ${kind(raw.limits)})` });
    else {
      unknownKeys(raw.limits, ["memoryBudgetBytes"], "limits.", problems);
      const budget = raw.limits.memoryBudgetBytes;
      const problem = budget === undefined ? undefined : checkRule({ kind: "int", min: 1 }, budget, "limits.memoryBudgetBytes");
      if (problem !== undefined) problems.push(fromRule("limits.memoryBudgetBytes", problem));
      doc.limits = budget === undefined ? {} : { memoryBudgetBytes: budget as number };
    }
  }
  if (raw.auth !== undefined) {
    if (!isRecord(raw.auth)) problems.push({ path: "auth", message: `must be an object (got ${kind(raw.auth)})` });
    else {
      unknownKeys(raw.auth, ["tokens"], "auth.", problems);
      const tokens = raw.auth.tokens;
      if (!Array.isArray(tokens) || tokens.length === 0) {
        problems.push({ path: "auth.tokens", message: 'must be a non-empty array of {"env":"NAME"} (leave "auth" out to keep each node\'s own tokens)' });
      } else {
        const refs = tokens.map((t, i) => envRef(t, `auth.tokens[${i}]`, problems));
        doc.auth = { tokens: refs.filter((r): r is EnvRef => r !== undefined) };
      }
    }
  }
  return problems.length > 0 ? rejected(problems) : ok(doc);
}

/**
 * The `validation` error of a rejected document: one line per problem, all of them in
 * `metadata.fields`.
 *
 * @example
 * ```ts
 * rejected([{ path: "queues", message: "must name at least one queue" }]);
 * ```
 */
export function rejected(fields: readonly FieldProblem[]): Result<never> {
  return err(sluiceError("validation", `control document rejected: ${fields.map((f) => `${f.path || "(document)"} ${f.message}`).join("; ")}`, { metadata: { fields } }));
}

function checkQueue(name: string, raw: unknown, problems: FieldProblem[]): ControlQueue | undefined {
  const path = `queues.${name}`;
  if (!QUEUE_NAME_PATTERN.test(name)) {
    problems.push({ path, message: 'is not a queue name: start with a letter or digit; letters, digits, ".", "_", "-"; at most 128 characters' });
    return undefined;
  }
  if (!isRecord(raw)) {
    problems.push({ path, message: `must be an object of queue options (got ${kind(raw)})` });
    return undefined;
  }
  if ("natsUrl" in raw) problems.push({ path: `${path}.natsUrl`, message: "cannot be set by the control document (it may hold credentials): set it in each node's configuration" });
  unknownKeys(raw, [...QUEUE_KEYS, "bridge", "natsUrl"], `${path}.`, problems);
  const queue: Record<string, unknown> = {};
  for (const key of QUEUE_KEYS) {
    if (!(key in raw)) continue;
    const problem = checkRule(QUEUE_RULES[key as keyof typeof QUEUE_RULES], raw[key], `${path}.${key}`);
    if (problem !== undefined) problems.push(fromRule(`${path}.${key}`, problem));
    else queue[key] = raw[key];
  }
  const leaseMs = (queue.leaseMs as number | undefined) ?? libraryQueueDefaults().leaseMs;
  const heartbeatMs = (queue.heartbeatMs as number | undefined) ?? libraryQueueDefaults({ leaseMs }).heartbeatMs;
  if (heartbeatMs >= leaseMs) problems.push({ path: `${path}.heartbeatMs`, message: `must be less than leaseMs (got ${heartbeatMs} >= ${leaseMs})` });
  if (raw.bridge !== undefined) queue.bridge = checkBridge(raw.bridge, `${path}.bridge`, problems);
  return queue as ControlQueue;
}

function checkBridge(raw: unknown, path: string, problems: FieldProblem[]): ControlQueue["bridge"] {
  if (!isRecord(raw)) {
    problems.push({ path, message: `must be an object (got ${kind(raw)})` });
    return undefined;
  }
  unknownKeys(raw, BRIDGE_KEYS, `${path}.`, problems);
  const bridge: Record<string, unknown> = {};
  for (const key of BRIDGE_KEYS) {
    if (!(key in raw)) continue;
    if (key === "token") {
      const ref = envRef(raw.token, `${path}.token`, problems);
      if (ref !== undefined) bridge.token = ref;
      continue;
    }
    const problem = checkRule(BRIDGE_RULES[key as keyof BridgeConfig], raw[key], `${path}.${key}`);
    if (problem !== undefined) problems.push(fromRule(`${path}.${key}`, problem));
    else bridge[key] = raw[key];
  }
  if (bridge.wsUrl === undefined && bridge.rpcUrl === undefined && !("wsUrl" in raw) && !("rpcUrl" in raw)) problems.push({ path, message: "needs wsUrl or rpcUrl (or both)" });
  return bridge as ControlQueue["bridge"];
}

// {"env":"NAME"}; a literal is refused without echoing it (it may be a secret).
function envRef(raw: unknown, path: string, problems: FieldProblem[]): EnvRef | undefined {
  if (isRecord(raw) && Object.keys(raw).length === 1 && typeof raw.env === "string" && ENV_NAME.test(raw.env)) return { env: raw.env };
  const literal = typeof raw === "string" ? "a literal string (not shown)" : kind(raw);
  problems.push({ path, message: `must be {"env":"NAME"} naming an environment variable (got ${literal}): secrets are never stored in the control document` });
  return undefined;
}

function fromRule(path: string, problem: string): FieldProblem {
  return { path, message: problem.replace(`config: ${path} `, "") };
}

function unknownKeys(raw: Record<string, unknown>, known: readonly string[], prefix: string, problems: FieldProblem[]): void {
  for (const key of Object.keys(raw)) {
    if (!known.includes(key)) problems.push({ path: `${prefix}${key}`, message: `is not a known key (expected one of ${known.filter((k) => k !== "natsUrl").join(", ")})` });
  }
}

function kind(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value === "object" ? "an object" : typeof value;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
