import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfigFromFile } from "../../src/runtime/config-file.ts";
import { DEFAULT_CONFIG, DEFAULT_QUEUE_CONFIG, loadConfig, type SluiceConfig } from "../../src/server/config.ts";
import type { Result } from "../../src/result/result.ts";
import { describe, expect, test } from "../harness.ts";

function value(r: Result<SluiceConfig>): SluiceConfig {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

// The problems of a failed load; asserts the failure is `validation`.
function problems(r: Result<SluiceConfig>): string[] {
  expect(r.ok).toBe(false);
  if (r.ok) return [];
  expect(r.error.code).toBe("validation");
  return r.error.metadata?.problems as string[];
}

// Jest's `expect` (used under Deno) has no toStartWith; comparing the prefix keeps a readable diff.
function expectPrefix(actual: unknown, prefix: string): void {
  expect(String(actual).slice(0, prefix.length)).toBe(prefix);
}

const file = (data: unknown) => ({ fileText: JSON.stringify(data) });

describe("defaults", () => {
  test("no file and no env give the embedded defaults", () => {
    const config = value(loadConfig());
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(config.port).toBe(8787);
    expect(config.host).toBe("0.0.0.0");
    expect(config.drainMs).toBe(10_000);
    expect(config.maxFrameBytes).toBe(1024 * 1024);
    expect(config.idempotencyWindowMs).toBe(300_000);
    expect(config.authTokens).toEqual([]);
    expect([config.storage, config.dataDir, config.durability]).toEqual(["sqlite", "./data", "process"]);
    expect(Object.keys(config.queues)).toEqual(["default"]);
    expect(config.queues.default).toEqual({
      capacity: 1024,
      fullMode: "wait",
      leaseMs: 30_000,
      heartbeatMs: 5_000,
      sweepMs: 1_000,
      maxRetries: 5,
      requeueDelayMs: 0,
      maxStalls: 3,
      maxBytes: 64 * 1024 * 1024,
    });
  });

  test("an empty file and empty env vars change nothing", () => {
    expect(value(loadConfig({ fileText: "  \n", env: { PORT: "", SLUICE_HOST: " " } }))).toEqual(DEFAULT_CONFIG);
  });

  test("the result is frozen", () => {
    const config = value(loadConfig(file({ queues: { jobs: { bridge: { wsUrl: "ws://x" } } } })));
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.queues)).toBe(true);
    expect(Object.isFrozen(config.queues.jobs)).toBe(true);
    expect(Object.isFrozen(config.queues.jobs.bridge)).toBe(true);
    expect(Object.isFrozen(config.authTokens)).toBe(true);
  });
});

describe("file overrides", () => {
  test("server keys override defaults; unset keys keep theirs", () => {
    const config = value(loadConfig(file({ port: 9000, authTokens: ["a", "b"], drainMs: 0 })));
    expect(config.port).toBe(9000);
    expect(config.authTokens).toEqual(["a", "b"]);
    expect(config.drainMs).toBe(0);
    expect(config.host).toBe("0.0.0.0");
  });

  test("queues replace the default set; each queue starts from queueDefaults", () => {
    const config = value(
      loadConfig(file({ queueDefaults: { leaseMs: 60_000 }, queues: { jobs: { capacity: 10 }, mail: { fullMode: "reject" } } })),
    );
    expect(Object.keys(config.queues).sort()).toEqual(["jobs", "mail"]);
    expect(config.queues.jobs).toEqual({ ...DEFAULT_QUEUE_CONFIG, leaseMs: 60_000, capacity: 10 });
    expect(config.queues.mail.fullMode).toBe("reject");
    expect(config.queues.mail.leaseMs).toBe(60_000);
  });

  test("a bridge section gets its defaults", () => {
    const config = value(loadConfig(file({ queues: { jobs: { bridge: { rpcUrl: "https://worker.internal", concurrency: 2 } } } })));
    expect(config.queues.jobs.bridge).toEqual({
      rpcUrl: "https://worker.internal",
      sendTimeoutMs: 3000,
      pingIntervalMs: 15000,
      concurrency: 2,
    });
    expect(config.queues.jobs.bridge?.wsUrl).toBeUndefined();
  });

  test("$schema is allowed at the top level", () => {
    expect(loadConfig(file({ $schema: "./sluice.schema.json" })).ok).toBe(true);
  });
});

