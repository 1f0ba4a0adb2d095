// The `sluice` CLI as a person or a script runs it: `bun src/cli/main.ts …` as a child process
// against a real Sluice server child with auth on. Publish from stdin (receipt count), consume
// with ack (--count stops exactly: nothing is left leased or stalled), poison show (the failure
// history) and replay, stats --json and --watch, an auth failure's exit code and one-line
// message (HTTP and WebSocket commands), a route the server lacks (404 → exit 4 at once),
// usage mistakes (exit 2), and a small bench.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lines, runCli } from "./cli-process.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

const TOKEN = "cli-s3cret";
let server: ServerProcess;
let env: Record<string, string>;
const sluice = (args: string[], stdin?: string, extra: Record<string, string> = {}) => runCli("bun", args, { stdin, env: { ...env, ...extra } });

interface Stats {
  queue: string;
  pending: number;
  active: number;
  poisoned: number;
  enqueued: number;
  acked: number;
  failed: number;
  expired: number;
  requeued: number;
}

beforeAll(async () => {
  server = await startServer("bun", {
    config: { storage: "memory", queues: { jobs: { maxRetries: 2, requeueDelayMs: 0 }, bench: {} } },
    env: { SLUICE_AUTH_TOKENS: TOKEN },
  });
  env = { SLUICE_URL: server.url, SLUICE_TOKEN: TOKEN };
});
afterAll(async () => {
  await server?.stop("SIGKILL").catch(() => {});
});

async function waitForQueue(queue: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const run = await sluice(["stats", queue, "--json"]);
    if (run.code === 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`queue ${queue} never appeared`);
}

async function stats(queue: string): Promise<Stats> {
  const run = await sluice(["stats", queue, "--json"]);
  expect(run.code).toBe(0);
  return JSON.parse(run.stdout) as Stats;
}

