/**
 * Spawning the processes under test for the load benchmark — the real Sluice server
 * (`src/runtime/bun.ts`) and the raw echo server — as child processes on a free loopback port,
 * with the runtime binary itself as the child (not an npm/npx wrapper), so the pid is the
 * server's own: signals reach it and /proc/<pid>/status is its memory.
 *
 * @example
 * ```ts
 * const server = await spawnServer({ queues: { bench: { capacity: 100_000 } } });
 * console.log(server.url, readRssBytes(server.pid));
 * await server.stop();
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

/** A child process serving on loopback. */
export interface Child {
  readonly url: string;
  readonly port: number;
  readonly pid: number;
  readonly output: () => string;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * The runtime binary: the one installed in node_modules when there is one, else from PATH.
 *
 * @example
 * ```ts
 * spawn(runtimeBin("bun"), ["--version"]);
 * ```
 */
export function runtimeBin(runtime: "bun" | "deno"): string {
  const local = runtime === "bun" ? join(ROOT, "node_modules/bun/bin/bun.exe") : join(ROOT, "node_modules/deno/deno");
  return existsSync(local) ? local : runtime;
}

/**
 * Starts the Sluice server on Bun with `config` (written to a temp sluice.config.json).
 *
 * @example
 * ```ts
 * const server = await spawnServer({ queues: { bench: { capacity: 100_000 } } }, ["--cpu-prof"]);
 * const stored = await spawnServer(config, [], { SLUICE_STORAGE: "sqlite" }); // `env`: more server variables
 * ```
 */
export function spawnServer(config: Record<string, unknown>, bunFlags: readonly string[] = [], env: Record<string, string> = {}): Promise<Child> {
  const dir = mkdtempSync(join(tmpdir(), "sluice-load-"));
  const configPath = join(dir, "sluice.config.json");
  writeFileSync(configPath, JSON.stringify(config));
  // LOAD_SERVER_ENV="K=V,K=V": extra variables for the server only (e.g. BUN_JSC_logGC=1).
  const extra = Object.fromEntries((process.env.LOAD_SERVER_ENV ?? "").split(",").filter(Boolean).map((kv) => kv.split("=") as [string, string]));
  // The load bench measures the relay against a raw echo: memory queues, as before the store
  // became the server's default (bench/durable sets SLUICE_STORAGE itself, through `extra`).
  return start([...bunFlags, join(ROOT, "src/runtime/bun.ts")], dir, { SLUICE_CONFIG: configPath, SLUICE_STORAGE: "memory", SLUICE_DATA_DIR: dir, ...env, ...extra }, () =>
    rmSync(dir, { recursive: true, force: true })
  );
}

/**
 * Starts the raw Bun WebSocket echo server (the ceiling).
 *
 * @example
 * ```ts
 * const echo = await spawnEcho();
 * ```
 */
export function spawnEcho(): Promise<Child> {
  return start([join(ROOT, "bench/load/echo-server.ts")], ROOT, {}, () => {});
}

async function start(args: string[], cwd: string, env: Record<string, string>, cleanup: () => void): Promise<Child> {
  const child: ChildProcess = spawn(runtimeBin("bun"), args, {
    cwd,
    env: { ...process.env, PORT: "0", SLUICE_HOST: "127.0.0.1", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  let exited = false;
  const gone = new Promise<void>((r) => child.on("exit", () => ((exited = true), cleanup(), r())));
  child.stdout!.on("data", (d) => (output += String(d)));
  child.stderr!.on("data", (d) => (output += String(d)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /listening on (http:\/\/[^\s:]+:(\d+))/.exec(output);
    if (m) {
      const port = Number(m[2]);
      return {
        url: `http://127.0.0.1:${port}`,
        port,
        pid: child.pid!,
        output: () => output,
        async stop(graceMs = 5000) {
          if (exited) return;
          if (process.env.LOAD_DUMP) writeFileSync(`${process.env.LOAD_DUMP}.${child.pid}`, output);
          child.kill("SIGTERM");
          const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
          await gone;
          clearTimeout(timer);
        },
      };
    }
    if (exited) throw new Error(`${args.join(" ")} exited early:\n${output}`);
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${args.join(" ")} did not start within 20 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Resident set size of a process in bytes, from /proc/<pid>/status (VmRSS); NaN where there is no /proc.
 *
 * @example
 * ```ts
 * readRssBytes(server.pid) / 2 ** 20; // MiB
 * ```
 */
export function readRssBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system) a process has used, in ms, from /proc/<pid>/stat; NaN where there is no /proc.
 *
 * @example
 * ```ts
 * const before = readCpuMs(server.pid); // … run … ; readCpuMs(server.pid) - before
 * ```
 */
export function readCpuMs(pid: number): number {
  try {
    // Fields after "(comm) ": state is [0], utime [11], stime [12], in clock ticks (100 Hz on Linux).
    const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return NaN;
  }
}
