// Leadership across processes (issue 17, Must show 3): a private nats-server, three Sluice nodes
// (bun, storage "jetstream", leases on NATS KV) whose `jobs` queue is bridged into a downstream
// Sluice (this process: createApp + Bun.serve, queue `sink`) that records, for every message it
// accepts, the term it was sent under. Messages are published all along (HTTP POST with an
// Idempotency-Key, to any live node). Mid-stream the leader is killed with SIGKILL: another node
// must lead within ttl + one evaluation interval. Then the new leader is paused (SIGSTOP) for
// longer than the ttl — a third node takes over — while what it had on the wire is held back
// (a slow link) until the third leader's FENCE arrived: the downstream must refuse every one of
// those late PUBLISH frames by term; resumed (SIGCONT), the paused node must step down. In the end: every
// message arrived, and the downstream never accepted a send under a term lower than one it had
// already accepted.
import { afterAll, describe, expect, test } from "bun:test";
import { upgradeWebSocket } from "hono/bun";
import { delay } from "../../src/result/delay.ts";
import type { Result } from "../../src/result/result.ts";
import { FenceTerms } from "../../src/mesh/leadership/fence-terms.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { websocket } from "../../src/runtime/bun-websocket.ts";
import type { ServerWebSocket } from "bun";
import { FRAME_HEADER_BYTES, FrameType } from "../../src/protocol/frame-layout.ts";
import { decodeFencePayload } from "../../src/protocol/fence.ts";
import { canStartNatsServer, type NatsServerHandle, startNatsServer } from "../support/nats.ts";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

const SCOPE = "bridge/jobs";
const TOTAL = 3000;
const RATE_PER_S = 250;
const TIMERS = { ttlMs: 3000, renewMarginMs: 1000, evaluationIntervalMs: 500 };
const FAILOVER_BOUND_MS = TIMERS.ttlMs + TIMERS.evaluationIntervalMs;
const decoder = new TextDecoder();

/** The downstream's fence decisions, in the order it made them. */
class RecordingFences extends FenceTerms {
  readonly log: { kind: "admit" | "check"; term: number; ok: boolean; highestBefore: number }[] = [];
  override admit(scope: string, term: number): Result<void> {
    const highestBefore = this.highest(scope);
    const r = super.admit(scope, term);
    this.log.push({ kind: "admit", term, ok: r.ok, highestBefore });
    return r;
  }
  override check(scope: string, term: number): Result<void> {
    const highestBefore = this.highest(scope);
    const r = super.check(scope, term);
    this.log.push({ kind: "check", term, ok: r.ok, highestBefore });
    return r;
  }
}

type Leaders = { scopes: { scope: string; leader: string | null; term: number | null; expiresAtMs: number | null }[] };

const nodes: { id: string; server: ServerProcess; state: "up" | "killed" | "paused" }[] = [];
let nats: NatsServerHandle | undefined;
let downstream: { stop(): void } | undefined;
afterAll(async () => {
  for (const n of nodes) {
    if (n.state === "paused") process.kill(n.server.pid, "SIGCONT");
    await n.server.stop("SIGKILL").catch(() => {});
  }
  downstream?.stop();
  await nats?.stop();
});

function startDownstream() {
  const fences = new RecordingFences();
  const loaded = loadConfig({ fileText: JSON.stringify({ storage: "memory", queues: { sink: { capacity: 100_000 } } }), env: {} });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value, fences });
  const app = createApp(loaded.value, { broker, upgradeWebSocket });
  // The network between a paused leader and the downstream: while `hold` names a term, what
  // arrives on a connection fenced with it is held back (as a slow link would), and delivered in
  // order by `release()` — after the next leader's FENCE got there first.
  const termOf = new WeakMap<object, number>();
  const held: [ServerWebSocket<never>, Uint8Array][] = [];
  let hold: number | undefined;
  const relay = {
    ...websocket,
    message(ws: ServerWebSocket<never>, message: string | Uint8Array) {
      if (message instanceof Uint8Array && message[1] === FrameType.FENCE) {
        const fence = decodeFencePayload(message.subarray(FRAME_HEADER_BYTES));
        if (fence.ok) termOf.set(ws, fence.value.term);
      }
      if (hold !== undefined && termOf.get(ws) === hold && message instanceof Uint8Array) return void held.push([ws, message.slice()]);
      websocket.message(ws as never, message);
    },
  };
  const http = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: (request, server) => app.fetch(request, server), websocket: relay as typeof websocket });
  const sink = broker.queue("sink")!;
  // The term each accepted message came under: a fenced PUBLISH is admitted only when its term is
  // the highest accepted for the scope, in the same turn as the enqueue.
  const termBySeq = new Map<number, number>();
  sink.events.subscribe((e) => {
    if (e.type === "enqueued") termBySeq.set(e.sequenceId!, fences.highest(SCOPE));
  });
  const accepted: { id: string; term: number }[] = [];
  const drain = () => {
    for (let lease = sink.tryLease(); lease !== undefined; lease = sink.tryLease()) {
      accepted.push({ id: decoder.decode(lease.payload), term: termBySeq.get(lease.sequenceId)! });
      sink.ack(lease);
    }
    return accepted;
  };
  return {
    url: `ws://127.0.0.1:${http.port}/v1/queues/sink/ws`,
    fences,
    drain,
    holdTerm: (term: number) => (hold = term),
    /** Delivers what was held, in order; returns how many PUBLISH frames it held. */
    release: () => {
      hold = undefined;
      const publishes = held.filter(([, m]) => m[1] === FrameType.PUBLISH).length;
      for (const [ws, message] of held.splice(0)) websocket.message(ws as never, message);
      return publishes;
    },
    stop: () => http.stop(true),
  };
}

