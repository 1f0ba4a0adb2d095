/**
 * The stage-2 sections of the server configuration (DESIGN.md "Mesh roles"): `mesh` (node
 * identity and the role timers) and `pumps` (per role and pump: concurrency, capacity, retries,
 * stalls, requeue delay, lease). `loadConfig` (config.ts) calls `buildMesh` and `buildPumps`.
 *
 * ```json
 * {
 *   "mesh": { "nodeId": "node-a", "leadership": { "ttlMs": 10000, "renewMarginMs": 3000, "evaluationIntervalMs": 1000 } },
 *   "pumps": { "leadership": { "evaluate": { "concurrency": 4, "maxRetries": 3, "requeueDelayMs": 250 } } }
 * }
 * ```
 *
 * @example
 * ```ts
 * const problems: string[] = [];
 * const mesh = buildMesh({ leadership: { ttlMs: 4000 } }, {}, problems); // leadership { ttlMs: 4000, renewMarginMs: 3000, … }
 * ```
 */
import { type LeadershipTimers, resolveLeadershipTimers } from "../mesh/leadership/config.ts";
import { checkRule, type Rule, show } from "./config-rules.ts";

/**
 * One pump's settings (`pumps.<role>.<pump>`); unset keys take the role's own defaults.
 *
 * @example
 * ```ts
 * const evaluate: PumpConfig = { concurrency: 2, maxRetries: 3 };
 * ```
 */
export interface PumpConfig {
  readonly concurrency?: number;
  readonly capacity?: number;
  readonly maxRetries?: number;
  readonly maxStalls?: number;
  readonly requeueDelayMs?: number;
  readonly leaseMs?: number;
}

/**
 * `pumps`: role → pump → settings, e.g. `pumps.leadership.evaluate`.
 *
 * @example
 * ```ts
 * const pumps: PumpsConfig = { leadership: { evaluate: { maxRetries: 5 } } };
 * ```
 */
export type PumpsConfig = Readonly<Record<string, Readonly<Record<string, PumpConfig>>>>;

/**
 * `mesh`: this node's id (`SLUICE_NODE_ID`; unset: the runtime uses host:port) and the role
 * timers — `leadership` with every default applied; `gossip` as set (its role applies its defaults).
 *
 * @example
 * ```ts
 * const mesh: MeshConfig = { nodeId: "node-a", leadership: { ttlMs: 10000, renewMarginMs: 3000, evaluationIntervalMs: 1000 } };
 * ```
 */
export interface MeshConfig {
  readonly nodeId?: string;
  /** Where peers reach this node (`SLUICE_ADVERTISE_URL`); unset: the listening URL. */
  readonly advertiseUrl?: string;
  /** Seed peer URLs (`SLUICE_PEERS`, comma-separated); none: this node only answers peers that find it. */
  readonly peers?: readonly string[];
  readonly leadership: LeadershipTimers;
  readonly gossip?: Readonly<Partial<Record<"intervalMs" | "fanout" | "suspectAfterMs" | "deadAfterMs", number>>>;
}

const positive: Rule = { kind: "int", min: 1 };
const nonNegative: Rule = { kind: "int", min: 0 };

/**
 * Rules of one pump's keys.
 *
 * @example
 * ```ts
 * PUMP_RULES.requeueDelayMs; // { kind: "int", min: 0 }
 * ```
 */
export const PUMP_RULES: Readonly<Record<keyof PumpConfig, Rule>> = {
  concurrency: positive,
  capacity: positive,
  maxRetries: positive,
  maxStalls: positive,
  requeueDelayMs: nonNegative,
  leaseMs: positive,
};

/**
 * The roles and their pumps (DESIGN.md): fixed names, or `"queue"` where the pumps are named
 * after configured queues (`dispatcher.<queue>`, `bridge.<queue>`).
 *
 * @example
 * ```ts
 * PUMP_ROLES.leadership; // ["evaluate"]
 * ```
 */
export const PUMP_ROLES: Readonly<Record<string, readonly string[] | "queue">> = {
  gossip: ["outbound", "inbound"],
  control: ["watch", "apply"],
  leadership: ["evaluate"],
  dispatcher: "queue",
  bridge: "queue",
};

const LEADERSHIP_RULES: Readonly<Record<keyof LeadershipTimers, Rule>> = { ttlMs: positive, renewMarginMs: nonNegative, evaluationIntervalMs: positive };
const GOSSIP_RULES: Readonly<Record<string, Rule>> = { intervalMs: positive, fanout: positive, suspectAfterMs: positive, deadAfterMs: positive };

/**
 * Builds `mesh` from the file's section and the environment (`SLUICE_NODE_ID` wins over
 * `mesh.nodeId`), reporting every problem into `problems`.
 *
 * @example
 * ```ts
 * buildMesh(undefined, { SLUICE_NODE_ID: "node-b" }, problems).nodeId; // "node-b"
 * ```
 */
