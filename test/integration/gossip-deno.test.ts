// Issue #16: gossip runs on the Deno entry too, and Deno and Bun nodes form one mesh.
import { expect, test } from "bun:test";
import { startServer, waitFor } from "./server-process.ts";
test("a Deno node and a Bun node gossip; the Deno node SIGTERMed is left on the Bun node at once", async () => {
  const cfg = { storage: "memory", drainMs: 200, mesh: { gossip: { intervalMs: 200, suspectAfterMs: 1000, deadAfterMs: 2500 } } };
  const a = await startServer("deno", { config: cfg, env: { SLUICE_NODE_ID: "d1", SLUICE_AUTH_TOKENS: "t" }, timeoutMs: 60000 });
  const b = await startServer("bun", { config: cfg, env: { SLUICE_NODE_ID: "b1", SLUICE_AUTH_TOKENS: "t", SLUICE_PEERS: a.url } });
  try {
    await waitFor(async () => {
      const r = (await (await fetch(`${a.url}/v1/cluster/members`, { headers: { authorization: "Bearer t" } })).json()) as { members: { id: string; status: string }[] };
      return r.members.length === 2 && r.members.every((m) => m.status === "alive");
    }, 10000, "deno sees 2 alive");
    const t0 = Date.now();
    expect((await a.stop("SIGTERM")).code).toBe(0);
    const r = (await (await fetch(`${b.url}/v1/cluster/members`, { headers: { authorization: "Bearer t" } })).json()) as { members: { id: string; status: string }[] };
    console.log(`left seen on the Bun node ${Date.now() - t0} ms after SIGTERM (drain included)`);
    expect(r.members.find((m) => m.id === "d1")?.status).toBe("left");
  } finally {
    await a.stop("SIGKILL").catch(() => {});
    await b.stop("SIGKILL").catch(() => {});
  }
}, 90000);
