/**
 * What every `sluice` command gets: the server (`--url` / `SLUICE_URL`), the token (`--token` /
 * `SLUICE_TOKEN`), `--json`, an `AdminClient`, output functions, a signal that aborts on Ctrl-C,
 * and the exit code each failure maps to. Only `node:` built-ins, which Bun and Deno both have.
 *
 * @example
 * ```ts
 * const ctx = createContext({ url: undefined, token: undefined, json: false }, process.env);
 * ctx.out(`server: ${ctx.url}`);
 * ```
 *
 * @module
 */
import process from "node:process";
import { AdminClient } from "../client/admin.ts";
import { type SluiceError, sluiceError } from "../result/errors.ts";

/**
 * Exit codes of the `sluice` command.
 *
 * @example
 * ```ts
 * process.exit(EXIT.unauthorized); // 3
 * ```
 */
export const EXIT = { ok: 0, failed: 1, usage: 2, unauthorized: 3, notFound: 4, interrupted: 130 } as const;

/**
 * The default server URL when neither `--url` nor `SLUICE_URL` is given.
 *
 * @example
 * ```ts
 * DEFAULT_URL; // "http://127.0.0.1:8787"
 * ```
 */
export const DEFAULT_URL = "http://127.0.0.1:8787";

/**
 * A command's view of the invocation.
 *
 * @example
 * ```ts
 * async function run(ctx: CliContext) { ctx.out((await ctx.admin.health()).ok ? "up" : "down"); }
 * ```
 */
export interface CliContext {
  readonly url: string;
  readonly token: string | undefined;
  /** `--json`: machine-readable output on stdout. */
  readonly json: boolean;
  readonly admin: AdminClient;
  /** Aborted by the first Ctrl-C (SIGINT) or SIGTERM: watches, consumers and benches stop cleanly. */
  readonly signal: AbortSignal;
  /** Writes a line to stdout. */
  out(line: string): void;
  /** Writes a line to stderr. */
  note(line: string): void;
  /** Rewrites the current stderr line (a progress line); only on a terminal. */
  progress(line: string): void;
  readonly stdoutIsTTY: boolean;
  readonly stderrIsTTY: boolean;
  readonly stdinIsTTY: boolean;
}

/**
 * Builds the context from the global options and the environment.
 *
 * @example
 * ```ts
 * createContext({ url: "http://127.0.0.1:9000", token: "s3cret", json: true }, process.env);
 * ```
 */
export function createContext(
  options: { url: string | undefined; token: string | undefined; json: boolean },
  env: Readonly<Record<string, string | undefined>>,
  signal: AbortSignal,
): CliContext {
  const url = options.url ?? env.SLUICE_URL ?? DEFAULT_URL;
  const token = options.token ?? (env.SLUICE_TOKEN || undefined);
  const write = (stream: { write(text: string): unknown }, text: string) => {
    try {
      stream.write(text);
    } catch {
      // a closed pipe (`| head`): nothing more to say
    }
  };
  return {
    url,
    token,
    json: options.json,
    admin: new AdminClient({ url, token }),
    signal,
    out: (line) => write(process.stdout, `${line}\n`),
    note: (line) => write(process.stderr, `${line}\n`),
    progress: (line) => {
      if (process.stderr.isTTY) write(process.stderr, `\r\u001b[2K${line}`);
    },
    stdoutIsTTY: process.stdout.isTTY === true,
    stderrIsTTY: process.stderr.isTTY === true,
    stdinIsTTY: process.stdin.isTTY === true,
  };
}

/**
 * A usage mistake (exit 2): bad flags, a missing argument.
 *
 * @example
 * ```ts
 * return err(usage("publish needs a queue: sluice publish <queue> [data|-]"));
 * ```
 */
export function usage(message: string): SluiceError {
  return sluiceError("validation", message, { metadata: { usage: true } });
}

/**
 * The exit code for a failure: usage 2, `unauthorized` 3, `not_found` 4 (no such queue, or a
 * route the server does not serve), anything else 1.
 *
 * @example
 * ```ts
 * exitCodeFor(sluiceError("unauthorized", "401")); // 3
 * ```
 */
export function exitCodeFor(error: SluiceError): number {
  if (error.metadata?.usage === true) return EXIT.usage;
  if (error.code === "unauthorized") return EXIT.unauthorized;
  if (error.code === "not_found") return EXIT.notFound;
  if (error.code === "canceled") return EXIT.interrupted;
  return EXIT.failed;
}

/**
 * The one line printed for a failure: `sluice <command>: <code>: <message>`, newlines folded.
 *
 * @example
 * ```ts
 * failureLine("stats", sluiceError("unauthorized", "401 invalid token")); // "sluice stats: unauthorized: 401 invalid token (pass --token or set SLUICE_TOKEN)"
 * ```
 */
export function failureLine(command: string, error: SluiceError): string {
  const message = error.message.replace(/\s*\n\s*/g, " ").trim();
  // The server's own word when the SDK has no code of that name (409 "conflict" → validation).
  const code = typeof error.metadata?.serverCode === "string" ? error.metadata.serverCode : error.code;
  const prefix = error.metadata?.usage === true ? "" : `${code}: `;
  const hint = error.code === "unauthorized" ? " (pass --token or set SLUICE_TOKEN)" : "";
  return `sluice ${command}: ${prefix}${message}${hint}`.replace(/^sluice : /, "sluice: ");
}
