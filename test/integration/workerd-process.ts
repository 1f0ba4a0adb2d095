/**
 * Test helper: Sluice on the real `workerd` binary (npm), as `startServer("workerd", …)` runs it —
 * the Worker bundled once per test process by Bun's bundler, served with the shipped
 * workerd/sluice.capnp on a free loopback port, the Durable Objects' SQLite under
 * `SLUICE_DATA_DIR` (a fresh temp dir unless given, so a restart on the same dir finds its data).
 * The test's sluice.config.json goes in as the `SLUICE_CONFIG` binding, `env` as the other
 * bindings. `stop("SIGKILL")` is a kill -9 of workerd itself.
 *
 * @example
 * ```ts
 * const server = await startWorkerd({ config: { queues: { q: {} } }, env: { SLUICE_AUTH_TOKENS: "t" } });
 * await fetch(`${server.url}/healthz`);
 * await server.stop("SIGKILL");
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { delay } from "../../src/result/delay.ts";
import type { ServerProcess, StartOptions } from "./server-process.ts";
import { tempDir } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const WORKERD = join(ROOT, "node_modules/.bin/workerd");
let built: Promise<string> | undefined;

/** A port that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** Bundles the Worker once per process; returns the path of the copied workerd/sluice.capnp. */
export function builtWorker(): Promise<string> {
  built ??= (async () => {
    const out = tempDir();
    mkdirSync(join(out, "build/workerd"), { recursive: true });
    mkdirSync(join(out, "workerd"), { recursive: true });
    const result = await Bun.build({ entrypoints: [join(ROOT, "src/runtime/workerd.ts")], target: "browser", format: "esm", external: ["*.wasm"] });
    if (!result.success) throw new Error(result.logs.map(String).join("\n"));
    writeFileSync(join(out, "build/workerd/worker.js"), await result.outputs[0]!.text());
    copyFileSync(join(ROOT, "build/sluice.wasm"), join(out, "build/sluice.wasm"));
    copyFileSync(join(ROOT, "workerd/sluice.capnp"), join(out, "workerd/sluice.capnp"));
    return join(out, "workerd/sluice.capnp");
  })();
  return built;
}

/** workerd serving Sluice (see the module doc); a probed port taken meanwhile gets another try. */
export async function startWorkerd(options: StartOptions = {}): Promise<ServerProcess> {
  if (!existsSync(WORKERD)) throw new Error(`${WORKERD} is missing: npm install`);
  const capnp = await builtWorker();
  const dataDir = options.env?.SLUICE_DATA_DIR ?? tempDir();
  mkdirSync(dataDir, { recursive: true });
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const args = ["serve", capnp, "--socket-addr", `http=127.0.0.1:${port}`, "--directory-path", `sluice-data=${resolve(dataDir)}`];
    const env = { ...process.env, SLUICE_CONFIG: JSON.stringify(options.config ?? {}), ...options.env };
    const child: ChildProcess = spawn(WORKERD, args, { env, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let exitCode: number | null | undefined;
    const exited = new Promise<void>((r) => child.on("exit", (code) => ((exitCode = code), r())));
    child.stdout!.on("data", (d) => (output += String(d)));
    child.stderr!.on("data", (d) => (output += String(d)));
    const url = `http://127.0.0.1:${port}`;
    const deadline = Date.now() + (options.timeoutMs ?? 20_000);
    let up = false;
    while (!up && exitCode === undefined && Date.now() < deadline) {
      up = (await fetch(`${url}/healthz`).catch(() => undefined))?.ok === true;
      if (!up) await delay(25);
    }
    if (!up) {
      child.kill("SIGKILL");
      await exited;
      if (attempt < 3 && /address already in use/i.test(output)) continue;
      throw new Error(`workerd did not start (attempt ${attempt}):\n${output}`);
    }
    return {
      url,
      port,
      pid: child.pid!,
      output: () => output,
      async stop(signal = "SIGTERM", timeoutMs = 30_000) {
        if (exitCode === undefined) child.kill(signal);
        const until = Date.now() + timeoutMs;
        while (exitCode === undefined && Date.now() < until) await delay(20);
        if (exitCode === undefined) {
          child.kill("SIGKILL");
          await exited;
        }
        return { code: exitCode ?? null, output };
      },
    };
  }
}
