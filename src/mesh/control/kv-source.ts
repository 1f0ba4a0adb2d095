/**
 * `NatsKvControlSource`: the cluster's control document in a NATS KV key, the key's revision
 * being its version. Runtime-neutral: the runtime hands in how to open the bucket (it owns the
 * NATS connection: src/runtime/control.ts).
 *
 * @module
 */
import type { KV } from "@nats-io/kv";
import { err, ok, type Result } from "../../result/result.ts";
import type { ControlRevision, ControlSource, PublishOutcome } from "./source.ts";

/**
 * The KV bucket and key of the control document.
 *
 * @example
 * ```ts
 * const kv = await new Kvm(nc).create(CONTROL_BUCKET, { history: 5 });
 * await kv.get(CONTROL_KEY);
 * ```
 */
export const CONTROL_BUCKET = "sluice_control";
/**
 * The key of the control document in `CONTROL_BUCKET`.
 *
 * @example
 * ```ts
 * const entry = await kv.get(CONTROL_KEY); // entry.revision is the document's version
 * ```
 */
export const CONTROL_KEY = "config";

/**
 * Reads, watches and writes the document in `CONTROL_BUCKET`/`CONTROL_KEY`. `publish` is a
 * compare-and-set on the key's revision (`create` for version 0, else `update(…, expected)`), so
 * of two concurrent PUTs based on the same version exactly one lands. `watch(after)` resumes at
 * revision `after + 1` (the current value first when there is no resume point) and ends normally
 * when the watcher stops (its connection closed); `openKv` failing (NATS unreachable) is one
 * error item. The document's text is never logged.
 *
 * @example
 * ```ts
 * const source = new NatsKvControlSource(async () => ok(await new Kvm(nc).create(CONTROL_BUCKET, { history: 5 })), "nats://127.0.0.1:4222");
 * for await (const item of source.watch(0, signal)) console.log(item.ok && item.value.version);
 * ```
 */
export class NatsKvControlSource implements ControlSource {
  readonly describe: string;
  readonly #openKv: () => Promise<Result<KV>>;

  constructor(openKv: () => Promise<Result<KV>>, where: string) {
    this.#openKv = openKv;
    this.describe = `nats-kv ${CONTROL_BUCKET}/${CONTROL_KEY} at ${where}`;
  }

  async read(): Promise<Result<ControlRevision | undefined>> {
    const kv = await this.#openKv();
    if (!kv.ok) return kv;
    try {
      const entry = await kv.value.get(CONTROL_KEY);
      if (entry === null || entry.operation !== "PUT") return ok(undefined);
      return ok({ version: entry.revision, text: entry.string() });
    } catch (thrown) {
      return err("unavailable", `control: cannot read ${this.describe}: ${describe(thrown)}`);
    }
  }

  async publish(text: string, expected: number): Promise<Result<PublishOutcome>> {
    const kv = await this.#openKv();
    if (!kv.ok) return kv;
    try {
      const version = expected === 0 ? await kv.value.create(CONTROL_KEY, text) : await kv.value.update(CONTROL_KEY, text, expected);
      return ok({ kind: "published", version });
    } catch (thrown) {
      // A refused compare-and-set, or a failure: the version as it is now tells which.
      const now = await this.read();
      if (now.ok && (now.value?.version ?? 0) !== expected) return ok({ kind: "conflict", current: now.value?.version ?? 0 });
      return err("unavailable", `control: cannot write ${this.describe}: ${describe(thrown)}`);
    }
  }

  async *watch(after: number, signal: AbortSignal): AsyncGenerator<Result<ControlRevision>> {
    const kv = await this.#openKv();
    if (!kv.ok) {
      yield kv;
      return;
    }
    let watcher: Awaited<ReturnType<KV["watch"]>>;
    try {
      watcher = await kv.value.watch({ key: CONTROL_KEY, ...(after > 0 ? { resumeFromRevision: after + 1 } : {}) });
    } catch (thrown) {
      yield err("unavailable", `control: cannot watch ${this.describe}: ${describe(thrown)}`);
      return;
    }
    const stop = () => watcher.stop();
    signal.addEventListener("abort", stop, { once: true });
    try {
      for await (const entry of watcher) {
        if (signal.aborted) return;
        if (entry.operation !== "PUT" || entry.revision <= after) continue;
        yield ok({ version: entry.revision, text: entry.string() });
      }
    } finally {
      signal.removeEventListener("abort", stop);
      watcher.stop();
    }
  }
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
