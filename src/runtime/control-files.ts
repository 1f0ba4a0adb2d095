/**
 * `DirFiles`: the control role's file access (`LkgFiles`: the LKG pair, and one node's
 * `config.json`) on a directory, through `node:fs/promises` — which Bun and Deno both provide.
 *
 * @module
 */
import { mkdir, open, readFile, rename } from "node:fs/promises";
import { join } from "node:path";
import { err, ok, type Result } from "../result/result.ts";
import type { LkgFiles } from "../mesh/control/lkg.ts";

/**
 * Files in `dir` (created on the first write). `write` writes the whole file and fsyncs it
 * before answering; `rename` is POSIX rename (atomic replace), followed by an fsync of the
 * directory where the platform allows it, so the new name survives a power cut too.
 *
 * @example
 * ```ts
 * const files = new DirFiles("./data/control");
 * await files.write("lkg.json.tmp", text);
 * await files.rename("lkg.json.tmp", "lkg.json");
 * ```
 */
export class DirFiles implements LkgFiles {
  readonly describe: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.describe = dir;
  }

  async read(name: string): Promise<Result<string | undefined>> {
    try {
      return ok(await readFile(join(this.#dir, name), "utf8"));
    } catch (thrown) {
      if ((thrown as { code?: unknown })?.code === "ENOENT") return ok(undefined);
      return err("unavailable", `cannot read ${join(this.#dir, name)}: ${describe(thrown)}`);
    }
  }

  async write(name: string, text: string): Promise<Result<void>> {
    const path = join(this.#dir, name);
    try {
      await mkdir(this.#dir, { recursive: true });
      const handle = await open(path, "w");
      try {
        await handle.writeFile(text, "utf8");
        await handle.sync();
      } finally {
        await handle.close();
      }
      return ok();
    } catch (thrown) {
      return err("unavailable", `cannot write ${path}: ${describe(thrown)}`);
    }
  }

  async rename(from: string, to: string): Promise<Result<void>> {
    try {
      await rename(join(this.#dir, from), join(this.#dir, to));
    } catch (thrown) {
      return err("unavailable", `cannot rename ${join(this.#dir, from)} to ${to}: ${describe(thrown)}`);
    }
    try {
      const dir = await open(this.#dir, "r");
      try {
        await dir.sync();
      } finally {
        await dir.close();
      }
    } catch {
      // Not every platform can fsync a directory (Windows; some Deno builds): the rename stands.
    }
    return ok();
  }
}

function describe(thrown: unknown): string {
  return thrown instanceof Error ? thrown.message : String(thrown);
}
