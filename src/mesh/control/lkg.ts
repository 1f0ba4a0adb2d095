/**
 * The last-known-good (LKG) control document of a node, kept in its data dir so a restart —
 * also one while the cluster's store is unreachable — serves what it last applied. Writes are
 * atomic (temp file + rename) and the previous file is kept, so a torn write falls back to it.
 * File access is injected (`LkgFiles`: src/runtime/control-files.ts on Bun and Deno).
 *
 * @module
 */
import { sluiceError } from "../../result/errors.ts";
import { err, ok, type Result } from "../../result/result.ts";
import type { ControlRevision } from "./source.ts";

/**
 * The file operations the LKG needs, on one directory. `write` creates or replaces a file and
 * makes it durable (fsync) before answering; `rename` replaces `to` atomically (POSIX rename);
 * `read` answers undefined for a missing file.
 *
 * @example
 * ```ts
 * const files: LkgFiles = new MemoryLkgFiles();
 * await files.write("lkg.json.tmp", text);
 * await files.rename("lkg.json.tmp", "lkg.json");
 * ```
 */
export interface LkgFiles {
  readonly describe: string;
  read(name: string): Promise<Result<string | undefined>>;
  write(name: string, text: string): Promise<Result<void>>;
  rename(from: string, to: string): Promise<Result<void>>;
}

/** Where a loaded LKG came from: the current file, or the previous one (the current was torn or missing). */
export type LkgOrigin = "current" | "previous";

const CURRENT = "lkg.json";
const PREVIOUS = "lkg.prev.json";
const TEMP = "lkg.json.tmp";

/**
 * The LKG file pair: `lkg.json` (the last applied version) and `lkg.prev.json` (the one before).
 * `save` writes `lkg.json.tmp` (durably), moves `lkg.json` to `lkg.prev.json`, then the temp file
 * to `lkg.json`; each file carries a checksum of its content. `load` takes `lkg.json` when it is
 * whole, else `lkg.prev.json` — a crash between the two renames, a torn or half-synced file never
 * leaves a node without its last good config.
 *
 * @example
 * ```ts
 * const lkg = new LkgStore(files);
 * await lkg.save({ version: 7, text: '{"queues":{"jobs":{}}}' });
 * const loaded = await lkg.load(); // ok({ revision: { version: 7, … }, origin: "current" })
 * ```
 */
export class LkgStore {
  readonly #files: LkgFiles;

  constructor(files: LkgFiles) {
    this.#files = files;
  }

  /** Where the files are (for logs). */
  get describe(): string {
    return this.#files.describe;
  }

  /** Persists `revision` atomically as the new LKG; the one it replaces becomes the fallback. */
  async save(revision: ControlRevision): Promise<Result<void>> {
    const body = JSON.stringify({ version: revision.version, checksum: checksum(revision.version, revision.text), text: revision.text });
    const written = await this.#files.write(TEMP, body);
    if (!written.ok) return written;
    const existing = await this.#files.read(CURRENT);
    if (!existing.ok) return existing;
    if (existing.value !== undefined && decode(existing.value) !== undefined) {
      // A torn current file is not worth keeping: the fallback stays the older, whole one.
      const kept = await this.#files.rename(CURRENT, PREVIOUS);
      if (!kept.ok) return kept;
    }
    return this.#files.rename(TEMP, CURRENT);
  }

  /**
   * The LKG: `lkg.json` if whole, else `lkg.prev.json` if whole, else undefined (a first start).
   * `unavailable` only when neither file can be read at all.
   */
  async load(): Promise<Result<{ revision: ControlRevision; origin: LkgOrigin } | undefined>> {
    const current = await this.#files.read(CURRENT);
    const fromCurrent = current.ok && current.value !== undefined ? decode(current.value) : undefined;
    if (fromCurrent !== undefined) return ok({ revision: fromCurrent, origin: "current" });
    const previous = await this.#files.read(PREVIOUS);
    const fromPrevious = previous.ok && previous.value !== undefined ? decode(previous.value) : undefined;
    if (fromPrevious !== undefined) return ok({ revision: fromPrevious, origin: "previous" });
    if (!current.ok && !previous.ok) return err(sluiceError("unavailable", `control: cannot read the last-known-good config in ${this.#files.describe}: ${current.error.message}`));
    return ok(undefined);
  }
}

/**
 * Files in memory, with faults to inject: `tearNextWrite` writes only the first half of the next
 * file and fails (a crash mid-write); `tearNextRename` leaves the target of the next rename torn
 * (a file system that does not rename atomically, a half-synced page).
 *
 * @example
 * ```ts
 * const files = new MemoryLkgFiles();
 * files.tearNextWrite = true;
 * (await new LkgStore(files).save({ version: 2, text: "{}" })).ok; // false
 * ```
 */
export class MemoryLkgFiles implements LkgFiles {
  readonly describe = "memory";
  readonly files = new Map<string, string>();
  tearNextWrite = false;
  tearRenameTo: string | undefined;
  /** Every operation, in order ("write lkg.json.tmp", "rename lkg.json.tmp lkg.json", …). */
  readonly log: string[] = [];

  read(name: string): Promise<Result<string | undefined>> {
    return Promise.resolve(ok(this.files.get(name)));
  }

  write(name: string, text: string): Promise<Result<void>> {
    this.log.push(`write ${name}`);
    if (this.tearNextWrite) {
      this.tearNextWrite = false;
      this.files.set(name, text.slice(0, Math.floor(text.length / 2)));
      return Promise.resolve(err("unavailable", `write ${name}: torn (injected)`));
    }
    this.files.set(name, text);
    return Promise.resolve(ok());
  }

  rename(from: string, to: string): Promise<Result<void>> {
    this.log.push(`rename ${from} ${to}`);
    const text = this.files.get(from);
    if (text === undefined) return Promise.resolve(err("unavailable", `rename ${from}: no such file`));
    this.files.delete(from);
    const torn = this.tearRenameTo === to;
    if (torn) this.tearRenameTo = undefined;
    this.files.set(to, torn ? text.slice(0, Math.floor(text.length / 2)) : text);
    return Promise.resolve(ok());
  }
}

function decode(body: string): ControlRevision | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  const { version, checksum: sum, text } = parsed as Record<string, unknown>;
  if (!Number.isSafeInteger(version) || (version as number) < 0 || typeof text !== "string") return undefined;
  return sum === checksum(version as number, text) ? { version: version as number, text } : undefined;
}

// FNV-1a over the version and the text: catches a torn or mixed file (not an adversary).
function checksum(version: number, text: string): string {
  let hash = 0x811c9dc5;
  const input = `${version}\n${text}`;
  for (let i = 0; i < input.length; i++) {
    hash ^= input.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash.toString(16).padStart(8, "0");
}
