/**
 * `sluice stats [queue] [--watch [--interval ms] [--count n]]`: every queue's (or one queue's)
 * depth, in flight, poison depth and counters; `--watch` follows the server's stats feed and
 * adds rates.
 *
 * @module
 */
import { type QueueRates, queueRates, type QueueStatsView, type StatsSample } from "../../client/admin-types.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, intFlag, type ParsedArgs } from "../args.ts";
import { type CliContext, usage } from "../context.ts";
import { formatInstant, formatTable } from "../table.ts";

/**
 * The `stats` command.
 *
 * @example
 * ```sh
 * sluice stats                 # every queue, once
 * sluice stats jobs --json     # {"queue":"jobs","pending":3,…}
 * sluice stats --watch         # live, with rates (Ctrl-C stops)
 * ```
 */
export const statsCommand: Command = {
  summary: "queue depth, in flight, poison depth and counters (--watch: live, with rates)",
  usage: "sluice stats [queue] [--watch] [--interval ms] [--count n] [--json]",
  options: { watch: { type: "boolean", short: "w" }, interval: { type: "string" }, count: { type: "string" } },
  async run(ctx, args) {
    const queue = args.positionals[0];
    if (args.positionals.length > 1) return err(usage(`stats takes at most one queue (got ${args.positionals.join(" ")})`));
    if (args.values.watch === true) return watch(ctx, args, queue);
    if (queue !== undefined) {
      const one = await ctx.admin.stats(queue);
      if (!one.ok) return one;
      ctx.out(ctx.json ? JSON.stringify(one.value) : statsTable([one.value]));
      return ok();
    }
    const all = await ctx.admin.queues();
    if (!all.ok) return all;
    ctx.out(ctx.json ? JSON.stringify({ queues: all.value }) : statsTable(all.value));
    return ok();
  },
};

/**
 * The stats of some queues as a table, with rates when given.
 *
 * @example
 * ```ts
 * statsTable([stats]); // "QUEUE  DEPTH  IN FLIGHT  POISON  ENQUEUED  ACKED  FAILED  BACKPRESSURE\njobs …"
 * ```
 */
export function statsTable(queues: readonly QueueStatsView[], rates?: ReadonlyMap<string, QueueRates>): string {
  const rated = rates !== undefined;
  const headings = ["QUEUE", "DEPTH", "IN FLIGHT", "POISON", ...(rated ? ["ENQ/S", "ACK/S", "FAIL/S"] : []), "ENQUEUED", "ACKED", "FAILED", "BACKPRESSURE"];
  const rows = queues.map((q) => {
    const r = rates?.get(q.queue);
    return [
      q.queue,
      q.pending,
      q.active,
      q.poisoned,
      ...(rated ? [r?.enqueued ?? 0, r?.acked ?? 0, r?.failed ?? 0].map((n) => Math.round(n * 10) / 10) : []),
      q.enqueued,
      q.acked,
      q.failed,
      q.backpressure ? "on" : "off",
    ];
  });
  return formatTable(headings, rows);
}

async function watch(ctx: CliContext, args: ParsedArgs, queue: string | undefined): Promise<Result<void>> {
  const interval = intFlag(args, "interval", 100, 1000);
  if (!interval.ok) return interval;
  const count = intFlag(args, "count", 1);
  if (!count.ok) return count;
  let previous: StatsSample | undefined;
  let seen = 0;
  for await (const got of ctx.admin.statsFeed({ intervalMs: interval.value, signal: ctx.signal })) {
    if (!got.ok) return got;
    const sample = got.value;
    const queues = queue === undefined ? sample.queues : sample.queues.filter((q) => q.queue === queue);
    if (queue !== undefined && queues.length === 0) {
      return err(sluiceError("not_found", `no queue named ${JSON.stringify(queue)} (the server has: ${sample.queues.map((q) => q.queue).join(", ")})`));
    }
    const rates = new Map<string, QueueRates>();
    for (const q of queues) {
      const before = previous?.queues.find((p) => p.queue === q.queue);
      rates.set(q.queue, before && previous ? queueRates(before, q, sample.at - previous.at) : { enqueued: 0, acked: 0, failed: 0, poisoned: 0 });
    }
    previous = sample;
    if (ctx.json) ctx.out(JSON.stringify({ at: sample.at, queues: queues.map((q) => ({ ...q, rates: rates.get(q.queue) })) }));
    else if (ctx.stdoutIsTTY) ctx.out(`\u001b[H\u001b[2J${formatInstant(sample.at)}  ${ctx.url}  (Ctrl-C stops)\n\n${statsTable(queues, rates)}`);
    else {
      for (const q of queues) {
        const r = rates.get(q.queue)!;
        ctx.out(`${formatInstant(sample.at)} ${q.queue} depth=${q.pending} in_flight=${q.active} poison=${q.poisoned} enq/s=${r.enqueued.toFixed(1)} ack/s=${r.acked.toFixed(1)} fail/s=${r.failed.toFixed(1)}`);
      }
    }
    if (count.value !== undefined && ++seen >= count.value) return ok();
  }
  return ok(); // Ctrl-C
}
