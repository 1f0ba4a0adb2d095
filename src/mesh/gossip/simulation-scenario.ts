/**
 * A scripted run of `GossipSimulation`: joins and crashes at a fixed cadence, each followed round
 * by round until every live node knows, plus the figures the issue asks for (c in c·log2(n),
 * the epidemic estimate, live nodes declared dead).
 *
 * @module
 */
import { VirtualClock } from "../../result/virtual-clock.ts";
import { GossipSimulation, type SimulationOptions, type SimulationStats } from "./simulation.ts";

/**
 * A scenario: the cluster, how long to run, and how often something happens.
 *
 * @example
 * ```ts
 * const options: ScenarioOptions = { nodes: 1000, rounds: 1000, eventEvery: 50, loss: 0.1 };
 * ```
 */
export interface ScenarioOptions extends SimulationOptions {
  rounds: number;
  /** Quiet rounds before the first event. Default 20. */
  warmupRounds?: number;
  /** Rounds between events; events alternate join, crash. Default 50. */
  eventEvery?: number;
  /** Called after every round (progress output). */
  onRound?: (round: number, sim: GossipSimulation) => void;
}

/**
 * What a scenario measured. Rounds are counted from the round the event happened in.
 *
 * @example
 * ```ts
 * const report = await runScenario({ rounds: 1000 });
 * report.stats.falseDead; // 0
 * ```
 */
export interface ScenarioReport {
  readonly nodes: number;
  readonly rounds: number;
  readonly fanout: number;
  readonly loss: number;
  readonly slowNodes: number;
  readonly log2n: number;
  /** ln(n) / ln(1 + fanout · (1 − loss)). */
  readonly epidemicRounds: number;
  /** Rounds until every live node held the joiner alive, per join. */
  readonly joinRounds: readonly number[];
  /** Rounds until no live node held the crashed node alive (suspect or dead everywhere), per crash. */
  readonly crashSuspectRounds: readonly number[];
  /** …of which spreading the news: from the first suspicion (a sweep) to everyone. */
  readonly crashSuspectSpread: readonly number[];
  /** Rounds until every live node held the crashed node dead (or had forgotten it), per crash. */
  readonly crashDeadRounds: readonly number[];
  /** …of which spreading the news: from the first `dead` verdict to everyone. */
  readonly crashDeadSpread: readonly number[];
  /** Events not complete when the run ended. */
  readonly unfinished: number;
  readonly stats: SimulationStats;
  /** Refutations by live nodes (each answers a suspicion of itself). */
  readonly refutations: number;
  readonly elapsedMs: number;
}

interface Tracker {
  readonly kind: "join" | "crash";
  readonly id: string;
  readonly start: number;
  reached?: number;
  dead?: number;
}

/**
 * Runs a scenario on a fresh `VirtualClock` and reports it.
 *
 * @example
 * ```ts
 * const r = await runScenario({ nodes: 1000, rounds: 1000, loss: 0.1, slowFraction: 0.01 });
 * console.log(Math.max(...r.joinRounds) / r.log2n); // c for joins
 * ```
 */
export async function runScenario(options: ScenarioOptions): Promise<ScenarioReport> {
  const started = performance.now();
  const sim = new GossipSimulation(new VirtualClock(1_000_000), options);
  const warmup = options.warmupRounds ?? 20;
  const every = options.eventEvery ?? 50;
  const trackers: Tracker[] = [];
  let events = 0;
  for (let r = 1; r <= options.rounds; r++) {
    if (r > warmup && (r - warmup - 1) % every === 0) {
      const kind = events++ % 2 === 0 ? "join" : "crash";
      const node = kind === "join" ? sim.join() : sim.crash();
      trackers.push({ kind, id: node.id, start: sim.round });
    }
    await sim.step();
    for (const t of trackers) follow(sim, t);
    options.onRound?.(sim.round, sim);
  }
  const n = options.nodes ?? 1000;
  const fanout = sim.fanout;
  const crashes = trackers.filter((t) => t.kind === "crash");
  /** Rounds from the crash to the round before the first verdict (the timers); the rest, counting the verdict's round, is dissemination. */
  const since = (t: Tracker, verdict: "suspect" | "dead") => (sim.verdicts.get(t.id)?.[verdict] ?? t.start + 1) - t.start - 1;
  const done = (t: Tracker) => (t.kind === "join" ? t.reached !== undefined : t.dead !== undefined);
  return {
    nodes: n,
    rounds: options.rounds,
    fanout,
    loss: sim.loss,
    slowNodes: sim.nodes.filter((x) => x.slow).length,
    log2n: Math.log2(n),
    epidemicRounds: epidemicRounds(n, fanout, sim.loss),
    joinRounds: trackers.filter((t) => t.kind === "join" && t.reached !== undefined).map((t) => t.reached!),
    crashSuspectRounds: crashes.filter((t) => t.reached !== undefined).map((t) => t.reached!),
    crashSuspectSpread: crashes.filter((t) => t.reached !== undefined).map((t) => t.reached! - since(t, "suspect")),
    crashDeadRounds: crashes.filter((t) => t.dead !== undefined).map((t) => t.dead!),
    crashDeadSpread: crashes.filter((t) => t.dead !== undefined).map((t) => t.dead! - since(t, "dead")),
    unfinished: trackers.filter((t) => !done(t)).length,
    stats: { ...sim.stats },
    refutations: sim.refutations(),
    elapsedMs: performance.now() - started,
  };
}

function follow(sim: GossipSimulation, t: Tracker): void {
  const rounds = sim.round - t.start + 1;
  if (t.kind === "join") {
    if (t.reached === undefined && sim.countSeeing(t.id, ["alive"]) >= sim.upCount() - 1) t.reached = rounds;
    return;
  }
  if (t.reached === undefined && sim.countSeeing(t.id, ["alive"]) === 0) t.reached = rounds;
  if (t.dead === undefined && sim.countSeeing(t.id, ["alive", "suspect"]) === 0) t.dead = rounds;
}

/**
 * Summary figures of a list of round counts: median, 95th percentile (nearest rank) and max.
 *
 * @example
 * ```ts
 * spread([3, 5, 4]); // { median: 4, p95: 5, max: 5 }
 * ```
 */
export function spread(values: readonly number[]): { median: number; p95: number; max: number } {
  if (values.length === 0) return { median: NaN, p95: NaN, max: NaN };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (q: number) => sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
  return { median: rank(0.5), p95: rank(0.95), max: sorted[sorted.length - 1]! };
}

/**
 * Rounds a rumor needs to reach all of n nodes by the simple epidemic estimate,
 * ln(n) / ln(1 + fanout · (1 − loss)): every informed node informs `fanout · (1 − loss)` more per round.
 *
 * @example
 * ```ts
 * epidemicRounds(1000, 3, 0.1); // ≈ 5.3
 * ```
 */
export function epidemicRounds(n: number, fanout: number, loss: number): number {
  return Math.log(n) / Math.log(1 + fanout * (1 - loss));
}
