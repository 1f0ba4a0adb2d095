/**
 * `sluice bench [queue]`: publish and consume throughput and latency against a running server,
 * with a live progress line (like `nats bench`): producers publish over WebSocket with a window
 * of receipts, consumers take and ack at the same time; publish latency is send → receipt,
 * consume latency is publish → delivery (one process, one clock).
 *
 * @module
 */
import { Consumer } from "../../client/consumer.ts";
import { Producer } from "../../client/producer.ts";
import { type SluiceError, sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { type Command, intFlag } from "../args.ts";
import { type BenchSide, benchTable, Latencies } from "../bench-stats.ts";
import { type CliContext, usage } from "../context.ts";

const MARK = 0x53_4c_42_4e; // "SLBN": a bench message (the rest of the header is its publish time)
const STALL_MS = 15_000;

/**
 * The `bench` command.
 *
 * @example
 * ```sh
 * sluice bench --msgs 100000 --size 256 --producers 2 --consumers 2
 * sluice bench jobs --pub-only --msgs 5000 --json
 * ```
 */
export const benchCommand: Command = {
  summary: "publish/consume throughput and latency against a running server",
  usage: "sluice bench [queue] [--msgs n] [--size bytes] [--producers n] [--consumers n] [--pub-only|--sub-only] [--window n] [--credit n] [--force] [--json]",
  options: {
    msgs: { type: "string" },
    size: { type: "string" },
    producers: { type: "string" },
    consumers: { type: "string" },
    "pub-only": { type: "boolean" },
    "sub-only": { type: "boolean" },
    window: { type: "string" },
    credit: { type: "string" },
    force: { type: "boolean" },
  },
  async run(ctx, args) {
    const queue = args.positionals[0] ?? "default";
    const flags = { msgs: intFlag(args, "msgs", 1, 10_000), size: intFlag(args, "size", 16, 128), producers: intFlag(args, "producers", 1, 1), consumers: intFlag(args, "consumers", 1, 1), window: intFlag(args, "window", 1, 256), credit: intFlag(args, "credit", 1, 256) };
    for (const f of Object.values(flags)) if (!f.ok) return f;
    const [msgs, size, producers, consumers, window, credit] = Object.values(flags).map((f) => (f.ok ? f.value! : 0));
    if (args.values["pub-only"] === true && args.values["sub-only"] === true) return err(usage("--pub-only and --sub-only exclude each other"));
    const publishing = args.values["sub-only"] !== true;
    const consuming = args.values["pub-only"] !== true;
    const before = await ctx.admin.stats(queue);
    if (!before.ok) return before;
    if (publishing && consuming && before.value.pending + before.value.active > 0 && args.values.force !== true) {
      return err(usage(`${queue} already holds ${before.value.pending + before.value.active} messages, which the bench would consume: use an empty queue, or --force`));
    }
    return bench(ctx, { queue, msgs, size, producers, consumers, window, credit, publishing, consuming });
  },
};

interface BenchPlan {
  readonly queue: string;
  readonly msgs: number;
  readonly size: number;
  readonly producers: number;
  readonly consumers: number;
  readonly window: number;
  readonly credit: number;
  readonly publishing: boolean;
  readonly consuming: boolean;
}

async function bench(ctx: CliContext, plan: BenchPlan): Promise<Result<void>> {
  const stop = new AbortController();
  const onInterrupt = () => stop.abort();
  ctx.signal.addEventListener("abort", onInterrupt, { once: true });
  const pub = { done: 0, latency: new Latencies(), started: 0, ended: 0 };
  const sub = { done: 0, latency: new Latencies(), started: 0, ended: 0 };
  let failure: SluiceError | undefined;
  const fail = (error: SluiceError) => {
    failure ??= error;
    stop.abort();
  };
  let lastProgress = performance.now();
  let seen = 0;
  const progress = setInterval(() => {
    const now = performance.now();
    if (pub.done + sub.done !== seen) (seen = pub.done + sub.done), (lastProgress = now);
    else if (now - lastProgress > STALL_MS) fail(sluiceError("timeout", `stalled: no receipt or delivery for ${STALL_MS / 1000} s (published ${pub.done}, consumed ${sub.done})`));
    ctx.progress(progressLine(plan, pub, sub, now));
  }, 250);
  const work: Promise<void>[] = [];
  // Aborted once every message is consumed (or the run stops): consumers still waiting end.
  const consumed = new AbortController();
  stop.signal.addEventListener("abort", () => consumed.abort(), { once: true });
  if (plan.consuming) for (let i = 0; i < plan.consumers; i++) work.push(consumeSide(ctx, plan, sub, consumed, fail));
  if (plan.publishing) for (let i = 0; i < plan.producers; i++) work.push(publishSide(ctx, plan, share(plan.msgs, plan.producers, i), pub, stop.signal, fail));
  await Promise.all(work);
  clearInterval(progress);
  ctx.signal.removeEventListener("abort", onInterrupt);
  ctx.progress(progressLine(plan, pub, sub, performance.now()));
  if (ctx.stderrIsTTY) ctx.note("");
  const side = (s: typeof pub): BenchSide => ({ messages: s.done, seconds: Math.max(0, s.ended - s.started) / 1000, bytes: s.done * plan.size, latency: s.latency.summary() });
  const sides = { publish: plan.publishing ? side(pub) : undefined, consume: plan.consuming ? side(sub) : undefined };
  if (ctx.json) ctx.out(JSON.stringify({ queue: plan.queue, msgs: plan.msgs, size: plan.size, producers: plan.producers, consumers: plan.consumers, ...sides }));
  else ctx.out(`${benchTable(sides)}\n(${plan.queue}: ${plan.msgs.toLocaleString("en-US")} × ${plan.size} B, ${plan.producers} producer(s) window ${plan.window}, ${plan.consumers} consumer(s) credit ${plan.credit})`);
  if (failure !== undefined) return err(failure);
  if (ctx.signal.aborted) return err("canceled", `interrupted (published ${pub.done}, consumed ${sub.done})`);
  return ok();
}

type Side = { done: number; latency: Latencies; started: number; ended: number };

async function publishSide(ctx: CliContext, plan: BenchPlan, count: number, pub: Side, signal: AbortSignal, fail: (e: SluiceError) => void): Promise<void> {
  const producer = new Producer({ url: ctx.url, queue: plan.queue, token: ctx.token, maxInFlight: plan.window });
  pub.started ||= performance.now();
  const inFlight = new Set<Promise<void>>();
  try {
    for (let i = 0; i < count && !signal.aborted; i++) {
      const payload = new Uint8Array(plan.size);
      const view = new DataView(payload.buffer);
      const sentAt = performance.timeOrigin + performance.now();
      view.setUint32(0, MARK, true);
      view.setFloat64(4, sentAt, true);
      const answer = producer.publish(payload, { signal }).then((r) => {
        if (!r.ok) return void (signal.aborted || fail(r.error));
        pub.done++;
        pub.ended = performance.now();
        pub.latency.add(performance.timeOrigin + performance.now() - sentAt);
      });
      inFlight.add(answer);
      void answer.finally(() => inFlight.delete(answer));
      if (inFlight.size >= plan.window) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
  } finally {
    producer.close();
  }
}

async function consumeSide(ctx: CliContext, plan: BenchPlan, sub: Side, consumed: AbortController, fail: (e: SluiceError) => void): Promise<void> {
  const consumer = new Consumer({ url: ctx.url, queue: plan.queue, token: ctx.token, credit: plan.credit });
  const started = await consumer.start();
  if (!started.ok) return void fail(started.error);
  sub.started ||= performance.now();
  try {
    while (sub.done < plan.msgs) {
      const next = await consumer.receive({ signal: consumed.signal });
      if (!next.ok) return void (consumed.signal.aborted || fail(next.error));
      const view = new DataView(next.value.payload.buffer, next.value.payload.byteOffset, next.value.payload.byteLength);
      if (next.value.payload.byteLength >= 12 && view.getUint32(0, true) === MARK) sub.latency.add(performance.timeOrigin + performance.now() - view.getFloat64(4, true));
      const acked = consumer.ack(next.value);
      if (!acked.ok) return void fail(acked.error);
      sub.done++;
      sub.ended = performance.now();
      if (sub.done >= plan.msgs) consumed.abort();
    }
  } finally {
    await consumer.flush();
    consumer.close();
  }
}

function share(total: number, parts: number, index: number): number {
  return Math.floor(total / parts) + (index < total % parts ? 1 : 0);
}

function progressLine(plan: BenchPlan, pub: Side, sub: Side, now: number): string {
  const rate = (s: Side) => (s.started > 0 && now > s.started ? Math.round((s.done * 1000) / ((s.ended || now) - s.started || 1)) : 0);
  const parts: string[] = [];
  if (plan.publishing) parts.push(`published ${pub.done.toLocaleString("en-US")}/${plan.msgs.toLocaleString("en-US")} (${rate(pub).toLocaleString("en-US")} msg/s)`);
  if (plan.consuming) parts.push(`consumed ${sub.done.toLocaleString("en-US")}/${plan.msgs.toLocaleString("en-US")} (${rate(sub).toLocaleString("en-US")} msg/s)`);
  return parts.join("  ");
}
