/**
 * Starts the control role for a booted server (lifecycle.ts): where the document lives — NATS KV
 * (bucket `sluice_control`) when clustered (`natsUrl`), else `config.json` in `<dataDir>/control`
 * — the LKG files beside it, and the NATS connection the role and its live JetStream queues use.
 * The only place that opens that connection (control-nats.ts, loaded only when `natsUrl` is set:
 * a node without NATS never loads the NATS client).
 *
 * @module
 */
import { join } from "node:path";
import { LkgStore } from "../mesh/control/lkg.ts";
import { FileControlSource } from "../mesh/control/file-source.ts";
import { NatsKvControlSource } from "../mesh/control/kv-source.ts";
import type { ControlSource } from "../mesh/control/source.ts";
import type { RelayQueue } from "../queue/relay-queue.ts";
import { type Broker, queueOptionsFor } from "../server/broker.ts";
import type { SluiceConfig } from "../server/config.ts";
import { parseControlDocument } from "../server/control-document.ts";
import { effectiveConfig } from "../server/control-effective.ts";
import { type ControlPlaneHandle, startControlPlane } from "../server/control.ts";
import { DirFiles } from "./control-files.ts";
import { nodeIdOf } from "./node-id.ts";
import { PendingQueue } from "./pending-queue.ts";

/**
 * The control role as started: its handle, and `close` (its NATS connection, after the broker
 * shut down — the shutdown already stopped the watch and the pump).
 *
 * @example
 * ```ts
 * const control = await startControl({ base, env, broker, log });
 * control.handle.agent.view().version; // 7
 * ```
 */
export interface ControlRuntime {
  readonly handle: ControlPlaneHandle;
  close(): Promise<void>;
}

/**
 * The configuration a node starts with: its own (`base`) with its last-known-good control
 * document applied, read before anything opens — so the store, the JetStream queues and the
 * broker start as the LKG says, also while the cluster's store is unreachable. No usable LKG:
 * `base`.
 *
 * @example
 * ```ts
 * const { config, lkgVersion } = await configWithLkg(base, env, console.log);
 * ```
 */
export async function configWithLkg(base: SluiceConfig, env: Readonly<Record<string, string | undefined>>, log: (line: string) => void): Promise<{ config: SluiceConfig; lkgVersion?: number }> {
  const lkg = new LkgStore(new DirFiles(controlDir(base)));
  const loaded = await lkg.load();
  if (!loaded.ok || loaded.value === undefined) return { config: base };
  const { version, text } = loaded.value.revision;
  const doc = parseControlDocument(text);
  const next = doc.ok ? effectiveConfig(base, doc.value, env) : doc;
  if (!next.ok) {
    log(`sluice: control: last-known-good version ${version} in ${lkg.describe} cannot be used here (${next.error.message}); starting from sluice.config.json`);
    return { config: base };
  }
  log(`sluice: control: starting from last-known-good version ${version} (${lkg.describe}, ${Object.keys(next.value.queues).length} queue(s))`);
  return { config: next.value, lkgVersion: version };
}

/**
 * Placeholders for the JetStream queues of `config` when NATS could not be reached at start-up
 * (a node restarting with its LKG while NATS is down): publishes answer 503 until
 * `startControl` swaps the real queues in.
 *
 * @example
 * ```ts
 * const queues = pendingJetStreamQueues(config, metrics, "NATS at nats://127.0.0.1:4222 is unreachable");
 * ```
 */
export function pendingJetStreamQueues(config: SluiceConfig, names: readonly string[], metrics: Broker["metrics"], why: string): Map<string, RelayQueue<Uint8Array>> {
  return new Map(names.map((name) => [name, new PendingQueue(queueOptionsFor(name, config.queues[name]!), metrics, why)]));
}

/**
 * Starts the control role on `broker` (after its queues and leadership are up): the source —
 * NATS KV when `base.natsUrl` is set, else `<dataDir>/control/config.json` — the LKG files in
 * `<dataDir>/control`, live JetStream queues on the role's own NATS connection (reconnecting by
 * itself; a `/readyz` dependency), and the swap of `PendingQueue` placeholders for real queues
 * once NATS answers.
 *
 * @example
 * ```ts
 * const control = await startControl({ base, env, broker, log: console.log });
 * // at shutdown, after broker.shutdown():
 * await control.close();
 * ```
 */
export async function startControl(options: {
  readonly base: SluiceConfig;
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly broker: Broker;
  readonly log: (line: string) => void;
  /** Make the role's NATS connection a `/readyz` dependency (when no JetStream connection already is one). Default true. */
  readonly natsDependency?: boolean;
}): Promise<ControlRuntime> {
  const { base, broker, log } = options;
  const nodeId = nodeIdOf(base);
  const files = new DirFiles(controlDir(base));
  const link = base.natsUrl === undefined
    ? undefined
    : new (await import("./control-nats.ts")).NatsLink(base.natsUrl, nodeId, broker, log, options.natsDependency ?? true);
  // Connected before the node listens (bounded: 2 s), so /readyz is 503 only while NATS is really down.
  await link?.kv();
  const source: ControlSource = link === undefined ? new FileControlSource(files) : new NatsKvControlSource(() => link.kv(), link.display);
  const handle = await startControlPlane({
    broker,
    base,
    env: options.env,
    source,
    lkgFiles: files,
    nodeId,
    log,
    openJetStream: link === undefined ? undefined : (name, q, config) => link.openQueue(name, q, config),
  });
  const stop = new AbortController();
  const swapping = link === undefined ? Promise.resolve() : link.swapPending(stop.signal);
  log(`sluice: control: node ${nodeId} runs version ${handle.agent.view().version} (${handle.agent.view().status}); watching ${source.describe}`);
  return {
    handle,
    close: async () => {
      stop.abort();
      await swapping;
      await link?.close();
    },
  };
}

/** `<dataDir>/control`: the LKG files and, on one node, `config.json`. */
function controlDir(config: SluiceConfig): string {
  return join(config.dataDir, "control");
}

