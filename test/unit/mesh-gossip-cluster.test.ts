// Five GossipServices in one process on one virtual clock, wired by an in-memory `send` that
// calls the peer's route handler (`receive`): the multi-node story without sockets —
// all see 5 alive within a few rounds; a crashed node goes suspect, then dead, within the
// configured timeouts; a departing node is `left` at once; a restarted one is alive again with a
// higher incarnation. (The multi-process version over HTTP belongs to the server's integration.)
import { describe, expect, test } from "../harness.ts";
import { err, sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { GossipService, type MemberStatus, mulberry32, type SendEnvelope } from "../../src/mesh/gossip/mod.ts";

const IDS = ["n0", "n1", "n2", "n3", "n4"];
const url = (id: string) => `http://${id}:8787`;

function cluster() {
  const clock = new VirtualClock(1_800_000_000_000);
  const nodes = new Map<string, GossipService>();
  const down = new Set<string>();
  const random = mulberry32(16);
  const send: SendEnvelope = async (to, envelope) => {
    const peer = nodes.get(to);
    if (peer === undefined || down.has(to)) return err(sluiceError("unavailable", `connection refused: ${to}`));
    return peer.receive(envelope);
  };
  const start = (id: string) => {
    const node = GossipService.create({ nodeId: id, url: url(id), seeds: IDS.filter((x) => x !== id).map(url), send, clock, random });
    nodes.set(url(id), node);
    down.delete(url(id));
    node.start();
    return node;
  };
  for (const id of IDS) start(id);
  const node = (id: string) => nodes.get(url(id))!;
  /** How `observer` sees `subject`. */
  const view = (observer: string, subject: string) => node(observer).membership.record(subject);
  /** Rounds (of 1 s) until every other live node sees `subject` in `status`. */
  const until = async (observers: string[], subject: string, statuses: MemberStatus[], limit = 60) => {
    for (let rounds = 0; rounds <= limit; rounds++) {
      if (observers.every((o) => statuses.includes(view(o, subject)?.status ?? ("none" as MemberStatus)))) return clock.now();
      await clock.advance(1_000);
    }
    throw new Error(`${subject} not ${statuses.join("/")} everywhere after ${limit} rounds`);
  };
  return { clock, node, view, until, start, down };
}

describe("a five-node cluster in one process", () => {
  test("joins, crash (suspect then dead within the timeouts), leave (left at once), restart (alive, higher incarnation)", async () => {
    const { clock, node, view, until, start, down } = cluster();
    const t0 = clock.now();
    await clock.advance(3_000);
    for (const o of IDS) expect(node(o).members().members.filter((m) => m.status === "alive").length).toBe(5);

    // kill -9 n4: it vanishes without a word.
    const crashedAt = clock.now();
    const oldIncarnation = node("n4").membership.self.incarnation;
    down.add(url("n4"));
    await node("n4").stop();
    const rest = ["n0", "n1", "n2", "n3"];
    const suspectedAt = await until(rest, "n4", ["suspect", "dead"]);
    expect(suspectedAt - crashedAt).toBeGreaterThanOrEqual(5_000);
    expect(suspectedAt - crashedAt).toBeLessThanOrEqual(5_000 + 3_000); // + first failed exchange + a round
    const deadAt = await until(rest, "n4", ["dead"]);
    expect(deadAt - crashedAt).toBeLessThanOrEqual(5_000 + 15_000 + 4_000);
    for (const o of rest) expect(view(o, "n4")?.incarnation).toBe(oldIncarnation);

    // SIGTERM n3: leave (one last round), then stop.
    const leftAt = clock.now();
    const leaving = node("n3").leave();
    await clock.advance(1);
    await leaving;
    await node("n3").stop();
    down.add(url("n3"));
    const everyoneKnows = await until(["n0", "n1", "n2"], "n3", ["left"]);
    expect(everyoneKnows - leftAt).toBeLessThanOrEqual(2_000);
    expect(node("n0").peerUrls().sort()).toEqual([url("n1"), url("n2")]);

    // Restart n4 (same id and url): a higher incarnation, alive again everywhere.
    const restarted = start("n4");
    expect(restarted.membership.self.incarnation).toBeGreaterThan(oldIncarnation);
    await until(["n0", "n1", "n2"], "n4", ["alive"], 5);
    for (const o of ["n0", "n1", "n2"]) expect(view(o, "n4")?.incarnation).toBe(restarted.membership.self.incarnation);
    expect(restarted.members().members.find((m) => m.id === "n3")?.status).toBe("left");
    expect(clock.now() - t0).toBeLessThan(60_000);
    for (const id of ["n0", "n1", "n2", "n4"]) expect((await node(id).stop()).ok).toBe(true);
  });
});
