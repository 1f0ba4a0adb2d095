// The LeaseStore contract (DESIGN.md "Mesh roles", Leadership) on the memory store and the
// SQLite store, both on a virtual clock: acquire, held, renew, expiry, takeover with a higher
// term, release, a restarted holder re-acquiring in a new term; terms strictly increase per
// scope and (SQLite) survive reopening the database. Plus FenceTerms, the downstream's memory.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { ok } from "../../src/result/result.ts";
import { FenceTerms, type LeaseStore, MemoryLeaseStore, SqlFenceTermStore, SqlLeaseStore } from "../../src/mesh/leadership/mod.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";

const TTL = 10_000;

function contract(name: string, make: (clock: VirtualClock) => Promise<LeaseStore>) {
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

contract("memory", async (clock) => new MemoryLeaseStore({ clock }));
contract("SQLite", async (clock) => new SqlLeaseStore(await openSqlite(":memory:"), { clock }));

describe("SQLite lease store across restarts", () => {
  test("terms survive closing and reopening the database", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "sluice-leases-")), "leases.db");
    const clock = new VirtualClock(0);
    const first = await openSqlite(path);
    const won = await new SqlLeaseStore(first, { clock }).tryAcquire("bridge/jobs", "a", TTL);
    first.close();
    const second = await openSqlite(path);
    const store = new SqlLeaseStore(second, { clock });
    const held = await store.tryAcquire("bridge/jobs", "b", TTL);
    expect(!held.ok && held.reason).toBe("held");
    await clock.advance(TTL);
    const next = await store.tryAcquire("bridge/jobs", "b", TTL);
    expect(won.ok && next.ok && next.value.term > won.value.term).toBe(true);
    second.close();
  });

  test("a driver error answers unavailable, never a lease", async () => {
    const driver = await openSqlite(":memory:");
    const store = new SqlLeaseStore(driver);
    driver.exec("DROP TABLE sluice_leader_leases");
    const r = await store.tryAcquire("bridge/jobs", "a", TTL);
    expect(!r.ok && r.reason).toBe("unavailable");
    expect(!r.ok && r.error.code).toBe("unavailable");
    driver.close();
  });
});

describe("FenceTerms (the downstream's highest term per scope)", () => {
  test("a lower term is refused with lease.inactive; a higher one is saved before it is accepted; it survives a restart", async () => {
    const driver = await openSqlite(":memory:");
    const fences = new FenceTerms(new SqlFenceTermStore(driver));
    expect(fences.admit("bridge/jobs", 3).ok).toBe(true);
    expect(fences.check("bridge/jobs", 3).ok).toBe(true);
    expect(fences.admit("bridge/jobs", 5).ok).toBe(true);
    const late = fences.check("bridge/jobs", 3);
    expect(!late.ok && late.error.code).toBe("lease.inactive");
    expect(!late.ok && late.error.metadata).toEqual({ fenceScope: "bridge/jobs", fenceTerm: 3, highestTerm: 5 });
    expect(fences.admit("bridge/jobs", 4).ok).toBe(false);
    expect(fences.check("bridge/jobs", 6).ok).toBe(false); // never announced
    const restarted = new FenceTerms(new SqlFenceTermStore(driver));
    expect(restarted.highest("bridge/jobs")).toBe(5);
    expect(restarted.admit("bridge/jobs", 4).ok).toBe(false);
    driver.close();
  });

  test("a term that cannot be saved is not accepted", () => {
    const fences = new FenceTerms({ load: () => new Map(), save: () => ({ ok: false, error: { code: "unavailable", message: "disk full" } }) });
    const r = fences.admit("bridge/jobs", 1);
    expect(!r.ok && r.error.code).toBe("unavailable");
    expect(fences.highest("bridge/jobs")).toBe(0);
    expect(new FenceTerms({ load: () => new Map([["s", 2]]), save: () => ok() }).highest("s")).toBe(2);
  });
});
