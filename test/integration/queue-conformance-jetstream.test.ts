/**
 * The queue conformance suite (test/conformance/) against `JetStreamQueue` on a real
 * nats-server, on real time (AckWait and pull expiry are the server's), with short leases. Each
 * case gets its own queue name (its own stream); a second `JetStreamQueue` on the same stream
 * plays a second node for the fencing case.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import type { NatsConnection } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { afterAll, describe } from "bun:test";
import { JetStreamQueue } from "../../src/backends/jetstream/jetstream-queue.ts";
import { jetStreamNames } from "../../src/backends/jetstream/names.ts";
import type { RelayQueue } from "../../src/queue/relay-queue.ts";
import { type ConformanceBackend, realTime } from "../conformance/backend.ts";
import { queueConformance } from "../conformance/queue-conformance.ts";
import { natsUrlForTests } from "../support/nats.ts";

const natsUrl = await natsUrlForTests();
const connections: NatsConnection[] = [];
let cases = 0;

function jetStreamBackend(url: string): ConformanceBackend {
  return {
    name: "jetstream",
    leaseMs: 800,
    sweepMs: 100,
    ...realTime(),
    async open(options) {
      // Each node gets its own connection, as separate Sluice processes would.
      const node = async (): Promise<{ nc: NatsConnection; queue: JetStreamQueue }> => {
        const nc = await connect({ servers: url });
        connections.push(nc);
        const queue = await JetStreamQueue.open({ js: jetstream(nc), jsm: await jetstreamManager(nc), name, ...options });
        return { nc, queue };
      };
      const name = `conformance-${process.pid}-${++cases}`;
      const first = await node();
      const peers: { nc: NatsConnection; queue: JetStreamQueue }[] = [];
      return {
        queue: first.queue,
        async peer(): Promise<RelayQueue<Uint8Array>> {
          const other = await node();
          peers.push(other);
          return other.queue;
        },
        async stats() {
          // What this node sent (acks, naks) reaches the server before the counts are read.
          await first.nc.flush();
          await first.queue.refresh();
          return first.queue.stats();
        },
        async close() {
          for (const n of [first, ...peers]) n.queue.close();
          const jsm = await jetstreamManager(first.nc);
          const names = jetStreamNames(name);
          for (const stream of [names.stream, names.poisonStream, `KV_${names.attempts}`]) await jsm.streams.delete(stream).catch(() => false);
          for (const n of [first, ...peers]) await n.nc.close();
        },
      };
    },
  };
}

afterAll(async () => {
  for (const nc of connections) if (!nc.isClosed()) await nc.close();
});

if (natsUrl === undefined) describe.skip("queue conformance: jetstream (no nats-server)", () => {});
else queueConformance(jetStreamBackend(natsUrl), 30_000);
