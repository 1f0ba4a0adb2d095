// The JSON text sub-protocol `sluice.json.v1` (issue 14), spoken by a generic WebSocket client
// (the `ws` package, as wscat uses it) against the real server on Bun, on Deno and on workerd (a SluiceQueue Durable Object): publish in
// UTF-8 and base64, receipts by id, credit → deliver → ack, ping → pong, and clear errors.
import { afterEach, describe, expect, test } from "../harness.ts";
import WebSocket from "ws";
import { getJson, type ServerProcess, startServer, waitFor } from "./server-process.ts";

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

async function connect(url: string) {
  const ws = new WebSocket(url, ["sluice.json.v1"]);
  const inbox: Record<string, unknown>[] = [];
  ws.on("message", (data, binary) => {
    expect(binary).toBe(false); // text only, on this sub-protocol
    inbox.push(JSON.parse(String(data)));
  });
  await new Promise<void>((resolve, reject) => {
    ws.once("open", () => resolve());
    ws.once("error", reject);
  });
  const next = async (op: string) => {
    await waitFor(() => inbox.some((m) => m.op === op), 5000, `a ${op} message`);
    return inbox.splice(inbox.findIndex((m) => m.op === op), 1)[0]!;
  };
  return { ws, next, send: (m: unknown) => ws.send(typeof m === "string" ? m : JSON.stringify(m)) };
}

for (const runtime of ["bun", "deno", "workerd"] as const) {
  describe(`sluice.json.v1 (server on ${runtime})`, () => {
    test("a generic client publishes, consumes and acks in JSON text", async () => {
      server = await startServer(runtime, { config: { queues: { jobs: {} } } });
      const url = `${server.url.replace("http", "ws")}/v1/queues/jobs/ws`;
      const producer = await connect(url);
      expect(producer.ws.protocol).toBe("sluice.json.v1");
      producer.send({ op: "publish", id: "7", data: "hello", encoding: "utf8" });
      producer.send({ op: "publish", id: "9007199254740991", data: btoa(String.fromCharCode(0, 255, 1)), encoding: "base64" });
      expect(await producer.next("receipt")).toMatchObject({ op: "receipt", id: "7", sequenceId: "1" });
      expect(await producer.next("receipt")).toMatchObject({ op: "receipt", id: "9007199254740991", sequenceId: "2" });
      producer.send("{not json");
      expect(await producer.next("error")).toMatchObject({ op: "error", code: "frame.malformed" });
      producer.send({ op: "publish", id: "x1", data: "bad id" });
      expect((await producer.next("error")).message).toContain("id must be a decimal string");
      producer.send({ op: "ping" });
      expect(await producer.next("pong")).toEqual({ op: "pong" });

      const consumer = await connect(url);
      consumer.send({ op: "credit", n: 10 });
      const first = await consumer.next("deliver");
      const second = await consumer.next("deliver");
      expect(first).toMatchObject({ op: "deliver", attempt: 1, data: "hello", encoding: "utf8" });
      expect(second).toMatchObject({ op: "deliver", attempt: 1, data: btoa(String.fromCharCode(0, 255, 1)), encoding: "base64" });
      expect(typeof first.token).toBe("string");
      consumer.send({ op: "ack", token: first.token });
      consumer.send({ op: "nack", token: second.token, requeue: false, error: { code: "validation", message: "bad payload" } });
      consumer.send({ op: "ack", token: "12345" });
      expect(await consumer.next("error")).toMatchObject({ op: "error", code: "lease.inactive", id: "12345" });
      await waitFor(async () => (await getJson<{ acked: number; poisoned: number }>(`${server!.url}/v1/queues/jobs`)).poisoned === 1, 5000, "the nack to poison");
      const stats = await getJson<{ acked: number; poisoned: number; pending: number }>(`${server.url}/v1/queues/jobs`);
      expect(stats).toMatchObject({ acked: 1, poisoned: 1, pending: 0 });
      const poison = await getJson<{ entries: { lastError: { code: string }; exhausted: string }[] }>(`${server.url}/v1/queues/jobs/poison`);
      expect(poison.entries[0]).toMatchObject({ lastError: { code: "validation" }, exhausted: "rejected" });
      producer.ws.close();
      consumer.ws.close();
    }, 60_000);
  });
}
