// The client outside Bun. `engines: node >=20` holds for it: `node` (Node 20 here, which has no
// global WebSocket) runs client-session.mjs, which imports the built package by name (`exports` →
// dist/mod.js) and, with the `ws` package's WebSocket injected, publishes (WebSocket and HTTP
// duplex), flushes and consumes against a real Sluice server child process; without an injected
// WebSocket the consumer ends with `validation`. A TypeScript user on Node type-checks against
// dist/mod.d.ts. `deno run` runs the same session on src/mod.ts with Deno's own WebSocket.
// dist/ is rebuilt first when src/ is newer than it.
import { afterEach, describe, expect, test } from "../harness.ts";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ensureDist, ROOT } from "./client-dist.ts";
import { runtimeBinary, type ServerProcess, startServer } from "./server-process.ts";

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

const SESSION = join(ROOT, "test/integration/client-session.mjs");

/** Runs client-session.mjs with `command` and returns what it printed (its last line, JSON). */
function session(command: string, args: string[]): Record<string, unknown> {
  const printed = execFileSync(command, args, { cwd: ROOT, encoding: "utf8", timeout: 30_000 });
  console.log(`client-session: ${printed.trim()}`);
  return JSON.parse(printed.trim().split("\n").at(-1)!) as Record<string, unknown>;
}

function expectSession(out: Record<string, unknown>): void {
  expect(out.receipts).toEqual([1, 2, 3]);
  expect(out.flush).toBe(true);
  expect(out.duplex).toEqual(["ok", "ok"]);
  expect(out.duplexTransport).toBe("duplex");
  expect(out.unknownQueue).toBe("not_found");
  expect(out.consumed).toEqual(["n1", "n2", "n3", "d1", "d2"]);
  expect(out.ackFlush).toBe(true);
  expect(out.httpPublish).toBe(202);
  expect(out.stats).toMatchObject({ acked: 5, pending: 3 }); // the HTTP, Relay and JSON publishes
  expect(out.relay).toBe("DELIVERY_STATUS_ACCEPTED");
  expect(out.json).toBe("sluice.json.v1 receipt 1");
  expect(out.health).toBe("ok");
  expect(out.metrics).toBe(true);
}

describe("SDK outside Bun: Node (the built package) and Deno", () => {
  test("node imports the package (dist/mod.js), publishes and consumes with an injected `ws` WebSocket; none at all → validation", async () => {
    ensureDist();
    server = await startServer("bun", { config: { queues: { jobs: {} } }, env: { SLUICE_STORAGE: "memory" } });
    const out = session("node", [SESSION, server.url]);
    expect(Number(/^node v(\d+)/.exec(String(out.runtime))?.[1])).toBeGreaterThanOrEqual(20);
    if (out.globalWebSocket === false) expect(out.withoutWebSocket).toBe("validation"); // Node 20
    expect(out.fromDist).toBe(true);
    expectSession(out);
  });

  test("deno runs the same session on src/mod.ts with its global WebSocket (server on deno)", async () => {
    server = await startServer("deno", { config: { queues: { jobs: {} } }, env: { SLUICE_STORAGE: "memory" } });
    const out = session(runtimeBinary("deno"), ["run", "-A", SESSION, server.url, "../../src/mod.ts"]);
    expect(String(out.runtime)).toStartWith("deno ");
    expectSession(out);
  });

  test("a TypeScript user on Node type-checks against the package's types (`exports.types` → dist/mod.d.ts, Node's types, no Bun types)", () => {
    ensureDist();
    // Under test/.readme-* (git-ignored) so that "sluice" and "ws" resolve from this repository.
    const dir = mkdtempSync(join(ROOT, "test", ".readme-types-"));
    try {
      const file = join(dir, "use.mts");
      writeFileSync(
        file,
        [
          'import { WebSocket } from "ws";',
          'import { type ClientEvent, Consumer, DuplexProducer, Producer, type ReceiptPayload, type Result } from "sluice";',
          'const options = { url: "http://127.0.0.1:8787", queue: "jobs", WebSocket, onEvent: (e: ClientEvent) => console.log(e.type) };',
          "const sent: Result<ReceiptPayload> = await new Producer(options).publish(new Uint8Array(1));",
          "const flushed: Result<void> = await new DuplexProducer(options).flush();",
          "console.log(sent.ok, flushed.ok, new Consumer(options).endedWith?.code);",
        ].join("\n"),
      );
      const tsc = join(ROOT, "node_modules/typescript/bin/tsc");
      const args = [tsc, "--noEmit", "--strict", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", "--types", "node", file];
      let errors = "";
      try {
        execFileSync("node", args, { cwd: ROOT, encoding: "utf8" });
      } catch (thrown) {
        errors = String((thrown as { stdout?: string }).stdout ?? thrown); // tsc prints its errors to stdout
      }
      expect(errors).toBe("");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 180_000); // tsc over the package and Node's types: ~20 s on a quiet 2-core box, minutes on a busy one
});
