// Unit tests of the lease table, run against the WASM table and the JS reference alike.
import { describe, expect, test } from "../harness.ts";
import {
  LEASE_GENERATION_LIMIT,
  LEASE_SLOT_SPAN,
  type LeaseTable,
  createJsLeaseTable,
  createWasmLeaseTable,
} from "../../src/wasm/mod.ts";
import { setGenerationForTest } from "../../src/wasm/lease-table.ts";

const impls: Array<[string, (o?: { initialSlots?: number }) => LeaseTable]> = [
  ["wasm", createWasmLeaseTable],
  ["js", createJsLeaseTable],
];

for (const [name, make] of impls) {
  describe(`lease table (${name})`, () => {
    test("acquire returns positive tokens with generation 1 and sequential slots", () => {
      const t = make();
      const tokens = [t.acquire(1, 100), t.acquire(2, 200), t.acquire(3, 300)];
      expect(tokens).toEqual([LEASE_SLOT_SPAN, LEASE_SLOT_SPAN + 1, LEASE_SLOT_SPAN + 2]);
      expect(tokens.map((k) => [t.slotOf(k), t.attemptOf(k), t.deadlineOf(k)])).toEqual([
        [0, 1, 100],
        [1, 2, 200],
        [2, 3, 300],
      ]);
      expect(t.size).toBe(3);
    });

    test("stale tokens are detected after release and slot reuse; nothing changes", () => {
      const t = make();
      const old = t.acquire(1, 100);
      expect(t.release(old)).toBe(true);
      const fresh = t.acquire(2, 500);
      expect(t.slotOf(fresh)).toBe(t.slotOf(old));
      expect(fresh).toBe(old + LEASE_SLOT_SPAN);
      expect([t.isActive(old), t.attemptOf(old), t.deadlineOf(old), t.extend(old, 9), t.release(old)]).toEqual([
        false, -1, -1, false, false,
      ]);
      expect([t.isActive(fresh), t.deadlineOf(fresh), t.size]).toEqual([true, 500, 1]);
    });

    test("garbage tokens are inactive, never throw", () => {
      const t = make();
      t.acquire(1, 1);
      for (const bad of [0, -1, NaN, Infinity, 0.5, LEASE_SLOT_SPAN + 0.5, 2 ** 53, 2 ** 60, LEASE_SLOT_SPAN + 7, 7]) {
        expect([bad, t.isActive(bad), t.release(bad), t.extend(bad, 5), t.attemptOf(bad)]).toEqual([bad, false, false, false, -1]);
      }
      expect(t.size).toBe(1);
    });

    test("generation wraps from 2^29 - 1 back to 1, tokens stay JS-safe and positive", () => {
      const t = make();
      const first = t.acquire(1, 1);
      expect(setGenerationForTest(t, 0, LEASE_GENERATION_LIMIT - 1)).toBe(true);
      expect(t.isActive(first)).toBe(false); // the test hook made it stale
      // The slot is live with generation 2^29 - 1 now.
      const top = (LEASE_GENERATION_LIMIT - 1) * LEASE_SLOT_SPAN;
      expect(Number.isSafeInteger(top)).toBe(true);
      expect(t.isActive(top)).toBe(true);
      expect(t.release(top)).toBe(true);
      const wrapped = t.acquire(2, 1);
      expect(wrapped).toBe(LEASE_SLOT_SPAN); // generation 1, slot 0
      expect([t.isActive(top), t.isActive(wrapped)]).toEqual([false, true]);
      expect(setGenerationForTest(t, 5, 3)).toBe(false); // never-used slot
    });

    test("expireUpTo returns earliest first, ties in acquire order, in chunks of out.length", () => {
      const t = make();
      const a = t.acquire(1, 30);
      const b = t.acquire(1, 10);
      const c = t.acquire(1, 20);
      const d = t.acquire(1, 10);
      const e = t.acquire(1, 99);
      expect(t.nextDeadline()).toBe(10);
      const out = new Float64Array(2);
      expect(t.expireUpTo(25, out)).toBe(2);
      expect(Array.from(out)).toEqual([b, d]);
      expect(t.expireUpTo(25, out)).toBe(1);
      expect(out[0]).toBe(c);
      expect(t.expireUpTo(25, out)).toBe(0);
      expect([t.isActive(b), t.isActive(a), t.size, t.nextDeadline()]).toEqual([false, true, 2, 30]);
      expect(t.expireUpTo(1000, new Float64Array(8))).toBe(2);
      expect([t.isActive(e), t.size, t.nextDeadline()]).toEqual([false, 0, Infinity]);
    });

    test("extend moves a lease in the expiry order both ways", () => {
      const t = make();
      const a = t.acquire(1, 10);
      const b = t.acquire(1, 20);
      const c = t.acquire(1, 30);
      expect(t.extend(a, 40)).toBe(true);
      expect(t.extend(c, 5)).toBe(true);
      const out = new Float64Array(3);
      expect(t.expireUpTo(100, out)).toBe(3);
      expect(Array.from(out)).toEqual([c, b, a]);
    });

    test("grows past its initial capacity; batch acquireMany/releaseMany", () => {
      const t = make({ initialSlots: 16 });
      const out = new Float64Array(20_000);
      expect(t.acquireMany(4, 77, out.length, out)).toBe(20_000);
      expect(t.size).toBe(20_000);
      expect([t.attemptOf(out[19_999]!), t.deadlineOf(out[12_345]!)]).toEqual([4, 77]);
      const half = out.subarray(0, 10_000);
      expect(t.releaseMany(half, half.length)).toBe(10_000);
      expect(t.releaseMany(half, half.length)).toBe(0); // all stale now
      expect([t.size, t.isActive(out[0]!), t.isActive(out[10_000]!)]).toEqual([10_000, false, true]);
      const expired = new Float64Array(20_000);
      expect(t.expireUpTo(77, expired)).toBe(10_000);
      expect(Array.from(expired.subarray(0, 3))).toEqual(Array.from(out.subarray(10_000, 10_003)));
    });
  });
}
