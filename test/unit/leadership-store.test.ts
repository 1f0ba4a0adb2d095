// The LeaseStore contract (DESIGN.md "Mesh roles", Leadership) on the memory store and the
// SQLite store, both on a virtual clock: acquire, held, renew, expiry, takeover with a higher
// term, release, a restarted holder re-acquiring in a new term; terms strictly increase per
// scope and (SQLite) survive reopening the database. Plus FenceTerms, the downstream's memory.
import { describe, expect, test } from "../harness.ts";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { ok } from "../../src/result/result.ts";
import { FenceTerms, MemoryLeaseStore, SqlFenceTermStore, SqlLeaseStore } from "../../src/mesh/leadership/mod.ts";
import { leaseStoreContract } from "../support/lease-store-contract.ts";
import { openSqlite } from "../../src/runtime/sqlite.ts";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { mkdtempSync } from "node:fs";

const TTL = 10_000;

leaseStoreContract("memory", async (clock) => new MemoryLeaseStore({ clock }));
leaseStoreContract("SQLite", async (clock) => new SqlLeaseStore(await openSqlite(":memory:"), { clock }));

describe("terms with a floor (what the server uses: the wall clock)", () => {
  test("a new term is at least the floor, and still above the previous one when the floor is lower", async () => {
    let floor = 5_000;
    const clock = new VirtualClock(0);
    const store = new MemoryLeaseStore({ clock, termFloor: () => floor });
    const first = await store.tryAcquire("s", "a", TTL);
    expect(first.ok && first.value.term).toBe(5_000);
    floor = 10; // e.g. a clock set back
    await clock.advance(TTL);
    const second = await store.tryAcquire("s", "b", TTL);
    expect(second.ok && second.value.term).toBe(5_001);
    // A fresh store (a new data dir) still hands out terms above the old ones while the floor is past them.
    floor = 6_000;
    const fresh = await new SqlLeaseStore(await openSqlite(":memory:"), { clock, termFloor: () => floor }).tryAcquire("s", "c", TTL);
    expect(fresh.ok && fresh.value.term).toBe(6_000);
  });
});

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
