/**
 * `FileControlSource`: the control document of a single node, as a file in its data dir.
 *
 * @module
 */
import { type Clock, systemClock } from "../../result/clock.ts";
import { delay } from "../../result/delay.ts";
import { err, ok, type Result } from "../../result/result.ts";
import { linkSignal } from "../../result/signals.ts";
import type { LkgFiles } from "./lkg.ts";
import type { ControlRevision, ControlSource, PublishOutcome } from "./source.ts";

const NAME = "config.json";
const TEMP = "config.json.tmp";

/**
 * The control document of one node in `config.json` (`{"version": n, "config": {…}}`) through
 * injected file access (`LkgFiles`, the same directory as the LKG). `publish` is a
 * compare-and-set within this process, written atomically (temp file + rename) and seen by the
 * watch at once; the watch also re-reads the file every `pollMs`, so an operator may edit it by
 * hand — raising `version` — and the node applies it. Unreadable or broken file: the watch
 * reports it (and backs off) until it is fixed.
 *
 * @example
 * ```ts
 * const source = new FileControlSource(files, { pollMs: 1000 });
 * await source.publish('{"queues":{"jobs":{}}}', 0); // ok({ kind: "published", version: 1 })
 * ```
 */
export class FileControlSource implements ControlSource {
  readonly describe: string;
  readonly #files: LkgFiles;
  readonly #pollMs: number;
  readonly #clock: Clock;
  readonly #wakers = new Set<() => void>();
  #writing: Promise<unknown> = Promise.resolve();

  constructor(files: LkgFiles, options: { pollMs?: number; clock?: Clock } = {}) {
    this.#files = files;
    this.describe = `file ${files.describe}/${NAME}`;
    this.#pollMs = options.pollMs ?? 1000;
    this.#clock = options.clock ?? systemClock;
  }

  async read(): Promise<Result<ControlRevision | undefined>> {
    const text = await this.#files.read(NAME);
    if (!text.ok) return text;
    if (text.value === undefined) return ok(undefined);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text.value);
    } catch (thrown) {
      return err("unavailable", `${this.describe} is not JSON (${thrown instanceof Error ? thrown.message : String(thrown)})`);
    }
    const { version, config } = (parsed ?? {}) as { version?: unknown; config?: unknown };
    if (!Number.isSafeInteger(version) || (version as number) < 1 || config === undefined) {
      return err("unavailable", `${this.describe} must hold {"version": <integer ≥ 1>, "config": {…}}`);
    }
    return ok({ version: version as number, text: JSON.stringify(config) });
  }

  publish(text: string, expected: number): Promise<Result<PublishOutcome>> {
    // One write at a time: the compare and the set must not interleave.
    const next = this.#writing.then(() => this.#publish(text, expected));
    this.#writing = next;
    return next;
  }

  async #publish(text: string, expected: number): Promise<Result<PublishOutcome>> {
    const current = await this.read();
    if (!current.ok) return current;
    const version = current.value?.version ?? 0;
    if (version !== expected) return ok({ kind: "conflict", current: version });
    let config: unknown;
    try {
      config = JSON.parse(text);
    } catch {
      return err("validation", "control document: not JSON");
    }
    const written = await this.#files.write(TEMP, `${JSON.stringify({ version: version + 1, config }, null, 2)}\n`);
    if (!written.ok) return written;
    const renamed = await this.#files.rename(TEMP, NAME);
    if (!renamed.ok) return renamed;
    for (const wake of [...this.#wakers]) wake();
    return ok({ kind: "published", version: version + 1 });
  }

  async *watch(after: number, signal: AbortSignal): AsyncGenerator<Result<ControlRevision>> {
    let seen = after;
    while (!signal.aborted) {
      const current = await this.read();
      if (!current.ok) {
        yield current;
        return;
      }
      if (current.value !== undefined && current.value.version > seen) {
        seen = current.value.version;
        yield ok(current.value);
      }
      // Until the next poll, or at once when this process publishes.
      const wait = linkSignal(signal);
      const wake = () => wait.abort("published");
      this.#wakers.add(wake);
      await delay(this.#pollMs, { signal: wait.signal, clock: this.#clock });
      this.#wakers.delete(wake);
      wait.dispose();
    }
  }
}
