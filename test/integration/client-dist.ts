/**
 * Test helper: makes sure dist/ (the built package Node imports) is at least as new as src/,
 * running `npm run build:dist`'s script when it is not.
 *
 * @example
 * ```ts
 * ensureDist();
 * execFileSync("node", ["script-importing-sluice.mjs"]);
 * ```
 */
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, resolve } from "node:path";

export const ROOT = resolve(import.meta.dirname ?? ".", "../..");

function newestMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds dist/ (scripts/build-dist.mjs) unless dist/mod.js is newer than every file under src/. */
export function ensureDist(): void {
  const entry = join(ROOT, "dist/mod.js");
  if (existsSync(entry) && statSync(entry).mtimeMs >= newestMtime(join(ROOT, "src"))) return;
  execFileSync("node", [join(ROOT, "scripts/build-dist.mjs")], { cwd: ROOT, stdio: "pipe" });
}
