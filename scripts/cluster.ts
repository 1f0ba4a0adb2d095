/**
 * `npm run cluster`: a Sluice cluster on this machine, to try the distributed setup with one
 * command — one nats-server with JetStream (loopback, store in ./data/cluster/nats) and three
 * Sluice nodes (loopback, consecutive free ports from 8787) whose queues live on it
 * (`SLUICE_NATS_URL`, `SLUICE_STORAGE=jetstream`). Prints the node URLs and what to try; Ctrl-C
 * stops the nodes gracefully (each drains and hands its in-flight messages back to JetStream),
 * then nats-server. The JetStream store survives runs (`rm -rf data/cluster` to start empty).
 *
 * Needs nats-server (Debian/Ubuntu: `sudo apt-get install -y nats-server`); it says so if missing.
 * A `sluice.config.json` in the working directory applies to every node (its queues, tokens…).
 *
 * @example
 * ```sh
 * npm run cluster                   # nodes on :8787, :8788, :8789
 * SLUICE_CLUSTER_NODES=5 npm run cluster
 * ```
 */
import { type ChildProcess, spawn } from "node:child_process";
import { mkdirSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import process from "node:process";
import { natsServerBin, natsServerVersion } from "../bench/support/nats-server.ts";

const ROOT = resolve(import.meta.dirname ?? ".", "..");
const DATA = join(process.cwd(), "data", "cluster");
const NODES = Math.max(1, Math.min(9, Number(process.env.SLUICE_CLUSTER_NODES ?? 3) || 3));
const STOP_WITHIN_MS = 15_000;

const children: { name: string; child: ChildProcess }[] = [];

/** Whether `port` on 127.0.0.1 can be listened on now. */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const probe = createServer();
    probe.once("error", () => done(false));
    probe.listen(port, "127.0.0.1", () => probe.close(() => done(true)));
  });
}

/** The first `count` consecutive free ports from `from`. */
async function freeRun(from: number, count: number): Promise<number[]> {
  for (let base = from; base < 65_000; base++) {
    const ports = Array.from({ length: count }, (_, i) => base + i);
    let free = true;
    for (const port of ports) if (!(await portFree(port))) free = false;
    if (free) return ports;
  }
  throw new Error(`no ${count} consecutive free ports from ${from}`);
}

/** Spawns `cmd` in its own process group (Ctrl-C reaches only this script), prefixing its output (but lines matching `quiet`). */
function start(name: string, cmd: string, args: string[], env: Record<string, string>, onLine: (line: string) => void, quiet = /$^/): ChildProcess {
  const child = spawn(cmd, args, { cwd: process.cwd(), env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
  children.push({ name, child });
  for (const stream of [child.stdout!, child.stderr!]) {
    let rest = "";
    stream.on("data", (chunk) => {
      const lines = (rest + String(chunk)).split("\n");
      rest = lines.pop() ?? "";
      for (const line of lines) {
        if (!quiet.test(line)) console.log(`[${name}] ${line}`);
        onLine(line);
      }
    });
  }
  child.on("exit", (code, signal) => console.log(`[${name}] exited (${signal ?? code})`));
  return child;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Sends `signal` and waits for the exit, SIGKILL after `withinMs`. */
function stopChild(child: ChildProcess, signal: NodeJS.Signals, withinMs: number): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((done) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), withinMs);
    child.once("exit", () => {
      clearTimeout(timer);
      done();
    });
    child.kill(signal);
  });
}

/** Resolves when `ready` has been seen, rejects when the child exits first or `withinMs` passes. */
function waitReady(name: string, child: ChildProcess, isReady: () => boolean, withinMs: number): Promise<void> {
  return new Promise((done, fail) => {
    const until = Date.now() + withinMs;
    const poll = setInterval(() => {
      if (isReady()) {
        clearInterval(poll);
        done();
      } else if (exited(child) || Date.now() > until) {
        clearInterval(poll);
        fail(new Error(`${name} did not start (${exited(child) ? `exited ${child.exitCode ?? child.signalCode}` : `not ready within ${withinMs} ms`}); see its output above`));
      }
    }, 20);
  });
}

