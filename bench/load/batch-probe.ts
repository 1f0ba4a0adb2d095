// CPU probe of the batched WebSocket path (issue 21): one producer and one consumer WsSession
// in-process (fake sockets that copy on send, like Bun's), both flagged ReadsBatches, `batch`
// PUBLISH frames per message → receipts and deliveries batched → one message of ACKs (+ CREDIT)
// back. No sockets: what it measures is the server's own JS per message (decode, enqueue,
// receipt, lease, DELIVER, ack), the part batching cannot remove.
//
//   npx bun bench/load/batch-probe.ts [messages=400000] [batch=128]
//   deno run -A bench/load/batch-probe.ts
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { FrameBatch, eachFrame } from "../../src/protocol/frame-batch.ts";
import { FrameFlag, FrameType } from "../../src/protocol/frame-layout.ts";
import { createJsFrameCodec } from "../../src/protocol/js-frame-codec.ts";

const total = Number(process.argv[2] ?? 400_000);
const per = Number(process.argv[3] ?? 128);
const config = loadConfig({ fileText: JSON.stringify({ queues: { bench: { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 } } }) });
if (!config.ok) throw new Error(config.error.message);
const broker = new Broker({ config: config.value });
const queue = broker.queues.get("bench")!;
const codec = createJsFrameCodec();
const tokens: number[] = [];
let receipts = 0;
const immediate = (run: () => void) => void setImmediate(run);
const producer = new WsSession({ queue, codec: broker.codec, peer: { send: (m) => void (receipts += m.byteLength > 0 ? 1 : 0), close() {}, copiesOnSend: true }, coalesce: immediate, accepting: () => true });
const consumer = new WsSession({
  queue,
  codec: broker.codec,
  peer: {
    send: (m) => void eachFrame(m, codec, (f) => f.ok && f.value.type === FrameType.DELIVER && tokens.push(f.value.id)),
    close() {},
    batch: (sends) => sends(),
    copiesOnSend: true,
  },
  coalesce: immediate,
  accepting: () => true,
});
const payload = new Uint8Array(256);
const out = new FrameBatch({ maxFrames: 100_000, maxBytes: 1 << 26, keepBytes: 1 << 26 });
out.write(FrameType.CREDIT, FrameFlag.ReadsBatches, 0, 100_000);
consumer.handleMessage(out.take());
const turn = () => new Promise<void>((r) => setImmediate(r));

async function run(count: number): Promise<void> {
  for (let sent = 0; sent < count; sent += per) {
    for (let i = 0; i < per; i++) out.write(FrameType.PUBLISH, FrameFlag.ReadsBatches, sent + i + 1, 0, payload);
    producer.handleMessage(out.take());
    await turn();
    for (const t of tokens) out.write(FrameType.ACK, FrameFlag.ReadsBatches, t, 0);
    out.write(FrameType.CREDIT, FrameFlag.ReadsBatches, 0, tokens.length);
    tokens.length = 0;
    consumer.handleMessage(out.take());
  }
}

await run(20_000); // warm-up
const cpu0 = process.cpuUsage();
const t0 = performance.now();
await run(total);
const ms = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const cpuUs = cpu.user + cpu.system;
console.log(`${total} messages, ${per} per batch: ${(cpuUs / total).toFixed(2)} µs CPU and ${((ms * 1000) / total).toFixed(2)} µs wall per message (incl. the probe's own frame building/reading); acked ${queue.stats().acked}`);
process.exit(0);
