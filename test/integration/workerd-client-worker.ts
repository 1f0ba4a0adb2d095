/**
 * A workerd worker that runs the SDK (src/client/, bundled into the worker by
 * workerd-client.test.ts) against Sluice servers on loopback and answers with what happened, as
 * JSON. `POST /` with a `Scenario` runs every section in turn, each bounded by its own deadline (a
 * section that does not finish reports `timeout: …` instead of hanging the request); any other
 * request answers `ready` (the test's readiness probe).
 *
 * @example
 * ```ts
 * const out = await (await fetch(worker, { method: "POST", body: JSON.stringify(scenario) })).json();
 * ```
 */
import { type ClientEvent, Consumer, DuplexProducer, Producer } from "../../src/client/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import type { Result } from "../../src/result/result.ts";

/** Where the servers are (all on loopback). */
export interface Scenario {
  /** A real Sluice server (Bun child, SQLite store), authTokens = [token], queues `jobs`, `keep` and `big`. */
  readonly sluice: string;
  readonly token: string;
  /** Sluice apps whose HTTP duplex route refuses (501) or stalls; no auth, queue `jobs`. */
  readonly refuse: string;
  readonly stall: string;
  /** A Sluice app without WebSocket upgrades (`/ws` answers 501). */
  readonly noUpgrades: string;
}

type Section = Record<string, unknown>;

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const codeOf = (r: Result<unknown>) => (r.ok ? "ok" : r.error.code);
const reconnect = RetryPolicy.fixed({ attempts: 4, delayMs: 20 });

/** `run()`'s section, or why there is none: `timeout: …` after `ms`, or `threw: …`. */
async function bounded(what: string, ms: number, run: () => Promise<Section>): Promise<Section | string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(`timeout: ${what} after ${ms} ms`), ms)));
  try {
    return await Promise.race([run(), late]);
  } catch (thrown) {
    return `threw: ${String(thrown)}`;
  } finally {
    clearTimeout(timer);
  }
}

/** Producer: three publishes (each receipted), then flush. */
async function producer(s: Scenario): Promise<Section> {
  const producer = new Producer({ url: s.sluice, queue: "jobs", token: s.token });
  const receipts = await Promise.all(["p1", "p2", "p3"].map((m) => producer.publish(bytes(m))));
  const flush = codeOf(await producer.flush());
  producer.close();
  return { receipts: receipts.map(codeOf), flush };
}

/** DuplexProducer over HTTP duplex: two at once, then one more after their receipts (the body still open). */
async function duplex(s: Scenario): Promise<Section> {
  const events: string[] = [];
  const producer = new DuplexProducer({ url: s.sluice, queue: "jobs", token: s.token, onEvent: (e) => events.push(e.type === "connected" ? `connected ${e.transport}` : e.type) });
  const first = await Promise.all(["d1", "d2"].map((m) => producer.publish(bytes(m))));
  const third = await producer.publish(bytes("d3"));
  const flush = codeOf(await producer.flush());
  const transport = producer.transport;
  const end = codeOf(await producer.end());
  return { receipts: [...first, third].map(codeOf), flush, transport, end, events };
}

/** flush() as a barrier: publishes to `keep` not awaited one by one (WebSocket and HTTP duplex), then flush(); the test kill -9s the server after it. */
async function durable(s: Scenario): Promise<Section> {
  const options = { url: s.sluice, queue: "keep", token: s.token };
  const producer = new Producer(options);
  const duplex = new DuplexProducer(options);
  const sent = [
    ...Array.from({ length: 20 }, (_, i) => producer.publish(bytes(`ws-${i}`))),
    ...Array.from({ length: 20 }, (_, i) => duplex.publish(bytes(`duplex-${i}`))),
  ];
  const flushed = (await Promise.all([producer.flush(), duplex.flush()])).map(codeOf);
  const answers = (await Promise.all(sent)).filter((r) => r.ok).length;
  producer.close();
  await duplex.end();
  return { flushed, answers, transport: duplex.transport };
}

/** Consumer: receives the six messages above, acks each, flushes the acks. */
async function consumer(s: Scenario): Promise<Section> {
  const consumer = new Consumer({ url: s.sluice, queue: "jobs", token: s.token, credit: 8 });
  const consumed: string[] = [];
  let error: string | undefined;
  while (consumed.length < 6) {
    const d = await consumer.receive();
    if (!d.ok) {
      error = d.error.code;
      break;
    }
    consumed.push(text(d.value.payload));
    consumer.ack(d.value);
  }
  const flush = codeOf(await consumer.flush());
  consumer.close();
  return { consumed, flush, error };
}

