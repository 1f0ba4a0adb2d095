/**
 * Sluice on workerd (the Worker and its SluiceQueue Durable Objects, served by the real `workerd`
 * with the shipped workerd/sluice.capnp, storage on local disk):
 * - auth from the env bindings: every route but health refuses a missing or wrong token;
 * - kill -9 of workerd mid-flight, restart on the same storage dir: nothing receipted is lost;
 * - hibernation: the object is evicted after 10 s without events (workerd's own idle timer) while
 *   a consumer stays connected; the consumer acks with its token after the rebuild, and the
 *   leases it still holds are expired by the object's alarm — which wakes the object from a
 *   second hibernation — and redelivered to it within its restored credit. The incarnation
 *   header (`sluice-incarnation`) shows each rebuild.
 */
import { afterEach, describe, expect, test } from "../harness.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame, publishFrame } from "../../src/protocol/frame-builders.ts";
import { decodeErrorPayload } from "../../src/protocol/messages.ts";
import type { Frame } from "../../src/protocol/frames.ts";
import { delay } from "../../src/result/delay.ts";
import { openFrameSocket } from "./frame-socket.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const TOKEN = "s3cret-edge";
const servers: ServerProcess[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop("SIGKILL").catch(() => {});
});

async function start(options: Parameters<typeof startServer>[1]): Promise<ServerProcess> {
  const server = await startServer("workerd", options);
  servers.push(server);
  return server;
}

const auth = { authorization: `Bearer ${TOKEN}` };
const text = (s: string) => new TextEncoder().encode(s);
const ws = (server: ServerProcess, queue: string, token = TOKEN) => `${server.url.replace("http", "ws")}/v1/queues/${queue}/ws?token=${token}`;

/** Whether a WebSocket to `url` opens (false: the upgrade was refused). */
function opens(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = new WebSocket(url);
    socket.onopen = () => (socket.close(), resolve(true));
    socket.onerror = () => resolve(false);
    socket.onclose = () => resolve(false);
  });
}

describe("workerd: auth from the env bindings", () => {
  test("every route but health refuses a missing or wrong token; the right one passes (WebSocket: ?token= too)", async () => {
    const server = await start({ config: { queues: { jobs: {} } }, env: { SLUICE_AUTH_TOKENS: `other,${TOKEN}` } });
    const base = server.url;
    for (const path of ["/healthz", "/readyz"]) expect((await fetch(`${base}${path}`)).status).toBe(200);
    const routes: [string, string, string?][] = [
      ["POST", "/v1/queues/jobs/messages", "m"],
      ["GET", "/v1/queues/jobs"],
      ["GET", "/v1/queues/jobs/poison"],
      ["POST", "/v1/queues/jobs/poison/replay", '{"all":true}'],
      ["GET", "/v1/queues/jobs/metrics"],
      ["GET", "/v1/queues/jobs/ws"],
      ["GET", "/v1/queues/nope"],
      ["GET", "/metrics"],
      ["GET", "/_sluice/wasm"],
      ["POST", "/sluice.v1.Relay/Send", '{"command":{"queue":"jobs","payload":"eA=="}}'],
    ];
    for (const [method, path, body] of routes) {
      for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: `Basic ${TOKEN}` }] as Record<string, string>[]) {
        const refused = await fetch(`${base}${path}`, { method, body, headers: { ...headers, "content-type": "application/json" } });
        expect(`${method} ${path} ${refused.status}`).toBe(`${method} ${path} 401`);
        expect(await refused.json()).toMatchObject({ error: { code: "unauthorized" } });
      }
      const allowed = await fetch(`${base}${path}`, { method, body, headers: { ...auth, "content-type": "application/json" } });
      const expected = path.endsWith("/ws") ? 426 : path.includes("nope") ? 404 : path.endsWith("/messages") ? 202 : 200;
      expect(`${method} ${path} ${allowed.status}`).toBe(`${method} ${path} ${expected}`);
    }
    // The WebSocket route: no token / a wrong one → no socket; ?token= or the header → a socket.
    for (const url of [ws(server, "jobs", ""), ws(server, "jobs", "wrong")]) expect(await opens(url)).toBe(false);
    const socket = await openFrameSocket(ws(server, "jobs"));
    await socket.barrier();
    socket.close();
    const viaHeader = new WebSocket(`${server.url.replace("http", "ws")}/v1/queues/jobs/ws`, { headers: auth } as unknown as string[]);
    await waitFor(() => viaHeader.readyState === WebSocket.OPEN, 5000, "a socket with the header");
    viaHeader.close();
  }, 60_000);
});

