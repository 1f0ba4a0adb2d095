/**
 * NATS for the tests that need a real server (the JetStream backend's conformance and
 * integration suites; they run on Bun only):
 *   - `startNatsServer({ jetstream: true })`: a private nats-server child process on a free
 *     loopback port with its own temp store dir, with `kill(signal)`, `restart()` (same port,
 *     same store) and `stop()` — for tests that crash or restart the server. The spawn logic
 *     lives in bench/support/nats-server.ts (benchmarks use it too and must not import test/).
 *   - `natsUrlForTests()`: the URL a suite should use: `SLUICE_TEST_NATS_URL` (CI's `.ci/run`
 *     starts one server for the whole run), else one private server shared by every test file of
 *     this process, else — nats-server not installed — `undefined` plus one loud SKIP line, so
 *     the suite can `describe.skipIf`. In CI (`CI` set) a missing server throws instead: the
 *     JetStream suites never skip there.
 *
 * @example
 * ```ts
 * import { describe, test } from "bun:test";
 * import { natsUrlForTests } from "../support/nats.ts";
 *
 * const natsUrl = await natsUrlForTests();
 * describe.skipIf(natsUrl === undefined)("JetStreamQueue", () => {
 *   test("round trip", async () => { … connectNats(natsUrl!) … });
 * });
 * ```
 */
import { natsServerBin, type NatsServerHandle, startNatsServer } from "../../bench/support/nats-server.ts";

export { freePort, natsServerBin, type NatsServerHandle, type NatsServerOptions, natsServerVersion, startNatsServer } from "../../bench/support/nats-server.ts";

/** The line printed (once per process) when JetStream tests are skipped. */
export const NATS_SKIP_LINE = "SKIP: nats-server not installed; JetStream tests skipped";

let skipAnnounced = false;

/**
 * True when this process can start a private nats-server. When it cannot: in CI (`CI` set) it
 * throws (CI installs nats-server and must never skip); elsewhere it prints `NATS_SKIP_LINE`
 * once per process and answers false.
 *
 * @example
 * ```ts
 * describe.skipIf(!canStartNatsServer())("nats-server restarts", () => { … startNatsServer() … });
 * ```
 */
export function canStartNatsServer(): boolean {
  if (natsServerBin() !== undefined) return true;
  if (process.env.CI) {
    throw new Error("nats-server is not installed, and CI must not skip the JetStream tests (.ci/run installs it: apt-get install -y nats-server)");
  }
  if (!skipAnnounced) {
    skipAnnounced = true;
    console.warn(NATS_SKIP_LINE);
  }
  return false;
}

let shared: Promise<NatsServerHandle> | undefined;

/**
 * The NATS URL for a JetStream test suite: `SLUICE_TEST_NATS_URL` if set; else a private
 * nats-server with JetStream, started on first call and shared by every later call in this
 * process (stopped, store removed, when the process exits); else (no nats-server) `undefined`
 * after one loud SKIP line — or, in CI, a throw. Suites share a server, so each should use its
 * own stream / queue names.
 *
 * @example
 * ```ts
 * const natsUrl = await natsUrlForTests();
 * describe.skipIf(natsUrl === undefined)("on JetStream", () => { … });
 * ```
 */
export async function natsUrlForTests(): Promise<string | undefined> {
  const given = process.env.SLUICE_TEST_NATS_URL;
  if (given !== undefined && given !== "") return given;
  if (!canStartNatsServer()) return undefined;
  shared ??= startNatsServer({ jetstream: true, name: "sluice-test-shared" });
  return (await shared).url;
}
