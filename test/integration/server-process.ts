/**
 * Test helper: runs the real Sluice server (`src/runtime/bun.ts` or `src/runtime/deno.ts`) as a
 * child process on a free loopback port, waits for its "listening on" line, and stops it with a
 * signal. Spawns the runtime binaries directly (not the npm wrapper scripts), so signals reach
 * the server itself.
 *
 * @example
 * ```ts
 * const server = await startServer("bun", { config: { queues: { jobs: {} } } });
 * await fetch(`${server.url}/healthz`);
 * const { code } = await server.stop("SIGTERM");
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { delay } from "../../src/result/delay.ts";
/** A seeded PRNG, so random NACKs are the same on every run. */
export { mulberry32 as seeded } from "../seeded-random.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

/** The runtime binary to run a server with. */
export function runtimeBinary(runtime: "bun" | "deno"): string {
  const local = runtime === "bun" ? join(ROOT, "node_modules/bun/bin/bun.exe") : join(ROOT, "node_modules/deno/deno");
  return existsSync(local) ? local : runtime;
}

export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  /** The child's process id (for /proc sampling). */
  readonly pid: number;
  readonly output: () => string;
  /** Sends `signal` and resolves with the exit code once the process ended (bounded wait). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; output: string }>;
}

export interface StartOptions {
  /** sluice.config.json content (written to a temp file). */
  readonly config?: Record<string, unknown>;
  readonly env?: Record<string, string>;
  readonly timeoutMs?: number;
}

/** A fresh temp directory. */
export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "sluice-it-"));
}

/**
 * The Sluice server on `runtime`: Bun or Deno (src/runtime/<runtime>.ts), or workerd (the Worker
 * and its Durable Objects, workerd-process.ts) — one launcher, so a test parameterised by runtime
 * runs the same steps against each.
 */
export async function startServer(runtime: "bun" | "deno" | "workerd", options: StartOptions = {}): Promise<ServerProcess> {
  if (runtime === "workerd") return (await import("./workerd-process.ts")).startWorkerd(options);
  const dir = tempDir();
  const configPath = join(dir, "sluice.config.json");
  writeFileSync(configPath, JSON.stringify(options.config ?? {}));
  const entry = join(ROOT, "src/runtime", `${runtime}.ts`);
  const args = runtime === "bun" ? [entry] : ["run", "-A", entry];
  const child: ChildProcess = spawn(runtimeBinary(runtime), args, {
    cwd: dir,
    env: { ...process.env, PORT: "0", SLUICE_HOST: "127.0.0.1", SLUICE_CONFIG: configPath, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let exitCode: number | null | undefined;
  const exited = new Promise<void>((r) => child.on("exit", (code) => ((exitCode = code), r())));
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  const deadline = Date.now() + (options.timeoutMs ?? 20_000);
  let port = 0;
  while (port === 0) {
    const m = /listening on http:\/\/[^\s]+:(\d+)/.exec(output);
    if (m) port = Number(m[1]);
    else if (exitCode !== undefined) throw new Error(`server exited early (${exitCode}):\n${output}`);
    else if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server did not start:\n${output}`);
    } else await delay(20);
  }
  return {
    url: `http://127.0.0.1:${port}`,
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
        throw new Error(`server did not exit within ${timeoutMs} ms after ${signal}:\n${output}`);
      }
      return { code: exitCode, output };
    },
  };
}

/** Polls `check` until it returns true, failing after `timeoutMs` (no fixed sleeps). */
export async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await delay(25);
  }
}

/** GET JSON from the server. */
export async function getJson<T>(url: string, token?: string): Promise<T> {
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return (await res.json()) as T;
}


/** The value of one Prometheus series in a /metrics text, or NaN. */
export function metric(text: string, name: string, queue: string): number {
  const m = new RegExp(`^${name}\\{queue="${queue}",role="dispatcher"\\} (\\S+)$`, "m").exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * Memory of a running process from /proc/<pid>/status (Linux), in bytes: `rss` (VmRSS) and `peak`
 * (VmHWM, the high-water mark of the resident set). Undefined once the process is gone or off Linux.
 */
export function processMemory(pid: number): { rss: number; peak: number } | undefined {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, "utf8");
  } catch {
    return undefined;
  }
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, "m").exec(status)?.[1] ?? NaN) * 1024;
  const rss = kb("VmRSS");
  const peak = kb("VmHWM");
  return Number.isNaN(rss) || Number.isNaN(peak) ? undefined : { rss, peak };
}