describe("workerd: kill -9 mid-flight", () => {
  for (const run of [1, 2, 3]) test(`run ${run}: restarted on the same storage dir, every receipted message is acked or still there`, async () => {
    const dataDir = tempDir();
    const options = { config: { queues: { jobs: { leaseMs: 60_000, capacity: 100_000 } } }, env: { SLUICE_AUTH_TOKENS: TOKEN, SLUICE_DATA_DIR: dataDir } };
    let server = await start(options);
    const receipted = new Set<number>();
    const acked = new Set<number>();
    const producer = await openFrameSocket(ws(server, "jobs"), (f) => f.type === FrameType.RECEIPT && receipted.add(f.id));
    const consumer = await openFrameSocket(ws(server, "jobs"), (f: Frame) => {
      if (f.type !== FrameType.DELIVER) return;
      const id = Number(new TextDecoder().decode(f.payload));
      if (id % 3 !== 0) return; // two thirds stay leased when the process dies
      consumer.send(ackFrame(f.id));
      acked.add(id);
    });
    consumer.send(creditFrame(1_000_000));
    // Batches of 20 PUBLISH frames per message and single frames, at most 500 unanswered at a time.
    let next = 1;
    let killed = false;
    const publishing = (async () => {
      for (let round = 0; !killed; round++) {
        if (next - 1 - receipted.size >= 500) {
          await delay(1);
          continue;
        }
        const frames = Array.from({ length: round % 2 === 0 ? 20 : 1 }, () => publishFrame(next, text(String(next++))));
        try {
          producer.send(frames.length === 1 ? frames[0]! : Uint8Array.from(frames.flatMap((f) => [...f])));
        } catch {
          return;
        }
        if (round % 4 === 0) await delay(0);
      }
    })();
    await waitFor(() => receipted.size >= 3000, 30_000, "3,000 receipts before the kill");
    await server.stop("SIGKILL");
    killed = true;
    await publishing;
    const beforeKill = receipted.size;
    expect(beforeKill).toBeGreaterThanOrEqual(3000);

    server = await start(options);
    const after = new Set<number>();
    let redeliveries = 0;
    const drain = await openFrameSocket(ws(server, "jobs"), (f) => {
      if (f.type !== FrameType.DELIVER) return;
      after.add(Number(new TextDecoder().decode(f.payload)));
      if (f.arg >= 2) redeliveries++; // leased when workerd died: attempt + 1 (a stall)
      drain.send(ackFrame(f.id));
    });
    drain.send(creditFrame(1_000_000));
    await waitFor(async () => (await getJson<{ pending: number; active: number }>(`${server.url}/v1/queues/jobs`, TOKEN)).pending === 0, 30_000, "the backlog to drain");
    await drain.barrier();
    const lost = [...receipted].filter((id) => !acked.has(id) && !after.has(id));
    console.log(`workerd kill -9 (run ${run}): ${beforeKill} receipted (${next - 1} sent), ${acked.size} acked before the kill, ${after.size} delivered after the restart (${redeliveries} of them leased at the kill), lost ${lost.length}`);
    expect(lost).toEqual([]);
    expect(redeliveries).toBeGreaterThan(0);
    expect(await getJson(`${server.url}/v1/queues/jobs`, TOKEN)).toMatchObject({ pending: 0, active: 0 });
  }, 90_000);
});

describe("workerd: hibernation", () => {
  test("an evicted object keeps its consumer: acks by token after the rebuild, and its alarm expires the rest and redelivers within the credit", async () => {
    const server = await start({ config: { queues: { jobs: { leaseMs: 32_000 } } }, env: { SLUICE_AUTH_TOKENS: TOKEN } });
    const incarnation = async () => Number((await fetch(`${server.url}/v1/queues/jobs`, { headers: auth })).headers.get("sluice-incarnation"));
    // `next` fails at once if the socket closes: every wait below also shows it stayed open.
    const consumer = await openFrameSocket(ws(server, "jobs"));
    consumer.send(creditFrame(4));
    for (const m of ["a", "b", "c"]) expect((await fetch(`${server.url}/v1/queues/jobs/messages`, { method: "POST", body: m, headers: auth })).status).toBe(202);
    const delivered = [await consumer.next(FrameType.DELIVER), await consumer.next(FrameType.DELIVER), await consumer.next(FrameType.DELIVER)];
    const leasedAt = Date.now();
    expect(await incarnation()).toBe(1);

    // workerd evicts an object 10 s after its last event (its lease book is written 1 s after it).
    await delay(13_000);
    consumer.send(ackFrame(delivered[0]!.id)); // wakes it: rebuilt from storage, the token still good
    await consumer.barrier();
    expect(await incarnation()).toBe(2);
    const stats = await getJson<Record<string, number>>(`${server.url}/v1/queues/jobs`, TOKEN);
    expect(stats).toMatchObject({ acked: 1, active: 2, pending: 0 });

    // Quiet again: evicted again; the alarm at the leases' deadline wakes it and expires them.
    const redelivered = await consumer.next(FrameType.DELIVER, 45_000);
    const waited = Date.now() - leasedAt;
    expect(waited).toBeGreaterThanOrEqual(31_000);
    expect(redelivered.arg).toBe(2); // the second delivery of b or c
    expect([delivered[1]!.id, delivered[2]!.id]).not.toContain(redelivered.id);
    expect(await incarnation()).toBe(3); // the alarm rebuilt it: nothing else had woken it
    expect(await getJson(`${server.url}/v1/queues/jobs`, TOKEN)).toMatchObject({ expired: 2, active: 1, pending: 1 });
    // One credit was left: exactly one redelivery. The stale tokens are refused; the new one acks.
    consumer.send(ackFrame(delivered[1]!.id));
    consumer.send(ackFrame(redelivered.id));
    await consumer.barrier();
    const refused = await consumer.next(FrameType.ERROR);
    expect(decodeErrorPayload(refused.payload)).toMatchObject({ ok: true, value: { code: "lease.inactive" } });
    expect(await getJson(`${server.url}/v1/queues/jobs`, TOKEN)).toMatchObject({ acked: 1, active: 0, pending: 1 });
    consumer.close();
  }, 90_000);
});
