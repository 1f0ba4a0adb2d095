// The layering rules of DESIGN.md "Layout", checked on the source: arrows point down, and
// `protocol` and `wasm` never import each other both ways (the codec interface and its JS
// reference belong to protocol; wasm implements them).
import { readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { describe, expect, test } from "../harness.ts";

const SRC = resolve(import.meta.dirname ?? ".", "../../src");

function importsOf(layer: string): { file: string; target: string }[] {
  const out: { file: string; target: string }[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) {
        for (const m of readFileSync(path, "utf8").matchAll(/^\s*(?:import|export)[^;]*?from\s+"([^"]+)"/gm)) out.push({ file: path.slice(SRC.length + 1), target: m[1]! });
      }
    }
  };
  walk(join(SRC, layer));
  return out;
}

const RULES: Record<string, string[]> = {
  result: ["queue", "store", "protocol", "wasm", "transport", "server", "mesh", "backends", "runtime", "client"],
  protocol: ["wasm", "queue", "store", "transport", "server", "mesh", "backends", "runtime"],
  queue: ["store", "transport", "server", "mesh", "backends", "runtime"],
  store: ["transport", "server", "mesh", "backends", "runtime"],
  wasm: ["queue", "store", "transport", "server", "runtime"],
  transport: ["server", "runtime"],
  server: ["runtime"],
};

describe("layering", () => {
  for (const [layer, forbidden] of Object.entries(RULES)) {
    test(`src/${layer} imports nothing from ${forbidden.join(", ")}`, () => {
      const bad = importsOf(layer).filter(({ target }) => forbidden.some((f) => target.includes(`../${f}/`) || target.startsWith(`../../${f}/`)));
      expect(bad).toEqual([]);
    });
  }
  test("runtime-specific modules (bun:, Deno., node:sqlite, node:http2) appear only in src/runtime", () => {
    const bad: string[] = [];
    for (const layer of ["result", "protocol", "queue", "store", "wasm", "transport", "server", "client"]) {
      for (const { file, target } of importsOf(layer)) if (/^(bun:|node:sqlite|node:http2)/.test(target)) bad.push(`${file} → ${target}`);
    }
    expect(bad).toEqual([]);
  });
});
