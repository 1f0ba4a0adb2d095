/**
 * `sluice publish <queue> [data|-] [--file path] [--key k]`: one message (an HTTP POST, answered
 * once it is stored), or every line of stdin as a message over one WebSocket `Producer`, with a
 * count of receipts at the end.
 *
 * @module
 */
import { readFileSync } from "node:fs";
import { Producer } from "../../client/producer.ts";
import { type SluiceError, sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, type ParsedArgs, stringFlag } from "../args.ts";
import { type CliContext, usage } from "../context.ts";
import { readStdinBytes, stdinLines } from "../io.ts";

/** Publishes waiting for their receipt at once when publishing lines. */
const WINDOW = 256;

/**
 * The `publish` command.
 *
 * @example
 * ```sh
 * sluice publish jobs 'hello'                       # one message → sequence id
 * seq 1 1000 | sluice publish jobs -                # 1,000 messages, one per line, with receipts
 * sluice publish jobs --file order.json --key o-17  # a file as one message, deduplicated by key
 * ```
 */
export const publishCommand: Command = {
  summary: "publish a message, a file, or stdin line by line (with a receipt count)",
  usage: "sluice publish <queue> <data>        one message\nsluice publish <queue> [-]           each line of stdin is a message\nsluice publish <queue> --file <path|-> a file (or all of stdin) as one message\n  [--key <idempotency-key>] [--json]",
  options: { file: { type: "string", short: "f" }, key: { type: "string" } },
  async run(ctx, args) {
    const [queue, data, extra] = args.positionals;
    if (queue === undefined) return err(usage(`publish needs a queue:\n${publishCommand.usage}`));
    if (extra !== undefined) return err(usage(`publish takes one data argument (quote it): got ${args.positionals.slice(1).length}`));
    const file = stringFlag(args, "file");
    if (file !== undefined && data !== undefined) return err(usage("publish takes data or --file, not both"));
    if (file !== undefined) {
      let bytes: Uint8Array;
      try {
        bytes = file === "-" ? await readStdinBytes() : new Uint8Array(readFileSync(file));
      } catch (thrown) {
        return err(usage(`cannot read ${file}: ${thrown instanceof Error ? thrown.message : String(thrown)}`));
      }
      return publishOne(ctx, queue, bytes, args);
    }
    if (data !== undefined && data !== "-") return publishOne(ctx, queue, new TextEncoder().encode(data), args);
    if (data === undefined && ctx.stdinIsTTY) return err(usage(`publish needs data, - for stdin lines, or --file:\n${publishCommand.usage}`));
    if (stringFlag(args, "key") !== undefined) return err(usage("--key names one message: use it with <data> or --file, not with stdin lines"));
    return publishLines(ctx, queue);
  },
};

async function publishOne(ctx: CliContext, queue: string, payload: Uint8Array, args: ParsedArgs): Promise<Result<void>> {
  const sent = await ctx.admin.publish(queue, payload, { idempotencyKey: stringFlag(args, "key"), signal: ctx.signal });
  if (!sent.ok) return sent;
  const { sequenceId, duplicate } = sent.value;
  if (ctx.json) ctx.out(JSON.stringify({ queue, published: 1, sequenceId, duplicate }));
  else ctx.out(`published 1 message to ${queue} (sequence ${sequenceId}${duplicate ? ", a duplicate of an earlier publish with this key" : ""})`);
  return ok();
}

/**
 * Publishes each non-empty stdin line; stops at the first refusal, saying how many got receipts.
 * At the end a `flush()` makes sure every receipted message is committed.
 */
async function publishLines(ctx: CliContext, queue: string): Promise<Result<void>> {
  const producer = new Producer({ url: ctx.url, queue, token: ctx.token, maxInFlight: WINDOW });
  const encoder = new TextEncoder();
  let sent = 0;
  let receipts = 0;
  let first: number | undefined;
  let last: number | undefined;
  let failure: SluiceError | undefined;
  let inFlight = 0;
  let room: (() => void) | undefined;
  const track = (answer: Promise<Result<{ sequenceId: number }>>) => {
    inFlight++;
    void answer.then((r) => {
      inFlight--;
      if (r.ok) {
        receipts++;
        first = first === undefined ? r.value.sequenceId : Math.min(first, r.value.sequenceId);
        last = last === undefined ? r.value.sequenceId : Math.max(last, r.value.sequenceId);
      } else failure ??= r.error;
      room?.();
    });
  };
  const settled = () => new Promise<void>((resolve) => (room = resolve));
  try {
    for await (const line of stdinLines()) {
      if (failure !== undefined || ctx.signal.aborted) break;
      if (line === "") continue;
      while (inFlight >= WINDOW) await settled();
      track(producer.publish(encoder.encode(line)));
      sent++;
    }
    while (inFlight > 0) await settled();
    if (failure === undefined && sent > 0) {
      const flushed = await producer.flush();
      if (!flushed.ok) failure = flushed.error;
    }
  } finally {
    producer.close();
  }
  if (ctx.json) ctx.out(JSON.stringify({ queue, published: receipts, sent, firstSequenceId: first ?? null, lastSequenceId: last ?? null }));
  else if (failure === undefined) ctx.out(`published ${receipts} message${receipts === 1 ? "" : "s"} to ${queue} (${receipts} receipts${first !== undefined ? `, sequence ${first}…${last}` : ""})`);
  if (failure !== undefined) {
    return err(sluiceError(failure.code, `${receipts} of ${sent} published lines got a receipt; then ${failure.message}`, { metadata: failure.metadata as Record<string, unknown> | undefined }));
  }
  if (ctx.signal.aborted) return err("canceled", `interrupted after ${receipts} receipts`);
  return ok();
}
