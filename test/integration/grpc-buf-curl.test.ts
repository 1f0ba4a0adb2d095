// sluice.v1.Relay from an outside client, `buf curl`, against a real server child on Bun and on
// Deno: Connect and gRPC-Web on the main port, gRPC (HTTP/2, trailers) on SLUICE_GRPC_PORT with
// the app's bearer auth, and plain gRPC on the main port refused with nothing enqueued.
import { afterEach, describe, expect, test } from "../harness.ts";
import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { getJson, type ServerProcess, startServer } from "./server-process.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "../..");
const BUF = join(ROOT, "node_modules/.bin/buf");
const TOKEN = "s3cret-grpc";

let server: ServerProcess | undefined;
afterEach(async () => {
  await server?.stop("SIGKILL").catch(() => {});
  server = undefined;
});

/** A port that was free a moment ago (the OS's pick for port 0, released at once). */
function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const probe = createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as { port: number };
      probe.close(() => resolvePort(port));
    });
  });
}

/** The server with a gRPC port; a probed port taken in between (EADDRINUSE) gets another try. */
async function startWithGrpc(runtime: "bun" | "deno"): Promise<{ server: ServerProcess; grpcPort: number }> {
  for (let attempt = 1; ; attempt++) {
    const grpcPort = await freePort();
    try {
      const started = await startServer(runtime, {
        config: { storage: "memory", authTokens: [TOKEN], queues: { jobs: {} } },
        env: { SLUICE_GRPC_PORT: String(grpcPort) },
      });
      return { server: started, grpcPort };
    } catch (thrown) {
      if (attempt >= 3 || !String(thrown).includes("cannot serve gRPC")) throw thrown;
    }
  }
}

interface BufResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** One `buf curl` call (bounded: killed after 30 s). */
function bufCurl(url: string, protocol: "connect" | "grpcweb" | "grpc", data: unknown, options: { token?: string } = {}): Promise<BufResult> {
  const args = ["curl", "--schema", "proto/", "--protocol", protocol, "-d", JSON.stringify(data)];
  if (protocol === "grpc") args.push("--http2-prior-knowledge");
  if (options.token !== undefined) args.push("-H", `Authorization: Bearer ${options.token}`);
  args.push(url);
  return new Promise((done) => {
    execFile(BUF, args, { cwd: ROOT, timeout: 30_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null;
      done({ code, stdout, stderr });
    });
  });
}

const send = (id: number) => ({ command: { queue: "jobs", sequenceId: String(id), payload: btoa(`m${id}`) } });
const accepted = (r: BufResult) => ((JSON.parse(r.stdout) as { accepted?: boolean }).accepted === true);
const enqueued = async (s: ServerProcess) =>
  (await getJson<{ enqueued: number }>(`${s.url}/v1/queues/jobs`, TOKEN)).enqueued;

for (const runtime of ["bun", "deno"] as const) {
  describe(`buf curl against a real ${runtime} server`, () => {
    test("Connect and gRPC-Web on the main port, gRPC on the gRPC port; plain gRPC on the main port enqueues nothing", async () => {
      const started = await startWithGrpc(runtime);
      server = started.server;
      const main = `${server.url}/sluice.v1.Relay`;
      const grpc = `http://127.0.0.1:${started.grpcPort}/sluice.v1.Relay`;

      const connect = await bufCurl(`${main}/Send`, "connect", send(1), { token: TOKEN });
      expect(connect.stderr).toBe("");
      expect(accepted(connect)).toBe(true);
      const web = await bufCurl(`${main}/Send`, "grpcweb", send(2), { token: TOKEN });
      expect(web.stderr).toBe("");
      expect(accepted(web)).toBe(true);
      expect(await enqueued(server)).toBe(2);

      // The gRPC port: HTTP/2 with trailers; unary Send and server-streaming Execute; auth as on the main port.
      const unary = await bufCurl(`${grpc}/Send`, "grpc", send(3), { token: TOKEN });
      expect(unary.stderr).toBe("");
      expect(accepted(unary)).toBe(true);
      const streamed = await bufCurl(`${grpc}/Execute`, "grpc", { commands: [send(4).command, send(5).command] }, { token: TOKEN });
      expect(streamed.code).toBe(0);
      expect(streamed.stdout.match(/"accepted": true/g)?.length).toBe(2);
      const anonymous = await bufCurl(`${grpc}/Send`, "grpc", send(6));
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.stderr).toContain("unauthenticated");
      expect(await enqueued(server)).toBe(5);

      // Plain gRPC on the main port: refused before anything is enqueued.
      const refused = await bufCurl(`${main}/Send`, "grpc", send(7), { token: TOKEN });
      expect(refused.code).not.toBe(0);
      expect(refused.stdout).not.toContain("accepted");
      if (runtime === "deno") {
        // Deno.serve speaks h2c: the client gets the trailers-only UNIMPLEMENTED and its message.
        expect(refused.stderr).toContain('"code": "unimplemented"');
        expect(refused.stderr).toContain(`use the gRPC port ${started.grpcPort} (SLUICE_GRPC_PORT)`);
      } else {
        // Bun.serve has no h2c: its HTTP/1.1 parser answers the HTTP/2 preface with 400 and closes,
        // before any handler runs; the client sees a transport error (unavailable or canceled, by timing).
        expect(refused.stderr).toMatch(/"code": "(unavailable|canceled|unknown)"/);
      }
      // Over HTTP/1.1 (where every runtime reaches the app) the refusal names the gRPC port too.
      const http1 = await fetch(`${main}/Send`, { method: "POST", headers: { "content-type": "application/grpc", authorization: `Bearer ${TOKEN}` }, body: new Uint8Array(5) });
      expect(http1.headers.get("grpc-status")).toBe("12");
      expect(decodeURIComponent(http1.headers.get("grpc-message") ?? "")).toContain(`use the gRPC port ${started.grpcPort}`);
      await http1.arrayBuffer();
      expect(await enqueued(server)).toBe(5);

      const { code } = await server.stop("SIGTERM");
      expect(code).toBe(0);
      server = undefined;
    }, 120_000);
  });
}
