// Issue 21 (RSS at start): what a server loads before it listens is what its configuration uses.
// The static import graph of the runtime entries (type-only imports aside) must not reach the
// parts that are loaded with a dynamic import() when configured or first used: protobuf-es and
// the generated schemas, Connect (Relay routes, gRPC listener, bridges), the NATS client
// (JetStream queues, leadership, the control role's NATS link), gossip, the SQLite store, and the
// dashboard's assets. A static import of any of them here would put its memory back on every
// server (bench/HISTORY.md "RSS at start (issue 21)").
import { readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { RELAY_PATH_PREFIX as LAZY_PREFIX } from "../../src/server/relay-lazy.ts";
import { RELAY_PATH_PREFIX } from "../../src/server/relay-service.ts";
import { describe, expect, test } from "../harness.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");

/** Every module the entry loads before it runs (static value imports, followed through relative paths). */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>([entry]);
  const packages = new Set<string>();
  const queue = [entry];
  while (queue.length > 0) {
    const file = queue.shift()!;
    if (!file.endsWith(".ts")) continue;
    const text = readFileSync(file, "utf8");
    for (const m of text.matchAll(/^\s*(import|export)(\s+type\b)?[^;]*?from\s+"([^"]+)"/gm)) {
      if (m[2] !== undefined) continue; // import type / export type: erased
      const target = m[3]!;
      if (target.startsWith(".")) {
        const path = resolve(dirname(file), target);
        if (!files.has(path)) {
          files.add(path);
          queue.push(path);
        }
      } else packages.add(target);
    }
  }
  return { files, packages };
}

const LAZY_PACKAGES = [/^@bufbuild\//, /^@connectrpc\//, /^@nats-io\//, /^hono\/(bun|cors)$/, /^node:http2$/, /^bun:sqlite$/];
const LAZY_FILES = [
  "src/gen/",
  "src/mesh/gossip/",
  "src/mesh/leadership/coordinator.ts",
  "src/backends/",
  "src/store/sql-store.ts",
  "src/transport/relay-client.ts",
  "src/transport/bridge.ts",
  "src/server/relay-service.ts",
  "src/server/cors.ts",
  "src/server/bridges.ts",
  "src/server/routes/ui-assets.gen.ts",
  "src/runtime/grpc-listener.ts",
  "src/runtime/gossip.ts",
  "src/runtime/leadership.ts",
  "src/runtime/jetstream-queues.ts",
  "src/runtime/control-nats.ts",
  "src/runtime/nats.ts",
  "src/runtime/sqlite.ts",
];

describe("what a server loads at start (issue 21)", () => {
  for (const entry of ["src/runtime/bun.ts", "src/runtime/deno.ts"]) {
    test(`${entry} loads none of the parts its configuration may not use`, () => {
      const { files, packages } = staticGraph(resolve(ROOT, entry));
      const relative = [...files].map((f) => f.slice(ROOT.length + 1));
      expect(relative.filter((f) => LAZY_FILES.some((lazy) => f.startsWith(lazy)))).toEqual([]);
      expect([...packages].filter((p) => LAZY_PACKAGES.some((lazy) => lazy.test(p)))).toEqual([]);
      // The graph itself was followed (a broken scan would pass trivially).
      expect(relative).toContain("src/server/broker.ts");
      expect(relative).toContain("src/transport/ws-session.ts");
    });
  }

  test("the lazily mounted Relay routes use the service's own path", () => {
    expect(LAZY_PREFIX).toBe(RELAY_PATH_PREFIX);
  });
});
