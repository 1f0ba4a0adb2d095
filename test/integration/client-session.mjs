// One SDK session against a real Sluice, run by client-node.test.ts with `node` and with
// `deno run`: publish over WebSocket and flush, publish over HTTP duplex, a publish to an unknown
// queue, consume and ack, a plain HTTP publish, a Relay Send over Connect (JSON), a publish over
// the JSON text sub-protocol, /healthz and /metrics. It imports the package by its name (on Node,
// package.json `exports` → `default` → dist/mod.js) or the module given as second argument (Deno:
// src/mod.ts), and injects the `ws` package's WebSocket where the runtime has none (Node 20).
// Prints one JSON line with what happened.
// Usage: node test/integration/client-session.mjs <server url> [module]
const url = process.argv[2];
const sdk = await import(process.argv[3] ?? "sluice");
const { Consumer, DuplexProducer, Producer } = sdk;
const globalWebSocket = typeof globalThis.WebSocket !== "undefined";
const out = { runtime: globalThis.Deno ? `deno ${globalThis.Deno.version.deno}` : `node ${process.version}`, globalWebSocket };
if (!process.argv[3]) out.fromDist = Producer === (await import("../../dist/mod.js")).Producer;
// Node 20 has no global WebSocket: without one injected the consumer ends with `validation`.
const WebSocket = globalWebSocket ? undefined : (await import("ws")).WebSocket;
const text = (bytes) => new TextDecoder().decode(bytes);

if (!globalWebSocket) {
  const bare = new Consumer({ url, queue: "jobs" });
  const r = await bare.receive();
  out.withoutWebSocket = r.ok ? "ok" : r.error.code;
}

const options = { url, queue: "jobs", WebSocket };
const producer = new Producer(options);
const receipts = await Promise.all(["n1", "n2", "n3"].map((s) => producer.publish(new TextEncoder().encode(s))));
out.receipts = receipts.map((r) => (r.ok ? r.value.sequenceId : r.error.code));
out.flush = (await producer.flush()).ok;
producer.close();

const duplex = new DuplexProducer(options);
const streamed = await Promise.all(["d1", "d2"].map((s) => duplex.publish(new TextEncoder().encode(s))));
out.duplex = streamed.map((r) => (r.ok ? "ok" : r.error.code));
out.duplexTransport = duplex.transport;
await duplex.end();

const unknown = await new Producer({ ...options, queue: "nope" }).publish(new Uint8Array(1));
out.unknownQueue = unknown.ok ? "ok" : unknown.error.code;

const consumer = new Consumer({ ...options, credit: 8 });
out.consumed = [];
while (out.consumed.length < 5) {
  const d = await consumer.receive();
  if (!d.ok) {
    out.consumeError = d.error.code;
    break;
  }
  out.consumed.push(text(d.value.payload));
  consumer.ack(d.value);
}
out.ackFlush = (await consumer.flush()).ok;
consumer.close();

const posted = await fetch(`${url}/v1/queues/jobs/messages`, { method: "POST", body: "over http" });
out.httpPublish = posted.status;

// The Relay over Connect (JSON), as any HTTP client calls it.
const sent = await fetch(`${url}/sluice.v1.Relay/Send`, {
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify({ command: { queue: "jobs", correlationId: "relay-1", payload: btoa("over relay") } }),
});
out.relay = (await sent.json()).status;

// The JSON text sub-protocol with this runtime's WebSocket (the `ws` package on Node 20).
const Socket = WebSocket ?? globalThis.WebSocket;
out.json = await new Promise((resolve) => {
  const socket = new Socket(`${url.replace("http", "ws")}/v1/queues/jobs/ws`, ["sluice.json.v1"]);
  const timer = setTimeout(() => resolve("no answer"), 5000);
  socket.onopen = () => socket.send(JSON.stringify({ op: "publish", id: "1", data: "over json" }));
  socket.onmessage = (event) => {
    clearTimeout(timer);
    const message = JSON.parse(String(event.data));
    socket.close();
    resolve(`${socket.protocol} ${message.op} ${message.id}`);
  };
});

out.health = (await (await fetch(`${url}/healthz`)).json()).status;
out.metrics = /sluice_enqueued_total\{queue="jobs",role="dispatcher"\} \d+/.test(await (await fetch(`${url}/metrics`)).text());
out.stats = await (await fetch(`${url}/v1/queues/jobs`)).json();
console.log(JSON.stringify(out));
