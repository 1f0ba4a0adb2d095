// The control role's apply pump and LKG on a virtual clock (issue 18, Must show 1): bootstrap
// from the LKG before the first watch; success persists the LKG and advances; a validation
// failure poisons without retry and changes nothing; a transient failure retries then succeeds;
// exhausted retries poison and re-apply the LKG (degraded); stale and duplicate versions are
// no-ops; a torn LKG write falls back to the previous file. (Watch backoff: control-watch.test.ts.)
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { err, ok, type Result } from "../../src/result/result.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { MetricsRegistry } from "../../src/queue/metrics/registry.ts";
import { ControlAgent, type ControlRevision, LkgStore, MemoryControlSource, MemoryLkgFiles } from "../../src/mesh/control/mod.ts";

/** The test document: a list of queue names. */
interface Doc {
  readonly queues: readonly string[];
}

function validate(text: string): Result<Doc> {
  try {
    const parsed = JSON.parse(text) as { queues?: unknown };
    if (Array.isArray(parsed.queues) && parsed.queues.every((q) => typeof q === "string")) return ok({ queues: parsed.queues as string[] });
  } catch {
    // falls through
  }
  return err(sluiceError("validation", "queues must be an array of names"));
}

const doc = (...queues: string[]) => JSON.stringify({ queues });

/** The node being configured: what it runs, every apply call, and failures to inject. */
class Node {
  running: readonly string[] = ["base"];
  readonly calls: Array<{ version: number; queues: readonly string[] }> = [];
  /** Apply calls to fail from now on (each failure uses one). */
  failNext = 0;
  async apply(document: Doc, version: number): Promise<Result<void>> {
    this.calls.push({ version, queues: document.queues });
    if (this.failNext > 0) {
      this.failNext--;
      return err(sluiceError("unavailable", `cannot open a queue (injected, version ${version})`));
    }
    this.running = document.queues;
    return ok();
  }
}

function setup(options: { files?: MemoryLkgFiles; source?: MemoryControlSource; maxRetries?: number } = {}) {
  const clock = new VirtualClock(1_000_000);
  const node = new Node();
  const files = options.files ?? new MemoryLkgFiles();
  const source = options.source ?? new MemoryControlSource();
  const metrics = new MetricsRegistry();
  const order: string[] = [];
  const watched = {
    ...source,
    describe: source.describe,
    read: () => source.read(),
    publish: (text: string, expected: number) => source.publish(text, expected),
    watch: (after: number, signal: AbortSignal) => {
      order.push(`watch after ${after}`);
      return source.watch(after, signal);
    },
  };
  const lines: string[] = [];
  const agent = ControlAgent.create<Doc>({
    source: watched,
    validate,
    apply: (d, v) => {
      order.push(`apply ${v}`);
      return node.apply(d, v);
    },
    lkg: new LkgStore(files),
    initial: { version: 0, text: doc("base"), document: { queues: ["base"] } },
    nodeId: "node-a",
    settings: { maxRetries: options.maxRetries ?? 3, requeueDelayMs: 500 },
    watch: { initialBackoffMs: 1000, jitter: 0 },
    clock,
    random: () => 0,
    metrics,
    log: (line) => lines.push(line),
  });
  const settle = async (ms = 0) => {
    await clock.advance(ms);
    await clock.advance(0);
  };
  return { clock, node, files, source, metrics, agent, order, lines, settle };
}

const outcome = (metrics: MetricsRegistry, o: string) => metrics.value("sluice_pump_outcomes_total", { role: "control", pump: "apply", outcome: o });

