/**
 * Runs the README's pipeline example as written, so the README cannot drift from the code.
 */
import { describe, expect, test } from "../harness.ts";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("README", () => {
  test("the pipeline example runs and prints what it says", async () => {
    const readme = readFileSync(join(root, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## The pipeline API"));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toBeDefined();
    const expected = /\/\/ (\[.*)$/m.exec(code!)?.[1];
    expect(expected).toBeDefined();
    const dir = mkdtempSync(join(root, "test", ".readme-"));
    try {
      const file = join(dir, "example.ts");
      writeFileSync(file, code!.replace('"./src/mod.ts"', JSON.stringify(join(root, "src", "mod.ts"))));
      const lines: string[] = [];
      const log = console.log;
      console.log = (...args: unknown[]) => lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
      try {
        await import(file);
      } finally {
        console.log = log;
      }
      const printed = lines.join("\n").replace(/\s+/g, "");
      expect(printed).toBe(expected!.replace(/\s+/g, ""));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
