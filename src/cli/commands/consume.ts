/**
 * `sluice consume <queue> [--ack|--nack] [--count n] [--timeout ms] [--json]`: takes messages
 * over a WebSocket `Consumer`, prints each, and settles it: acked (the default) or NACKed
 * (redelivered until `maxRetries`; `--no-requeue` poisons at once, with `--reason` as its error).
 *
 * @module
 */
import { Consumer, type Delivery } from "../../client/consumer.ts";
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, intFlag, stringFlag } from "../args.ts";
import { type CliContext, usage } from "../context.ts";
import { printable } from "../table.ts";

/**
 * The `consume` command.
 *
 * @example
 * ```sh
 * sluice consume jobs --count 10             # print and ack ten messages
 * sluice consume jobs --json --timeout 2000  # NDJSON until the queue stays empty for 2 s
 * sluice consume jobs --nack --no-requeue --reason "bad input" --count 1   # straight to the poison queue
 * ```
 */
export const consumeCommand: Command = {
  summary: "receive messages and ack (default) or nack them",
  usage: "sluice consume <queue> [--ack|--nack [--no-requeue] [--reason text]] [--count n] [--timeout ms] [--credit n] [--json]",
  options: {
    ack: { type: "boolean" },
    nack: { type: "boolean" },
    "no-requeue": { type: "boolean" },
    reason: { type: "string" },
    count: { type: "string", short: "n" },
    timeout: { type: "string" },
    credit: { type: "string" },
  },
  async run(ctx, args) {
    const [queue, extra] = args.positionals;
    if (queue === undefined || extra !== undefined) return err(usage(`consume takes one queue:\n${consumeCommand.usage}`));
    if (args.values.ack === true && args.values.nack === true) return err(usage("consume takes --ack or --nack, not both"));
    const nack = args.values.nack === true;
    if (!nack && (args.values["no-requeue"] === true || stringFlag(args, "reason") !== undefined)) return err(usage("--no-requeue and --reason go with --nack"));
    const count = intFlag(args, "count", 1);
    if (!count.ok) return count;
    const timeout = intFlag(args, "timeout", 1);
    if (!timeout.ok) return timeout;
    const credit = intFlag(args, "credit", 1, 32);
    if (!credit.ok) return credit;
    return consume(ctx, queue, {
      nack: nack ? { requeue: args.values["no-requeue"] !== true, reason: stringFlag(args, "reason") ?? "nacked with sluice consume --nack" } : undefined,
      count: count.value,
      timeoutMs: timeout.value,
      credit: credit.value!,
    });
  },
};

interface ConsumeOptions {
  readonly nack: { readonly requeue: boolean; readonly reason: string } | undefined;
  readonly count: number | undefined;
  readonly timeoutMs: number | undefined;
  readonly credit: number;
}

async function consume(ctx: CliContext, queue: string, options: ConsumeOptions): Promise<Result<void>> {
  // `limit` keeps credit from running past --count: no extra delivery is out when we close.
  const consumer = new Consumer({ url: ctx.url, queue, token: ctx.token, credit: options.credit, limit: options.count });
  let received = 0;
  let idle = false;
  try {
    while (options.count === undefined || received < options.count) {
      const wait = new AbortController();
      const stop = () => wait.abort();
      ctx.signal.addEventListener("abort", stop, { once: true });
      const timer = options.timeoutMs === undefined ? undefined : setTimeout(() => ((idle = true), wait.abort()), options.timeoutMs);
      const next = await consumer.receive({ signal: wait.signal });
      clearTimeout(timer);
      ctx.signal.removeEventListener("abort", stop);
      if (!next.ok) {
        if (idle || ctx.signal.aborted) break;
        return next;
      }
      received++;
      print(ctx, next.value);
      const settled = options.nack
        ? consumer.nack(next.value, { code: "validation", message: options.nack.reason, requeue: options.nack.requeue })
        : consumer.ack(next.value);
      if (!settled.ok) return settled;
    }
    if (received > 0) {
      const flushed = await consumer.flush(); // the acks / nacks are stored before we say so
      if (!flushed.ok) return flushed;
    }
  } finally {
    consumer.close();
  }
  const verb = options.nack ? (options.nack.requeue ? "nacked" : "rejected to the poison queue") : "acked";
  ctx.note(`consumed ${received} message${received === 1 ? "" : "s"} from ${queue} (${verb})${idle ? `; none came for ${options.timeoutMs} ms` : ""}`);
  if (options.count !== undefined && received < options.count && idle) {
    return err(sluiceError("timeout", `got ${received} of ${options.count} messages: none came for ${options.timeoutMs} ms`));
  }
  return ok();
}

function print(ctx: CliContext, delivery: Delivery): void {
  const { text, encoding } = printable(delivery.payload);
  if (ctx.json) ctx.out(JSON.stringify({ token: String(delivery.token), attempt: delivery.attempt, data: text, encoding }));
  else ctx.out(encoding === "utf8" ? text : `base64:${text}`);
}
