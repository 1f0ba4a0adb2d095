/**
 * The LeaseStore contract as a test suite, run by the unit tests (memory, SQLite) and by the
 * NATS KV integration test: acquire, held, renew, expiry, takeover with a higher term, release,
 * a holder re-acquiring in a new term. Expiry is judged on the store's (virtual) clock.
 *
 * @example
 * ```ts
 * leaseStoreContract("memory", async (clock) => new MemoryLeaseStore({ clock }));
 * ```
 */
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import type { LeaseStore } from "../../src/mesh/leadership/mod.ts";

const TTL = 10_000;

/**
 * Registers the contract's tests for one store; `make` builds a fresh store on the given clock.
 *
 * @example
 * ```ts
 * leaseStoreContract("SQLite", async (clock) => new SqlLeaseStore(await openSqlite(":memory:"), { clock }));
 * ```
 */
export function leaseStoreContract(name: string, make: (clock: VirtualClock) => Promise<LeaseStore>) {
  describe(`${name} lease store`, () => {
    test("acquire → held for others → renew keeps the term → expiry lets another take over with a higher term", async () => {
      const clock = new VirtualClock(1_000_000);
      const store = await make(clock);
      const a = await store.tryAcquire("bridge/jobs", "a", TTL);
      expect(a.ok && a.value).toEqual({ scope: "bridge/jobs", holder: "a", term: expect.any(Number), expiresAtMs: 1_010_000 });
      const term1 = a.ok ? a.value.term : 0;

      const b = await store.tryAcquire("bridge/jobs", "b", TTL);
      expect(b.ok).toBe(false);
      if (!b.ok) {
        expect(b.reason).toBe("held");
        expect(b.error.code).toBe("lease.inactive");
        expect(b.current).toMatchObject({ holder: "a", term: term1 });
      }

      await clock.advance(4_000);
      const renewed = await store.tryRenew("bridge/jobs", "a", term1, TTL);
      expect(renewed.ok && renewed.value).toEqual({ scope: "bridge/jobs", holder: "a", term: term1, expiresAtMs: 1_014_000 });
      expect((await store.tryRenew("bridge/jobs", "b", term1, TTL)).ok).toBe(false);

      await clock.advance(10_000); // a's lease ran out at 1,014,000
      const late = await store.tryRenew("bridge/jobs", "a", term1, TTL);
      expect(!late.ok && late.reason).toBe("expired");
      const taken = await store.tryAcquire("bridge/jobs", "b", TTL);
      expect(taken.ok).toBe(true);
      const term2 = taken.ok ? taken.value.term : 0;
      expect(term2).toBeGreaterThan(term1);
      // The old holder can neither renew nor release the new lease.
      const stale = await store.tryRenew("bridge/jobs", "a", term1, TTL);
      expect(!stale.ok && stale.reason).toBe("not_leader");
      expect((await store.release("bridge/jobs", "a", term1)).ok).toBe(false);
      const seen = await store.get("bridge/jobs");
      expect(seen.ok && seen.value).toMatchObject({ holder: "b", term: term2 });
    });

    test("release frees the scope at once; terms keep increasing; a holder that re-acquires gets a new term", async () => {
      const clock = new VirtualClock(0);
      const store = await make(clock);
      const terms: number[] = [];
      for (const holder of ["a", "b", "a", "c"]) {
        const got = await store.tryAcquire("s", holder, TTL);
        expect(got.ok).toBe(true);
        if (!got.ok) return;
        terms.push(got.value.term);
        expect((await store.release("s", holder, got.value.term)).ok).toBe(true);
        const after = await store.get("s");
        expect(after.ok && after.value).toBeUndefined();
      }
      const again = await store.tryAcquire("s", "a", TTL);
      const restarted = again.ok ? await store.tryAcquire("s", "a", TTL) : again; // same holder, e.g. after a restart
      if (again.ok && restarted.ok) terms.push(again.value.term, restarted.value.term);
      expect(terms.length).toBe(6);
      for (let i = 1; i < terms.length; i++) expect(terms[i]!).toBeGreaterThan(terms[i - 1]!);
      // Scopes are independent.
      expect((await store.tryAcquire("other", "b", TTL)).ok).toBe(true);
    });
  });
}

