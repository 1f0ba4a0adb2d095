// The operator side of the SDK and the CLI's pure parts, runtime-neutral (Bun and Deno):
// Consumer `limit` never grants credit past it (so `sluice consume --count n` leaves nothing out),
// AdminClient sends the token as a header only and If-Match as a quoted version, refusals become
// errors with real codes (a missing route is told apart from a missing queue), the stats feed is
// parsed across chunk boundaries, rates, and the CLI's tables, failure lines and exit codes.
import { describe, expect, test } from "../harness.ts";
import { AdminClient, Consumer, queueRates, type QueueStatsView } from "../../src/client/mod.ts";
import { httpFailure } from "../../src/client/admin-http.ts";
import { parseEvent } from "../../src/client/stats-feed.ts";
import { FrameType } from "../../src/protocol/frame-layout.ts";
import { deliverFrame } from "../../src/protocol/frame-builders.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { sluiceError } from "../../src/result/errors.ts";
import { exitCodeFor, failureLine, usage } from "../../src/cli/context.ts";
import { formatTable } from "../../src/cli/table.ts";
import { FakeServer } from "./client-fakes.ts";

const tick = () => new Promise((r) => setTimeout(r, 2));

/** A server with `backlog` messages that delivers as much as it is granted. */
function deliveringServer(backlog: number) {
  let granted = 0;
  let next = 1;
  const server = new FakeServer((frame, socket) => {
    if (frame.type !== FrameType.CREDIT) return;
    granted += frame.arg;
    for (let i = 0; i < frame.arg && next <= backlog; i++, next++) socket.reply(deliverFrame(next, 1, new Uint8Array([next])));
  });
  const options = { url: "http://fake.test", queue: "q", WebSocket: server.WebSocket, fetch: server.fetch, reconnect: RetryPolicy.fixed({ attempts: 1, delayMs: 1 }) };
  return { server, options, granted: () => granted, delivered: () => next - 1 };
}

describe("Consumer limit", () => {
  for (const [limit, credit] of [[3, 32], [10, 4], [7, 7]] as const) {
    test(`limit ${limit}, credit ${credit}: exactly ${limit} granted and delivered, settling each`, async () => {
      const fake = deliveringServer(100);
      const consumer = new Consumer({ ...fake.options, credit, limit });
      for (let i = 0; i < limit; i++) {
        const d = await consumer.receive();
        expect(d.ok).toBe(true);
        if (d.ok) expect(consumer.ack(d.value).ok).toBe(true);
      }
      await tick();
      expect(fake.granted()).toBe(limit);
      expect(fake.delivered()).toBe(limit);
      consumer.close();
    });
  }

  test("without a limit, credit keeps being topped up", async () => {
    const fake = deliveringServer(100);
    const consumer = new Consumer({ ...fake.options, credit: 4 });
    for (let i = 0; i < 10; i++) {
      const d = await consumer.receive();
      if (d.ok) consumer.ack(d.value);
    }
    await tick();
    const credits = fake.server.sockets[0]!.received.filter((f) => f.type === FrameType.CREDIT).map((f) => f.arg);
    expect(credits[0]).toBe(4);
    expect(fake.granted()).toBeGreaterThanOrEqual(10);
    consumer.close();
  });
});

