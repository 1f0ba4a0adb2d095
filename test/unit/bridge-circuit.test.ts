// The bridge's circuit breaker (closed → open → half-open on a VirtualClock: threshold, one probe
// at a time, growing waits, parked callers woken one at a time then all), its rate-limited log
// lines, and its metric series (queue + role="bridge").
import { describe, expect, test } from "../harness.ts";
import { sluiceError, VirtualClock } from "../../src/result/mod.ts";
import { RetryPolicy } from "../../src/result/retry-policy.ts";
import { MetricsRegistry } from "../../src/queue/metrics/registry.ts";
import { CircuitBreaker, type CircuitChange } from "../../src/transport/circuit-breaker.ts";
import { BridgeLog } from "../../src/transport/bridge-log.ts";
import { BridgeMetrics } from "../../src/transport/bridge-metrics.ts";
import { isOutageError } from "../../src/transport/bridge-delivery.ts";

const backoff = RetryPolicy.exponential({ attempts: 1, initialMs: 500, factor: 2, maxMs: 2000 });

describe("CircuitBreaker", () => {
  const setup = (failureThreshold = 3) => {
    const clock = new VirtualClock();
    const changes: string[] = [];
    const breaker = new CircuitBreaker({ failureThreshold, backoff, clock, onChange: (c: CircuitChange) => changes.push(`${c.from}>${c.to}${c.retryInMs === undefined ? "" : `@${c.retryInMs}`}`) });
    return { clock, breaker, changes };
  };

  test("opens after the threshold of failures in a row; a success in between resets the count", () => {
    const { breaker, changes } = setup(3);
    breaker.failed(breaker.tryAdmit()!);
    breaker.failed(breaker.tryAdmit()!);
    breaker.succeeded(breaker.tryAdmit()!);
    breaker.failed(breaker.tryAdmit()!);
    breaker.failed(breaker.tryAdmit()!);
    expect(breaker.state).toBe("closed");
    breaker.failed(breaker.tryAdmit()!);
    expect(breaker.state).toBe("open");
    expect(breaker.tryAdmit()).toBeUndefined();
    expect(changes).toEqual(["closed>open@500"]);
  });

  test("open: nothing admitted until the wait is over, then ONE probe; a failed probe reopens with a longer wait, capped", async () => {
    const { clock, breaker, changes } = setup(1);
    breaker.failed(breaker.tryAdmit()!);
    await clock.advance(499);
    expect(breaker.tryAdmit()).toBeUndefined();
    await clock.advance(1);
    expect(breaker.state).toBe("half-open");
    expect(breaker.tryAdmit()).toBe("probe");
    expect(breaker.tryAdmit()).toBeUndefined(); // one probe at a time
    breaker.failed("probe");
    expect(breaker.retryInMs).toBe(1000);
    await clock.advance(1000);
    breaker.failed(breaker.tryAdmit()!);
    await clock.advance(2000);
    breaker.failed(breaker.tryAdmit()!);
    expect(breaker.retryInMs).toBe(2000); // maxMs
    expect(breaker.probes).toBe(3);
    expect(changes).toEqual(["closed>open@500", "open>half-open", "half-open>open@1000", "open>half-open", "half-open>open@2000", "open>half-open", "half-open>open@2000"]);
  });

  test("ready(): parked callers hold nothing, are woken one at a time while half-open, all at once when it closes", async () => {
    const { clock, breaker } = setup(1);
    breaker.failed(breaker.tryAdmit()!);
    const woken: number[] = [];
    const parked = [0, 1, 2].map((i) => breaker.ready().then(() => woken.push(i)));
    await clock.flush();
    expect(breaker.parked).toBe(3);
    await clock.advance(500); // half-open: one wakes, to probe
    expect(woken).toEqual([0]);
    const probe = breaker.tryAdmit()!;
    expect(probe).toBe("probe");
    breaker.succeeded(probe); // closed: everyone goes
    await Promise.all(parked);
    expect(woken).toEqual([0, 1, 2]);
    expect(breaker.state).toBe("closed");
    expect(await breaker.ready()).toEqual({ ok: true, value: undefined });
  });

  test("a canceled probe frees the slot for the next caller; an abort releases a parked caller; a late success closes an open circuit", async () => {
    const { clock, breaker } = setup(1);
    breaker.failed(breaker.tryAdmit()!);
    const c = new AbortController();
    const aborted = breaker.ready(c.signal);
    const other = breaker.ready();
    c.abort();
    expect((await aborted).error?.code).toBe("canceled");
    await clock.advance(500);
    await other; // woken for the probe
    expect(breaker.tryAdmit()).toBe("probe");
    breaker.released("probe");
    expect(breaker.tryAdmit()).toBe("probe");
    breaker.failed("probe");
    expect(breaker.state).toBe("open");
    breaker.succeeded("pass"); // a send admitted before the circuit opened got through
    expect(breaker.state).toBe("closed");
    breaker.dispose();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe("isOutageError", () => {
  test("down, full, closing or misconfigured as a whole: outage; a verdict on the message: not", () => {
    for (const code of ["unavailable", "timeout", "queue.full", "queue.closed", "unauthorized", "not_found"] as const) expect(isOutageError(sluiceError(code, "x"))).toBe(true);
    for (const code of ["validation", "frame.too_large", "internal", "canceled"] as const) expect(isOutageError(sluiceError(code, "x"))).toBe(false);
  });
});

describe("BridgeLog", () => {
  test("one line per outage start and end, at most one 'still down' per everyMs, with counts", async () => {
    const clock = new VirtualClock();
    const lines: string[] = [];
    const log = new BridgeLog({ name: "jobs", log: (l) => lines.push(l), clock, everyMs: 10_000 });
    const down = sluiceError("unavailable", "connect ECONNREFUSED 127.0.0.1:9");
    log.sendFailed("socket", down);
    log.circuit({ from: "closed", to: "open", openings: 1, retryInMs: 500 }, down);
    for (let i = 0; i < 30; i++) {
      await clock.advance(1000);
      log.circuit({ from: "open", to: "half-open", openings: i + 1 });
      log.probe();
      log.sendFailed("rpc", down);
      log.deferred();
      log.circuit({ from: "half-open", to: "open", openings: i + 2, retryInMs: 1000 }, down);
    }
    log.circuit({ from: "half-open", to: "closed", openings: 31 });
    expect(lines.length).toBe(1 + 3 + 1 + 1);
    expect(lines[0]).toBe("sluice: bridge jobs: socket send failed (unavailable: connect ECONNREFUSED 127.0.0.1:9)");
    expect(lines[1]).toContain("bridge jobs: downstream down (unavailable: connect ECONNREFUSED 127.0.0.1:9); circuit open");
    expect(lines[1]).toContain("not counted against maxRetries");
    expect(lines[2]).toContain("downstream still down after 10.0 s (10 failed send(s), 10 probe(s), 10 deliveries put back uncounted");
    expect(lines.at(-1)).toBe("sluice: bridge jobs: downstream back after 30.0 s: circuit closed (30 failed send(s), 30 probe(s), 30 deliveries put back uncounted during the outage)");
  });

  test("while closed: the first failure of a kind at once, then at most one per everyMs saying how many were held back", async () => {
    const clock = new VirtualClock();
    const lines: string[] = [];
    const log = new BridgeLog({ name: "jobs", log: (l) => lines.push(l), clock, everyMs: 10_000 });
    const timeout = sluiceError("timeout", "no answer within 3000 ms");
    for (let i = 0; i < 25; i++) {
      log.sendFailed("socket", timeout);
      await clock.advance(1000);
    }
    log.socket({ type: "down", connection: 1, reason: sluiceError("unavailable", "closed (1006)"), failedSends: 2 }, "ws://***@x/");
    expect(lines).toEqual([
      "sluice: bridge jobs: socket send failed (timeout: no answer within 3000 ms)",
      "sluice: bridge jobs: socket send failed (timeout: no answer within 3000 ms) [+9 more like it in the last 10.0 s]",
      "sluice: bridge jobs: socket send failed (timeout: no answer within 3000 ms) [+9 more like it in the last 10.0 s]",
      "sluice: bridge jobs: socket down (closed (1006)); 2 send(s) go to the fallback",
    ]);
  });
});

describe("BridgeMetrics", () => {
  test("sends by path and outcome, circuit state as one 1 among closed/open/half_open, outages counted; labels queue and role=bridge", () => {
    const registry = new MetricsRegistry();
    const metrics = new BridgeMetrics(registry, "jobs");
    const labels = { queue: "jobs", role: "bridge" };
    metrics.sent("socket", "ok");
    metrics.sent("rpc", "failed");
    metrics.sent("rpc", { ok: false, error: sluiceError("unavailable", "down") });
    metrics.circuit("open", "closed");
    metrics.circuit("half-open", "open");
    metrics.circuit("open", "half-open");
    expect(registry.value("sluice_bridge_sends_total", { ...labels, path: "rpc", outcome: "failed" })).toBe(2);
    expect(registry.value("sluice_bridge_sends_total", { ...labels, path: "socket", outcome: "ok" })).toBe(1);
    expect(registry.value("sluice_bridge_circuit_opened_total", labels)).toBe(1);
    const text = registry.render();
    expect(text).toContain('sluice_bridge_circuit_state{queue="jobs",role="bridge",state="open"} 1');
    expect(text).toContain('sluice_bridge_circuit_state{queue="jobs",role="bridge",state="closed"} 0');
    expect(text).toContain('sluice_bridge_circuit_state{queue="jobs",role="bridge",state="half_open"} 0');
    expect(text).toContain('sluice_bridge_sends_total{queue="jobs",role="bridge",path="rpc",outcome="refused"} 0');
  });
});
