// The NATS test infrastructure itself (issue #15): a private nats-server from
// test/support/nats.ts keeps its JetStream store across `kill("SIGKILL")` + `restart()` (same
// port, same store dir), and a connection from src/runtime/nats.ts rides through the restart on
// its own. Also: `natsUrlForTests()` hands out a reachable server, and a failed first connect
// names the URL with its credentials masked. Every wait is bounded.
import { existsSync } from "node:fs";
import { jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connectNats, type NatsConnection } from "../../src/runtime/nats.ts";
import { afterEach, describe, expect, test } from "../harness.ts";
import { canStartNatsServer, freePort, type NatsServerHandle, natsUrlForTests, startNatsServer } from "../support/nats.ts";

/** Retries `fn` until it resolves or `withinMs` passes (then its last error is thrown). */
async function eventually<T>(fn: () => Promise<T>, withinMs = 10_000): Promise<T> {
  const until = Date.now() + withinMs;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > until) throw e;
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

async function connect(url: string): Promise<NatsConnection> {
  const r = await connectNats(url, { name: "nats-support-test", timeoutMs: 2000 });
  if (!r.ok) throw new Error(r.error.message);
  return r.value;
}

describe("connectNats without a server", () => {
  test("a failed first connect is `unavailable`, names the URL and masks its credentials", async () => {
    const port = await freePort();
    const r = await connectNats(`nats://sluice:hunter22@127.0.0.1:${port}`, { timeoutMs: 1000 });
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe("unavailable");
    expect(r.error?.message).toContain(`nats://***@127.0.0.1:${port}`);
    expect(r.error?.message).not.toContain("hunter22");
    const bad = await connectNats("ws://127.0.0.1:1");
    expect(bad.error?.code).toBe("validation");
  });
});

describe.skipIf(!canStartNatsServer())("private nats-server (test/support/nats.ts)", () => {
  let nats: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  afterEach(async () => {
    await nc?.close().catch(() => {});
    nc = undefined;
    await nats?.stop();
    nats = undefined;
  });

  test("kill -9 and restart keep the port and the JetStream store; the connection reconnects by itself", async () => {
    nats = await startNatsServer({ jetstream: true, name: "sluice-nats-support-test" });
    const { url, port, storeDir } = nats;
    expect(url).toBe(`nats://127.0.0.1:${port}`);
    nc = await connect(url);
    const jsm = await jetstreamManager(nc);
    await jsm.streams.add({ name: "SMOKE", subjects: ["smoke"], storage: StorageType.File, retention: RetentionPolicy.Workqueue });
    const ack = await jsm.jetstream().publish("smoke", "kept across kill -9");
    expect(ack.seq).toBe(1);

    const pidBefore = nats.pid;
    await nats.kill("SIGKILL");
    expect(nats.pid).toBeUndefined();
    await nats.restart();
    expect(nats.pid).toBeDefined();
    expect(nats.pid).not.toBe(pidBefore);
    expect(nats.port).toBe(port);
    expect(nats.storeDir).toBe(storeDir);

    // The same connection, reconnected on its own (it retries every ≤ 2 s). A request sent
    // while it is down is dropped by the client at the next dial and only times out, so first
    // wait for a PING round trip (a flush fails fast while disconnected).
    await eventually(() => nc!.flush());
    const stored = await eventually(() => jsm.streams.getMessage("SMOKE", { seq: 1 }));
    expect(stored?.string()).toBe("kept across kill -9");
    const info = await jsm.streams.info("SMOKE");
    expect(info.state.messages).toBe(1);

    await nats.stop();
    expect(existsSync(storeDir)).toBe(false);
    nats = undefined;
  });

  test("natsUrlForTests() hands out a server with JetStream", async () => {
    const url = await natsUrlForTests();
    expect(url).toBeDefined();
    nc = await connect(url!);
    const jsm = await jetstreamManager(nc);
    const account = await jsm.getAccountInfo();
    expect(account.limits).toBeDefined();
  });
});
