# Sluice on workerd, for local runs: `npm run start:workerd` builds build/workerd/worker.js and
# serves this file, overriding the listen address with PORT (default 8787) and the storage
# directory with SLUICE_DATA_DIR (default ./data):
#
#   workerd serve workerd/sluice.capnp --socket-addr http=127.0.0.1:8787 --directory-path sluice-data=$PWD/data/workerd
#
# One SluiceQueue Durable Object per queue, its SQLite file under <data dir>/sluice-queue/.
# Configuration comes from the environment of the workerd process (SLUICE_AUTH_TOKENS,
# SLUICE_CONFIG = the JSON of sluice.config.json, and the other SLUICE_* variables below).
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .sluiceWorker),
    (name = "sluice-data", disk = (writable = true)),
  ],
  sockets = [ (name = "http", address = "127.0.0.1:8787", http = (), service = "main") ],
);

const sluiceWorker :Workerd.Worker = (
  # Module names mirror the source tree, so the bundle's `../../build/sluice.wasm` import resolves.
  modules = [
    (name = "src/runtime/workerd.js", esModule = embed "../build/workerd/worker.js"),
    (name = "build/sluice.wasm", wasm = embed "../build/sluice.wasm"),
  ],
  compatibilityDate = "2025-09-01",
  compatibilityFlags = ["nodejs_compat"],
  durableObjectNamespaces = [ (className = "SluiceQueue", uniqueKey = "sluice-queue", enableSql = true) ],
  durableObjectStorage = (localDisk = "sluice-data"),
  bindings = [
    (name = "SLUICE_QUEUE", durableObjectNamespace = "SluiceQueue"),
    (name = "SLUICE_AUTH_TOKENS", fromEnvironment = "SLUICE_AUTH_TOKENS"),
    (name = "SLUICE_CONFIG", fromEnvironment = "SLUICE_CONFIG"),
    (name = "SLUICE_MAX_FRAME_BYTES", fromEnvironment = "SLUICE_MAX_FRAME_BYTES"),
    (name = "SLUICE_IDEMPOTENCY_WINDOW_MS", fromEnvironment = "SLUICE_IDEMPOTENCY_WINDOW_MS"),
    (name = "SLUICE_MEMORY_BUDGET_BYTES", fromEnvironment = "SLUICE_MEMORY_BUDGET_BYTES"),
  ],
);