describe("env overrides", () => {
  test("env wins over the file", () => {
    const config = value(
      loadConfig({
        ...file({ port: 9000, host: "10.0.0.1", drainMs: 1 }),
        env: {
          PORT: "7000",
          SLUICE_HOST: "127.0.0.1",
          SLUICE_AUTH_TOKENS: " t1, t2 ,,",
          SLUICE_DRAIN_MS: "2500",
          SLUICE_MAX_FRAME_BYTES: "65536",
          SLUICE_IDEMPOTENCY_WINDOW_MS: "0",
        },
      }),
    );
    expect(config).toMatchObject({
      port: 7000,
      host: "127.0.0.1",
      authTokens: ["t1", "t2"],
      drainMs: 2500,
      maxFrameBytes: 65536,
      idempotencyWindowMs: 0,
    });
  });

  test("SLUICE_PORT wins over PORT", () => {
    expect(value(loadConfig({ env: { PORT: "1", SLUICE_PORT: "2" } })).port).toBe(2);
  });

  test("an empty SLUICE_AUTH_TOKENS turns auth off even when the file sets tokens", () => {
    expect(value(loadConfig({ ...file({ authTokens: ["x"] }), env: { SLUICE_AUTH_TOKENS: "" } })).authTokens).toEqual([]);
  });

  test("unrelated env vars are ignored", () => {
    expect(value(loadConfig({ env: { HOME: "/root", SLUICE_UNRELATED: "1" } }))).toEqual(DEFAULT_CONFIG);
  });
});

describe("bad input", () => {
  test("the message names the key and what was expected", () => {
    const r = loadConfig(file({ queues: { jobs: { leaseMs: -5 } } }));
    expect(problems(r)).toEqual(["config: queues.jobs.leaseMs must be a positive integer (got -5)"]);
    expect(!r.ok && r.error.message).toBe("config: queues.jobs.leaseMs must be a positive integer (got -5)");
  });

  test("invalid JSON and a non-object file", () => {
    expectPrefix(problems(loadConfig({ fileText: "{ port: 1 }", fileName: "x.json" }))[0], "config: x.json is not valid JSON");
    expect(problems(loadConfig({ fileText: "[1]" }))).toEqual(["config: sluice.config.json must hold a JSON object (got [1])"]);
  });

  test("unknown keys at every level are named", () => {
    const list = problems(
      loadConfig(file({ prot: 1, queueDefaults: { bridge: {} }, queues: { jobs: { leasMs: 1, bridge: { url: "ws://x", wsUrl: "ws://x" } } } })),
    );
    expect(list).toHaveLength(4);
    expectPrefix(list[0], "config: unknown key prot at the top level (expected one of port, host,");
    expect(list.join("\n")).toContain("unknown key queueDefaults.bridge in queueDefaults");
    expect(list.join("\n")).toContain("unknown key queues.jobs.leasMs in queues.jobs");
    expect(list.join("\n")).toContain("unknown key queues.jobs.bridge.url in queues.jobs.bridge");
  });

  test("wrong types and ranges for each kind of rule", () => {
    const list = problems(
      loadConfig(
        file({
          port: 70000,
          host: "",
          maxFrameBytes: 2 ** 33,
          drainMs: 1.5,
          idempotencyWindowMs: "300000",
          authTokens: ["ok", "has space", 7],
          queues: { jobs: { capacity: 0, fullMode: "drop", maxRetries: null, requeueDelayMs: -1 } },
        }),
      ),
    );
    expect(list).toEqual([
      "config: port must be an integer from 0 to 65535 (got 70000)",
      'config: host must be a non-empty string (got "")',
      "config: drainMs must be a non-negative integer (got 1.5)",
      "config: maxFrameBytes must be an integer from 1 to 4294967295 (got 8589934592)",
      'config: idempotencyWindowMs must be a non-negative integer (got "300000")',
      'config: authTokens must be an array of non-empty strings without whitespace or commas (got 3 value(s), not shown)',
      "config: queues.jobs.capacity must be a positive integer (got 0)",
      'config: queues.jobs.fullMode must be one of "wait", "reject" (got "drop")',
      "config: queues.jobs.maxRetries must be a positive integer (got null)",
      "config: queues.jobs.requeueDelayMs must be a non-negative integer (got -1)",
    ]);
  });

  test("sections that are not objects, and an empty queue set", () => {
    expect(problems(loadConfig(file({ queues: [] })))).toEqual(["config: queues must be an object (got [])"]);
    expect(problems(loadConfig(file({ queues: {} })))).toEqual(["config: queues must name at least one queue (got {})"]);
    expect(problems(loadConfig(file({ queues: { jobs: 5 } })))).toEqual(["config: queues.jobs must be an object (got 5)"]);
    expect(problems(loadConfig(file({ queueDefaults: "x" })))).toEqual(['config: queueDefaults must be an object (got "x")']);
  });

  test("bad queue names", () => {
    for (const name of ["", ".hidden", "has space", "a/b", "__proto__", "x".repeat(129)]) {
      const list = problems(loadConfig({ fileText: `{"queues":{${JSON.stringify(name)}:{}}}` }));
      expectPrefix(list[0], `config: queue name ${JSON.stringify(name)} must start with a letter or digit`);
    }
  });

  test("heartbeat must be shorter than the lease", () => {
    expect(problems(loadConfig(file({ queues: { jobs: { leaseMs: 1000, heartbeatMs: 1000 } } })))).toEqual([
      "config: queues.jobs.heartbeatMs must be less than queues.jobs.leaseMs (got 1000 >= 1000)",
    ]);
  });

  test("a short lease alone is accepted: unset keys take the library's defaults, derived from the keys set", () => {
    const config = value(loadConfig(file({ queues: { jobs: { leaseMs: 4000 } } })));
    expect(config.queues.jobs).toMatchObject({ leaseMs: 4000, heartbeatMs: 2000, maxRetries: 5, maxStalls: 3 });
    const viaDefaults = value(loadConfig(file({ queueDefaults: { leaseMs: 3000 }, queues: { jobs: {} } })));
    expect(viaDefaults.queues.jobs).toMatchObject({ leaseMs: 3000, heartbeatMs: 1500 });
  });

  test("a rejected value never shows a secret: URL credentials and token parameters are masked", () => {
    const list = problems(loadConfig(file({ queues: { jobs: { bridge: { wsUrl: "http://bot:hunter22@ingest.internal/x?token=s3cr3t-value" } } } })));
    expect(list.join("\n")).not.toContain("hunter22");
    expect(list.join("\n")).not.toContain("s3cr3t-value");
    expect(list.join("\n")).toContain("***");
  });

  test("bridges need a URL with the right scheme", () => {
    const list = problems(
      loadConfig(file({ queues: { a: { bridge: {} }, b: { bridge: { wsUrl: "http://x", rpcUrl: "not a url", sendTimeoutMs: 0 } } } })),
    );
    expect(list).toEqual([
      "config: queues.a.bridge needs wsUrl or rpcUrl (or both)",
      'config: queues.b.bridge.wsUrl must be a ws/wss URL (got "http://x")',
      'config: queues.b.bridge.rpcUrl must be a http/https URL (got "not a url")',
      "config: queues.b.bridge.sendTimeoutMs must be a positive integer (got 0)",
      "config: queues.b.bridge needs wsUrl or rpcUrl (or both)",
    ]);
  });

  test("bad env values name the variable", () => {
    const list = problems(
      loadConfig({ env: { PORT: "http", SLUICE_DRAIN_MS: "-5", SLUICE_MAX_FRAME_BYTES: "1e6", SLUICE_AUTH_TOKENS: "a b" } }),
    );
    expect(list).toEqual([
      'config: env PORT must be an integer from 0 to 65535 (got "http")',
      'config: env SLUICE_AUTH_TOKENS must be an array of non-empty strings without whitespace or commas (got 1 value(s), not shown)',
      "config: env SLUICE_DRAIN_MS must be a non-negative integer (got -5)",
      'config: env SLUICE_MAX_FRAME_BYTES must be an integer from 1 to 4294967295 (got "1e6")',
    ]);
  });

  test("all problems are reported together", () => {
    const r = loadConfig({ ...file({ port: -1, queues: { jobs: { capacity: 0 } } }), env: { SLUICE_DRAIN_MS: "x" } });
    expect(problems(r)).toHaveLength(3);
    expect(!r.ok && r.error.message.split("\n")).toHaveLength(3);
  });
});

