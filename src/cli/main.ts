#!/usr/bin/env bun
/**
 * The `sluice` command (package.json `bin`): operate a Sluice server from a shell through the
 * public HTTP API and the client SDK. Runs on Bun (`bun src/cli/main.ts`, or `sluice` once
 * installed) and Deno (`deno run -A src/cli/main.ts`). Every command takes `--url` and `--token`
 * (or `SLUICE_URL` / `SLUICE_TOKEN`) and `--json`; a failure prints one line on stderr and exits
 * non-zero: 1 failed, 2 usage, 3 unauthorized, 4 not found (queue, entry, or a route the server
 * does not serve), 130 interrupted.
 *
 * @example
 * ```sh
 * sluice stats --url http://127.0.0.1:8787 --token s3cret
 * printf 'a\nb\n' | sluice publish jobs -
 * sluice consume jobs --count 2 --json
 * ```
 *
 * @module
 */
import process from "node:process";
import { err, type Result } from "../result/result.ts";
import { type Command, parseCommandArgs, stringFlag } from "./args.ts";
import { benchCommand } from "./commands/bench.ts";
import { configCommand, leadersCommand, membersCommand } from "./commands/cluster.ts";
import { consumeCommand } from "./commands/consume.ts";
import { poisonCommand } from "./commands/poison.ts";
import { publishCommand } from "./commands/publish.ts";
import { serveCommand } from "./commands/serve.ts";
import { statsCommand } from "./commands/stats.ts";
import { createContext, EXIT, exitCodeFor, failureLine, usage } from "./context.ts";

/**
 * Every command by name.
 *
 * @example
 * ```ts
 * Object.keys(COMMANDS); // ["serve", "publish", "consume", "stats", "poison", "members", "leaders", "config", "bench"]
 * ```
 */
export const COMMANDS: Readonly<Record<string, Command>> = {
  serve: serveCommand,
  publish: publishCommand,
  consume: consumeCommand,
  stats: statsCommand,
  poison: poisonCommand,
  members: membersCommand,
  leaders: leadersCommand,
  config: configCommand,
  bench: benchCommand,
};

const GLOBAL_HELP = "Options of every command: --url <url> (or SLUICE_URL; default http://127.0.0.1:8787), --token <token> (or SLUICE_TOKEN), --json, --help";

/**
 * The overview `sluice --help` prints.
 *
 * @example
 * ```ts
 * console.log(helpText());
 * ```
 */
export function helpText(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}  ${c.summary}`);
  return `sluice <command> [arguments] [options]\n\nCommands:\n${lines.join("\n")}\n\n${GLOBAL_HELP}\nExit codes: 0 ok, 1 failed, 2 usage, 3 unauthorized, 4 not found, 130 interrupted.\nsluice <command> --help shows a command's usage.`;
}

/**
 * Runs one invocation (`argv` without the runtime and script) and resolves with its exit code.
 *
 * @example
 * ```ts
 * const code = await main(["stats", "--json"], process.env);
 * ```
 */
export async function main(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    process.stdout.write(`${helpText()}\n`);
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS[name];
  if (command === undefined) {
    process.stderr.write(`${failureLine("", usage(`unknown command ${JSON.stringify(name)}; one of: ${Object.keys(COMMANDS).join(", ")}`))}\n`);
    return EXIT.usage;
  }
  const parsed = parseCommandArgs(rest, command.options);
  if (parsed.ok && parsed.value.values.help === true) {
    process.stdout.write(`${command.usage}\n${GLOBAL_HELP}\n`);
    return EXIT.ok;
  }
  const interrupt = new AbortController();
  // `serve` leaves signals to the server (its drain); the others stop cleanly on the first one.
  if (name !== "serve") {
    const onSignal = () => {
      if (interrupt.signal.aborted) process.exit(EXIT.interrupted);
      interrupt.abort();
    };
    process.on("SIGINT", onSignal);
    process.on("SIGTERM", onSignal);
  }
  let result: Result<void>;
  if (!parsed.ok) result = parsed;
  else {
    const values = parsed.value;
    const ctx = createContext({ url: stringFlag(values, "url"), token: stringFlag(values, "token"), json: values.values.json === true }, env, interrupt.signal);
    const url = checkUrl(ctx.url);
    result = url.ok ? await command.run(ctx, values).catch((thrown) => err("internal", `unexpected failure: ${thrown instanceof Error ? thrown.message : String(thrown)}`)) : url;
  }
  if (result.ok) return EXIT.ok;
  process.stderr.write(`${failureLine(name, result.error)}\n`);
  return exitCodeFor(result.error);
}

function checkUrl(url: string): Result<void> {
  try {
    const parsed = new URL(url);
    if (parsed.protocol === "http:" || parsed.protocol === "https:") return { ok: true, value: undefined };
  } catch {
    // below
  }
  return err(usage(`--url / SLUICE_URL must be an http(s) URL (got ${JSON.stringify(url)})`));
}

/** Waits until stdout and stderr have taken what was written, so nothing is lost at exit. */
async function drained(): Promise<void> {
  await Promise.all([process.stdout, process.stderr].map((s) => new Promise<void>((resolve) => void s.write("", () => resolve()))));
}

if (import.meta.main) {
  const code = await main(process.argv.slice(2), process.env);
  await drained();
  process.exit(code);
}
