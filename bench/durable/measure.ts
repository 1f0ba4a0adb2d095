/**
 * Measuring one scenario of the durable benchmark: the CPU the servers under test, the load
 * generator and the rest of the box used meanwhile; the receipts still due after the last ack;
 * on JetStream the NATS traffic per settled message (nats-server's /varz and /subsz); and quiet
 * mode for a shared box.
 *
 * Quiet mode (`--quiet <pct>`, default SLUICE_BENCH_QUIET): before each scenario wait until the
 * rest of the box is at most `pct` % of one core busy, and repeat a scenario (up to 3 attempts)
 * during which it rose above max(2·pct, pct + 25) %; waits and repeats share a bounded time per
 * run (`QUIET_BUDGET_MS`), after which scenarios run as they come. Figures are of the last attempt.
 *
 * @example
 * ```ts
 * const meter = new ScenarioMeter(20, (line) => console.error(line));
 * const r = await meter.measure("sqlite.wsClosed", [server.pid], connect, run);
 * meter.cpuShare["sqlite.wsClosed"]; // { server, client, other }
 * ```
 */
import { readCpuMs } from "../load/child.ts";
import type { Connected } from "../load/clients.ts";
import { boxBusyMs, busiestOthers, processCpu } from "./box.ts";
import type { DurableResult } from "./ratios.ts";

export const QUIET_BUDGET_MS = 120_000;

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** NATS messages the server received and sent, and subscriptions created, since it started. */
interface NatsTraffic {
  readonly inMsgs: number;
  readonly outMsgs: number;
  readonly subsCreated: number;
}

async function natsTraffic(monitorUrl: string): Promise<NatsTraffic> {
  const get = async (path: string) => (await (await fetch(`${monitorUrl}/${path}`)).json()) as Record<string, number>;
  const [varz, subsz] = await Promise.all([get("varz"), get("subsz")]);
  return { inMsgs: varz.in_msgs!, outMsgs: varz.out_msgs!, subsCreated: subsz.num_inserts! };
}

export interface MeasureHooks {
  /** Sees the settled count of every attempt. */
  readonly settled?: (n: number) => void;
  /** Runs after each attempt (e.g. checks that the stream is drained). */
  readonly after?: () => Promise<void>;
  /** nats-server monitoring URL: count the NATS messages and subscriptions per settled message. */
  readonly monitorUrl?: string;
}

export class ScenarioMeter {
  /**
   * Per scenario: CPU of the server under test (for Sluice on JetStream: the Sluice process, with
   * its nats-server's apart in `nats`), of this load generator and of everything else on the box,
   * % of one core.
   */
  readonly cpuShare: Record<string, { server: number; nats?: number; client: number; other: number }> = {};
  /** Attempts per scenario (quiet mode repeats a disturbed one). */
  readonly attempts: Record<string, number> = {};
  quietSpentMs = 0;

  constructor(
    readonly quietPct: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs a scenario, in quiet mode after waiting for a quiet box and repeated when the box got busy. `pids`: the server under test, then (Sluice on JetStream) its nats-server. */
  async measure(key: string, pids: readonly number[], connect: () => Promise<Connected>, run: (c: Connected) => Promise<DurableResult>, hooks: MeasureHooks = {}): Promise<DurableResult> {
    for (let attempt = 1; ; attempt++) {
      await this.#waitForQuiet();
      const t0 = performance.now();
      const traffic0 = hooks.monitorUrl ? await natsTraffic(hooks.monitorUrl) : undefined;
      const measured = await this.#measureOnce(key, pids, await connect(), run);
      let result = measured.result;
      hooks.settled?.(result.settled);
      await hooks.after?.();
      if (traffic0 && hooks.monitorUrl) {
        const t = await natsTraffic(hooks.monitorUrl);
        const per = (n: number) => Math.round((n / result.settled) * 100) / 100;
        result = { ...result, nats: { inPerMsg: per(t.inMsgs - traffic0.inMsgs), outPerMsg: per(t.outMsgs - traffic0.outMsgs), subsPerMsg: per(t.subsCreated - traffic0.subsCreated) } };
      }
      const busy = Number.isFinite(this.quietPct) && measured.other > Math.max(2 * this.quietPct, this.quietPct + 25);
      if (!busy || attempt >= 3 || this.quietSpentMs >= QUIET_BUDGET_MS) {
        this.attempts[key] = attempt;
        return result;
      }
      this.quietSpentMs += performance.now() - t0;
      this.log(`${key}: repeating it (attempt ${attempt + 1}): the rest of the box used ${measured.other} % of one core`);
    }
  }

  async #waitForQuiet(): Promise<void> {
    if (!Number.isFinite(this.quietPct)) return;
    while (this.quietSpentMs < QUIET_BUDGET_MS) {
      const t0 = performance.now();
      const box0 = boxBusyMs();
      const self0 = process.cpuUsage();
      await sleep(1000);
      const self = process.cpuUsage(self0);
      const wallMs = performance.now() - t0;
      // The servers under test are idle between scenarios: what is busy is the rest of the box.
      const busy = ((boxBusyMs() - box0 - (self.user + self.system) / 1000) / wallMs) * 100;
      if (busy <= this.quietPct) return;
      this.quietSpentMs += wallMs;
    }
  }

  /**
   * Connect, loop, then wait (bounded) for receipts still due — a durable server may deliver
   * and see the ack before the commit that releases the receipt, and the loops end on the last
   * ack — and take the receipt percentiles again. Returns the CPU the rest of the box used meanwhile too.
   */
  async #measureOnce(key: string, pids: readonly number[], clients: Connected, run: (c: Connected) => Promise<DurableResult>): Promise<{ result: DurableResult; other: number }> {
    try {
      const procs0 = processCpu();
      const servers0 = pids.map(readCpuMs);
      const box0 = boxBusyMs();
      const client0 = process.cpuUsage();
      const wall0 = performance.now();
      const r = await run(clients);
      const until = performance.now() + 10_000;
      // A refused publish gets no receipt; after refusals the server may close the producer's socket
      // (1013), and receipts of messages stored just before are then lost with it: counted, not fatal.
      const due = clients.rec.published - (r.refused ?? 0);
      while (clients.rec.receipts < due && performance.now() < until) await sleep(5);
      const missing = due - clients.rec.receipts;
      if (missing > 0 && !r.refused) throw new Error(`${r.label}: ${missing} receipt(s) missing 10 s after the last ack`);
      if (missing > 0) this.log(`${key}: ${missing} receipt(s) lost with the producer socket the server closed after refusing publishes`);
      const wallMs = performance.now() - wall0;
      const servers = pids.map((pid, i) => readCpuMs(pid) - servers0[i]!);
      const c = process.cpuUsage(client0);
      const client = (c.user + c.system) / 1000;
      const pct = (ms: number) => Math.round((ms / wallMs) * 100);
      const other = Math.max(0, pct(boxBusyMs() - box0 - servers.reduce((a, b) => a + b, 0) - client));
      this.cpuShare[key] = { server: pct(servers[0]!), ...(servers.length > 1 ? { nats: pct(servers[1]!) } : {}), client: pct(client), other };
      if (other >= 25) this.log(`${key}: the rest of the box used ${other} % of one core: ${busiestOthers(procs0, [...pids, process.pid], wallMs) || "no single process (kernel, short-lived processes)"}`);
      return { result: { ...r, receipt: clients.rec.summary("receipt") }, other };
    } finally {
      await clients.close();
    }
  }
}
