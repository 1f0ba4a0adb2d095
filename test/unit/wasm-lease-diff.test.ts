// Differential test: random operation sequences applied to the WASM lease table and the JS
// reference must return identical values at every step. Replay with SLUICE_FUZZ_SEED=<seed>.
import { describe, expect, test } from "../harness.ts";
import { type LeaseTable, createJsLeaseTable, createWasmLeaseTable } from "../../src/wasm/mod.ts";
import { fuzzSeed, mulberry32 } from "./wasm-test-util.ts";

const SEQUENCES = 20;
const OPS = 5000;

function run(seed: number): string {
  const rand = mulberry32(seed);
  const int = (n: number) => Math.floor(rand() * n);
  const tables: LeaseTable[] = [createWasmLeaseTable({ initialSlots: 16 }), createJsLeaseTable({ initialSlots: 16 })];
  const issued: number[] = [];
  let now = 0;
  const pick = () => (issued.length > 0 && rand() < 0.9 ? issued[int(issued.length)]! : [0, -3, NaN, 1.5, 2 ** 53, int(2 ** 40)][int(6)]!);
  for (let op = 0; op < OPS; op++) {
    const kind = int(100);
    let results: string[];
    if (kind < 35) {
      const attempt = int(10);
      const deadline = now + int(50); // coarse deadlines: many ties
      results = tables.map((t) => String(t.acquire(attempt, deadline)));
      issued.push(Number(results[0]));
    } else if (kind < 44) {
      const token = pick();
      results = tables.map((t) => String(t.release(token)));
    } else if (kind < 50) {
      const token = pick();
      results = tables.map((t) => String(t.take(token)));
    } else if (kind < 62) {
      const token = pick();
      const deadline = now + int(80) - 10;
      results = tables.map((t) => String(t.extend(token, deadline)));
    } else if (kind < 72) {
      now += int(20);
      const len = rand() < 0.3 ? 1 + int(300) : 1 + int(6); // large outs take the bulk path
      results = tables.map((t) => {
        const out = new Float64Array(len);
        const n = t.expireUpTo(now, out);
        return Array.from(out.subarray(0, n)).join(",");
      });
    } else if (kind < 77) {
      const count = int(40);
      const deadline = now + int(50);
      results = tables.map((t) => {
        const out = new Float64Array(count);
        t.acquireMany(2, deadline, count, out);
        return Array.from(out).join(",");
      });
      for (const s of results[0]!.split(",")) if (s) issued.push(Number(s));
    } else if (kind < 80) {
      const tokens = new Float64Array(int(30));
      for (let i = 0; i < tokens.length; i++) tokens[i] = pick();
      results = tables.map((t) => String(t.releaseMany(tokens, tokens.length)));
    } else {
      const token = pick();
      results = tables.map((t) =>
        [t.isActive(token), t.attemptOf(token), t.deadlineOf(token), t.slotOf(token), t.size, t.nextDeadline()].join("|"),
      );
    }
    if (results[0] !== results[1]) return `seed ${seed} op ${op} (kind ${kind}): wasm ${results[0]} vs js ${results[1]}`;
  }
  return "";
}

describe("lease table differential (WASM vs JS reference)", () => {
  test(`${SEQUENCES} random sequences of ${OPS} operations agree step by step`, () => {
    const base = fuzzSeed();
    let failure = "";
    for (let s = 0; s < SEQUENCES && !failure; s++) failure = run((base + s) >>> 0);
    expect(failure).toBe("");
  });
});
