// Issue #16, Must show 3: five real server processes on loopback gossip through POST /v1/mesh/gossip
// (seeded by the first node's URL). All see five alive; kill -9 of one → suspect, then dead, within
// the configured timers; SIGTERM of one → `left` at once; its restart (same id, same port) → alive
// at a higher incarnation. Memory queues, no NATS.
import { afterAll, expect, test } from "bun:test";
import { type ServerProcess, startServer, waitFor } from "./server-process.ts";

const TOKEN = "mesh-s3cret";
const TIMERS = { intervalMs: 200, suspectAfterMs: 1000, deadAfterMs: 2500 };
const CONFIG = { storage: "memory", drainMs: 300, mesh: { gossip: TIMERS }, queues: { jobs: {} } };

interface Member {
  id: string;
  url: string;
  status: "alive" | "suspect" | "dead" | "left";
  incarnation: number;
  lastSeenAtMs: number;
  queues: Record<string, number>;
}

const nodes = new Map<string, ServerProcess>();

async function start(id: string, env: Record<string, string> = {}): Promise<ServerProcess> {
  const node = await startServer("bun", { config: CONFIG, env: { SLUICE_NODE_ID: id, SLUICE_AUTH_TOKENS: TOKEN, ...env } });
  nodes.set(id, node);
  return node;
}

async function members(node: ServerProcess): Promise<{ self: string; members: Member[] }> {
  const res = await fetch(`${node.url}/v1/cluster/members`, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(5000) }).catch((thrown) => {
    throw new Error(`GET ${node.url}/v1/cluster/members: ${String(thrown)}\n${node.output().slice(-3000)}`);
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { self: string; members: Member[] };
}

function statusOf(view: { members: Member[] }, id: string): Member | undefined {
  return view.members.find((m) => m.id === id);
}

async function everyone(ids: readonly string[], check: (view: { self: string; members: Member[] }) => boolean): Promise<boolean> {
  const views = await Promise.all(ids.map((id) => members(nodes.get(id)!)));
  return views.every(check);
}

afterAll(async () => {
  await Promise.all([...nodes.values()].map((n) => n.stop("SIGKILL").catch(() => {})));
});

test("5 nodes: join, kill -9 → suspect → dead, SIGTERM → left, restart → alive at a higher incarnation", async () => {
  const first = await start("n1");
  const seeds = { SLUICE_PEERS: first.url };
  await Promise.all(["n2", "n3", "n4", "n5"].map((id) => start(id, seeds)));
  const all = ["n1", "n2", "n3", "n4", "n5"];

  // A few rounds: every node lists all five alive.
  const joinedAt = Date.now();
  await waitFor(() => everyone(all, (v) => v.members.length === 5 && v.members.every((m) => m.status === "alive")), 10 * TIMERS.intervalMs + 3000, "5 alive everywhere");
  console.log(`all 5 alive everywhere after ${Date.now() - joinedAt} ms`);
  const view = await members(nodes.get("n2")!);
  expect(view.self).toBe("n2");
  expect(statusOf(view, "n1")!.url).toBe(first.url);

  // Queue depths travel with the gossip: 3 messages on n1 show up in n4's listing.
  for (let i = 0; i < 3; i++) {
    const res = await fetch(`${first.url}/v1/queues/jobs/messages`, { method: "POST", headers: { authorization: `Bearer ${TOKEN}` }, body: `m${i}` });
    expect(res.status).toBe(202);
  }
  await waitFor(async () => statusOf(await members(nodes.get("n4")!), "n1")?.queues.jobs === 3, 5000, "n1's depth 3 seen by n4");

  // Auth: the gossip route needs the same bearer token as the rest.
  expect((await fetch(`${first.url}/v1/mesh/gossip`, { method: "POST", body: new Uint8Array(0) })).status).toBe(401);

  // kill -9 n5: the others mark it suspect, then dead, within the timers (plus a few rounds of spread).
  const killedAt = Date.now();
  await nodes.get("n5")!.stop("SIGKILL");
  const rest = ["n1", "n2", "n3", "n4"];
  await waitFor(() => everyone(rest, (v) => ["suspect", "dead"].includes(statusOf(v, "n5")?.status ?? "")), TIMERS.suspectAfterMs + 3000, "n5 suspect everywhere");
  const suspectMs = Date.now() - killedAt;
  await waitFor(() => everyone(rest, (v) => statusOf(v, "n5")?.status === "dead"), TIMERS.suspectAfterMs + TIMERS.deadAfterMs + 4000, "n5 dead everywhere");
  const deadMs = Date.now() - killedAt;
  console.log(`kill -9: suspect everywhere after ${suspectMs} ms, dead everywhere after ${deadMs} ms`);
  expect(suspectMs).toBeGreaterThanOrEqual(TIMERS.suspectAfterMs * 0.5);
  // No false verdicts on the live ones.
  expect(await everyone(rest, (v) => rest.every((id) => statusOf(v, id)?.status === "alive"))).toBe(true);

  // SIGTERM n3: `left` everywhere at once (well before a suspicion could have started).
  const n3 = nodes.get("n3")!;
  const before = statusOf(await members(nodes.get("n1")!), "n3")!.incarnation;
  const termAt = Date.now();
  const stopped = n3.stop("SIGTERM");
  const others = ["n1", "n2", "n4"];
  await waitFor(() => everyone(others, (v) => statusOf(v, "n3")?.status === "left"), TIMERS.suspectAfterMs, "n3 left everywhere");
  const leftMs = Date.now() - termAt;
  console.log(`SIGTERM: left everywhere after ${leftMs} ms`);
  expect((await stopped).code).toBe(0);
  const leftInc = statusOf(await members(nodes.get("n1")!), "n3")!.incarnation;
  expect(leftInc).toBeGreaterThan(before);

  // Restart n3 on the same port with the same id: alive again, at a higher incarnation.
  await start("n3", { ...seeds, PORT: String(n3.port) });
  await waitFor(
    () => everyone(["n1", "n2", "n3", "n4"], (v) => statusOf(v, "n3")?.status === "alive" && statusOf(v, "n3")!.incarnation > leftInc),
    10 * TIMERS.intervalMs + 3000,
    "n3 alive again everywhere",
  );
  const back = statusOf(await members(nodes.get("n2")!), "n3")!;
  console.log(`restart: n3 alive at incarnation ${back.incarnation} (left at ${leftInc})`);
  expect(statusOf(await members(nodes.get("n2")!), "n5")!.status).toBe("dead");
}, 90_000);
