// A crash loop against the real server process (Bun, durable store): a message whose delivery
// kills the server every time — the consumer SIGKILLs the server the moment that message's
// DELIVER arrives — is a stall on every restart and ends in the poison queue after `maxStalls`
// (3) restarts, recorded with exhausted "stalls" and a history of 3 attempts; the other messages
// are delivered once each, at attempt 1, and none of them is poisoned.
import { afterEach, describe, expect, test } from "../harness.ts";
import { rmSync } from "node:fs";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { ackFrame, creditFrame, pingFrame } from "../../src/protocol/frame-builders.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";
import { openFrameSocket } from "./frame-socket.ts";

const QUEUE = "loop";
const CONFIG = { queues: { [QUEUE]: { maxStalls: 3, maxRetries: 5, leaseMs: 60_000 } } };
const POISON = "poison-pill";
const encoder = new TextEncoder();
const decoder = new TextDecoder();

let servers: ServerProcess[] = [];
let dirs: string[] = [];
afterEach(async () => {
  for (const s of servers) await s.stop("SIGKILL").catch(() => {});
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
  servers = [];
  dirs = [];
});

interface PoisonList {
  count: number;
  entries: Array<{ sequenceId: number; payload: string; attempts: number; exhausted: string; lastError: { code: string }; history: Array<{ attempt: number; code: string }> }>;
}

async function post(server: ServerProcess, body: string): Promise<void> {
  const res = await fetch(`${server.url}/v1/queues/${QUEUE}/messages`, { method: "POST", body: encoder.encode(body) });
  expect(res.status).toBe(202);
}

/**
 * When the consumer kills the server:
 * - "durable": the moment the pill's lease is durable — on the PONG of a PING sent as soon as its
 *   DELIVER arrived (the PONG follows the commit of everything before it, the lease included);
 * - "on-deliver": inside the DELIVER callback itself. This holds because a stored queue sends a
 *   DELIVER only after the commit that records its lease (WsSession waits for it): before that fix,
 *   a kill in between lost the lease and the pill came back at the same attempt, uncounted.
 */
const MODES = [{ kill: "durable" }, { kill: "on-deliver" }] as const;

for (const mode of MODES) describe(`crash loop (server on bun, sqlite store; kill ${mode.kill})`, () => {
  test("a message that kills the server on every delivery is poisoned after maxStalls restarts; the others are unaffected", async () => {
    const dataDir = tempDir();
    dirs.push(dataDir);
    const start = async () => {
      const s = await startServer("bun", { config: CONFIG, env: { SLUICE_DATA_DIR: dataDir, SLUICE_STORAGE: "sqlite" } });
      servers.push(s);
      return s;
    };

    const delivered = new Map<string, number[]>(); // payload → attempts it was delivered with
    const published = ["ok-1", "ok-2", "ok-3", "ok-4", POISON, "ok-5", "ok-6", "ok-7", "ok-8"];
    const poisonAttempts: number[] = [];
    const PILL_PING = 0x7fff_0000;

    /**
     * One life of the server: a consumer with credit 1 acks every other message (each ack made
     * durable with a PING/PONG barrier before the next credit) and kills the server when the
     * poison pill's DELIVER arrives (see MODES).
     */
    const consume = async (server: ServerProcess, expectKill: boolean, othersExpected: number): Promise<void> => {
      let killed: Promise<{ code: number | null }> | undefined;
      const socket = await openFrameSocket(`${server.url.replace("http", "ws")}/v1/queues/${QUEUE}/ws`, (frame) => {
        // kill -9 right here, in the message callback, before anything else runs.
        if (frame.type === FrameType.DELIVER && decoder.decode(frame.payload) === POISON) {
          if (mode.kill === "on-deliver") killed ??= server.stop("SIGKILL");
          else socket.send(pingFrame(PILL_PING));
        } else if (frame.type === FrameType.PONG && frame.id === PILL_PING) killed ??= server.stop("SIGKILL");
      });
      socket.send(creditFrame(1));
      let others = 0;
      while (others < othersExpected || expectKill) {
        const next = await socket.next(FrameType.DELIVER, 15_000);
        const body = decoder.decode(next.payload);
        (delivered.get(body) ?? delivered.set(body, []).get(body)!).push(next.arg);
        if (body === POISON) {
          expect(expectKill).toBe(true);
          poisonAttempts.push(next.arg);
          break;
        }
        socket.send(ackFrame(next.id));
        await socket.barrier(); // the ack is committed before the next delivery
        others++;
        socket.send(creditFrame(1));
      }
      if (expectKill) {
        await waitFor(() => killed !== undefined, 10_000, "the kill");
        expect((await killed!).code).toBeNull(); // ended by the signal, not an exit
      } else {
        socket.close();
      }
    };

    // Life 1: four messages are consumed, then the pill kills the server.
    let server = await start();
    for (const body of published) await post(server, body);
    await consume(server, true, 4);
    expect(poisonAttempts).toEqual([1]);

    // Lives 2 and 3: the pill comes back first (a stall each time: attempt + 1) and kills again.
    // A message published in each life waits behind it.
    for (const life of [2, 3]) {
      server = await start();
      await post(server, `late-${life}`);
      await consume(server, true, 0);
      expect(poisonAttempts).toEqual(life === 2 ? [1, 2] : [1, 2, 3]);
    }

    // Life 4: three stalls used up its budget at recovery; it is in the poison queue, never delivered again.
    server = await start();
    expect(server.output()).toMatch(new RegExp(`${QUEUE}: \\d+ held, 1 poisoned`));
    const poison = await getJson<PoisonList>(`${server.url}/v1/queues/${QUEUE}/poison`);
    expect(poison.count).toBe(1);
    const entry = poison.entries[0]!;
    expect(atob(entry.payload)).toBe(POISON);
    expect(entry.exhausted).toBe("stalls");
    expect(entry.attempts).toBe(3);
    expect(entry.lastError.code).toBe("lease.expired");
    expect(entry.history.map((h) => [h.attempt, h.code])).toEqual([[1, "lease.expired"], [2, "lease.expired"], [3, "lease.expired"]]);
    await consume(server, false, 6);
    const stats = await getJson<{ pending: number; active: number; poisoned: number }>(`${server.url}/v1/queues/${QUEUE}`);
    expect(stats).toMatchObject({ pending: 0, active: 0, poisoned: 1 });

    // Every other message was delivered exactly once, at attempt 1.
    const others = [...published.filter((b) => b !== POISON), "late-2", "late-3"];
    expect(Object.fromEntries([...delivered].filter(([b]) => b !== POISON))).toEqual(Object.fromEntries(others.map((b) => [b, [1]])));
    expect(delivered.get(POISON)).toEqual([1, 2, 3]);

    // The poison entry is itself durable: one more kill -9 and restart still lists it.
    await server.stop("SIGKILL");
    server = await start();
    const again = await getJson<PoisonList>(`${server.url}/v1/queues/${QUEUE}/poison`);
    expect(again.entries.map((e) => [atob(e.payload), e.exhausted, e.history.length])).toEqual([[POISON, "stalls", 3]]);
    expect(await getJson<{ pending: number }>(`${server.url}/v1/queues/${QUEUE}`)).toMatchObject({ pending: 0, poisoned: 1 });
  }, 60_000);
});
