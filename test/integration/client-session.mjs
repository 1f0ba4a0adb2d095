// Run by client-node.test.ts with `node` (Node 20: no global WebSocket): the built package,
// imported by its name (package.json `exports`: Node takes `default` → dist/mod.js), publishes
// and consumes against a real Sluice, with the `ws` package's WebSocket injected. Prints one JSON
// line with what happened.
// Usage: node test/integration/client-node.mjs <server url>
import { WebSocket } from "ws";
import { Consumer, DuplexProducer, Producer } from "sluice";
import * as dist from "../../dist/mod.js";

const url = process.argv[2];
const out = { node: process.version, globalWebSocket: typeof globalThis.WebSocket !== "undefined", fromDist: Producer === dist.Producer };
const text = (bytes) => new TextDecoder().decode(bytes);

// Without an injected WebSocket (and none global on Node 20): the consumer ends with `validation`.
if (!out.globalWebSocket) {
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
console.log(JSON.stringify(out));
