/**
 * How a node turns the control document (control-document.ts) into the configuration it runs,
 * what a document may not change on a running node, and the document a node runs before any
 * version exists.
 *
 * @module
 */
import { DEFAULT_BRIDGE_CONFIG, libraryQueueDefaults, type QueueConfig, type SluiceConfig, type Storage } from "./config-schema.ts";
import { storageOf } from "./config-storage.ts";
import { ok, type Result } from "../result/result.ts";
import { type ControlDocument, type ControlQueue, type EnvRef, type FieldProblem, rejected } from "./control-document.ts";

/**
 * The configuration a node runs under `doc`: its own (`base`: file + environment) with the
 * document's queues (library defaults for unset options), `limits` and `auth` (tokens read from
 * `env` now). Node-specific problems — a JetStream queue on a node without `natsUrl`, an
 * environment variable that is not set here — are `validation` with `metadata.fields`.
 *
 * @example
 * ```ts
 * const next = effectiveConfig(base, doc, process.env);
 * if (next.ok) next.value.queues.jobs.capacity; // 5000
 * ```
 */
export function effectiveConfig(base: SluiceConfig, doc: ControlDocument, env: Readonly<Record<string, string | undefined>>): Result<SluiceConfig> {
  const problems: FieldProblem[] = [];
  const queues: Record<string, QueueConfig> = {};
  for (const [name, q] of Object.entries(doc.queues)) {
    const { bridge, ...set } = q;
    const queue: Record<string, unknown> = { ...libraryQueueDefaults({ leaseMs: set.leaseMs, capacity: set.capacity }), ...set };
    if ((set.storage ?? base.storage) === "jetstream" && base.natsUrl === undefined) {
      problems.push({ path: `queues.${name}.storage`, message: 'is "jetstream" but this node has no natsUrl (SLUICE_NATS_URL)' });
    }
    if (bridge !== undefined) {
      const { token, ...settings } = bridge;
      const resolved: Record<string, unknown> = { ...DEFAULT_BRIDGE_CONFIG, ...settings };
      if (token !== undefined) resolved.token = secret(token, env, `queues.${name}.bridge.token`, problems);
      queue.bridge = Object.freeze(resolved);
    }
    queues[name] = Object.freeze(queue) as unknown as QueueConfig;
  }
  let authTokens = base.authTokens;
  if (doc.auth !== undefined) {
    authTokens = Object.freeze(doc.auth.tokens.map((ref, i) => secret(ref, env, `auth.tokens[${i}]`, problems) ?? ""));
  }
  if (problems.length > 0) return rejected(problems);
  return ok(Object.freeze({ ...base, queues: Object.freeze(queues), memoryBudgetBytes: doc.limits?.memoryBudgetBytes ?? base.memoryBudgetBytes, authTokens }));
}

/**
 * Queues whose storage would change: a queue's storage cannot change live (its items live there).
 * `now(name)` is the storage of the queue the node serves under that name (removed ones too).
 *
 * @example
 * ```ts
 * storageChanges(next, (name) => storageOf(current, name)); // [{ path: "queues.jobs.storage", message: "cannot change live (…)" }]
 * ```
 */
export function storageChanges(next: SluiceConfig, now: (name: string) => Storage | undefined): FieldProblem[] {
  const problems: FieldProblem[] = [];
  for (const name of Object.keys(next.queues)) {
    const before = now(name);
    const after = storageOf(next, name);
    if (before !== undefined && before !== after) {
      problems.push({ path: `queues.${name}.storage`, message: `cannot change live (the queue is on "${before}", the document says "${after}"): remove the queue, let it drain, then add it again` });
    }
  }
  return problems;
}

/**
 * The document a node runs before any version exists (version 0): its own queues with every
 * option, and its memory budget; tokens (its own `authTokens`, bridge tokens) are left out.
 *
 * @example
 * ```ts
 * documentOf(config).queues.default.capacity; // 1024
 * ```
 */
export function documentOf(config: SluiceConfig): ControlDocument {
  const queues: Record<string, ControlQueue> = {};
  for (const [name, q] of Object.entries(config.queues)) {
    const { natsUrl: _url, bridge, ...rest } = q;
    const out: Record<string, unknown> = { ...rest };
    if (bridge !== undefined) {
      const { token: _token, ...settings } = bridge;
      out.bridge = settings;
    }
    queues[name] = out as ControlQueue;
  }
  return { queues, limits: { memoryBudgetBytes: config.memoryBudgetBytes } };
}

function secret(ref: EnvRef, env: Readonly<Record<string, string | undefined>>, path: string, problems: FieldProblem[]): string | undefined {
  const value = env[ref.env]?.trim();
  if (value === undefined || value === "") problems.push({ path: `${path}.env`, message: `names ${ref.env}, which is not set on this node` });
  else if (!/^[^\s,]+$/.test(value)) problems.push({ path: `${path}.env`, message: `names ${ref.env}, whose value has whitespace or commas (not shown)` });
  else return value;
  return undefined;
}

