// The stage-2 config sections of issue 17: `mesh` (SLUICE_NODE_ID, mesh.leadership with its
// defaults and cross-checks, mesh.gossip as set) and `pumps.<role>.<pump>`.
import { describe, expect, test } from "../harness.ts";
import { loadConfig } from "../../src/server/config.ts";

const load = (file: unknown, env: Record<string, string> = {}) => loadConfig({ fileText: JSON.stringify(file), env });

describe("config: mesh and pumps", () => {
  test("defaults: leadership 10000 / 3000 / 1000, no node id, no pump overrides", () => {
    const r = load({});
    expect(r.ok && r.value.mesh).toEqual({ leadership: { ttlMs: 10_000, renewMarginMs: 3_000, evaluationIntervalMs: 1_000 } });
    expect(r.ok && r.value.pumps).toEqual({});
  });

  test("file values, SLUICE_NODE_ID winning over mesh.nodeId, pumps per role and pump (bridge pumps named after queues)", () => {
    const r = load(
      {
        queues: { jobs: {} },
        mesh: { nodeId: "from-file", leadership: { ttlMs: 4000, renewMarginMs: 1000, evaluationIntervalMs: 500 }, gossip: { fanout: 4 } },
        pumps: { leadership: { evaluate: { concurrency: 2, maxRetries: 5, requeueDelayMs: 0 } }, bridge: { jobs: { concurrency: 3 } } },
      },
      { SLUICE_NODE_ID: "node-b" },
    );
    if (!r.ok) throw new Error(r.error.message);
    expect(r.value.mesh).toEqual({ nodeId: "node-b", leadership: { ttlMs: 4000, renewMarginMs: 1000, evaluationIntervalMs: 500 }, gossip: { fanout: 4 } });
    expect(r.value.pumps).toEqual({ leadership: { evaluate: { concurrency: 2, maxRetries: 5, requeueDelayMs: 0 } }, bridge: { jobs: { concurrency: 3 } } });
  });

  test("every problem is named: bad values, unknown keys, a margin that leaves no time to renew", () => {
    const r = load({
      queues: { jobs: {} },
      mesh: { leadership: { ttlMs: 3000, renewMarginMs: 2500, evaluationIntervalMs: 1000 }, colour: "red" },
      pumps: { leadership: { evaluate: { maxRetries: 0, speed: 1 }, tick: {} }, bridge: { nope: {} }, mystery: {} },
    });
    expect(r.ok).toBe(false);
    const problems = r.ok ? [] : (r.error.metadata!.problems as string[]);
    expect(problems).toEqual([
      expect.stringContaining("mesh.colour"),
      "config: mesh.leadership: evaluationIntervalMs must be less than ttlMs - renewMarginMs (got 1000 >= 500)",
      expect.stringContaining("pumps.mystery"),
      expect.stringContaining("pumps.leadership.tick"),
      expect.stringContaining("pumps.leadership.evaluate.speed"),
      "config: pumps.leadership.evaluate.maxRetries must be a positive integer (got 0)",
      expect.stringContaining("pumps.bridge.nope"),
    ]);
  });
});
