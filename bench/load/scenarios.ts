/**
 * The load scenarios: a closed loop (a fixed window of messages in flight end to end, each
 * settled message replaced by a new one: maximum throughput) and an open loop (messages
 * published on a fixed schedule whatever the server does: latency at a given rate). Both warm
 * up first and then measure for a bounded time; both end by waiting (bounded) until every
 * published message is settled, and fail loudly if some never are.
 *
 * @example
 * ```ts
 * const r = await closedLoop("ws closed", clients, { window: 512, warmupMs: 1000, measureMs: 4000 });
 * console.log(r.msgsPerSec);
 * ```
 */
import type { LoadRecorder, LatencySummary } from "./recorder.ts";
import type { Publisher, SettleHooks } from "./ws-clients.ts";

/** The clients of one scenario, already connected. */
export interface Clients {
  readonly publishers: readonly Publisher[];
  readonly rec: LoadRecorder;
  readonly hooks: SettleHooks;
}

export interface PhaseOptions {
  readonly warmupMs: number;
  readonly measureMs: number;
  /** Max wait for the last messages to settle after publishing stopped. Default 10 s. */
  readonly drainMs?: number;
  /**
   * Once the server has refused publishes (ERROR / GOAWAY frames: `rec.errors` > 0), stop
   * waiting when nothing settled for this long: what it refused or dropped never settles. The
   * result then has `settled` < `published`. Default: wait the whole `drainMs`, then throw.
   */
  readonly refusedStallMs?: number;
}

/** What a scenario measured. */
export interface ScenarioResult {
  readonly label: string;
  /** Settled (acked / echoed) messages per second inside the measurement window. */
  readonly msgsPerSec: number;
  readonly published: number;
  readonly settled: number;
  readonly duplicates: number;
  readonly errors: number;
  readonly receipt: LatencySummary;
  readonly deliver: LatencySummary;
  readonly ack: LatencySummary;
  /** Open loop only: the target rate, and how far the generator itself fell behind its schedule at worst. */
  readonly targetRate?: number;
  readonly maxScheduleLagMs?: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A progress line on stderr once per second while a scenario runs. */
function progress(label: string, rec: LoadRecorder): () => void {
  const started = performance.now();
  let lastAcked = rec.acked;
  const timer = setInterval(() => {
    const t = ((performance.now() - started) / 1000).toFixed(0);
    const rate = rec.acked - lastAcked;
    lastAcked = rec.acked;
    process.stderr.write(`[load] ${label.padEnd(22)} t=${t.padStart(3)}s published=${rec.published} settled=${rec.acked} (${rate}/s) in-flight=${rec.published - rec.acked}\n`);
  }, 1000);
  return () => clearInterval(timer);
}

async function drain(label: string, rec: LoadRecorder, drainMs: number, refusedStallMs = Infinity): Promise<void> {
  const until = performance.now() + drainMs;
  let acked = rec.acked;
  let progressAt = performance.now();
  while (rec.acked < rec.published) {
    const now = performance.now();
    if (rec.acked !== acked) [acked, progressAt] = [rec.acked, now];
    else if (rec.errors > 0 && now - progressAt > refusedStallMs) return;
    if (now > until) throw new Error(`${label}: ${rec.published - rec.acked} of ${rec.published} message(s) never settled within ${drainMs} ms (${rec.errors} ERROR/GOAWAY frames)`);
    await sleep(5);
  }
}

function result(label: string, rec: LoadRecorder, msgsPerSec: number, extra: Partial<ScenarioResult> = {}): ScenarioResult {
  return {
    label,
    msgsPerSec: Math.round(msgsPerSec),
    published: rec.published,
    settled: rec.acked,
    duplicates: rec.duplicates,
    errors: rec.errors,
    receipt: rec.summary("receipt"),
    deliver: rec.summary("deliver"),
    ack: rec.summary("ack"),
    ...extra,
  };
}

/**
 * Closed loop: `window` messages in flight; each settled one is replaced at once.
 *
 * @example
 * ```ts
 * await closedLoop("echo", clients, { window: 512, warmupMs: 1000, measureMs: 4000 });
 * ```
 */
export async function closedLoop(label: string, clients: Clients, options: PhaseOptions & { window: number }): Promise<ScenarioResult> {
  const { publishers, rec, hooks } = clients;
  let next = 0;
  let stopping = false;
  const publishOne = () => publishers[next++ % publishers.length]!.publish(1);
  hooks.settled = () => {
    if (!stopping) publishOne();
  };
  const stopProgress = progress(label, rec);
  try {
    for (let i = 0; i < options.window; i++) publishOne();
    await sleep(options.warmupMs);
    const settled0 = rec.acked;
    const t0 = performance.now();
    rec.measureFromMs = t0;
    await sleep(options.measureMs);
    const t1 = performance.now();
    const settled1 = rec.acked;
    rec.measureUntilMs = t1;
    stopping = true;
    await drain(label, rec, options.drainMs ?? 10_000, options.refusedStallMs);
    return result(label, rec, ((settled1 - settled0) * 1000) / (t1 - t0));
  } finally {
    hooks.settled = () => {};
    stopProgress();
  }
}

/**
 * Open loop: publishes `rate` messages per second on a fixed schedule (checked every
 * millisecond; each tick sends what is due, round-robin over the publishers).
 *
 * @example
 * ```ts
 * await openLoop("ws open 6k/s", clients, { rate: 6000, warmupMs: 1000, measureMs: 8000 });
 * ```
 */
export async function openLoop(label: string, clients: Clients, options: PhaseOptions & { rate: number }): Promise<ScenarioResult> {
  const { publishers, rec } = clients;
  const perMs = options.rate / 1000;
  const start = performance.now();
  const measureFrom = start + options.warmupMs;
  const end = measureFrom + options.measureMs;
  rec.measureFromMs = measureFrom;
  rec.measureUntilMs = end;
  let sent = 0;
  let next = 0;
  let maxLagMs = 0;
  const stopProgress = progress(label, rec);
  try {
    await new Promise<void>((resolve) => {
      const timer = setInterval(() => {
        const now = performance.now();
        const due = Math.floor((Math.min(now, end) - start) * perMs) - sent;
        if (due > 0) {
          // How late the first due message goes out against its slot in the schedule.
          const lag = now - (start + sent / perMs);
          if (now >= measureFrom && lag > maxLagMs) maxLagMs = lag;
          for (let i = 0; i < due; i++) publishers[next++ % publishers.length]!.publish(1);
          sent += due;
        }
        if (now >= end) {
          clearInterval(timer);
          resolve();
        }
      }, 1);
    });
    await drain(label, rec, options.drainMs ?? 10_000, options.refusedStallMs);
    return result(label, rec, (rec.summary("deliver").count * 1000) / options.measureMs, {
      targetRate: options.rate,
      maxScheduleLagMs: Math.round(maxLagMs * 1000) / 1000,
    });
  } finally {
    stopProgress();
  }
}