async function leaderAmong(candidates: typeof nodes): Promise<{ id: string; term: number; expiresAtMs: number } | undefined> {
  for (const n of candidates) {
    if (n.state !== "up") continue;
    const view = await getJson<Leaders>(`${n.server.url}/v1/cluster/leaders`).catch(() => undefined);
    const row = view?.scopes.find((s) => s.scope === SCOPE);
    // A node reports itself as leader only while it may act as one.
    if (row?.leader === n.id) return { id: n.id, term: row.term!, expiresAtMs: row.expiresAtMs! };
  }
  return undefined;
}

/** Polls until a node other than `old` leads in a higher term; returns it with the time it was seen. */
async function nextLeader(oldTerm: number, since: number) {
  for (;;) {
    const leader = await leaderAmong(nodes);
    if (leader !== undefined && leader.term > oldTerm) return { ...leader, seenAfterMs: Date.now() - since, electedAfterMs: leader.expiresAtMs - TIMERS.ttlMs - since };
    if (Date.now() - since > 4 * FAILOVER_BOUND_MS) throw new Error(`no new leader within ${4 * FAILOVER_BOUND_MS} ms`);
    await delay(20);
  }
}

describe.skipIf(!canStartNatsServer())("leadership: 3 nodes on NATS, one bridged queue, kill -9 and pause of the leader", () => {
  test("failover within ttl + one evaluation interval; the downstream never accepts a lower term; no message lost", async () => {
    nats = await startNatsServer({ jetstream: true, name: "sluice-leadership-test" });
    const sink = startDownstream();
    downstream = sink;
    const config = {
      queues: { jobs: { capacity: 100_000, leaseMs: 3000, heartbeatMs: 1000, bridge: { wsUrl: sink.url, sendTimeoutMs: 2000, pingIntervalMs: 1000, concurrency: 8 } } },
      mesh: { leadership: TIMERS },
    };
    const started = await Promise.all(["node-a", "node-b", "node-c"].map((id) =>
      startServer("bun", { config, env: { SLUICE_STORAGE: "jetstream", SLUICE_NATS_URL: nats!.url, SLUICE_NODE_ID: id } })
    ));
    started.forEach((server, i) => nodes.push({ id: `node-${"abc"[i]}`, server, state: "up" }));
    await waitFor(async () => (await leaderAmong(nodes)) !== undefined, 10_000, "a first leader");
    const first = (await leaderAmong(nodes))!;

    // The producer: TOTAL messages at RATE_PER_S, each to a live node, retried elsewhere until one answers 202.
    let published = 0;
    const producing = (async () => {
      const startedAt = Date.now();
      for (let i = 0; i < TOTAL; i++) {
        const due = startedAt + (i * 1000) / RATE_PER_S;
        if (due > Date.now()) await delay(due - Date.now());
        for (let attempt = 0; ; attempt++) {
          const live = nodes.filter((n) => n.state === "up");
          const node = live[(i + attempt) % live.length]!;
          const res = await fetch(`${node.server.url}/v1/queues/jobs/messages`, { method: "POST", body: `m${i}`, headers: { "idempotency-key": `m${i}` }, signal: AbortSignal.timeout(2000) }).catch(() => undefined);
          if (res?.status === 202) break;
          await delay(20);
        }
        published++;
      }
    })();

    // 1. kill -9 the leader mid-stream.
    await waitFor(() => sink.drain().length >= 400, 20_000, "400 messages downstream");
    const victim = nodes.find((n) => n.id === first.id)!;
    const killedAt = Date.now();
    await victim.server.stop("SIGKILL");
    victim.state = "killed";
    const second = await nextLeader(first.term, killedAt);

    // 2. Pause the new leader for longer than the ttl, then resume it.
    await waitFor(() => sink.drain().length >= 1200, 30_000, "1200 messages downstream");
    const paused = nodes.find((n) => n.id === second.id)!;
    // Its link slows down first: what it sends from now on arrives late; 200 ms later it stalls.
    sink.holdTerm(second.term);
    await delay(200);
    const pausedAt = Date.now();
    process.kill(paused.server.pid, "SIGSTOP");
    paused.state = "paused";
    const third = await nextLeader(second.term, pausedAt);
    await waitFor(() => sink.fences.highest(SCOPE) === third.term, 10_000, "the third leader's FENCE downstream");
    const latePublishes = sink.release();
    await delay(1000);
    process.kill(paused.server.pid, "SIGCONT");
    paused.state = "up";
    await waitFor(async () => {
      const view = await getJson<Leaders>(`${paused.server.url}/v1/cluster/leaders`).catch(() => undefined);
      return view?.scopes[0]?.leader === third.id;
    }, 10_000, "the resumed node to see the new leader");

    await producing;
    await waitFor(() => new Set(sink.drain().map((m) => m.id)).size >= TOTAL, 60_000, `all ${TOTAL} messages downstream`);
    const accepted = sink.drain();
    const ids = new Set(accepted.map((m) => m.id));
    const lost = Array.from({ length: TOTAL }, (_, i) => `m${i}`).filter((id) => !ids.has(id));
    const duplicates = accepted.length - ids.size;

    // The downstream's decisions: every accepted send was under the highest term accepted so far.
    const log = sink.fences.log;
    let highest = 0;
    let lowerAccepted = 0;
    for (const d of log) {
      if (d.ok && d.term < highest) lowerAccepted++;
      if (d.ok) highest = Math.max(highest, d.term);
    }
    const refused = log.filter((d) => !d.ok);
    const refusedPublishes = refused.filter((d) => d.kind === "check" && d.term === second.term).length;
    for (let i = 1; i < accepted.length; i++) expect(accepted[i]!.term).toBeGreaterThanOrEqual(accepted[i - 1]!.term);
    const terms = [...new Set(accepted.map((m) => m.term))];
    console.log(
      `leadership cluster: ${TOTAL} published at ${RATE_PER_S}/s, ${ids.size} arrived (${lost.length} lost, ${duplicates} duplicates); ` +
        `terms accepted in order: ${terms.join(" → ")}; ` +
        `kill -9 of ${first.id} (term ${first.term}): ${second.id} elected ${second.electedAfterMs} ms later (seen after ${second.seenAfterMs} ms; bound ${FAILOVER_BOUND_MS}); ` +
        `SIGSTOP of ${second.id}: ${third.id} elected ${third.electedAfterMs} ms later (seen after ${third.seenAfterMs} ms); ` +
        `downstream fence decisions: ${log.length}; the paused leader's ${latePublishes} late PUBLISH frame(s) (held on the wire until ${third.id}'s FENCE) refused: ${refusedPublishes}; ` +
        `all refusals: ${refused.length} (${[...new Set(refused.map((d) => `${d.kind} term ${d.term} < ${d.highestBefore}`))].join(", ")}); lower term accepted: ${lowerAccepted}`,
    );
    expect(lost).toEqual([]);
    expect(published).toBe(TOTAL);
    expect(lowerAccepted).toBe(0);
    expect(refusedPublishes).toBe(latePublishes);
    expect(second.electedAfterMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
    expect(third.electedAfterMs).toBeLessThanOrEqual(FAILOVER_BOUND_MS);
    expect(second.id).not.toBe(first.id);
    expect(third.id).not.toBe(second.id);
    expect(terms).toEqual([first.term, second.term, third.term].filter((t) => terms.includes(t)));
    // The resumed node stepped down on its own clock and sends nothing as leader any more.
    expect(paused.server.output()).toContain(`${second.id} no longer leads ${SCOPE} (term ${second.term})`);
  }, 180_000);
});