describe("AdminClient", () => {
  const recording = (answer: (url: string, init: RequestInit) => Response) => {
    const calls: { url: string; init: RequestInit }[] = [];
    const fetcher = (async (input: string | URL | Request, init?: RequestInit) => {
      calls.push({ url: String(input), init: init ?? {} });
      return answer(String(input), init ?? {});
    }) as typeof fetch;
    return { calls, fetcher };
  };

  test("token in the Authorization header, never the URL; If-Match quoted; selections as the server wants them", async () => {
    const { calls, fetcher } = recording((url) =>
      Response.json(url.endsWith("/replay") ? { replayed: 2 } : url.endsWith("/purge") ? { purged: 1 } : url.endsWith("/config") ? { version: 4 } : { queues: [] })
    );
    const admin = new AdminClient({ url: "http://h:1/base/", token: "t0k", fetch: fetcher });
    expect(await admin.queues()).toEqual({ ok: true, value: [] });
    expect(await admin.replay("a b", [3, 4])).toEqual({ ok: true, value: 2 });
    expect(await admin.purge("jobs", "all")).toEqual({ ok: true, value: 1 });
    expect(await admin.putConfig({ queues: {} }, 3)).toEqual({ ok: true, value: { version: 4 } });
    expect(calls.map((c) => c.url)).toEqual([
      "http://h:1/base/v1/queues",
      "http://h:1/base/v1/queues/a%20b/poison/replay",
      "http://h:1/base/v1/queues/jobs/poison/purge",
      "http://h:1/base/v1/control/config",
    ]);
    for (const c of calls) {
      expect(c.url).not.toContain("t0k");
      expect((c.init.headers as Record<string, string>).authorization).toBe("Bearer t0k");
    }
    expect(calls[1]!.init.body).toBe('{"ids":[3,4]}');
    expect(calls[2]!.init.body).toBe('{"all":true}');
    expect((calls[3]!.init.headers as Record<string, string>)["if-match"]).toBe('"3"');
    expect((await admin.putConfig({}, -1)).ok).toBe(false);
  });

  test("the stats feed: events split across chunks, comments and other events skipped, a refusal is one error", async () => {
    const text = 'retry: 1000\n\n: hi\n\nevent: stats\ndata: {"at":1,"queues":[{"queue":"q","pending":2}]}\n\nevent: other\ndata: {}\n\nevent: stats\r\ndata: {"at":2,"queues":[]}\r\n\r\n';
    const chunks = [text.slice(0, 20), text.slice(20, 53), text.slice(53)];
    const { calls, fetcher } = recording(() =>
      new Response(new ReadableStream({ start: (c) => (chunks.forEach((s) => c.enqueue(new TextEncoder().encode(s))), c.close()) }), { headers: { "content-type": "text/event-stream" } })
    );
    const admin = new AdminClient({ url: "http://h:1", token: "t", fetch: fetcher });
    const got = [];
    for await (const sample of admin.statsFeed({ intervalMs: 250 })) got.push(sample.ok ? sample.value.at : sample.error.code);
    expect(got).toEqual([1, 2, "unavailable"]); // the server ended the stream
    expect(calls[0]!.url).toBe("http://h:1/v1/stats/stream?intervalMs=250");
    expect((calls[0]!.init.headers as Record<string, string>).authorization).toBe("Bearer t");

    const refused = recording(() => Response.json({ error: { code: "unauthorized", message: "invalid bearer token" } }, { status: 401 }));
    const results = [];
    for await (const sample of new AdminClient({ url: "http://h:1", fetch: refused.fetcher }).statsFeed()) results.push(sample);
    expect(results.length).toBe(1);
    expect(!results[0]!.ok && results[0]!.error.code).toBe("unauthorized");
    expect(parseEvent("event: stats\ndata: nope")).toMatchObject({ ok: false });
    expect(parseEvent(": comment")).toBeUndefined();
  });

  test("refusals keep their codes; a missing route is told apart from a missing queue", () => {
    expect(httpFailure("GET", "/v1/queues", 401, { error: { code: "unauthorized", message: "invalid bearer token" } })).toMatchObject({ code: "unauthorized", metadata: { status: 401 } });
    const route = httpFailure("GET", "/v1/cluster/members", 404, { error: { code: "not_found", message: "no route for GET /v1/cluster/members" } });
    expect(route).toMatchObject({ code: "not_found", metadata: { missingRoute: true } });
    expect(route.message).toBe("this server has no GET /v1/cluster/members (404): it does not serve this yet");
    const queue = httpFailure("GET", "/v1/queues/x", 404, { error: { code: "not_found", message: 'no queue named "x"' } });
    expect(queue.metadata?.missingRoute).toBeUndefined();
    const conflict = httpFailure("PUT", "/v1/control/config", 409, { error: { code: "conflict", message: "If-Match 2 is not the current version (3)" } });
    expect(conflict).toMatchObject({ code: "validation", metadata: { status: 409, serverCode: "conflict" } });
    const fields = httpFailure("PUT", "/v1/control/config", 400, { error: { code: "validation", message: "rejected", fields: [{ path: "queues.a.leaseMs", message: "must be positive" }] } });
    expect(fields.message).toBe("400 rejected (queues.a.leaseMs: must be positive)");
    expect(httpFailure("GET", "/x", 502, undefined, "Bad Gateway").code).toBe("unavailable");
  });

  test("queueRates: per second between two samples, never negative", () => {
    const s = { queue: "q", pending: 0, active: 0, poisoned: 0, enqueued: 10, acked: 5, failed: 0, requeued: 0, expired: 0, poisonedTotal: 0, backpressure: false } satisfies QueueStatsView;
    expect(queueRates(s, { ...s, enqueued: 30, acked: 9, poisonedTotal: 1 }, 2000)).toEqual({ enqueued: 10, acked: 2, failed: 0, poisoned: 0.5 });
    expect(queueRates(s, { ...s, enqueued: 0 }, 1000).enqueued).toBe(0); // a restarted server
    expect(queueRates(s, s, 0).enqueued).toBe(0);
  });
});

describe("CLI output", () => {
  test("tables right-align numbers; failure lines are one line with the code; exit codes by kind", () => {
    expect(formatTable(["QUEUE", "DEPTH"], [["jobs", 1234], ["a", 5]])).toBe("QUEUE  DEPTH\njobs   1,234\na          5");
    expect(failureLine("stats", sluiceError("unauthorized", "401\nbad token"))).toBe("sluice stats: unauthorized: 401 bad token (pass --token or set SLUICE_TOKEN)");
    expect(failureLine("config", sluiceError("validation", "409 stale", { metadata: { serverCode: "conflict" } }))).toBe("sluice config: conflict: 409 stale");
    expect(failureLine("poison", usage("needs a queue"))).toBe("sluice poison: needs a queue");
    expect([usage("x"), sluiceError("unauthorized", "x"), sluiceError("not_found", "x"), sluiceError("unavailable", "x")].map(exitCodeFor)).toEqual([2, 3, 4, 1]);
  });
});
