/**
 * The control role wired to a broker: the `ControlAgent` (mesh/control) with the Sluice control
 * document (control-document.ts) as what it validates and `LiveQueues` as what it applies to.
 * Runtime-neutral: the runtime hands in where the document lives (`ControlSource`), the LKG
 * files and how to open JetStream queues (src/runtime/control.ts).
 *
 * @module
 */
import type { Clock } from "../result/clock.ts";
import { ok, type Result } from "../result/result.ts";
import { ControlAgent } from "../mesh/control/agent.ts";
import { type LkgFiles, LkgStore } from "../mesh/control/lkg.ts";
import type { ControlSource } from "../mesh/control/source.ts";
import type { Broker } from "./broker.ts";
import type { SluiceConfig } from "./config.ts";
import { type ControlDocument, parseControlDocument, rejected } from "./control-document.ts";
import { documentOf, effectiveConfig, storageChanges } from "./control-effective.ts";
import type { ControlPlane } from "./control-plane.ts";
import { LiveQueues, type OpenQueue } from "./live-queues.ts";

/**
 * What `startControlPlane` needs.
 *
 * @example
 * ```ts
 * const options: ControlPlaneOptions = { broker, base, env: process.env, source, lkgFiles, nodeId: "node-a" };
 * ```
 */
export interface ControlPlaneOptions {
  readonly broker: Broker;
  /** The node's own configuration (file + environment): what version 0 is, and what the document overlays. */
  readonly base: SluiceConfig;
  /** Where `{"env":"NAME"}` references are read (each node resolves its own). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly source: ControlSource;
  readonly lkgFiles: LkgFiles;
  readonly nodeId: string;
  readonly openJetStream?: OpenQueue;
  readonly clock?: Clock;
  readonly random?: () => number;
  readonly log?: (line: string) => void;
  /** How long a removed queue drains before its leftovers are poisoned. Default the config's `drainMs`. */
  readonly drainMs?: number;
}

/**
 * The running control role of a node.
 *
 * @example
 * ```ts
 * const control = await startControlPlane(options);
 * control.agent.view().version; // 7
 * await control.stop(); // also run by the broker's shutdown, before the drain
 * ```
 */
export interface ControlPlaneHandle {
  readonly agent: ControlAgent<ControlDocument>;
  readonly live: LiveQueues;
  readonly plane: ControlPlane;
  stop(): Promise<void>;
}

/**
 * Starts the control role on `broker`: applies the node's last-known-good version (before any
 * watch), then runs the `control.apply` pump (`pumps.control.apply.*`) and the `control.watch`
 * loop (`pumps.control.watch.requeueDelayMs` = first reconnect wait), and attaches itself to the
 * broker (`GET`/`PUT /v1/control/config`; stopped at shutdown before the drain). A PUT is checked
 * as this node would apply it (shape, this node's environment and NATS URL, no storage change).
 *
 * @example
 * ```ts
 * await startControlPlane({ broker, base, env, source: new MemoryControlSource(), lkgFiles: new MemoryLkgFiles(), nodeId: "a" });
 * ```
 */
export async function startControlPlane(options: ControlPlaneOptions): Promise<ControlPlaneHandle> {
  const { broker, base, env } = options;
  const live = new LiveQueues(broker, { openJetStream: options.openJetStream, log: options.log, drainMs: options.drainMs });
  const initialDocument = documentOf(base);
  const pumps = base.pumps?.control;
  const agent = ControlAgent.create<ControlDocument>({
    source: options.source,
    lkg: new LkgStore(options.lkgFiles),
    validate: parseControlDocument,
    apply: async (document) => {
      const next = effectiveConfig(base, document, env);
      return next.ok ? live.apply(next.value) : next;
    },
    initial: { version: 0, text: JSON.stringify(initialDocument), document: initialDocument },
    nodeId: options.nodeId,
    settings: pumps?.apply,
    watch: { initialBackoffMs: pumps?.watch?.requeueDelayMs },
    clock: options.clock ?? broker.clock,
    random: options.random,
    metrics: broker.metrics,
    log: options.log,
  });
  const plane: ControlPlane = {
    view: () => agent.view(),
    check: (text) => checkForNode(text, base, env, live),
    publish: (text, expected, signal) => agent.publish(text, expected, signal),
  };
  await agent.start();
  const tidy = new AbortController();
  const tidying = live.start(tidy.signal);
  let stopped: Promise<void> | undefined;
  const stop = () =>
    (stopped ??= (async () => {
      await agent.stop();
      tidy.abort();
      await tidying;
    })());
  broker.attachControl(plane, stop);
  return { agent, live, plane, stop };
}

// A document as this node would apply it: its shape, this node's environment and NATS URL, and
// no queue whose storage would change.
function checkForNode(text: string, base: SluiceConfig, env: Readonly<Record<string, string | undefined>>, live: LiveQueues): Result<ControlDocument> {
  const parsed = parseControlDocument(text);
  if (!parsed.ok) return parsed;
  const next = effectiveConfig(base, parsed.value, env);
  if (!next.ok) return next;
  const changes = storageChanges(next.value, (name) => live.storageOf(name));
  return changes.length > 0 ? rejected(changes) : ok(parsed.value);
}
