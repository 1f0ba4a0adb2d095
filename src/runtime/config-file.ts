/**
 * Reads `sluice.config.json` (or the file named by `SLUICE_CONFIG`) and hands it to the pure
 * `loadConfig`. Uses `node:fs`, which Bun and Deno both provide; workerd has no file system, so
 * its entry calls `loadConfig({ env })` directly instead.
 *
 * @example
 * ```ts
 * import process from "node:process";
 * const r = loadConfigFromFile({ env: process.env });
 * if (!r.ok) { console.error(r.error.message); process.exit(1); }
 * ```
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { err, type Result } from "../result/result.ts";
import { loadConfig, type SluiceConfig } from "../server/config.ts";

/** The file looked for in the working directory when `SLUICE_CONFIG` is not set. */
export const DEFAULT_CONFIG_FILE = "sluice.config.json";

/**
 * Loads the configuration from `path` (default: `env.SLUICE_CONFIG`, else ./sluice.config.json)
 * merged with `env`. A missing default file is fine (embedded defaults apply); a missing file
 * that was named explicitly, or one that cannot be read, is a `validation` error.
 *
 * @example
 * ```ts
 * loadConfigFromFile({ env: { SLUICE_CONFIG: "/etc/sluice.json" } });
 * ```
 */
export function loadConfigFromFile(
  options: { env?: Readonly<Record<string, string | undefined>>; path?: string; cwd?: string } = {},
): Result<SluiceConfig> {
  const env = options.env ?? {};
  const named = options.path ?? (env.SLUICE_CONFIG?.trim() || undefined);
  const path = resolve(options.cwd ?? ".", named ?? DEFAULT_CONFIG_FILE);
  let fileText: string | undefined;
  try {
    fileText = readFileSync(path, "utf8");
  } catch (thrown) {
    const code = (thrown as { code?: unknown } | null)?.code;
    if (!(code === "ENOENT" && named === undefined)) {
      const reason = thrown instanceof Error ? thrown.message : String(thrown);
      return err("validation", `config: cannot read ${path} (${reason})`, { cause: thrown, metadata: { path } });
    }
  }
  return loadConfig({ env, fileText, fileName: path });
}
