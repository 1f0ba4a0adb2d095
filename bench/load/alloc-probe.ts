// Allocation probe for the WebSocket hot path (issue 7): drives one producer and one consumer
// WsSession in-process (fake sockets that copy on send, like Bun's), publish → deliver → ack,
// one message per event-loop turn as in the 6,000 msg/s open loop. Two readings:
//
//   npx bun bench/load/alloc-probe.ts census      objects allocated per message, by JSC cell type
//                                                 (full GC, 1,000 messages, count the cells again)
//   BUN_JSC_logGC=1 npx bun bench/load/alloc-probe.ts run 100000
//                                                 young collections and their pauses for N messages
//
// The probe's own event-loop hops and fake sockets add 2 Promises, 6 Functions, 2 Immediates,
// 2 Uint8Arrays (the incoming buffers) and a DataView per message to the census.
import { heapStats } from "bun:jsc";
import { Broker } from "../../src/server/broker.ts";
import { loadConfig } from "../../src/server/config.ts";
import { WsSession } from "../../src/transport/ws-session.ts";
import { ControlWriter, FrameType, PublishWriter } from "./wire.ts";

const mode = process.argv[2] ?? "census";
const config = loadConfig({ fileText: JSON.stringify({ queues: { bench: { capacity: 100_000, leaseMs: 60_000, heartbeatMs: 30_000 } } }) });
if (!config.ok) throw new Error(config.error.message);
const broker = new Broker({ config: config.value });
const queue = broker.queues.get("bench")!;
const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
const afterIo = (run: () => void) => void setImmediate(run);
const delivered: number[] = [];
const producer = new WsSession({ queue, codec: broker.codec, peer: { send: () => true, close() {}, batch: (s) => s(), copiesOnSend: true }, coalesce: afterIo, accepting: () => true });
const consumer = new WsSession({
  queue,
  codec: broker.codec,
  peer: {
    send: (frame) => {
      if (frame[1] === FrameType.DELIVER) delivered.push(new DataView(frame.buffer, frame.byteOffset).getUint32(8, true));
      return true;
    },
    close() {},
    batch: (sends) => sends(),
    copiesOnSend: true,
  },
  coalesce: afterIo,
  accepting: () => true,
});
const publish = new PublishWriter(256);
const control = new ControlWriter();
consumer.handleMessage(control.write(FrameType.CREDIT, 0, 512).slice());

let sent = 0;
let owed = 0;
// Messages arrive as fresh buffers (as Bun hands them over), one per turn.
async function run(count: number): Promise<void> {
  for (const end = sent + count; sent < end; ) {
    producer.handleMessage(publish.write(sent++, 0).slice());
    await nextTurn();
    await nextTurn();
    for (const token of delivered) consumer.handleMessage(control.write(FrameType.ACK, token).slice());
    owed += delivered.length;
    delivered.length = 0;
    if (owed >= 256) {
      consumer.handleMessage(control.write(FrameType.CREDIT, 0, owed).slice());
      owed = 0;
    }
  }
}

if (mode === "census") {
  await run(5_000); // warm up the JIT first
  Bun.gc(true);
  const before = heapStats().objectTypeCounts as Record<string, number>;
  const count = 1_000; // ~1–4 MB of garbage: below the 8 MB young-generation trigger
  await run(count);
  const after = heapStats().objectTypeCounts as Record<string, number>;
  const rows = Object.entries(after)
    .map(([type, n]) => [type, (n - (before[type] ?? 0)) / count] as const)
    .filter(([, perMessage]) => perMessage >= 0.05)
    .sort((a, b) => b[1] - a[1]);
  console.log(`objects per message: ${rows.map(([type, n]) => `${type} ${n.toFixed(2)}`).join(", ")}`);
} else {
  const count = Number(process.argv[3] ?? 100_000);
  const started = performance.now();
  await run(count);
  console.log(`${count} messages in ${Math.round(performance.now() - started)} ms; queue ${JSON.stringify(queue.stats())}`);
}
await consumer.closed();
queue.close();