/** The SDK's error cases, each with its code: 401, 404, 501, a delivery over maxFrameBytes. */
async function errors(s: Scenario): Promise<Section> {
  const wrong = { url: s.sluice, queue: "jobs", token: "wrong", reconnect };
  const ended: string[] = [];
  const reader = new Consumer({ ...wrong, onEvent: (e: ClientEvent) => e.type === "ended" && ended.push(e.error.code) });
  const refused = await reader.receive();
  const wrongToken = refused.ok ? "ok" : `${refused.error.code} ${refused.error.metadata?.status} attempts=${refused.error.metadata?.attempts}`;
  const wrongTokenProducer = codeOf(await new Producer(wrong).publish(bytes("x")));
  const wrongDuplex = new DuplexProducer(wrong);
  const wrongTokenDuplex = `${codeOf(await wrongDuplex.publish(bytes("x")))} ${wrongDuplex.transport}`;

  const nope = { url: s.sluice, queue: "nope", token: s.token, reconnect };
  const unknownQueueProducer = codeOf(await new Producer(nope).publish(bytes("x")));
  const unknownQueueConsumer = codeOf(await new Consumer(nope).receive());

  const bare = await new Consumer({ url: s.noUpgrades, queue: "jobs", reconnect }).receive();
  const noUpgrades = bare.ok ? "ok" : `${bare.error.code} ${bare.error.metadata?.status} retryable=${bare.error.metadata?.retryable} attempts=${bare.error.metadata?.attempts}`;

  const big = { url: s.sluice, queue: "big", token: s.token };
  const producer = new Producer(big);
  const published = [codeOf(await producer.publish(new Uint8Array(4096).fill(65))), codeOf(await producer.publish(bytes("small")))];
  producer.close();
  const reported: string[] = [];
  const small = new Consumer({ ...big, credit: 4, maxFrameBytes: 1024, onError: (e) => reported.push(`${e.code} ${e.metadata?.payloadLength}`) });
  const next = await small.receive();
  const afterOversize = next.ok ? text(next.value.payload) : next.error.code;
  if (next.ok) small.ack(next.value);
  const oversizeFlush = codeOf(await small.flush());
  small.close();
  return {
    wrongToken,
    wrongTokenEnded: ended,
    wrongTokenProducer,
    wrongTokenDuplex,
    unknownQueueProducer,
    unknownQueueConsumer,
    noUpgrades,
    oversize: { published, reported, afterOversize, flush: oversizeFlush },
  };
}

/** DuplexProducer against a server whose duplex route is broken: ten publishes, each receipted after the fallback. */
async function fallback(url: string): Promise<Section> {
  const events: ClientEvent[] = [];
  const producer = new DuplexProducer({ url, queue: "jobs", stallTimeoutMs: 300, onEvent: (e) => events.push(e) });
  const started = Date.now();
  const answers = await Promise.all(Array.from({ length: 10 }, (_, i) => producer.publish(bytes(`f${i}`))));
  const ms = Date.now() - started;
  const transport = producer.transport;
  const flush = codeOf(await producer.flush());
  const end = codeOf(await producer.end());
  const why = events.find((e) => e.type === "fallback");
  const reason = why?.type === "fallback" ? { code: why.error.code, status: why.error.metadata?.status ?? null } : null;
  return { answers: answers.map(codeOf), transport, flush, end, reason, ms };
}

export default {
  async fetch(request: Request): Promise<Response> {
    if (request.method !== "POST") return new Response("ready");
    const s = (await request.json()) as Scenario;
    return Response.json({
      userAgent: navigator.userAgent,
      globalWebSocket: typeof WebSocket,
      producer: await bounded("producer", 10_000, () => producer(s)),
      duplex: await bounded("duplex", 10_000, () => duplex(s)),
      consumer: await bounded("consumer", 10_000, () => consumer(s)),
      durable: await bounded("durable", 10_000, () => durable(s)),
      errors: await bounded("errors", 15_000, () => errors(s)),
      fallbackRefuse: await bounded("fallback (refuse)", 10_000, () => fallback(s.refuse)),
      fallbackStall: await bounded("fallback (stall)", 10_000, () => fallback(s.stall)),
    });
  },
};
