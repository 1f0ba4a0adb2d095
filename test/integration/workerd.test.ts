/**
 * The Sluice worker on workerd (Cloudflare's open-source runtime): bundles src/runtime/workerd.ts
 * with Bun's bundler, serves it with the real `workerd` binary on a loopback port, and checks
 * that the WASM module loads there (not the JS fallback) and that the app answers.
 */
import { describe, expect, test } from "../harness.ts";
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { runtimeBinary, tempDir, waitFor } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const WORKERD = join(ROOT, "node_modules/.bin/workerd");

function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolvePort(port));
    });
  });
}

function capnp(port: number): string {
  // Module names mirror the source tree so the worker's `../../build/sluice.wasm` import resolves.
  return `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [ (name = "main", worker = .sluiceWorker) ],
  sockets = [ (name = "http", address = "127.0.0.1:${port}", http = (), service = "main") ],
);
const sluiceWorker :Workerd.Worker = (
  modules = [
    (name = "src/runtime/workerd.js", esModule = embed "worker.js"),
    (name = "build/sluice.wasm", wasm = embed "sluice.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
);
`;
}

describe("workerd", () => {
  test("serves the app with the WASM hot path loaded", async () => {
    expect(existsSync(WORKERD)).toBe(true);
    const dir = tempDir();
    const built = spawnSync(
      runtimeBinary("bun"),
      ["build", join(ROOT, "src/runtime/workerd.ts"), "--target", "browser", "--format", "esm", "--external", "*.wasm", "--outfile", join(dir, "worker.js")],
      { encoding: "utf8" },
    );
    expect(built.status).toBe(0);
    copyFileSync(join(ROOT, "build/sluice.wasm"), join(dir, "sluice.wasm"));
    const port = await freePort();
    writeFileSync(join(dir, "sluice.capnp"), capnp(port));
    const child = spawn(WORKERD, ["serve", join(dir, "sluice.capnp")], { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (d) => (output += String(d)));
    child.stderr.on("data", (d) => (output += String(d)));
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitFor(async () => (await fetch(`${base}/healthz`).catch(() => undefined))?.ok === true, 20_000, `workerd to serve (${output})`);
      const wasm = await (await fetch(`${base}/_sluice/wasm`)).json();
      expect(wasm).toEqual({ mode: "wasm", frames: 1, status: 0, id: 7, leaseRoundTrip: true });
      const published = await fetch(`${base}/v1/queues/default/messages`, { method: "POST", body: "hello from workerd" });
      expect(published.status).toBe(202);
      const stats = await (await fetch(`${base}/v1/queues/default`)).json();
      expect(stats).toMatchObject({ pending: 1, enqueued: 1 });
      expect((await fetch(`${base}/v1/queues/nope`)).status).toBe(404);
      expect(await (await fetch(`${base}/metrics`)).text()).toContain('sluice_enqueued_total{queue="default",role="dispatcher"} 1');
      // The Relay over Connect (JSON) is served by the worker too.
      const sent = await fetch(`${base}/sluice.v1.Relay/Send`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ command: { queue: "default", correlationId: "w-1", payload: btoa("over relay") } }),
      });
      expect(await sent.json()).toMatchObject({ accepted: true, status: "DELIVERY_STATUS_ACCEPTED" });
      expect(await (await fetch(`${base}/v1/queues/default`)).json()).toMatchObject({ pending: 2, enqueued: 2 });
    } finally {
      child.kill("SIGTERM");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
