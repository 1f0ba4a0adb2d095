// Runs the README's "Client SDK" examples as written, in order, against a real server (a Bun
// child process), so the README cannot drift from the SDK: each ```ts block is imported here with
// SLUICE_URL set, each ```js block (the Node 20 one) runs under `node` on the built package;
// what a block prints must equal its last line, `// prints …`.
import { describe, expect, test } from "../harness.ts";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDist, ROOT } from "./client-dist.ts";
import { startServer } from "./server-process.ts";

interface Block {
  readonly lang: "ts" | "js";
  readonly code: string;
  readonly expected: string;
}

function sdkBlocks(): Block[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const start = readme.indexOf("## Client SDK");
  const section = readme.slice(start, readme.indexOf("\n## ", start + 1));
  return [...section.matchAll(/```(ts|js)\n([\s\S]*?)```/g)].map((m) => {
    const expected = /^\/\/ prints (.*)$/m.exec(m[2]!)?.[1];
    if (expected === undefined) throw new Error(`README block without a "// prints" line:\n${m[2]}`);
    return { lang: m[1] as "ts" | "js", code: m[2]!, expected };
  });
}

/** Imports a TypeScript block here and returns what it printed, one line per console.log. */
async function runHere(file: string): Promise<string> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => lines.push(args.map((a) => (typeof a === "string" ? a : JSON.stringify(a))).join(" "));
  try {
    await import(file);
  } finally {
    console.log = log;
  }
  return lines.join("\n");
}

const squeeze = (text: string) => text.replace(/\s+/g, "");

describe("README: Client SDK", () => {
  test("the producer, consumer, duplex producer, errors and Node examples run and print what they say", async () => {
    const blocks = sdkBlocks();
    expect(blocks.map((b) => b.lang)).toEqual(["ts", "ts", "ts", "ts", "js"]);
    ensureDist();
    const server = await startServer("bun", { config: { queues: { default: {} } }, env: { SLUICE_STORAGE: "memory" } });
    const dir = mkdtempSync(join(ROOT, "test", ".readme-"));
    const previous = process.env.SLUICE_URL;
    process.env.SLUICE_URL = server.url;
    try {
      for (const [i, block] of blocks.entries()) {
        let printed: string;
        if (block.lang === "ts") {
          const file = join(dir, `block-${i}.ts`);
          writeFileSync(file, block.code.replaceAll('"./src/mod.ts"', JSON.stringify(join(ROOT, "src", "mod.ts"))));
          printed = await runHere(file);
        } else {
          // Under test/ so that "sluice" (this package, by its exports) and "ws" resolve.
          const file = join(dir, `block-${i}.mjs`);
          writeFileSync(file, block.code);
          printed = execFileSync("node", [file], { cwd: ROOT, encoding: "utf8", env: { ...process.env, SLUICE_URL: server.url }, timeout: 30_000 });
        }
        expect(`block ${i}: ${squeeze(printed)}`).toBe(`block ${i}: ${squeeze(block.expected)}`);
      }
    } finally {
      if (previous === undefined) delete process.env.SLUICE_URL;
      else process.env.SLUICE_URL = previous;
      rmSync(dir, { recursive: true, force: true });
      await server.stop("SIGKILL");
    }
  });
});
