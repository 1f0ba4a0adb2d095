/**
 * A private `nats-server` child process for benchmarks and tests: JetStream on, loopback only,
 * a free port and a fresh store dir of its own, with `kill(signal)` and `restart()` (same port,
 * same store) for crash tests. test/support/nats.ts builds on it, and so do bench/jetstream-raw.ts
 * and scripts/cluster.ts (bench/ never imports test/). (bench/durable/nats.ts still has its own
 * older `spawnNats`, with `-p -1` and a monitoring port; it could move onto this.)
 * Uses only `node:` modules, so it runs under Bun, Deno and Node alike.
 *
 * Every server started here is SIGKILLed (and its temp store dir removed) when this process
 * ends, however it ends (a watchdog process sees to it when no exit hook runs: `bun test` runs
 * none, and kill -9 none anywhere), so a crashed test or bench leaves no nats-server behind.
 *
 * @example
 * ```ts
 * const nats = await startNatsServer({ jetstream: true });
 * try {
 *   // …connect to nats.url ("nats://127.0.0.1:<port>")…
 *   await nats.kill("SIGKILL");
 *   await nats.restart(); // same port, same store: acknowledged messages are still there
 * } finally {
 *   await nats.stop();
 * }
 * ```
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The nats-server binary: `NATS_SERVER_BIN`, else the usual install paths (Debian's apt package
 * puts it in /usr/sbin, often not on a user's PATH), else `command -v nats-server`; undefined
 * when there is none.
 *
 * @example
 * ```ts
 * if (natsServerBin() === undefined) console.log("apt-get install -y nats-server");
 * ```
 */
export function natsServerBin(): string | undefined {
  const candidates = [process.env.NATS_SERVER_BIN, "/usr/sbin/nats-server", "/usr/bin/nats-server", "/usr/local/bin/nats-server"];
  for (const c of candidates) if (c && existsSync(c)) return c;
  try {
    return execFileSync("sh", ["-c", "command -v nats-server"], { encoding: "utf8" }).trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * `nats-server --version`, e.g. "v2.9.10"; undefined when there is none.
 *
 * @example
 * ```ts
 * console.log(`nats-server ${natsServerVersion() ?? "missing"}`);
 * ```
 */
export function natsServerVersion(): string | undefined {
  const bin = natsServerBin();
  if (!bin) return undefined;
  try {
    return /v[\d.]+\S*/.exec(execFileSync(bin, ["--version"], { encoding: "utf8" }))?.[0];
  } catch {
    return undefined;
  }
}

/**
 * A free TCP port on 127.0.0.1, found by listening on port 0 and closing again. (Another
 * process may take it in between; `startNatsServer` retries on "address already in use".)
 *
 * @example
 * ```ts
 * const port = await freePort();
 * ```
 */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, host, () => {
      const address = probe.address();
      const port = typeof address === "object" && address !== null ? address.port : 0;
      probe.close(() => (port > 0 ? resolve(port) : reject(new Error("no port from the probe listener"))));
    });
  });
}

/**
 * Options of `startNatsServer`.
 *
 * @example
 * ```ts
 * const options: NatsServerOptions = { jetstream: true, readyTimeoutMs: 10_000 };
 * ```
 */
export interface NatsServerOptions {
  /** `-js`: enable JetStream with file storage in `storeDir`. Default true. */
  readonly jetstream?: boolean;
  /** The port; default a free one (probed via port 0). */
  readonly port?: number;
  /** JetStream store dir; default a fresh temp dir, removed by `stop()` (a given dir is kept). */
  readonly storeDir?: string;
  /** How long to wait for the server to accept connections, per start, in ms. Default 5000. */
  readonly readyTimeoutMs?: number;
  /** Server name (`-n`). Default "sluice-test". */
  readonly name?: string;
  /** Extra command-line arguments (e.g. `["-m", "8222"]` for the monitoring port). */
  readonly args?: readonly string[];
}

/**
 * A running private nats-server.
 *
 * @example
 * ```ts
 * const nats: NatsServerHandle = await startNatsServer();
 * console.log(nats.url, nats.pid, nats.output());
 * ```
 */
export interface NatsServerHandle {
  /** `nats://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  readonly storeDir: string;
  /** The pid of the current process (a restart changes it); undefined while it is down. */
  readonly pid: number | undefined;
  /** Everything the server printed (stdout and stderr) since it was first started. */
  output(): string;
  /**
   * Sends `signal` (default SIGKILL) and resolves once the process has exited (SIGKILL after
   * 5 s if it has not); SIGSTOP / SIGCONT resolve at once. The store dir stays.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port with the same store dir (stopping it first if it runs); resolves when it accepts connections. */
  restart(): Promise<void>;
  /** SIGTERM, SIGKILL after `graceMs` (default 5000); removes the store dir unless it was given. */
  stop(graceMs?: number): Promise<void>;
}

// Every nats-server this process started (and the temp store dirs to remove), so an exit or a
// signal takes them down too.
const live = new Map<ChildProcess, string | undefined>();
let hooked = false;
function cleanUpOnExit(): void {
  if (hooked) return;
  hooked = true;
  const cleanUp = () => {
    for (const [child, dir] of live) {
      child.kill("SIGKILL");
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    }
    live.clear();
  };
  process.on("exit", cleanUp);
  // Deno does not emit "exit" when the main module simply ends; it dispatches "unload" then.
  (globalThis as { addEventListener?: (type: string, fn: () => void) => void }).addEventListener?.("unload", cleanUp);
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    // Only when nobody else handles the signal: then the default would exit without "exit" hooks.
    if (process.listenerCount(sig) > 0) continue;
    process.on(sig, () => process.exit(130));
  }
}

