// Issue #16's simulation in CI: a cluster in one process on the virtual clock, driving the same
// round/exchange code as the pumps (`exchange.ts`), 10 % message loss, random fan-out, 1,000
// rounds with a join or a crash every 50 rounds. Joins and crashes must reach every live node
// within c·log2(n) rounds, and no live node may ever be declared dead — also with 1 % of the
// nodes slow (Lifeguard's case).
//
// Scaled down for CI: 128 nodes instead of 1,000 (the per-exchange cost is a few dozen map
// lookups; 1,000 nodes × 1,000 rounds is ~70 s on a 2-core box). `npm run bench:gossip` runs the
// full 1,000 nodes for 10,000 rounds and prints the table.
import { describe, expect, test } from "../harness.ts";
import { runScenario, type ScenarioReport, spread } from "../../src/mesh/gossip/mod.ts";

const NODES = 128;
const ROUNDS = 1_000;
/** Rounds the timers take before anyone may suspect / declare dead (5 s and 15 s at 1 s rounds). */
const SUSPECT_TIMER = 5;
const DEAD_TIMER = 15;

function summary(label: string, r: ScenarioReport): string {
  const c = (xs: readonly number[]) => (Math.max(...xs) / r.log2n).toFixed(2);
  return (
    `${label}: n=${r.nodes} slow=${r.slowNodes} rounds=${r.rounds} | join ${JSON.stringify(spread(r.joinRounds))} c=${c(r.joinRounds)} | ` +
    `crash→all suspect ${JSON.stringify(spread(r.crashSuspectRounds))} (spread c=${c(r.crashSuspectSpread)}) | ` +
    `crash→all dead ${JSON.stringify(spread(r.crashDeadRounds))} | false suspicions ${r.stats.falseSuspicions} | live declared dead ${r.stats.falseDead} | ` +
    `epidemic estimate ${r.epidemicRounds.toFixed(1)} rounds | ${(r.elapsedMs / 1000).toFixed(1)} s`
  );
}

function check(r: ScenarioReport): void {
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

describe("gossip simulation (virtual clock, 10 % loss)", () => {
  test(`${NODES} nodes, ${ROUNDS} rounds: joins and crashes reach everyone in O(log n) rounds; no live node declared dead`, async () => {
    const r = await runScenario({ nodes: NODES, rounds: ROUNDS, loss: 0.1, eventEvery: 50, warmupRounds: 20, seed: 16 });
    console.log(summary("baseline", r));
    check(r);
    expect(r.stats.falseSuspicions).toBeLessThanOrEqual(5);
  });

  test(`the same with 1 % of the nodes slow (Lifeguard's case: they miss rounds and answer late)`, async () => {
    const r = await runScenario({ nodes: NODES, rounds: ROUNDS, loss: 0.1, slowFraction: 0.01, eventEvery: 50, warmupRounds: 20, seed: 17 });
    console.log(summary("1% slow", r));
    expect(r.slowNodes).toBe(2);
    expect(r.stats.missedRounds).toBeGreaterThan(500);
    check(r);
  });
});