describe("control apply pump", () => {
  test("bootstraps from the LKG before the first watch, and resumes the watch after it", async () => {
    const files = new MemoryLkgFiles();
    await new LkgStore(files).save({ version: 7, text: doc("jobs", "mail") });
    const source = new MemoryControlSource();
    source.put(9, doc("jobs"));
    const { agent, node, order, settle } = setup({ files, source });
    await agent.start();
    expect(node.running).toEqual(["jobs", "mail"]); // applied before start() returned
    expect(order[0]).toBe("apply 7");
    await settle();
    expect(order.slice(0, 3)).toEqual(["apply 7", "watch after 7", "apply 9"]);
    expect(agent.view()).toMatchObject({ version: 9, status: "applied" });
    await agent.stop();
  });

  test("success persists the LKG atomically and advances the version", async () => {
    const { agent, node, files, metrics, settle } = setup();
    await agent.start();
    await agent.publish(doc("jobs"), 0);
    await settle();
    expect(node.running).toEqual(["jobs"]);
    expect(agent.view()).toMatchObject({ version: 1, status: "applied" });
    expect(files.log).toEqual(["write lkg.json.tmp", "rename lkg.json.tmp lkg.json"]);
    await agent.publish(doc("jobs", "mail"), 1);
    await settle();
    expect(files.log.slice(2)).toEqual(["write lkg.json.tmp", "rename lkg.json lkg.prev.json", "rename lkg.json.tmp lkg.json"]);
    const loaded = await new LkgStore(files).load();
    expect(loaded.ok && loaded.value?.revision).toEqual({ version: 2, text: doc("jobs", "mail") });
    expect(outcome(metrics, "applied")).toBe(2);
    expect(metrics.value("sluice_control_applied_version", { node: "node-a" })).toBe(2);
    expect(agent.applier.queue.stats().acked).toBe(2);
    await agent.stop();
  });

  test("a validation failure poisons at once, without retry, and changes nothing", async () => {
    const { agent, node, files, metrics, settle } = setup();
    await agent.start();
    await agent.publish(doc("jobs"), 0);
    await settle();
    const lkgBefore = new Map(files.files);
    await agent.publish('{"queues": 42}', 1);
    await settle(60_000);
    expect(node.calls.map((c) => c.version)).toEqual([1]); // version 2 never reached apply
    expect(node.running).toEqual(["jobs"]);
    expect(files.files).toEqual(lkgBefore);
    const poison = agent.applier.queue.poison.list();
    expect(poison).toHaveLength(1);
    expect(poison[0]!.payload.version).toBe(2);
    expect(poison[0]!.lastError.code).toBe("validation");
    expect(poison[0]!.attempts).toBe(1);
    expect(agent.view()).toMatchObject({ version: 1, status: "applied", problem: { version: 2 } });
    expect(outcome(metrics, "invalid")).toBe(1);
    expect(agent.applier.settledVersion).toBe(2); // the watch resumes after it: it is not retried
    await agent.stop();
  });

  test("a transient failure retries with backoff, then succeeds", async () => {
    const { agent, node, clock, metrics, settle } = setup();
    await agent.start();
    node.failNext = 2;
    const t0 = clock.now();
    await agent.publish(doc("jobs"), 0);
    await settle();
    expect(node.calls.map((c) => c.version)).toEqual([1]);
    await settle(499);
    expect(node.calls).toHaveLength(1); // the first retry waits 500 ms
    await settle(1);
    expect(node.calls).toHaveLength(2);
    await settle(999);
    expect(node.calls).toHaveLength(2); // the second waits 1000 ms (doubled)
    await settle(1);
    expect(node.calls).toHaveLength(3);
    expect(clock.now() - t0).toBe(1500);
    expect(node.running).toEqual(["jobs"]);
    expect(agent.view()).toMatchObject({ version: 1, status: "applied" });
    expect(outcome(metrics, "failed")).toBe(2);
    expect(outcome(metrics, "applied")).toBe(1);
    expect(agent.applier.queue.poison.size).toBe(0);
    await agent.stop();
  });

  test("exhausted retries poison the version and re-apply the LKG: status degraded, until a later version applies", async () => {
    const { agent, node, metrics, settle } = setup();
    await agent.start();
    await agent.publish(doc("jobs"), 0);
    await settle();
    node.failNext = 3;
    await agent.publish(doc("jobs", "broken"), 1);
    await settle(10_000);
    // three attempts of version 2, then the rollback to version 1 (the LKG)
    expect(node.calls.map((c) => c.version)).toEqual([1, 2, 2, 2, 1]);
    expect(node.calls.at(-1)!.queues).toEqual(["jobs"]);
    expect(node.running).toEqual(["jobs"]);
    const view = agent.view();
    expect(view).toMatchObject({ version: 1, status: "degraded", problem: { version: 2, error: { code: "unavailable" } } });
    expect(agent.applier.queue.poison.list().map((p) => p.payload.version)).toEqual([2]);
    expect(metrics.value("sluice_control_degraded", { node: "node-a" })).toBe(1);
    expect(outcome(metrics, "poisoned")).toBe(1);
    expect(outcome(metrics, "rolled_back")).toBe(1);
    await agent.publish(doc("jobs", "mail"), 2);
    await settle();
    expect(agent.view()).toMatchObject({ version: 3, status: "applied" });
    expect(agent.view().problem).toBeUndefined();
    expect(metrics.value("sluice_control_degraded", { node: "node-a" })).toBe(0);
    await agent.stop();
  });

  test("stale and duplicate versions are acked as no-ops", async () => {
    const { agent, node, metrics, settle } = setup();
    await agent.start();
    await agent.publish(doc("jobs"), 0);
    await settle();
    await agent.publish(doc("jobs", "mail"), 1);
    await settle();
    expect(node.calls.map((c) => c.version)).toEqual([1, 2]);
    const signal = new AbortController().signal;
    const offers: ControlRevision[] = [
      { version: 2, text: doc("dup") },
      { version: 1, text: doc("old") },
      { version: 2, text: doc("dup again") },
    ];
    for (const rev of offers) await agent.applier.offer(rev, signal);
    await settle();
    expect(node.calls.map((c) => c.version)).toEqual([1, 2]);
    expect(node.running).toEqual(["jobs", "mail"]);
    expect(outcome(metrics, "stale")).toBe(3);
    expect(agent.applier.queue.stats()).toMatchObject({ pending: 0, active: 0, poisoned: 0 });
    await agent.stop();
  });

  test("a newer version that arrives while an older one waits out a retry wins; the older one is then stale", async () => {
    const { agent, node, settle } = setup();
    await agent.start();
    node.failNext = 1;
    await agent.publish(doc("a"), 0);
    await settle();
    await agent.publish(doc("b"), 1);
    await settle(1000);
    expect(node.calls.map((c) => c.version)).toEqual([1, 2]);
    expect(node.running).toEqual(["b"]);
    expect(agent.view()).toMatchObject({ version: 2, status: "applied" });
    await agent.stop();
  });
});

