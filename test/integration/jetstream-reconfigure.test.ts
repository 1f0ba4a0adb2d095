/**
 * `JetStreamQueue` changed live (issue 18) on a real nats-server: a lower capacity keeps every
 * message — nats-server deletes the oldest messages of a stream whose max_msgs drops below what
 * it holds, so the stream's limit is only ever raised and Sluice's admission keeps the lower
 * bound — a higher one raises the stream's limit, leaseMs moves the consumer's AckWait, and a
 * restart with a lower capacity (an LKG) loses nothing either; `seal` refuses publishes only.
 */
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { nanos } from "@nats-io/nats-core";
import { connect } from "@nats-io/transport-node";
import { describe, expect, test } from "bun:test";
import { JetStreamQueue } from "../../src/backends/jetstream/jetstream-queue.ts";
import { jetStreamNames } from "../../src/backends/jetstream/names.ts";
import { natsUrlForTests } from "../support/nats.ts";

const natsUrl = await natsUrlForTests();

describe.skipIf(natsUrl === undefined)("JetStreamQueue.reconfigure", () => {
  test("a lower capacity keeps every message (the stream limit stays), admission holds the new bound; a higher one raises the limit", async () => {
    const nc = await connect({ servers: natsUrl! });
    const js = jetstream(nc);
    const jsm = await jetstreamManager(nc);
    const name = `reconf-${process.pid}-${Date.now()}`;
    const names = jetStreamNames(name);
    const enc = (i: number) => new TextEncoder().encode(`m${i}`);
    try {
      const q = await JetStreamQueue.open({ js, jsm, name, capacity: 100, leaseMs: 5000, sweepMs: 100 });
      for (let i = 0; i < 50; i++) expect((await q.enqueue(enc(i))).ok).toBe(true);
      expect((await q.reconfigure({ capacity: 10, leaseMs: 8000, sweepMs: 100 })).ok).toBe(true);
      const info = await jsm.streams.info(names.stream);
      expect(info.state.messages).toBe(50); // nothing deleted
      expect(info.config.max_msgs).toBe(100); // the limit is not lowered on NATS
      expect((await jsm.consumers.info(names.stream, names.consumer)).config.ack_wait).toBe(nanos(8000));
      await q.refresh();
      const refused = q.tryEnqueue(enc(99));
      expect(!refused.ok && refused.error.code).toBe("queue.full");
      // A restart with the lower capacity (the node's LKG) keeps everything too.
      const again = await JetStreamQueue.open({ js, jsm, name, capacity: 5, leaseMs: 8000, sweepMs: 100 });
      expect((await jsm.streams.info(names.stream)).state.messages).toBe(50);
      again.close();
      let acked = 0;
      while (acked < 50) {
        const leased = await q.lease({ signal: AbortSignal.timeout(5000) });
        expect(leased.ok).toBe(true);
        if (leased.ok && q.ack(leased.value).ok) acked++;
      }
      await nc.flush();
      await q.refresh();
      expect(q.tryEnqueue(enc(100)).ok).toBe(true); // room again under the new bound
      expect((await q.reconfigure({ capacity: 500, sweepMs: 100 })).ok).toBe(true);
      expect((await jsm.streams.info(names.stream)).config.max_msgs).toBe(500);
      q.seal("removed");
      const sealed = q.tryEnqueue(enc(101));
      expect(!sealed.ok && sealed.error.code).toBe("queue.closed");
      q.close();
    } finally {
      for (const stream of [names.stream, names.poisonStream, `KV_${names.attempts}`]) await jsm.streams.delete(stream).catch(() => false);
      await nc.close();
    }
  }, 60_000);
});
