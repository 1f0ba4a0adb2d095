/**
 * `sluice serve`: runs the server in this process, on the runtime running the CLI (Bun:
 * `src/runtime/bun.ts`, Deno: `src/runtime/deno.ts`) — the same as `npm start` /
 * `npm run start:deno`, with a few settings as flags (each sets its environment variable).
 *
 * @module
 */
import process from "node:process";
import { ok } from "../../result/result.ts";
import { type Command, intFlag, stringFlag } from "../args.ts";

/** Flags of `serve` and the environment variable each one sets. */
const FLAG_ENV: Readonly<Record<string, string>> = {
  host: "SLUICE_HOST",
  config: "SLUICE_CONFIG",
  "data-dir": "SLUICE_DATA_DIR",
  storage: "SLUICE_STORAGE",
  "auth-tokens": "SLUICE_AUTH_TOKENS",
  "nats-url": "SLUICE_NATS_URL",
};

/**
 * The `serve` command: never returns while the server runs; it exits 0 after a graceful
 * shutdown (SIGTERM / Ctrl-C), 1 when start-up fails.
 *
 * @example
 * ```sh
 * sluice serve --port 8787 --storage memory --auth-tokens s3cret
 * ```
 */
export const serveCommand: Command = {
  summary: "run the server here (Bun or Deno, whichever runs the CLI)",
  usage: "sluice serve [--port n] [--host h] [--config file] [--data-dir dir] [--storage sqlite|memory|jetstream] [--auth-tokens a,b] [--nats-url url]",
  options: { port: { type: "string", short: "p" }, ...Object.fromEntries(Object.keys(FLAG_ENV).map((k) => [k, { type: "string" as const }])) },
  async run(_ctx, args) {
    const port = intFlag(args, "port", 0);
    if (!port.ok) return port;
    if (port.value !== undefined) process.env.SLUICE_PORT = String(port.value);
    for (const [flag, name] of Object.entries(FLAG_ENV)) {
      const value = stringFlag(args, flag);
      if (value !== undefined) process.env[name] = value;
    }
    const entry = process.versions.bun !== undefined ? "../../runtime/bun.ts" : "../../runtime/deno.ts";
    await import(entry); // starts listening; its signal handlers exit the process after the drain
    await new Promise<never>(() => {});
    return ok();
  },
};