// `bun test` ends its process without "exit" hooks, and any runner may die by SIGKILL: then
// only a process outside it can clean up. So each nats-server gets a tiny detached watchdog
// (its own process group, so a group kill of the runner does not take it along) that waits
// while both this process and the server live; if this process goes first, it SIGKILLs the
// server and removes the temp store dir. It exits by itself once the server is gone.
const WATCHDOG = `
while kill -0 "$1" 2>/dev/null && kill -0 "$2" 2>/dev/null; do sleep 1; done
if ! kill -0 "$1" 2>/dev/null; then
  kill -9 "$2" 2>/dev/null
  if [ -n "$3" ]; then sleep 1; rm -rf "$3"; fi
fi`;
function watchdog(serverPid: number | undefined, removeDir: string | undefined): void {
  if (serverPid === undefined || process.platform === "win32") return;
  try {
    spawn("sh", ["-c", WATCHDOG, "sluice-nats-watchdog", String(process.pid), String(serverPid), removeDir ?? ""], { detached: true, stdio: "ignore" }).unref();
  } catch {
    // Best effort: without it the exit hooks above still cover Node and Deno.
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: "127.0.0.1", port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
    socket.setTimeout(500, () => done(false));
  });
}

/**
 * Starts `nats-server [-js -sd <storeDir>] -a 127.0.0.1 -p <port>` and waits (bounded by
 * `readyTimeoutMs`, default 5 s) until it has said "Server is ready" and accepts a TCP
 * connection. Throws when the binary is missing, the process exits early, or it is not ready
 * in time (with the server's output in the message).
 *
 * @example
 * ```ts
 * const nats = await startNatsServer({ jetstream: true });
 * console.log(nats.url); // nats://127.0.0.1:41533
 * await nats.stop();
 * ```
 */
export async function startNatsServer(options: NatsServerOptions = {}): Promise<NatsServerHandle> {
  const bin = natsServerBin();
  if (!bin) throw new Error("nats-server not found (apt-get install -y nats-server, or set NATS_SERVER_BIN)");
  cleanUpOnExit();
  const jetstream = options.jetstream ?? true;
  const ownsStore = options.storeDir === undefined;
  const storeDir = options.storeDir ?? mkdtempSync(join(tmpdir(), "sluice-nats-"));
  const readyTimeoutMs = options.readyTimeoutMs ?? 5000;
  let output = "";
  let child: ChildProcess | undefined;
  let port = options.port ?? 0;

  const args = () => [
    ...(jetstream ? ["-js", "-sd", storeDir] : []),
    "-a",
    "127.0.0.1",
    "-p",
    String(port),
    "-n",
    options.name ?? "sluice-test",
    ...(options.args ?? []),
  ];

  const launch = async (): Promise<void> => {
    const from = output.length;
    const c = spawn(bin, args(), { stdio: ["ignore", "pipe", "pipe"] });
    child = c;
    live.set(c, ownsStore ? storeDir : undefined);
    watchdog(c.pid, ownsStore ? storeDir : undefined);
    c.on("exit", () => live.delete(c));
    c.on("error", (e) => (output += `spawn error: ${e.message}\n`));
    c.stdout!.on("data", (d) => (output += String(d)));
    c.stderr!.on("data", (d) => (output += String(d)));
    const deadline = Date.now() + readyTimeoutMs;
    for (;;) {
      const since = output.slice(from);
      if (/Server is ready/.test(since) && (await accepts(port))) return;
      if (exited(c)) throw new Error(`nats-server exited early (${c.exitCode ?? c.signalCode}):\n${since}`);
      if (Date.now() > deadline) {
        c.kill("SIGKILL");
        throw new Error(`nats-server on port ${port} was not ready within ${readyTimeoutMs} ms:\n${since}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const waitExit = (c: ChildProcess, graceMs: number): Promise<void> => {
    if (exited(c)) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => c.kill("SIGKILL"), graceMs);
      c.once("exit", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };

  // A probed port can be taken by someone else before the server binds it: probe again.
  for (let attempt = 1; ; attempt++) {
    if (options.port === undefined) port = await freePort();
    try {
      await launch();
      break;
    } catch (e) {
      const retry = options.port === undefined && attempt < 3 && /address already in use/i.test(String(e));
      if (!retry) {
        if (ownsStore) rmSync(storeDir, { recursive: true, force: true });
        throw e;
      }
    }
  }

  return {
    url: `nats://127.0.0.1:${port}`,
    port,
    storeDir,
    get pid() {
      return child !== undefined && !exited(child) ? child.pid : undefined;
    },
    output: () => output,
    async kill(signal: NodeJS.Signals = "SIGKILL") {
      const c = child;
      if (c === undefined || exited(c)) return;
      c.kill(signal);
      if (signal === "SIGSTOP" || signal === "SIGCONT") return;
      await waitExit(c, 5000);
    },
    async restart() {
      const c = child;
      if (c !== undefined && !exited(c)) {
        c.kill("SIGCONT");
        c.kill("SIGTERM");
        await waitExit(c, 5000);
      }
      await launch();
    },
    async stop(graceMs = 5000) {
      const c = child;
      if (c !== undefined && !exited(c)) {
        c.kill("SIGCONT"); // a stopped process would not act on SIGTERM
        c.kill("SIGTERM");
        await waitExit(c, graceMs);
      }
      if (ownsStore) rmSync(storeDir, { recursive: true, force: true });
    },
  };
}