describe("sluice CLI against a real server (Bun)", () => {
  test("publish from stdin: one message per line, a receipt count", async () => {
    const run = await sluice(["publish", "jobs", "-"], "alpha\nbeta\n\ngamma\n");
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toMatch(/^published 3 messages to jobs \(3 receipts, sequence \d+…\d+\)$/);
    const json = await sluice(["publish", "jobs", "--json"], "delta\n");
    expect(JSON.parse(json.stdout)).toMatchObject({ queue: "jobs", published: 1, sent: 1 });
    const one = await sluice(["publish", "jobs", "epsilon", "--key", "k-1"]);
    expect(one.stdout).toMatch(/^published 1 message to jobs \(sequence \d+\)/);
    const again = await sluice(["publish", "jobs", "epsilon", "--key", "k-1", "--json"]);
    expect(JSON.parse(again.stdout)).toMatchObject({ published: 1, duplicate: true });
    expect(await stats("jobs")).toMatchObject({ pending: 5, enqueued: 5 });
  });

  test("consume with ack: --count takes exactly that many, in order, and leaves nothing leased", async () => {
    const run = await sluice(["consume", "jobs", "--ack", "--count", "2", "--json"]);
    expect(run.code).toBe(0);
    const got = lines(run.stdout).map((l) => JSON.parse(l) as { data: string; attempt: number; encoding: string });
    expect(got.map((d) => d.data)).toEqual(["alpha", "beta"]);
    expect(got.every((d) => d.attempt === 1 && d.encoding === "utf8")).toBe(true);
    expect(run.stderr.trim()).toBe("consumed 2 messages from jobs (acked)");
    const text = await sluice(["consume", "jobs", "-n", "1"]);
    expect(text.stdout).toBe("gamma\n");
    // --count is a limit on credit too: no third delivery was out, so none was failed back.
    expect(await stats("jobs")).toMatchObject({ pending: 2, active: 0, acked: 3, expired: 0, requeued: 0, failed: 0 });
  });

  test("poison: nack past maxRetries, show the failure history, replay it, consume it again", async () => {
    const drained = await sluice(["consume", "jobs", "--count", "2"]);
    expect(drained.stdout).toBe("delta\nepsilon\n");
    await sluice(["publish", "jobs", "delta"]);
    // maxRetries 2: the first NACK requeues "delta", the second poisons it.
    for (let i = 0; i < 2; i++) {
      const nacked = await sluice(["consume", "jobs", "--nack", "--reason", `broken payload (try ${i + 1})`, "--count", "1"]);
      expect(nacked.code).toBe(0);
      expect(nacked.stdout).toBe("delta\n");
    }
    const listed = await sluice(["poison", "list", "jobs", "--json"]);
    expect(listed.code).toBe(0);
    const list = JSON.parse(listed.stdout) as { queue: string; count: number; entries: { sequenceId: number; exhausted: string }[] };
    expect(list).toMatchObject({ queue: "jobs.poison", count: 1 });
    const seq = list.entries[0]!.sequenceId;
    expect(list.entries[0]!.exhausted).toBe("failures");

    const table = await sluice(["poison", "list", "jobs"]);
    expect(lines(table.stdout)[0]).toMatch(/^SEQ\s+EXHAUSTED\s+ATTEMPTS\s+FAILURES\s+LAST ERROR/);
    const shown = await sluice(["poison", "show", "jobs", String(seq)]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`#${seq}  exhausted: failures after 2 attempts`);
    expect(shown.stdout).toContain("payload (utf8, 5 bytes): delta");
    expect(shown.stdout).toContain("last error: validation: broken payload (try 2)");
    expect(shown.stdout).toMatch(/history \(2\):\n.*attempt 1 {2}validation: broken payload \(try 1\)\n.*attempt 2 {2}validation: broken payload \(try 2\)/);
    const missing = await sluice(["poison", "show", "jobs", "999999"]);
    expect(missing.code).toBe(4);

    const replayed = await sluice(["poison", "replay", "jobs", String(seq)]);
    expect(replayed.code).toBe(0);
    expect(replayed.stdout.trim()).toBe("replayed 1 entry of jobs");
    expect(await stats("jobs")).toMatchObject({ poisoned: 0, pending: 1 });
    const empty = await sluice(["poison", "list", "jobs"]);
    expect(empty.stdout.trim()).toBe("jobs.poison: empty");
    const twice = await sluice(["poison", "replay", "jobs", String(seq)]);
    expect(twice.code).toBe(4);
    expect(lines(twice.stderr)).toEqual(["sluice poison: not_found: replayed 0 of 1: the others are not in the poison queue (any more)"]);

    const rest = await sluice(["consume", "jobs", "--count", "1", "--json"]);
    const redelivered = lines(rest.stdout).map((l) => JSON.parse(l) as { data: string; attempt: number });
    expect(redelivered.find((d) => d.data === "delta")?.attempt).toBe(1); // replayed at attempt 1
    // --nack --no-requeue poisons at once; purge drops it.
    await sluice(["publish", "jobs", "zeta"]);
    const rejected = await sluice(["consume", "jobs", "--nack", "--no-requeue", "--count", "1"]);
    expect(rejected.stderr).toContain("rejected to the poison queue");
    const purged = await sluice(["poison", "purge", "jobs", "--all", "--json"]);
    expect(JSON.parse(purged.stdout)).toEqual({ queue: "jobs", purged: 1 });
  });

  test("stats --json, the table, and --watch over the stats feed", async () => {
    const all = await sluice(["stats", "--json"]);
    expect(all.code).toBe(0);
    const { queues } = JSON.parse(all.stdout) as { queues: Stats[] };
    expect(queues.map((q) => q.queue)).toEqual(["jobs", "bench"]);
    expect(queues[0]).toMatchObject({ pending: 0, active: 0, poisoned: 0, acked: 6 });
    for (const key of ["enqueued", "failed", "requeued", "expired", "poisonedTotal", "backpressure"]) expect(queues[0]).toHaveProperty(key);
    const table = await sluice(["stats"]);
    expect(lines(table.stdout)[0]).toMatch(/^QUEUE\s+DEPTH\s+IN FLIGHT\s+POISON\s+ENQUEUED\s+ACKED\s+FAILED\s+BACKPRESSURE$/);
    expect(lines(table.stdout)[1]).toMatch(/^jobs\s+0\s+0\s+0\s/);

    const watched = await sluice(["stats", "jobs", "--watch", "--interval", "200", "--count", "2", "--json"]);
    expect(watched.code).toBe(0);
    const samples = lines(watched.stdout).map((l) => JSON.parse(l) as { at: number; queues: (Stats & { rates: object })[] });
    expect(samples.length).toBe(2);
    expect(samples[1]!.at).toBeGreaterThan(samples[0]!.at);
    expect(samples[0]!.queues.map((q) => q.queue)).toEqual(["jobs"]);
    expect(samples[1]!.queues[0]!.rates).toMatchObject({ enqueued: 0, acked: 0 });
    const lineMode = await sluice(["stats", "--watch", "--interval", "200", "--count", "1"]);
    expect(lines(lineMode.stdout)[0]).toMatch(/ jobs depth=0 in_flight=0 poison=0 enq\/s=0\.0 ack\/s=0\.0 fail\/s=0\.0$/);
  });

  test("auth failures: exit 3 and one line naming the refusal, for HTTP and WebSocket commands", async () => {
    for (const [args, token] of [[["stats"], "wrong"], [["stats", "--json"], ""], [["poison", "list", "jobs"], "wrong"]] as const) {
      const run = await sluice([...args], undefined, { SLUICE_TOKEN: token });
      expect(run.code).toBe(3);
      expect(run.stdout).toBe("");
      expect(lines(run.stderr).length).toBe(1);
      expect(run.stderr).toMatch(/^sluice (stats|poison): unauthorized: GET \/v1\/queues\S* refused: 401 .*\(pass --token or set SLUICE_TOKEN\)\n$/);
    }
    const flag = await sluice(["stats", "--token", "nope"], undefined, { SLUICE_TOKEN: TOKEN }); // --token wins over the env
    expect(flag.code).toBe(3);
    const ws = await sluice(["consume", "jobs", "--count", "1", "--timeout", "5000"], undefined, { SLUICE_TOKEN: "wrong" });
    expect(ws.code).toBe(3);
    expect(lines(ws.stderr)).toEqual([expect.stringMatching(/^sluice consume: unauthorized: WebSocket .*token=\*\*\* refused: 401 /)]);
    expect(ws.stderr).not.toContain("wrong");
    const pub = await sluice(["publish", "jobs", "-"], "x\n", { SLUICE_TOKEN: "wrong" });
    expect(pub.code).toBe(3);
    expect(pub.stderr).toMatch(/^sluice publish: unauthorized: 0 of 1 published lines got a receipt; then WebSocket .* refused: 401 /);
  });

  test("a route the server does not serve fails at once: exit 4 and one line; leaders answers", async () => {
    // An older server (or one without the mesh roles) answers the app's 404 "no route for …".
    const older = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: (request) => {
        const { pathname } = new URL(request.url);
        return Response.json({ error: { code: "not_found", message: `no route for ${request.method} ${pathname}` } }, { status: 404 });
      },
    });
    try {
      const cases = [[["members"], "GET /v1/cluster/members"], [["config", "get"], "GET /v1/control/config"], [["config", "set", "-", "--if-match", "3"], "PUT /v1/control/config"]] as const;
      for (const [args, path] of cases) {
        const started = Date.now();
        const run = await sluice([...args], "{}", { SLUICE_URL: `http://127.0.0.1:${older.port}` });
        expect(Date.now() - started).toBeLessThan(10_000);
        expect(run.code).toBe(4);
        expect(lines(run.stderr)).toEqual([`sluice ${args[0]}: not_found: this server has no ${path} (404): it does not serve this yet`]);
      }
    } finally {
      older.stop(true);
    }
    // This server: the route may be there by now (exit 0 with JSON) or refuse in one line.
    for (const args of [["members", "--json"], ["config", "get", "--json"]]) {
      const run = await sluice(args);
      if (run.code === 0) expect(() => JSON.parse(run.stdout)).not.toThrow();
      else expect(lines(run.stderr)).toEqual([expect.stringMatching(new RegExp(`^sluice ${args[0]}: `))]);
    }
    const leaders = await sluice(["leaders", "--json"]);
    expect(leaders.code).toBe(0);
    expect(JSON.parse(leaders.stdout)).toEqual({ scopes: [] });
    const nobody = await sluice(["leaders"]);
    expect(nobody.stdout.trim()).toBe("no leadership scopes (no bridged queue)");
  });

  test("usage mistakes exit 2; an unknown queue exits 4; an unreachable server exits 1", async () => {
    const cases: [string[], number, RegExp][] = [
      [["frobnicate"], 2, /^sluice: unknown command "frobnicate"/],
      [["consume"], 2, /^sluice consume: consume takes one queue/],
      [["consume", "jobs", "--ack", "--nack"], 2, /--ack or --nack, not both/],
      [["poison", "replay", "jobs"], 2, /sequence ids or --all/],
      [["stats", "--bogus"], 2, /^sluice stats: Unknown option '--bogus'/],
      [["config", "set", "x.json"], 2, /--if-match/],
      [["stats", "nosuch"], 4, /^sluice stats: not_found: 404 no queue named "nosuch"/],
    ];
    for (const [args, code, message] of cases) {
      const run = await sluice(args);
      expect({ args, code: run.code }).toEqual({ args, code });
      expect(lines(run.stderr).length).toBe(1);
      expect(run.stderr).toMatch(message);
    }
    const down = await sluice(["stats"], undefined, { SLUICE_URL: "http://127.0.0.1:1" });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/^sluice stats: unavailable: cannot reach http:\/\/127\.0\.0\.1:1/);
    const help = await sluice(["--help"]);
    expect(help.code).toBe(0);
    for (const name of ["serve", "publish", "consume", "stats", "poison", "members", "leaders", "config", "bench"]) expect(help.stdout).toContain(`  ${name} `);
  });

  test("config get / set with If-Match: a new version, a stale one refused (409), a bad one refused (400)", async () => {
    const got = await sluice(["config", "get", "--json"]);
    if (got.code === 4) return; // a server without the control role: covered by the 404 test above
    expect(got.code).toBe(0);
    const view = JSON.parse(got.stdout) as { version: number; status: string; config: { queues: Record<string, unknown> } };
    expect(view.status).toBe("applied");
    const human = await sluice(["config", "get"]);
    expect(human.stderr).toBe(`version ${view.version} (applied)\n`);
    expect(JSON.parse(human.stdout)).toEqual(view.config);
    const next = { ...view.config, queues: { ...view.config.queues, audit: { maxRetries: 3 } } };
    const set = await sluice(["config", "set", "-", "--if-match", String(view.version)], JSON.stringify(next));
    expect(set.stderr).toBe("");
    expect(set.stdout).toBe(`config is now version ${view.version + 1}\n`);
    const stale = await sluice(["config", "set", "-", "--if-match", String(view.version)], JSON.stringify(next));
    expect(stale.code).toBe(1);
    expect(lines(stale.stderr)).toEqual([expect.stringMatching(/^sluice config: conflict: 409 /)]);
    const bad = await sluice(["config", "set", "-", "--if-match", String(view.version + 1)], JSON.stringify({ queues: { audit: { leaseMs: -5 } } }));
    expect(bad.code).toBe(1);
    expect(lines(bad.stderr)).toEqual([expect.stringMatching(/^sluice config: validation: 400 .*queues\.audit\.leaseMs/)]);
    // `config get --json` piped back is accepted as is (its `config`).
    const roundTrip = await sluice(["config", "set", "-", "--if-match", String(view.version + 1), "--json"], (await sluice(["config", "get", "--json"])).stdout);
    expect(JSON.parse(roundTrip.stdout)).toEqual({ version: view.version + 2 });
    await waitForQueue("audit");
  });

  test("bench: publishes and consumes n messages and reports throughput and latency", async () => {
    const run = await sluice(["bench", "bench", "--msgs", "2000", "--size", "64", "--producers", "2", "--consumers", "2", "--json"]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { publish: { messages: number; latency: { count: number; p99: number } }; consume: { messages: number; latency: { count: number } } };
    expect(result.publish.messages).toBe(2000);
    expect(result.consume.messages).toBe(2000);
    expect(result.publish.latency.count).toBe(2000);
    expect(result.consume.latency.count).toBe(2000);
    expect(result.publish.latency.p99).toBeGreaterThan(0);
    expect(await stats("bench")).toMatchObject({ pending: 0, active: 0, acked: 2000 });
    const table = await sluice(["bench", "bench", "--msgs", "200"]);
    expect(lines(table.stdout)[0]).toMatch(/^\s+MSGS\s+MSG\/S\s+MB\/S\s+P50 MS\s+P90 MS\s+P99 MS\s+MAX MS$/);
    expect(lines(table.stdout)[1]).toMatch(/^publish\s+200\s/);
  });
});
