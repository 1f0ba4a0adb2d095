// Gossip membership at scale (issue 16). Run:  npm run bench:gossip
// (= bun bench/gossip-sim.ts [--nodes 1000] [--rounds 10000] [--every 100] [--loss 0.1]
//  [--fanout 3] [--slow 0.01] [--scenarios base,slow,slow-no-lifeguard] [--seed 16])
//
// Each scenario is a whole cluster in one process on a VirtualClock (src/mesh/gossip/simulation.ts):
// every node runs the same round and exchange steps as the gossip pumps, over an in-memory network
// that loses each message with probability --loss; fan-out targets are random. Every --every rounds
// a node joins (through one random seed) or a random node crashes, alternately; each event is
// followed until every live node knows. Scenarios:
//   base               no slow nodes
//   slow               --slow of the nodes slow (miss half their rounds, answer late), Lifeguard on
//   slow-no-lifeguard  the same with local health off (timers never stretched), for comparison
// Prints a markdown table, then the SWIM/epidemic predictions the rounds compare with:
//   epidemic estimate  ln(n) / ln(1 + fanout·(1 − loss)) rounds for a rumor to reach everyone;
//   SWIM's bound       O(log n) protocol periods (Das, Gupta, Motivala 2002, §4.3), here as c·log2(n).
// Crash rounds include the timers (suspectAfterMs = 5 rounds before anyone may suspect, then
// deadAfterMs = 15); "spread" columns count only the rounds from the first verdict to everyone.
import { parseArgs } from "node:util";
import { cpus, loadavg } from "node:os";
import { runScenario, type ScenarioReport, spread } from "../src/mesh/gossip/mod.ts";

const { values } = parseArgs({
  options: {
    nodes: { type: "string", default: "1000" },
    rounds: { type: "string", default: "10000" },
    every: { type: "string", default: "100" },
    loss: { type: "string", default: "0.1" },
    fanout: { type: "string", default: "3" },
    slow: { type: "string", default: "0.01" },
    scenarios: { type: "string", default: "base,slow,slow-no-lifeguard" },
    seed: { type: "string", default: "16" },
  },
});

const nodes = Number(values.nodes);
const rounds = Number(values.rounds);
const loss = Number(values.loss);
const fanout = Number(values.fanout);
const SCENARIOS: Record<string, { slowFraction: number; lifeguard: boolean }> = {
  base: { slowFraction: 0, lifeguard: true },
  slow: { slowFraction: Number(values.slow), lifeguard: true },
  "slow-no-lifeguard": { slowFraction: Number(values.slow), lifeguard: false },
};

const reports: Array<[string, ScenarioReport]> = [];
for (const name of values.scenarios.split(",")) {
  const scenario = SCENARIOS[name];
  if (scenario === undefined) throw new Error(`unknown scenario ${name} (${Object.keys(SCENARIOS).join(", ")})`);
  const started = Date.now();
  const report = await runScenario({
    nodes,
    rounds,
    loss,
    fanout,
    eventEvery: Number(values.every),
    seed: Number(values.seed),
    ...scenario,
    onRound: (round) => {
      if (round % 500 === 0) process.stderr.write(`${name}: round ${round}/${rounds} (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    },
  });
  reports.push([name, report]);
}

const fmt = (xs: readonly number[]) => {
  const s = spread(xs);
  return `${s.median} / ${s.p95} / ${s.max}`;
};
const c = (xs: readonly number[], log2n: number) => (Math.max(...xs) / log2n).toFixed(2);
const first = reports[0]![1];
console.log(`\nGossip simulation: ${nodes} nodes, ${rounds} rounds, fan-out ${fanout}, ${loss * 100} % loss, an event every ${values.every} rounds`);
console.log(`(${cpus().length} × ${cpus()[0]?.model ?? "cpu"}, load ${loadavg()[0]!.toFixed(1)}; rounds are median / p95 / max)\n`);
console.log(
  "| scenario | slow nodes | joins | join → all alive | c (join) | crashes | crash → all suspect | spread after 1st suspicion | c (spread) | crash → all dead | spread after 1st dead | false suspicions | by slow nodes | refutations | live declared dead | unfinished | wall time |",
);
console.log("|---|---:|---:|---|---:|---:|---|---|---:|---|---|---:|---:|---:|---:|---:|---:|");
for (const [name, r] of reports) {
  console.log(
    `| ${name} | ${r.slowNodes} | ${r.joinRounds.length} | ${fmt(r.joinRounds)} | ${c(r.joinRounds, r.log2n)} | ${r.crashSuspectRounds.length} | ` +
      `${fmt(r.crashSuspectRounds)} | ${fmt(r.crashSuspectSpread)} | ${c(r.crashSuspectSpread, r.log2n)} | ${fmt(r.crashDeadRounds)} | ` +
      `${fmt(r.crashDeadSpread)} | ${r.stats.falseSuspicions} | ${r.stats.falseSuspicionsBySlow} | ${r.refutations} | ${r.stats.falseDead} | ${r.unfinished} | ` +
      `${(r.elapsedMs / 1000).toFixed(0)} s |`,
  );
}
console.log(`\nPredictions for n = ${nodes}: log2(n) = ${first.log2n.toFixed(2)} rounds; epidemic estimate ln(n)/ln(1 + ${fanout}·${1 - loss}) = ${first.epidemicRounds.toFixed(2)} rounds;`);
console.log("SWIM: dissemination in O(log n) periods (infection-style, each update piggybacked λ·log n times) — c above is that constant for log2.");
console.log("Timers (not dissemination): suspect ≥ 5 rounds after the first failed exchange, dead 15 rounds after the suspicion.");
