/**
 * The report line and the checks of issue #16's gossip simulation, shared by the CI-sized unit
 * test (128 nodes, Bun and Deno) and the full-size integration run (1,000 nodes, Bun).
 *
 * @module
 */
import { expect } from "../harness.ts";
import { type ScenarioReport, spread } from "../../src/mesh/gossip/mod.ts";

/** Rounds the timers take before anyone may suspect / declare dead (5 s and 15 s at 1 s rounds). */
const SUSPECT_TIMER = 5;
const DEAD_TIMER = 15;

export function summary(label: string, r: ScenarioReport): string {
  const c = (xs: readonly number[]) => (Math.max(...xs) / r.log2n).toFixed(2);
  return (
    `${label}: n=${r.nodes} slow=${r.slowNodes} rounds=${r.rounds} | join ${JSON.stringify(spread(r.joinRounds))} c=${c(r.joinRounds)} | ` +
    `crash→all suspect ${JSON.stringify(spread(r.crashSuspectRounds))} (spread c=${c(r.crashSuspectSpread)}) | ` +
    `crash→all dead ${JSON.stringify(spread(r.crashDeadRounds))} | false suspicions ${r.stats.falseSuspicions} | live declared dead ${r.stats.falseDead} | ` +
    `epidemic estimate ${r.epidemicRounds.toFixed(1)} rounds | ${(r.elapsedMs / 1000).toFixed(1)} s`
  );
}

export function check(r: ScenarioReport): void {
  expect(r.unfinished).toBe(0);
  expect(r.joinRounds.length).toBe(10);
  expect(r.crashSuspectRounds.length).toBe(10);
  // A join reaches every live node within 1·log2(n) rounds.
  expect(Math.max(...r.joinRounds)).toBeLessThanOrEqual(r.log2n);
  // A crash: the suspicion timer, then the news reaches everyone within 1·log2(n) rounds; the
  // same for the `dead` verdict after its timer.
  expect(Math.max(...r.crashSuspectSpread)).toBeLessThanOrEqual(r.log2n);
  expect(Math.max(...r.crashSuspectRounds)).toBeLessThanOrEqual(SUSPECT_TIMER + 2 + r.log2n);
  expect(Math.max(...r.crashDeadSpread)).toBeLessThanOrEqual(r.log2n);
  expect(Math.max(...r.crashDeadRounds)).toBeLessThanOrEqual(SUSPECT_TIMER + DEAD_TIMER + 3 + r.log2n);
  // Never a live node declared dead.
  expect(r.stats.falseDead).toBe(0);
}