describe("loadConfigFromFile", () => {
  test("reads sluice.config.json from cwd, or SLUICE_CONFIG; a missing default file is fine", () => {
    const dir = mkdtempSync(join(tmpdir(), "sluice-config-"));
    try {
      expect(value(loadConfigFromFile({ cwd: dir, env: {} }))).toEqual(DEFAULT_CONFIG);
      writeFileSync(join(dir, "sluice.config.json"), JSON.stringify({ port: 1234 }));
      expect(value(loadConfigFromFile({ cwd: dir, env: {} })).port).toBe(1234);
      writeFileSync(join(dir, "other.json"), JSON.stringify({ port: 4321 }));
      expect(value(loadConfigFromFile({ cwd: dir, env: { SLUICE_CONFIG: "other.json", SLUICE_HOST: "::1" } }))).toMatchObject({
        port: 4321,
        host: "::1",
      });
      writeFileSync(join(dir, "bad.json"), '{"port": "x"}');
      const bad = problems(loadConfigFromFile({ cwd: dir, path: "bad.json" }));
      expect(bad).toEqual(['config: port must be an integer from 0 to 65535 (got "x")']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("a named file that is missing is an error", () => {
    const r = loadConfigFromFile({ env: { SLUICE_CONFIG: "/nonexistent/sluice.json" } });
    expect(!r.ok && r.error.code).toBe("validation");
    expectPrefix(!r.ok && r.error.message, "config: cannot read /nonexistent/sluice.json");
  });
});
