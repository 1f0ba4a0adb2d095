// Storage keys of the configuration (config-storage.ts): "jetstream", natsUrl / SLUICE_NATS_URL
// server-wide and per queue, the clustered default, and the errors that stop start-up.
// (Beside config.test.ts, which holds every other key.)
import { loadConfig, natsUrlOf, type SluiceConfig, storageOf } from "../../src/server/config.ts";
import type { Result } from "../../src/result/result.ts";
import { describe, expect, test } from "../harness.ts";

function value(r: Result<SluiceConfig>): SluiceConfig {
  if (!r.ok) throw new Error(`expected ok, got ${r.error.message}`);
  return r.value;
}

function problems(r: Result<SluiceConfig>): string[] {
  expect(r.ok).toBe(false);
  if (r.ok) return [];
  expect(r.error.code).toBe("validation");
  return r.error.metadata?.problems as string[];
}

const file = (data: unknown) => JSON.stringify(data);
const NATS = "nats://127.0.0.1:4222";

describe("storage: jetstream", () => {
  test("SLUICE_NATS_URL without SLUICE_STORAGE makes JetStream the default storage", () => {
    const config = value(loadConfig({ env: { SLUICE_NATS_URL: NATS } }));
    expect([config.storage, config.natsUrl]).toEqual(["jetstream", NATS]);
    expect([storageOf(config, "default"), natsUrlOf(config, "default")]).toEqual(["jetstream", NATS]);
  });

  test("natsUrl in the file does the same; an explicit storage (file or env) wins", () => {
    expect(value(loadConfig({ fileText: file({ natsUrl: NATS }) })).storage).toBe("jetstream");
    expect(value(loadConfig({ fileText: file({ natsUrl: NATS, storage: "sqlite" }) })).storage).toBe("sqlite");
    const envWins = value(loadConfig({ env: { SLUICE_NATS_URL: NATS, SLUICE_STORAGE: "memory" } }));
    expect([envWins.storage, natsUrlOf(envWins, "default")]).toEqual(["memory", undefined]);
    // An empty SLUICE_STORAGE is "not set", as for every env key.
    expect(value(loadConfig({ env: { SLUICE_NATS_URL: NATS, SLUICE_STORAGE: " " } })).storage).toBe("jetstream");
    // An empty SLUICE_NATS_URL is not set either: the default stays sqlite.
    expect(value(loadConfig({ env: { SLUICE_NATS_URL: "" } })).storage).toBe("sqlite");
  });

  test("per queue: storage and natsUrl; a queue with its own natsUrl is a JetStream queue", () => {
    const config = value(
      loadConfig({
        fileText: file({
          natsUrl: NATS,
          storage: "sqlite",
          queues: { local: {}, shared: { storage: "jetstream" }, other: { natsUrl: "nats://10.0.0.6:4222" }, tmp: { storage: "memory" } },
        }),
      }),
    );
    expect(Object.keys(config.queues).map((q) => [q, storageOf(config, q), natsUrlOf(config, q)])).toEqual([
      ["local", "sqlite", undefined],
      ["shared", "jetstream", NATS],
      ["other", "jetstream", "nats://10.0.0.6:4222"],
      ["tmp", "memory", undefined],
    ]);
    expect(Object.isFrozen(config.queues.other)).toBe(true);
  });

  test("SLUICE_STORAGE=jetstream and SLUICE_NATS_URL with several servers and credentials", () => {
    const url = "nats://app:pw@10.0.0.5:4222, tls://10.0.0.6:4222,10.0.0.7";
    const config = value(loadConfig({ env: { SLUICE_STORAGE: "jetstream", SLUICE_NATS_URL: url } }));
    expect([config.storage, config.natsUrl]).toEqual(["jetstream", url]);
  });

  test("jetstream without a NATS URL is an error naming the key", () => {
    expect(problems(loadConfig({ env: { SLUICE_STORAGE: "jetstream" } }))).toEqual([
      'config: storage is "jetstream" but natsUrl is not set (set natsUrl or env SLUICE_NATS_URL, e.g. "nats://127.0.0.1:4222"; queues: default)',
    ]);
    expect(problems(loadConfig({ fileText: file({ queues: { jobs: { storage: "jetstream" } } }) }))).toEqual([
      'config: queues.jobs.storage is "jetstream" but no NATS URL is set (set queues.jobs.natsUrl, natsUrl, or env SLUICE_NATS_URL)',
    ]);
  });

  test("a natsUrl on a queue whose own storage is not jetstream is an error", () => {
    expect(problems(loadConfig({ fileText: file({ queues: { jobs: { storage: "memory", natsUrl: NATS } } }) }))).toEqual([
      'config: queues.jobs.natsUrl is set but the queue\'s storage is "memory": natsUrl applies only to storage "jetstream"',
    ]);
  });

  test("durability power with a JetStream queue refuses to start", () => {
    const [problem] = problems(loadConfig({ env: { SLUICE_NATS_URL: NATS, SLUICE_DURABILITY: "power" } }));
    expect(problem).toBe(
      'config: durability "power" cannot be honoured by storage "jetstream" (queues: default): nats-server 2.9 has no per-message fsync; use durability "process", or storage "sqlite" for these queues',
    );
    // Power is fine when no queue is on JetStream.
    expect(value(loadConfig({ env: { SLUICE_NATS_URL: NATS, SLUICE_STORAGE: "sqlite", SLUICE_DURABILITY: "power" } })).durability).toBe("power");
  });

  test("a NATS URL that is not nats:// or tls:// is rejected, credentials masked", () => {
    const [env] = problems(loadConfig({ env: { SLUICE_NATS_URL: "http://user:s3cret@host:4222" } }));
    expect(env).toContain("config: env SLUICE_NATS_URL must be a NATS server URL");
    expect(env).toContain('(got "http://***@host:4222")');
    expect(env).not.toContain("s3cret");
    expect(problems(loadConfig({ fileText: file({ natsUrl: "nats://a:4222,,nats://b" }) }))[0]).toContain("config: natsUrl must be a NATS server URL");
    expect(problems(loadConfig({ fileText: file({ queues: { jobs: { natsUrl: 4222 } } }) }))[0]).toContain("config: queues.jobs.natsUrl must be a NATS server URL");
    expect(problems(loadConfig({ fileText: file({ storage: "nats" }) }))).toEqual(['config: storage must be one of "sqlite", "memory", "jetstream" (got "nats")']);
  });
});