describe("last-known-good file", () => {
  test("a torn write falls back to the previous file", async () => {
    const files = new MemoryLkgFiles();
    const lkg = new LkgStore(files);
    expect((await lkg.save({ version: 1, text: doc("a") })).ok).toBe(true);
    expect((await lkg.save({ version: 2, text: doc("a", "b") })).ok).toBe(true);
    // A crash in the middle of writing version 3: the temp file is torn, lkg.json untouched.
    files.tearNextWrite = true;
    expect((await lkg.save({ version: 3, text: doc("c") })).ok).toBe(false);
    let loaded = await lkg.load();
    expect(loaded.ok && loaded.value).toEqual({ revision: { version: 2, text: doc("a", "b") }, origin: "current" });
    // A file system that tore the renamed file itself: lkg.json is half written, lkg.prev.json whole.
    files.tearRenameTo = "lkg.json";
    files.log.length = 0;
    expect((await lkg.save({ version: 3, text: doc("c") })).ok).toBe(true);
    loaded = await lkg.load();
    expect(loaded.ok && loaded.value).toEqual({ revision: { version: 2, text: doc("a", "b") }, origin: "previous" });
    // The next save does not keep the torn file as the fallback.
    expect((await lkg.save({ version: 4, text: doc("d") })).ok).toBe(true);
    expect(files.log.slice(-2)).toEqual(["write lkg.json.tmp", "rename lkg.json.tmp lkg.json"]);
    loaded = await lkg.load();
    expect(loaded.ok && loaded.value?.revision.version).toBe(4);
  });

  test("a node bootstraps from the previous file when the current one is torn", async () => {
    const files = new MemoryLkgFiles();
    const lkg = new LkgStore(files);
    await lkg.save({ version: 4, text: doc("four") });
    await lkg.save({ version: 5, text: doc("five") });
    files.files.set("lkg.json", files.files.get("lkg.json")!.slice(0, 20));
    const { agent, node, lines } = setup({ files });
    await agent.start();
    expect(node.running).toEqual(["four"]);
    expect(agent.view()).toMatchObject({ version: 4, status: "applied" });
    expect(lines.some((l) => l.includes("torn"))).toBe(true);
    await agent.stop();
  });
});
