// Issue #16's simulation at full size, once per CI run (the integration suites run on Bun only):
// 1,000 nodes on the virtual clock, 1,000 rounds, 10 % message loss, a join or a crash every
// 50 rounds — also with 1 % of the nodes slow. The same checks as the CI-sized unit test
// (test/unit/mesh-gossip-sim.test.ts): every join and crash reaches every live node within
// c·log2(n) rounds, and no live node is ever declared dead.
import { describe, expect, test } from "bun:test";
import { runScenario } from "../../src/mesh/gossip/mod.ts";
import { check, summary } from "../support/gossip-sim-checks.ts";

describe("gossip simulation at 1,000 nodes (virtual clock, 10 % loss)", () => {
  test("1,000 nodes, 1,000 rounds: joins and crashes reach everyone in O(log n) rounds; no live node declared dead", async () => {
    const r = await runScenario({ nodes: 1000, rounds: 1000, loss: 0.1, eventEvery: 50, warmupRounds: 20, seed: 16 });
    console.log(summary("1,000 nodes", r));
    check(r);
  }, 300_000);

  test("the same with 1 % of the nodes slow (Lifeguard's case)", async () => {
    const r = await runScenario({ nodes: 1000, rounds: 1000, loss: 0.1, slowFraction: 0.01, eventEvery: 50, warmupRounds: 20, seed: 17 });
    console.log(summary("1,000 nodes, 1% slow", r));
    expect(r.slowNodes).toBe(10);
    check(r);
  }, 300_000);
});
