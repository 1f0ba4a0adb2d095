// Issue #16: a draining mesh node's GOAWAY names its live peers, and the SDK follows: a Producer and
// a Consumer connected to n1 reconnect to n2 (not to n1 again) once n1 is SIGTERMed.
import { afterAll, expect, test } from "bun:test";
import { Consumer, Producer } from "../../src/client/mod.ts";
import { type ServerProcess, startServer, waitFor } from "./server-process.ts";

const TOKEN = "mesh-s3cret";
const CONFIG = { storage: "memory", drainMs: 500, mesh: { gossip: { intervalMs: 200, suspectAfterMs: 1000, deadAfterMs: 2500 } }, queues: { jobs: {} } };
const servers: ServerProcess[] = [];

afterAll(async () => {
  await Promise.all(servers.map((s) => s.stop("SIGKILL").catch(() => {})));
});

async function pending(node: ServerProcess): Promise<number> {
  const res = await fetch(`${node.url}/v1/queues/jobs`, { headers: { authorization: `Bearer ${TOKEN}` } });
  return ((await res.json()) as { pending: number }).pending;
}

test("SIGTERM: GOAWAY carries the live peers; Producer and Consumer move to n2", async () => {
  const n1 = await startServer("bun", { config: CONFIG, env: { SLUICE_NODE_ID: "n1", SLUICE_AUTH_TOKENS: TOKEN } });
  servers.push(n1);
  const n2 = await startServer("bun", { config: CONFIG, env: { SLUICE_NODE_ID: "n2", SLUICE_AUTH_TOKENS: TOKEN, SLUICE_PEERS: n1.url } });
  servers.push(n2);
  await waitFor(async () => {
    const res = await fetch(`${n1.url}/v1/cluster/members`, { headers: { authorization: `Bearer ${TOKEN}` } });
    const body = (await res.json()) as { members: { id: string; status: string }[] };
    return body.members.some((m) => m.id === "n2" && m.status === "alive");
  }, 5000, "n1 sees n2 alive");

  const events: string[] = [];
  const options = { url: n1.url, queue: "jobs", token: TOKEN, onEvent: (e: { type: string }) => events.push(e.type) };
  const producer = new Producer(options);
  const consumer = new Consumer({ ...options, credit: 8 });
  expect((await consumer.start()).ok).toBe(true);
  expect((await producer.publish(new TextEncoder().encode("before"))).ok).toBe(true);
  const first = await consumer.receive({ signal: AbortSignal.timeout(5000) });
  expect(first.ok && new TextDecoder().decode(first.value.payload)).toBe("before");
  expect(consumer.ack(first.ok ? first.value : (undefined as never)).ok).toBe(true);
  await consumer.flush();

  const stopped = n1.stop("SIGTERM");
  // The producer's next publish after the GOAWAY goes to n2.
  await waitFor(() => events.filter((t) => t === "disconnected").length >= 1, 5000, "a disconnect from n1");
  let published = false;
  for (let i = 0; i < 50 && !published; i++) {
    const r = await producer.publish(new TextEncoder().encode("after"));
    published = r.ok;
    if (!published) await new Promise((resolve) => setTimeout(resolve, 100));
  }
  expect(published).toBe(true);
  expect((await stopped).code).toBe(0);
  // n1 is gone; the message is on n2 and the consumer, reconnected to n2, gets it.
  const second = await consumer.receive({ signal: AbortSignal.timeout(10_000) });
  expect(second.ok && new TextDecoder().decode(second.value.payload)).toBe("after");
  if (second.ok) consumer.ack(second.value);
  await consumer.flush();
  expect(await pending(n2)).toBe(0);
  producer.close();
  consumer.close();
}, 60_000);
