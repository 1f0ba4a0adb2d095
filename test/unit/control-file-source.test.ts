// The single-node control source (issue 18): config.json in the data dir, compare-and-set
// publishes written atomically and seen by the watch at once, hand edits picked up by the poll,
// a broken file reported (the watch backs off) rather than applied. Virtual clock, memory files.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { type ControlRevision, FileControlSource, MemoryLkgFiles } from "../../src/mesh/control/mod.ts";
import type { Result } from "../../src/result/result.ts";

describe("FileControlSource", () => {
  test("compare-and-set publishes, written atomically, seen by the watch at once; hand edits by the poll", async () => {
    const clock = new VirtualClock();
    const files = new MemoryLkgFiles();
    const source = new FileControlSource(files, { pollMs: 1000, clock });
    expect((await source.read()).ok && (await source.read()).value).toBeUndefined();
    expect(await source.publish('{"queues":{"a":{}}}', 3)).toEqual({ ok: true, value: { kind: "conflict", current: 0 } });
    expect(await source.publish('{"queues":{"a":{}}}', 0)).toEqual({ ok: true, value: { kind: "published", version: 1 } });
    expect(files.log).toEqual(["write config.json.tmp", "rename config.json.tmp config.json"]);

    const stop = new AbortController();
    const seen: Array<Result<ControlRevision>> = [];
    const watching = (async () => {
      for await (const item of source.watch(0, stop.signal)) seen.push(item);
    })();
    await clock.advance(0);
    expect(seen.map((s) => s.ok && s.value.version)).toEqual([1]);
    await source.publish('{"queues":{"b":{}}}', 1);
    await clock.advance(0);
    await clock.advance(0);
    expect(seen.map((s) => s.ok && s.value.version)).toEqual([1, 2]); // no poll wait
    // An operator edits the file by hand, raising the version.
    files.files.set("config.json", JSON.stringify({ version: 7, config: { queues: { c: {} } } }));
    await clock.advance(1000);
    await clock.advance(0);
    expect(seen.map((s) => s.ok && s.value.version)).toEqual([1, 2, 7]);
    expect(seen[2]!.ok && seen[2]!.value.text).toBe('{"queues":{"c":{}}}');
    // A broken file ends the watch with an error (the watch loop backs off and retries).
    files.files.set("config.json", "{ half");
    await clock.advance(1000);
    await watching;
    expect(seen.at(-1)!.ok).toBe(false);
    stop.abort();
  });
});
