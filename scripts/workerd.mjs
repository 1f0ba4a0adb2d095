#!/usr/bin/env node
// `npm run start:workerd`: bundles src/runtime/workerd.ts into one ES module with Bun's bundler
// (build/workerd/worker.js; the WASM module stays a separate precompiled module), then serves
// workerd/sluice.capnp with the `workerd` binary from npm, on PORT (or SLUICE_PORT; default 8787)
// and SLUICE_HOST (default 127.0.0.1), the Durable Objects' storage under
// SLUICE_DATA_DIR/workerd (default ./data/workerd). SLUICE_AUTH_TOKENS, SLUICE_CONFIG (the JSON of
// sluice.config.json; default: the file, when there is one) and the other SLUICE_* variables the
// capnp file lists reach the Worker as bindings. SIGTERM/SIGINT stop workerd.
//
//   PORT=9000 SLUICE_AUTH_TOKENS=s3cret npm run start:workerd
//
// Also a module: `buildWorker(root, outRoot)` writes outRoot/build/workerd/worker.js,
// outRoot/build/sluice.wasm and outRoot/workerd/sluice.capnp (tests serve their own copy).
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** The bun and workerd binaries installed by npm (falling back to PATH). */
export function binaries(root = ROOT) {
  const bun = join(root, "node_modules/bun/bin/bun.exe");
  const workerd = join(root, "node_modules/.bin/workerd");
  return { bun: existsSync(bun) ? bun : "bun", workerd: existsSync(workerd) ? workerd : "workerd" };
}

/** Bundles the Worker and lays out what workerd/sluice.capnp embeds under `outRoot` (default: the repo). */
export function buildWorker(root = ROOT, outRoot = root) {
  const wasm = join(root, "build/sluice.wasm");
  if (!existsSync(wasm)) throw new Error(`${wasm} is missing: run \`npm run build:wasm\` first`);
  mkdirSync(join(outRoot, "build/workerd"), { recursive: true });
  const outfile = join(outRoot, "build/workerd/worker.js");
  const args = ["build", join(root, "src/runtime/workerd.ts"), "--target", "browser", "--format", "esm", "--external", "*.wasm", "--outfile", outfile];
  const built = spawnSync(binaries(root).bun, args, { encoding: "utf8" });
  if (built.status !== 0) throw new Error(`bun build failed:\n${built.stdout}${built.stderr}`);
  if (outRoot !== root) {
    copyFileSync(wasm, join(outRoot, "build/sluice.wasm"));
    mkdirSync(join(outRoot, "workerd"), { recursive: true });
    copyFileSync(join(root, "workerd/sluice.capnp"), join(outRoot, "workerd/sluice.capnp"));
  }
  return { capnp: join(outRoot, "workerd/sluice.capnp"), outfile };
}

/** The workerd command line serving `capnp` on host:port with storage in `dataDir`. */
export function serveArgs(capnp, host, port, dataDir) {
  const address = host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
  return ["serve", capnp, "--socket-addr", `http=${address}`, "--directory-path", `sluice-data=${resolve(dataDir)}`];
}

function main() {
  const env = process.env;
  const port = Number(env.SLUICE_PORT ?? env.PORT ?? 8787);
  const host = env.SLUICE_HOST ?? "127.0.0.1";
  const dataDir = join(env.SLUICE_DATA_DIR ?? "./data", "workerd");
  mkdirSync(dataDir, { recursive: true });
  const { capnp } = buildWorker();
  const childEnv = { ...env };
  if (childEnv.SLUICE_CONFIG === undefined && existsSync(env.SLUICE_CONFIG_FILE ?? "sluice.config.json")) {
    childEnv.SLUICE_CONFIG = readFileSync(env.SLUICE_CONFIG_FILE ?? "sluice.config.json", "utf8");
  }
  const child = spawn(binaries().workerd, serveArgs(capnp, host, port, dataDir), { stdio: "inherit", env: childEnv });
  console.log(`sluice: workerd listening on http://${host}:${port} (Durable Object storage in ${resolve(dataDir)})`);
  for (const signal of ["SIGTERM", "SIGINT"]) process.on(signal, () => child.kill(signal));
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
