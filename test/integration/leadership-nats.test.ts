// Leadership leases on NATS KV (issue 17, Must show 2): the LeaseStore contract on a real
// nats-server, and a truly simultaneous race — 16 candidates, each on its own NATS connection,
// released by one barrier, 120 rounds: exactly one winner per round, terms strictly increasing.
// Every 4th round the winner does not release: the next round starts once its lease expired
// (on the candidates' shared virtual clock), so takeover after expiry races too.
import { afterAll, describe, expect, test } from "bun:test";
import { Kvm } from "@nats-io/kv";
import { VirtualClock } from "../../src/result/virtual-clock.ts";
import { connectNats, type NatsConnection } from "../../src/runtime/nats.ts";
import { type LeaseResult, NatsKvLeaseStore } from "../../src/mesh/leadership/mod.ts";
import { leaseStoreContract } from "../support/lease-store-contract.ts";
import { natsUrlForTests } from "../support/nats.ts";

const natsUrl = await natsUrlForTests();
const CANDIDATES = 16;
const ROUNDS = 120;
const TTL = 10_000;
const connections: NatsConnection[] = [];
afterAll(async () => {
  for (const nc of connections) await nc.close().catch(() => {});
});

async function bucket(name: string) {
  const connected = await connectNats(natsUrl!, { name });
  if (!connected.ok) throw new Error(connected.error.message);
  connections.push(connected.value);
  return { nc: connected.value, kvm: new Kvm(connected.value) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}

describe.skipIf(natsUrl === undefined)("leadership on NATS KV", () => {
  let n = 0;
  leaseStoreContract("NATS KV", async (clock) => {
    const { kvm } = await bucket("sluice-lease-contract");
    const kv = await kvm.create(`sluice_leases_contract_${Date.now()}_${n++}`, { history: 1 });
    return new NatsKvLeaseStore(kv, { clock });
  });

  test(`race: ${CANDIDATES} candidates on ${CANDIDATES} connections, one barrier, ${ROUNDS} rounds → exactly one winner each, terms strictly increasing`, async () => {
    const name = `sluice_leases_race_${Date.now()}`;
    const clock = new VirtualClock(Date.now());
    const candidates = [];
    for (let i = 0; i < CANDIDATES; i++) {
      const { kvm } = await bucket(`sluice-race-${i}`);
      // The first creates the bucket; the others open the same one.
      const kv = i === 0 ? await kvm.create(name, { history: 1 }) : await kvm.open(name);
      candidates.push({ id: `node-${i}`, store: new NatsKvLeaseStore(kv, { clock }) });
    }
    const scope = "bridge/race";
    const winners: { round: number; holder: string; term: number }[] = [];
    const refusals = new Map<string, number>();
    const latencies: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let release!: () => void;
      const barrier = new Promise<void>((r) => (release = r));
      const attempts = candidates.map(async (c) => {
        await barrier;
        const started = performance.now();
        const r: LeaseResult = await c.store.tryAcquire(scope, c.id, TTL);
        latencies.push(performance.now() - started);
        return { id: c.id, r };
      });
      release();
      const results = [];
      for (const attempt of attempts) results.push(await attempt);
      const won = results.filter((x) => x.r.ok);
      expect(won.length).toBe(1);
      // "taken first": it read the lease as free and lost the compare-and-swap to the winner's write.
      for (const x of results) if (!x.r.ok) { const k = x.r.error.message.includes("taken first") ? "lost the CAS" : `${x.r.reason} at read`; refusals.set(k, (refusals.get(k) ?? 0) + 1); };
      const winner = won[0]!;
      const lease = winner.r.ok ? winner.r.value : undefined;
      winners.push({ round, holder: winner.id, term: lease!.term });
      // Everyone agrees on who won.
      const seen = await candidates[round % CANDIDATES]!.store.get(scope);
      expect(seen.ok && seen.value).toMatchObject({ holder: winner.id, term: lease!.term });
      if (round % 4 === 3) {
        await clock.advance(TTL); // not released: the next round races for an expired lease
      } else {
        const released = await candidates.find((c) => c.id === winner.id)!.store.release(scope, winner.id, lease!.term);
        expect(released.ok).toBe(true);
      }
    }
    for (let i = 1; i < winners.length; i++) expect(winners[i]!.term).toBeGreaterThan(winners[i - 1]!.term);
    const sorted = latencies.sort((a, b) => a - b);
    const distinct = new Set(winners.map((w) => w.holder)).size;
    console.log(
      `leadership race on NATS KV: ${ROUNDS} rounds × ${CANDIDATES} candidates: ${ROUNDS} winners (one per round, ${distinct} distinct nodes), ` +
        `terms ${winners[0]!.term} → ${winners.at(-1)!.term} strictly increasing; losers: ${[...refusals].map(([k, v]) => `${k} ${v}`).join(", ")}; ` +
        `tryAcquire under contention p50 ${percentile(sorted, 50).toFixed(2)} ms, p99 ${percentile(sorted, 99).toFixed(2)} ms`,
    );
    // Truly simultaneous: many candidates saw the lease free and wrote at once; the CAS let one through.
    expect(refusals.get("lost the CAS") ?? 0).toBeGreaterThan(ROUNDS);
    expect([...refusals.keys()].every((k) => k === "lost the CAS" || k === "held at read")).toBe(true);
  }, 120_000);
});
