// Issue 12, "every input checked", replay part: POST /v1/queues/:q/poison/replay takes exactly
// {"ids":[positive ints…]} or {"all":true}; anything else is 400 and replays nothing, and a body
// past its 64 KiB limit is refused (413) without being read into memory.
import { describe, expect, test } from "../harness.ts";
import { createApp } from "../../src/server/app.ts";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";

async function withPoison(count: number) {
  const loaded = loadConfig({ fileText: JSON.stringify({ queues: { jobs: {} } }) });
  if (!loaded.ok) throw new Error(loaded.error.message);
  const broker = new Broker({ config: loaded.value });
  const app = createApp(loaded.value, { broker });
  const queue = broker.queue("jobs")!;
  for (let i = 1; i <= count; i++) await queue.enqueue(new Uint8Array([i]));
  for (let i = 1; i <= count; i++) queue.fail(queue.tryLease()!, { code: "validation", message: "bad" }, { requeue: false });
  const replay = (body: RequestInit["body"], headers: Record<string, string> = {}) =>
    app.request("/v1/queues/jobs/poison/replay", { method: "POST", body, headers: { "content-type": "application/json", ...headers }, duplex: "half" } as RequestInit);
  return { queue, replay };
}

describe("poison replay input", () => {
  test("anything but {ids:[…]} or {all:true} is 400 validation and replays nothing", async () => {
    const { queue, replay } = await withPoison(3);
    const bad = [
      null,
      "",
      "   ",
      "null",
      "[]",
      "[1]",
      '"1"',
      "1",
      "true",
      "{}",
      '{"idz":[1]}',
      '{"__proto__":{"ids":[1]}}',
      '{"__proto__":null}',
      '{"ids":[1],"all":true}',
      '{"ids":[1],"extra":1}',
      '{"all":false}',
      '{"all":"true"}',
      '{"all":1}',
      '{"ids":1}',
      '{"ids":[0]}',
      '{"ids":[-1]}',
      '{"ids":[1.5]}',
      '{"ids":["1"]}',
      '{"ids":null}',
      "{not json",
    ];
    for (const body of bad) {
      const response = await replay(body);
      const answer = (await response.json()) as { error?: { code: string } };
      expect({ body, status: response.status, code: answer.error?.code }).toEqual({ body, status: 400, code: "validation" });
      expect((await queue.poison.list()).length).toBe(3);
    }
    expect(queue.stats().pending).toBe(0);
  });

  test('{"ids":[…]} replays those entries, {"all":true} the rest', async () => {
    const { queue, replay } = await withPoison(3);
    expect(await (await replay('{"ids":[2,99]}')).json()).toEqual({ queue: "jobs", replayed: 1 });
    expect(queue.stats()).toMatchObject({ pending: 1, poisoned: 2 });
    expect(await (await replay('{"ids":[]}')).json()).toEqual({ queue: "jobs", replayed: 0 });
    expect(await (await replay('{"all":true}')).json()).toEqual({ queue: "jobs", replayed: 2 });
    expect(queue.stats()).toMatchObject({ pending: 3, poisoned: 0 });
  });

  test("a body past 64 KiB is refused with 413 without being read to its end (a 100 MiB body is not buffered)", async () => {
    const { queue, replay } = await withPoison(2);
    let pulled = 0;
    const hundredMiB = 100 * 1024 * 1024;
    const chunk = new TextEncoder().encode(" ".repeat(64 * 1024));
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('{"ids":['));
      },
      pull(controller) {
        if (pulled >= hundredMiB) return controller.close();
        pulled += chunk.byteLength;
        controller.enqueue(chunk);
      },
    });
    const streamed = await replay(body);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("frame.too_large");
    expect(pulled).toBeLessThan(1024 * 1024);

    const declared = await replay('{"all":true}', { "content-length": String(hundredMiB) });
    expect(declared.status).toBe(413);
    expect((await queue.poison.list()).length).toBe(2);

    // Just under the limit is read and judged on its shape.
    const padded = `{"ids":[1]${" ".repeat(64 * 1024 - 20)}}`;
    expect((await replay(padded)).status).toBe(200);
    expect((await queue.poison.list()).length).toBe(1);
  });
});