export function buildMesh(raw: unknown, env: Readonly<Record<string, string | undefined>>, problems: string[]): MeshConfig {
  const section = record(raw, "mesh", problems);
  unknownKeys(section, ["nodeId", "advertiseUrl", "peers", "leadership", "gossip"], "mesh", problems);
  let nodeId = pick(section, "nodeId", { kind: "string" }, "mesh.", problems) as string | undefined;
  const fromEnv = env.SLUICE_NODE_ID?.trim();
  if (fromEnv !== undefined && fromEnv !== "") nodeId = fromEnv;
  const identity = buildIdentity(section, env, problems);
  const leadershipRaw = record(section.leadership, "mesh.leadership", problems);
  unknownKeys(leadershipRaw, Object.keys(LEADERSHIP_RULES), "mesh.leadership", problems);
  const timers: Record<string, number> = {};
  for (const [key, rule] of Object.entries(LEADERSHIP_RULES)) {
    const value = pick(leadershipRaw, key, rule, "mesh.leadership.", problems);
    if (value !== undefined) timers[key] = value as number;
  }
  let leadership: LeadershipTimers;
  try {
    leadership = resolveLeadershipTimers(timers);
  } catch (thrown) {
    problems.push(`config: mesh.${(thrown as Error).message}`);
    leadership = resolveLeadershipTimers({});
  }
  const gossipRaw = record(section.gossip, "mesh.gossip", problems);
  unknownKeys(gossipRaw, Object.keys(GOSSIP_RULES), "mesh.gossip", problems);
  const gossip: Record<string, number> = {};
  for (const [key, rule] of Object.entries(GOSSIP_RULES)) {
    const value = pick(gossipRaw, key, rule, "mesh.gossip.", problems);
    if (value !== undefined) gossip[key] = value as number;
  }
  return Object.freeze({ ...(nodeId === undefined ? {} : { nodeId }), ...identity, leadership, ...(Object.keys(gossip).length === 0 ? {} : { gossip: Object.freeze(gossip) }) });
}

/**
 * Builds `pumps` from the file's section: known roles and pumps only (`dispatcher` and `bridge`
 * pumps are named after configured queues), each key checked.
 *
 * @example
 * ```ts
 * buildPumps({ leadership: { evaluate: { maxRetries: 0 } } }, ["jobs"], problems);
 * // problems: ["config: pumps.leadership.evaluate.maxRetries must be a positive integer (got 0)"]
 * ```
 */
export function buildPumps(raw: unknown, queues: readonly string[], problems: string[]): PumpsConfig {
  const section = record(raw, "pumps", problems);
  unknownKeys(section, Object.keys(PUMP_ROLES), "pumps", problems);
  const pumps: Record<string, Record<string, PumpConfig>> = {};
  for (const [role, names] of Object.entries(PUMP_ROLES)) {
    const roleRaw = record(section[role], `pumps.${role}`, problems);
    unknownKeys(roleRaw, names === "queue" ? queues : names, `pumps.${role}`, problems);
    for (const pump of Object.keys(roleRaw)) {
      if (!(names === "queue" ? queues : names).includes(pump)) continue;
      const path = `pumps.${role}.${pump}`;
      const pumpRaw = record(roleRaw[pump], path, problems);
      unknownKeys(pumpRaw, Object.keys(PUMP_RULES), path, problems);
      const settings: Record<string, number> = {};
      for (const [key, rule] of Object.entries(PUMP_RULES)) {
        const value = pick(pumpRaw, key, rule, `${path}.`, problems);
        if (value !== undefined) settings[key] = value as number;
      }
      (pumps[role] ??= {})[pump] = Object.freeze(settings);
    }
  }
  return Object.freeze(pumps);
}

// mesh.advertiseUrl / SLUICE_ADVERTISE_URL and mesh.peers / SLUICE_PEERS (the environment wins).
function buildIdentity(section: Record<string, unknown>, env: Readonly<Record<string, string | undefined>>, problems: string[]): { advertiseUrl?: string; peers?: readonly string[] } {
  let advertiseUrl = pick(section, "advertiseUrl", { kind: "string" }, "mesh.", problems) as string | undefined;
  if (env.SLUICE_ADVERTISE_URL?.trim()) advertiseUrl = env.SLUICE_ADVERTISE_URL.trim();
  let peers: string[] | undefined;
  const rawPeers = section.peers;
  if (typeof rawPeers === "string") peers = rawPeers.split(",");
  else if (Array.isArray(rawPeers) && rawPeers.every((p) => typeof p === "string")) peers = [...rawPeers];
  else if (rawPeers !== undefined) problems.push(`config: mesh.peers must be a list of URLs or a comma-separated string (got ${show(rawPeers)})`);
  if (env.SLUICE_PEERS !== undefined && env.SLUICE_PEERS.trim() !== "") peers = env.SLUICE_PEERS.split(",");
  peers = peers?.map((p) => p.trim().replace(/\/+$/, "")).filter((p) => p !== "");
  for (const url of [advertiseUrl, ...(peers ?? [])]) {
    if (url !== undefined && !/^https?:\/\/[^/]+/.test(url)) problems.push(`config: mesh peer/advertise URL ${JSON.stringify(url)} must be http(s)://host:port`);
  }
  return {
    ...(advertiseUrl === undefined ? {} : { advertiseUrl: advertiseUrl.replace(/\/+$/, "") }),
    ...(peers === undefined || peers.length === 0 ? {} : { peers: Object.freeze(peers) }),
  };
}

function pick(raw: Record<string, unknown>, key: string, rule: Rule, prefix: string, problems: string[]): unknown {
  if (!(key in raw)) return undefined;
  const problem = checkRule(rule, raw[key], `${prefix}${key}`);
  if (problem === undefined) return raw[key];
  problems.push(problem);
  return undefined;
}

function record(raw: unknown, path: string, problems: string[]): Record<string, unknown> {
  if (raw === undefined) return {};
  if (typeof raw === "object" && raw !== null && !Array.isArray(raw)) return raw as Record<string, unknown>;
  problems.push(`config: ${path} must be an object (got ${show(raw)})`);
  return {};
}

function unknownKeys(raw: Record<string, unknown>, known: readonly string[], path: string, problems: string[]): void {
  const unknown = Object.keys(raw).filter((key) => !known.includes(key));
  if (unknown.length === 0) return;
  problems.push(`config: unknown key${unknown.length > 1 ? "s" : ""} ${unknown.map((k) => `${path}.${k}`).join(", ")} in ${path} (expected one of ${known.join(", ") || "nothing"})`);
}
