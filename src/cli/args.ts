/**
 * How `sluice` commands declare and read their arguments: `node:util`'s `parseArgs` (on Bun and
 * Deno alike) with the global options merged in, every mistake turned into a usage error (exit 2).
 *
 * @example
 * ```ts
 * const parsed = parseCommandArgs(["jobs", "--count", "3"], { count: { type: "string" } });
 * if (parsed.ok) intFlag(parsed.value, "count", 1); // ok(3)
 * ```
 *
 * @module
 */
import { parseArgs } from "node:util";
import { err, ok, type Result } from "../result/result.ts";
import type { CliContext } from "./context.ts";
import { usage } from "./context.ts";

/**
 * The options a command takes (as `node:util` `parseArgs` declares them).
 *
 * @example
 * ```ts
 * const options: OptionSpec = { watch: { type: "boolean" }, interval: { type: "string" } };
 * ```
 */
export type OptionSpec = Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }>;

/**
 * Parsed arguments: flag values by name, then positionals.
 *
 * @example
 * ```ts
 * const queue = parsed.positionals[0];
 * ```
 */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | (string | boolean)[] | undefined>>;
  readonly positionals: readonly string[];
}

/**
 * One `sluice` command.
 *
 * @example
 * ```ts
 * const leaders: Command = { summary: "who leads each scope", usage: "sluice leaders", options: {}, run: async (ctx) => ok() };
 * ```
 */
export interface Command {
  readonly summary: string;
  /** Usage lines shown by `sluice <command> --help`. */
  readonly usage: string;
  readonly options: OptionSpec;
  run(ctx: CliContext, args: ParsedArgs): Promise<Result<void>>;
}

/**
 * Options every command takes.
 *
 * @example
 * ```ts
 * Object.keys(GLOBAL_OPTIONS); // ["url", "token", "json", "help"]
 * ```
 */
export const GLOBAL_OPTIONS: OptionSpec = {
  url: { type: "string" },
  token: { type: "string" },
  json: { type: "boolean" },
  help: { type: "boolean", short: "h" },
};

/**
 * Parses `args` against the global options plus `options`; an unknown flag or a missing value is
 * a usage error.
 *
 * @example
 * ```ts
 * parseCommandArgs(["--bogus"], {}); // err(usage "Unknown option '--bogus' …")
 * ```
 */
export function parseCommandArgs(args: readonly string[], options: OptionSpec): Result<ParsedArgs> {
  try {
    const parsed = parseArgs({ args: [...args], options: { ...GLOBAL_OPTIONS, ...options }, allowPositionals: true, strict: true });
    return ok({ values: parsed.values as ParsedArgs["values"], positionals: parsed.positionals });
  } catch (thrown) {
    return err(usage(thrown instanceof Error ? thrown.message : String(thrown)));
  }
}

/**
 * A string flag, or `undefined` when absent.
 *
 * @example
 * ```ts
 * stringFlag(parsed, "file"); // "./msg.json"
 * ```
 */
export function stringFlag(args: ParsedArgs, name: string): string | undefined {
  const value = args.values[name];
  return typeof value === "string" ? value : undefined;
}

/**
 * An integer flag of at least `min` (absent → `fallback`); anything else is a usage error.
 *
 * @example
 * ```ts
 * intFlag(parsed, "count", 1, 10); // ok(10) when --count is absent
 * ```
 */
export function intFlag(args: ParsedArgs, name: string, min: number, fallback?: number): Result<number | undefined> {
  const raw = stringFlag(args, name);
  if (raw === undefined) return ok(fallback);
  const value = Number(raw.replace(/_/g, ""));
  if (!Number.isSafeInteger(value) || value < min) return err(usage(`--${name} must be an integer ≥ ${min} (got ${JSON.stringify(raw)})`));
  return ok(value);
}

/**
 * The sequence ids given as positionals (from `from` on): positive integers, or a usage error.
 *
 * @example
 * ```ts
 * sequenceIds(["jobs", "4", "7"], 1); // ok([4, 7])
 * ```
 */
export function sequenceIds(positionals: readonly string[], from: number): Result<number[]> {
  const ids: number[] = [];
  for (const raw of positionals.slice(from)) {
    const id = Number(raw);
    if (!Number.isSafeInteger(id) || id <= 0) return err(usage(`sequence ids are positive integers (got ${JSON.stringify(raw)})`));
    ids.push(id);
  }
  return ok(ids);
}
