/**
 * `sluice poison list|show|replay|purge <queue>`: the poison (dead-letter) queue — entries with
 * their failure history, put back (`replay`) or dropped (`purge`) by sequence id or `--all`.
 *
 * @module
 */
import type { PoisonEntryView } from "../../client/admin-types.ts";
import { bytesFromBase64 } from "../../protocol/base64.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, type ParsedArgs, sequenceIds } from "../args.ts";
import { type CliContext, usage } from "../context.ts";
import { cell, formatInstant, formatTable, printable } from "../table.ts";

const USAGE = [
  "sluice poison list <queue> [--json]",
  "sluice poison show <queue> [seq…] [--json]",
  "sluice poison replay <queue> (<seq>…|--all) [--json]",
  "sluice poison purge <queue> (<seq>…|--all) [--json]",
].join("\n");

/**
 * The `poison` command.
 *
 * @example
 * ```sh
 * sluice poison list jobs
 * sluice poison show jobs 42      # payload, last error, every failed delivery
 * sluice poison replay jobs 42    # back into the queue at attempt 1
 * sluice poison purge jobs --all  # gone for good
 * ```
 */
export const poisonCommand: Command = {
  summary: "the poison queue: list, show (with failure history), replay, purge",
  usage: USAGE,
  options: { all: { type: "boolean" } },
  async run(ctx, args) {
    const [action, queue] = args.positionals;
    if (action === undefined || queue === undefined) return err(usage(`poison needs an action and a queue:\n${USAGE}`));
    if (action === "list") return list(ctx, queue, args);
    if (action === "show") return show(ctx, queue, args);
    if (action === "replay" || action === "purge") return settle(ctx, action, queue, args);
    return err(usage(`unknown poison action ${JSON.stringify(action)}: list, show, replay or purge`));
  },
};

async function list(ctx: CliContext, queue: string, args: ParsedArgs): Promise<Result<void>> {
  if (args.positionals.length > 2) return err(usage("poison list takes one queue; use poison show <queue> <seq…> for entries"));
  const got = await ctx.admin.poison(queue);
  if (!got.ok) return got;
  if (ctx.json) {
    ctx.out(JSON.stringify(got.value));
    return ok();
  }
  if (got.value.count === 0) {
    ctx.out(`${got.value.queue}: empty`);
    return ok();
  }
  const rows = got.value.entries.map((e) => [
    e.sequenceId,
    e.exhausted,
    e.attempts,
    e.history.length,
    cell(`${e.lastError.code}: ${e.lastError.message}`, 48),
    formatInstant(e.poisonedAt),
    cell(printable(bytesFromBase64(e.payload)).text, 32),
  ]);
  ctx.out(formatTable(["SEQ", "EXHAUSTED", "ATTEMPTS", "FAILURES", "LAST ERROR", "POISONED", "PAYLOAD"], rows));
  return ok();
}

async function show(ctx: CliContext, queue: string, args: ParsedArgs): Promise<Result<void>> {
  const ids = sequenceIds(args.positionals, 2);
  if (!ids.ok) return ids;
  const got = await ctx.admin.poison(queue);
  if (!got.ok) return got;
  const wanted = ids.value.length === 0 ? got.value.entries : got.value.entries.filter((e) => ids.value.includes(e.sequenceId));
  const missing = ids.value.filter((id) => !wanted.some((e) => e.sequenceId === id));
  if (missing.length > 0) return err(sluiceError("not_found", `no poison entry ${missing.join(", ")} in ${got.value.queue} (it has ${got.value.entries.map((e) => e.sequenceId).join(", ") || "none"})`));
  if (ctx.json) ctx.out(JSON.stringify({ queue: got.value.queue, count: wanted.length, entries: wanted }));
  else if (wanted.length === 0) ctx.out(`${got.value.queue}: empty`);
  else ctx.out(wanted.map(describe).join("\n\n"));
  return ok();
}

/**
 * One poison entry for people: its payload, how it was poisoned, and every failed delivery.
 *
 * @example
 * ```ts
 * describe(entry); // "#42  exhausted: failures after 5 attempts\n  payload (utf8): …\n  history:\n    #1 …"
 * ```
 */
export function describe(entry: PoisonEntryView): string {
  const payload = printable(bytesFromBase64(entry.payload));
  return [
    `#${entry.sequenceId}  exhausted: ${entry.exhausted} after ${entry.attempts} attempt${entry.attempts === 1 ? "" : "s"}`,
    `  enqueued:   ${formatInstant(entry.enqueuedAt)}`,
    `  poisoned:   ${formatInstant(entry.poisonedAt)}`,
    `  last error: ${entry.lastError.code}: ${entry.lastError.message}`,
    `  payload (${payload.encoding}, ${bytesFromBase64(entry.payload).length} bytes): ${payload.text}`,
    `  history (${entry.history.length}):`,
    ...entry.history.map((a) => `    ${formatInstant(a.at)}  attempt ${a.attempt}  ${a.code}: ${a.message}`),
  ].join("\n");
}

async function settle(ctx: CliContext, action: "replay" | "purge", queue: string, args: ParsedArgs): Promise<Result<void>> {
  const ids = sequenceIds(args.positionals, 2);
  if (!ids.ok) return ids;
  const all = args.values.all === true;
  if (all === (ids.value.length > 0)) return err(usage(`poison ${action} takes sequence ids or --all (not both, not neither): sluice poison ${action} ${queue} 42 43`));
  const done = action === "replay" ? await ctx.admin.replay(queue, all ? "all" : ids.value) : await ctx.admin.purge(queue, all ? "all" : ids.value);
  if (!done.ok) return done;
  const verb = action === "replay" ? "replayed" : "purged";
  if (ctx.json) ctx.out(JSON.stringify({ queue, [verb]: done.value }));
  else ctx.out(`${verb} ${done.value} ${done.value === 1 ? "entry" : "entries"} of ${queue}`);
  if (!all && done.value < ids.value.length) {
    return err(sluiceError("not_found", `${verb} ${done.value} of ${ids.value.length}: the others are not in the poison queue (any more)`));
  }
  return ok();
}
