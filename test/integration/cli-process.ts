/**
 * Test helper: runs the real `sluice` command (`src/cli/main.ts`) as a child process on Bun or
 * Deno, with optional stdin, and collects its exit code, stdout and stderr.
 *
 * @example
 * ```ts
 * const run = await runCli("bun", ["stats", "--json"], { env: { SLUICE_URL: server.url } });
 * expect(run.code).toBe(0);
 * ```
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { runtimeBinary } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
/**
 * The CLI entry (package.json `bin`).
 *
 * @example
 * ```ts
 * spawn("bun", [CLI, "stats"]);
 * ```
 */
export const CLI = join(ROOT, "src/cli/main.ts");

/**
 * What a CLI run ended with.
 *
 * @example
 * ```ts
 * const { code, stderr }: CliRun = await runCli("bun", ["stats"]);
 * ```
 */
export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `sluice <args>` on `runtime` and waits for it to exit (killed after `timeoutMs`).
 * The environment has no SLUICE_URL / SLUICE_TOKEN of its own: pass them in `env`.
 *
 * @example
 * ```ts
 * await runCli("deno", ["publish", "jobs"], { stdin: "a\nb\n", env: { SLUICE_URL: url } });
 * ```
 */
export function runCli(
  runtime: "bun" | "deno",
  args: readonly string[],
  options: { stdin?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<CliRun> {
  const argv = runtime === "bun" ? [CLI, ...args] : ["run", "-A", CLI, ...args];
  const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: "1", ...options.env };
  for (const key of ["SLUICE_URL", "SLUICE_TOKEN"]) if (options.env?.[key] === undefined) delete env[key];
  const child = spawn(runtimeBinary(runtime), argv, { cwd: ROOT, env, stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (d) => (stdout += String(d)));
  child.stderr!.on("data", (d) => (stderr += String(d)));
  child.stdin!.end(options.stdin ?? "");
  const timer = setTimeout(() => child.kill("SIGKILL"), options.timeoutMs ?? 45_000);
  return new Promise((done) =>
    child.on("close", (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    })
  );
}

/**
 * The lines of a text (no trailing empty line).
 *
 * @example
 * ```ts
 * lines("a\nb\n"); // ["a", "b"]
 * ```
 */
export function lines(text: string): string[] {
  return text.split("\n").filter((l) => l !== "");
}
