// The SDK inside workerd (Cloudflare's open-source runtime): workerd-client-worker.ts, with
// src/client/ bundled into it by Bun's bundler, runs in the real `workerd` binary and talks over
// loopback (the config's network service allows private and local addresses) to a real Sluice
// server child on Bun (auth on) and to Sluice apps served in this process (app-server.ts): one
// whose HTTP duplex route refuses (501), one whose duplex route stalls, one without WebSocket
// upgrades. With workerd's own `fetch` (a streaming request body, `duplex: "half"`) and its global
// `WebSocket`: Producer publishes and flushes (a kill -9 after flush() loses nothing); DuplexProducer streams over HTTP duplex (a receipt
// comes back while the request body is still open); Consumer receives, acks and flushes; a wrong
// token, an unknown queue, a server without WebSocket upgrades and a delivery over maxFrameBytes
// each surface their code; DuplexProducer falls back to WebSocket when the route refuses or stalls.
import { afterEach, describe, expect, test } from "../harness.ts";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { type AppServer, serveApp } from "./app-server.ts";
import { getJson, type ServerProcess, startServer, tempDir, waitFor } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const WORKERD = join(ROOT, "node_modules/.bin/workerd");
const TOKEN = "s3cret-workerd";
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await Promise.resolve().then(cleanup).catch(() => {});
});

/** A port that was free a moment ago (the OS's pick for port 0, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

function capnp(port: number): string {
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [
    (name = "main", worker = .sdkWorker),
    (name = "loopback", network = (allow = ["public", "private", "local"])),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const sdkWorker :Workerd.Worker = (
  modules = [ (name = "worker.js", esModule = embed "worker.js") ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  globalOutbound = "loopback",
);
`;
}

/** Bundles the worker (and the SDK) into dir/worker.js, one ES module. */
async function buildWorker(dir: string): Promise<void> {
  const built = await Bun.build({ entrypoints: [join(ROOT, "test/integration/workerd-client-worker.ts")], target: "browser", format: "esm" });
  if (!built.success) throw new Error(built.logs.map(String).join("\n"));
  writeFileSync(join(dir, "worker.js"), await built.outputs[0]!.text());
}

/** workerd serving dir/worker.js on loopback; a probed port taken in between gets another try. */
async function startWorkerd(dir: string): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    writeFileSync(join(dir, "sdk.capnp"), capnp(port));
    const child: ChildProcess = spawn(WORKERD, ["serve", join(dir, "sdk.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let exited = false;
    child.stdout!.on("data", (d) => (output += String(d)));
    child.stderr!.on("data", (d) => (output += String(d)));
    child.on("exit", () => (exited = true));
    cleanups.push(() => child.kill("SIGKILL"));
    const base = `http://127.0.0.1:${port}`;
    const ready = async () => exited || (await fetch(base).then((r) => r.text()).catch(() => "")) === "ready";
    await waitFor(ready, 20_000, `workerd to serve on ${base}`);
    if (!exited) return base;
    if (attempt >= 3) throw new Error(`workerd exited:\n${output}`);
  }
}

type Out = Record<string, Record<string, unknown>>;

describe("SDK inside workerd (Sluice server on Bun, loopback)", () => {
  test("Producer, DuplexProducer (HTTP duplex), Consumer, flush; 401/404/501/oversize codes; duplex → WebSocket fallback", async () => {
    expect(existsSync(WORKERD)).toBe(true);
    const dir = tempDir();
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    await buildWorker(dir);
    const dataDir = tempDir();
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const start = async () => {
      const started = await startServer("bun", {
        config: { authTokens: [TOKEN], queues: { jobs: {}, keep: {}, big: {} } },
        env: { SLUICE_STORAGE: "sqlite", SLUICE_DATA_DIR: dataDir },
      });
      cleanups.push(() => started.stop("SIGKILL"));
      return started;
    };
    const server: ServerProcess = await start();
    const apps: Record<"refuse" | "stall" | "noUpgrades", AppServer> = {
      refuse: serveApp({ stream: "refuse" }),
      stall: serveApp({ stream: "stall" }),
      noUpgrades: serveApp({ upgrades: false }),
    };
    for (const app of Object.values(apps)) cleanups.push(() => app.stop());
    const worker = await startWorkerd(dir);

    const scenario = { sluice: server.url, token: TOKEN, refuse: apps.refuse.url, stall: apps.stall.url, noUpgrades: apps.noUpgrades.url };
    const answer = await fetch(worker, { method: "POST", body: JSON.stringify(scenario), signal: AbortSignal.timeout(90_000) });
    expect(answer.status).toBe(200);
    const out = (await answer.json()) as Out;
    console.log(`workerd-client: ${JSON.stringify(out)}`);

    expect(String(out.userAgent)).toBe("Cloudflare-Workers");
    expect(String(out.globalWebSocket)).toBe("function");
    expect(out.producer).toEqual({ receipts: ["ok", "ok", "ok"], flush: "ok" });
    expect(out.duplex).toEqual({ receipts: ["ok", "ok", "ok"], flush: "ok", transport: "duplex", end: "ok", events: ["connected duplex"] });
    expect(out.consumer).toEqual({ consumed: ["p1", "p2", "p3", "d1", "d2", "d3"], flush: "ok" });
    expect(out.durable).toEqual({ flushed: ["ok", "ok"], answers: 40, transport: "duplex" });
    expect(out.errors).toEqual({
      wrongToken: "unauthorized 401 attempts=1",
      wrongTokenEnded: ["unauthorized"],
      wrongTokenProducer: "unauthorized",
      wrongTokenDuplex: "unauthorized duplex",
      unknownQueueProducer: "not_found",
      unknownQueueConsumer: "not_found",
      noUpgrades: "unavailable 501 retryable=false attempts=1",
      oversize: { published: ["ok", "ok"], reported: ["frame.too_large 4096"], afterOversize: "small", flush: "ok" },
    });
    const tenOk = Array.from({ length: 10 }, () => "ok");
    expect(out.fallbackRefuse).toMatchObject({ answers: tenOk, transport: "websocket", flush: "ok", end: "ok", reason: { code: "unavailable", status: 501 } });
    expect(Number(out.fallbackRefuse!.ms)).toBeLessThan(3000);
    expect(out.fallbackStall).toMatchObject({ answers: tenOk, transport: "websocket", flush: "ok", end: "ok", reason: { code: "timeout", status: null } });
    expect(Number(out.fallbackStall!.ms)).toBeGreaterThanOrEqual(290);

    // What the servers hold afterwards.
    expect(await getJson(`${server.url}/v1/queues/jobs`, TOKEN)).toMatchObject({ pending: 0, acked: 6 });
    const poison = await getJson<{ count: number; entries: { lastError: { code: string } }[] }>(`${server.url}/v1/queues/big/poison`, TOKEN);
    expect(poison.count).toBe(1);
    expect(poison.entries[0]!.lastError.code).toBe("frame.too_large");
    for (const broken of [apps.refuse, apps.stall]) {
      expect(broken.streams()).toBe(1);
      expect(broken.queue("jobs").stats().pending).toBe(10);
    }
    // flush() was a durability barrier: after kill -9 the store has every flushed publish and no acked message.
    await server.stop("SIGKILL");
    const restarted = await start();
    expect(await getJson(`${restarted.url}/v1/queues/keep`, TOKEN)).toMatchObject({ pending: 40 });
    expect(await getJson(`${restarted.url}/v1/queues/jobs`, TOKEN)).toMatchObject({ pending: 0 });
  }, 120_000);
});