let stopping = false;
async function stopAll(code: number): Promise<never> {
  if (!stopping) {
    stopping = true;
    const nodes = children.filter((c) => c.name !== "nats");
    // Nodes first (they drain into JetStream), then nats-server.
    await Promise.all(nodes.map(({ child }) => stopChild(child, "SIGTERM", STOP_WITHIN_MS)));
    const nats = children.find((c) => c.name === "nats");
    if (nats !== undefined) await stopChild(nats.child, "SIGTERM", 5000);
  }
  process.exit(code);
}

process.on("SIGINT", () => void stopAll(0));
process.on("SIGTERM", () => void stopAll(0));
// A hard exit of this script must not leave detached children behind.
process.on("exit", () => {
  for (const { child } of children) if (!exited(child)) child.kill("SIGKILL");
});

async function main(): Promise<void> {
  const bin = natsServerBin();
  if (bin === undefined) {
    console.error(
      [
        "npm run cluster needs nats-server (with JetStream), and it is not installed.",
        "  Debian/Ubuntu: sudo apt-get install -y nats-server   (installs /usr/sbin/nats-server)",
        "  macOS:         brew install nats-server",
        "  other:         https://github.com/nats-io/nats-server/releases",
        "or point NATS_SERVER_BIN at the binary.",
      ].join("\n"),
    );
    process.exit(1);
  }
  const [natsPort] = (await portFree(4222)) ? [4222] : await freeRun(14_222, 1);
  const ports = await freeRun(8787, NODES);
  const natsUrl = `nats://127.0.0.1:${natsPort}`;
  const storeDir = join(DATA, "nats");
  mkdirSync(storeDir, { recursive: true });

  console.log(`cluster: nats-server ${natsServerVersion() ?? ""} on ${natsUrl} (JetStream store ${storeDir})`);
  let natsReady = false;
  const nats = start("nats", bin, ["-js", "-sd", storeDir, "-a", "127.0.0.1", "-p", String(natsPort), "-n", "sluice-cluster"], {}, (line) => {
    if (/Server is ready/.test(line)) natsReady = true;
  }, /\[INF\]/); // its banner and routine lines; warnings and errors are shown
  await waitReady("nats-server", nats, () => natsReady, 10_000);

  const names = ports.map((_, i) => `node-${String.fromCharCode(97 + i)}`);
  const listening = new Set<string>();
  const nodes = ports.map((port, i) => {
    const name = names[i]!;
    const env = {
      PORT: String(port),
      SLUICE_HOST: "127.0.0.1",
      SLUICE_NATS_URL: natsUrl,
      SLUICE_STORAGE: "jetstream",
      SLUICE_DATA_DIR: join(DATA, name),
    };
    return start(name, process.execPath, [join(ROOT, "src/runtime/bun.ts")], env, (line) => {
      if (/listening on/.test(line)) listening.add(name);
    });
  });
  await Promise.all(nodes.map((child, i) => waitReady(names[i]!, child, () => listening.has(names[i]!), 30_000)));

  const urls = ports.map((port) => `http://127.0.0.1:${port}`);
  const [a, b = a, c = b] = urls;
  console.log(
    [
      "",
      `cluster: ${NODES} Sluice node(s) sharing their queues on JetStream at ${natsUrl}:`,
      ...urls.map((url, i) => `  ${names[i]}  ${url}`),
      "",
      "Try: publish on one node, consume on another.",
      `  curl -X POST --data-binary 'hello' ${a}/v1/queues/default/messages`,
      `  curl ${b}/v1/queues/default                      # the same queue seen from another node`,
      `  SLUICE_URL=${c} bun -e 'import { Consumer } from "./src/mod.ts"; const c = new Consumer({ url: process.env.SLUICE_URL, queue: "default" }); for await (const d of c) { console.log(new TextDecoder().decode(d.payload)); c.ack(d); }'`,
      "",
      "Ctrl-C stops the nodes (each drains back into JetStream), then nats-server.",
    ].join("\n"),
  );
  // Any child that dies on its own takes the cluster down with it, loudly.
  for (const { name, child } of children) {
    child.on("exit", () => {
      if (!stopping) {
        console.error(`cluster: ${name} stopped unexpectedly; stopping the rest`);
        void stopAll(1);
      }
    });
  }
}

main().catch((error) => {
  console.error(`cluster: ${error instanceof Error ? error.message : String(error)}`);
  void stopAll(1);
});
