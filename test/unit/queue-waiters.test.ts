import { describe, expect, test } from "../harness.ts";
import { err, ok, type Result } from "../../src/result/mod.ts";
import { Waiters } from "../../src/queue/waiters.ts";
import { mulberry32 } from "../seeded-random.ts";

const settled = <T>(p: Promise<Result<T>>) => {
  const box: { result?: Result<T> } = {};
  void p.then((r) => (box.result = r));
  return box;
};
const flush = () => new Promise<void>((r) => setTimeout(r, 0));

describe("Waiters", () => {
  test("serves first come first served; failAll ends the rest", async () => {
    const waiters = new Waiters<number>();
    const boxes = [0, 1, 2, 3].map(() => settled(waiters.wait()));
    expect(waiters.size).toBe(4);
    expect(waiters.serve(ok(10))).toBe(true);
    expect(waiters.serve(ok(11))).toBe(true);
    waiters.failAll(err("queue.closed", "closed"));
    expect(waiters.size).toBe(0);
    expect(waiters.serve(ok(12))).toBe(false);
    await flush();
    expect(boxes.map((b) => (b.result?.ok ? b.result.value : b.result?.error?.code))).toEqual([10, 11, "queue.closed", "queue.closed"]);
  });

  test("an abort cancels only the waiters of that signal, wherever they stand in line", async () => {
    const waiters = new Waiters<string>();
    const a = new AbortController();
    const b = new AbortController();
    const order = [a, b, a, undefined, a, b].map((c) => settled(waiters.wait(c?.signal)));
    a.abort();
    expect(waiters.size).toBe(3);
    waiters.serve(ok("x"));
    waiters.serve(ok("y"));
    waiters.serve(ok("z"));
    await flush();
    expect(order.map((box) => (box.result?.ok ? box.result.value : box.result?.error?.code))).toEqual(["canceled", "x", "canceled", "y", "canceled", "z"]);
    // A served waiter is gone from its group: aborting later changes nothing.
    b.abort();
    expect(waiters.size).toBe(0);
    // Waiting on an aborted signal is canceled at once.
    expect((await waiters.wait(a.signal)).error?.code).toBe("canceled");
  });

  test("random park / serve / abort: matches a simple FIFO model (seeded)", async () => {
    const random = mulberry32(0xa17e);
    const waiters = new Waiters<number>();
    const controllers = [new AbortController(), new AbortController(), new AbortController()];
    const model: { id: number; signal: number }[] = [];
    const outcome = new Map<number, number | string>();
    const expected = new Map<number, number | string>();
    let next = 0;
    for (let op = 0; op < 5000; op++) {
      const roll = random();
      if (roll < 0.5) {
        const id = next++;
        const signal = Math.floor(random() * 4); // 3 = no signal
        const controller = controllers[signal];
        model.push({ id, signal });
        void waiters.wait(controller?.signal).then((r) => outcome.set(id, r.ok ? r.value : r.error.code));
      } else if (roll < 0.95) {
        const served = waiters.serve(ok(op));
        const first = model.shift();
        expect(served).toBe(first !== undefined);
        if (first) expected.set(first.id, op);
      } else {
        const k = Math.floor(random() * 3);
        controllers[k]!.abort();
        for (const w of model.filter((w) => w.signal === k)) expected.set(w.id, "canceled");
        model.splice(0, model.length, ...model.filter((w) => w.signal !== k));
        controllers[k] = new AbortController();
      }
      expect(waiters.size).toBe(model.length);
    }
    await flush();
    for (const [id, value] of expected) expect(outcome.get(id)).toBe(value);
  });
});
