// The `sluice` CLI on Deno (`deno run -A src/cli/main.ts …`) against a Deno server child:
// publish from stdin, consume with ack, the stats feed (SSE from Deno.serve) with --watch,
// poison replay, and an auth failure's exit code — the same command, the other runtime.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { lines, runCli } from "./cli-process.ts";
import { type ServerProcess, startServer } from "./server-process.ts";

const TOKEN = "deno-cli";
let server: ServerProcess;
let env: Record<string, string>;
const sluice = (args: string[], stdin?: string, extra: Record<string, string> = {}) => runCli("deno", args, { stdin, env: { ...env, ...extra } });

beforeAll(async () => {
  server = await startServer("deno", { config: { storage: "memory", queues: { jobs: { maxRetries: 1 } } }, env: { SLUICE_AUTH_TOKENS: TOKEN } });
  env = { SLUICE_URL: server.url, SLUICE_TOKEN: TOKEN };
});
afterAll(async () => {
  await server?.stop("SIGKILL").catch(() => {});
});

describe("sluice CLI on Deno against a Deno server", () => {
  test("publish, consume, stats --watch, poison replay, auth failure", async () => {
    const published = await sluice(["publish", "jobs"], "one\ntwo\nthree\n");
    expect(published.stderr).toBe("");
    expect(published.stdout).toMatch(/^published 3 messages to jobs \(3 receipts, sequence 1…3\)\n$/);

    const consumed = await sluice(["consume", "jobs", "--count", "2", "--json"]);
    expect(consumed.code).toBe(0);
    expect(lines(consumed.stdout).map((l) => JSON.parse(l).data)).toEqual(["one", "two"]);

    const rejected = await sluice(["consume", "jobs", "--nack", "--count", "1", "--reason", "nope"]);
    expect(rejected.stdout).toBe("three\n");
    const listed = JSON.parse((await sluice(["poison", "list", "jobs", "--json"])).stdout) as { entries: { sequenceId: number; lastError: { message: string } }[] };
    expect(listed.entries.map((e) => [e.sequenceId, e.lastError.message])).toEqual([[3, "nope"]]);
    const replayed = await sluice(["poison", "replay", "jobs", "3"]);
    expect(replayed.stdout).toBe("replayed 1 entry of jobs\n");

    const watched = await sluice(["stats", "--watch", "--interval", "200", "--count", "2", "--json"]);
    expect(watched.code).toBe(0);
    const samples = lines(watched.stdout).map((l) => JSON.parse(l) as { queues: { queue: string; pending: number; acked: number; poisoned: number }[] });
    expect(samples.length).toBe(2);
    expect(samples[1]!.queues).toEqual([expect.objectContaining({ queue: "jobs", pending: 1, acked: 2, poisoned: 0 })]);

    const refused = await sluice(["stats"], undefined, { SLUICE_TOKEN: "wrong" });
    expect(refused.code).toBe(3);
    expect(lines(refused.stderr)).toEqual([expect.stringMatching(/^sluice stats: unauthorized: GET \/v1\/queues refused: 401 /)]);
  }, 120_000);
});
