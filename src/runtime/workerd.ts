/**
 * workerd entry (Cloudflare's edge runtime, and `workerd` locally): a module Worker plus the
 * `SluiceQueue` Durable Object class it routes to — one object per queue, holding the queue in
 * the object's SQL storage, its WebSockets on the hibernation API and its timers on the object's
 * alarm (src/runtime/workerd/sluice-queue.ts). The Worker authenticates from its env bindings
 * (`SLUICE_AUTH_TOKENS`, same bearer rules as the servers), reads the rest of the configuration
 * from the `SLUICE_CONFIG` text binding (what sluice.config.json holds elsewhere) and the other
 * `SLUICE_*` bindings, and sends `/v1/queues/<name>/…` to the object of `<name>`
 * (src/runtime/workerd/front.ts).
 *
 * workerd forbids compiling WebAssembly from bytes at run time, so the WASM module comes in as a
 * precompiled module import (`sluice.wasm`, a `wasm` module in the capnp config, a `CompiledWasm`
 * rule under wrangler) and is handed to `provideWasmModule` before anything builds a codec or a
 * lease table. `GET /_sluice/wasm` reports which implementation runs and exercises it once.
 *
 * Build and serve locally (`npm run start:workerd` does both; deploy files: wrangler.toml,
 * workerd/sluice.capnp):
 * ```sh
 * bun build src/runtime/workerd.ts --target browser --format esm --external '*.wasm' --outfile build/workerd/worker.js
 * workerd serve workerd/sluice.capnp
 * ```
 */
// workerd hands a `.wasm` import over as a compiled module (the default export, declared in
// wasm-module.d.ts); Deno types `.wasm` imports as Wasm ES modules with named exports instead.
// @ts-ignore: TS1192 under `deno check` only
import sluiceWasm from "../../build/sluice.wasm";
import { VERSION } from "../server/app.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { encodeFrame } from "../protocol/frames.ts";
import { createFrameCodec, createLeaseTable, provideWasmModule, wasmMode } from "../wasm/mod.ts";
import { workerConfig } from "./workerd/config.ts";
import { createFrontApp } from "./workerd/front.ts";
import type { WorkerEnv } from "./workerd/types.ts";

export { SluiceQueue } from "./workerd/sluice-queue.ts";

provideWasmModule(sluiceWasm);

function wasmSelfTest(): Response {
  const frame = encodeFrame({ type: FrameType.PUBLISH, id: 7, payload: new TextEncoder().encode("hello"), crc: true });
  const decoded = createFrameCodec().decodeFrom(frame);
  const table = createLeaseTable();
  const token = table.acquire(1, 1000);
  const released = table.release(token);
  return Response.json({
    mode: wasmMode(),
    frames: decoded.count,
    status: decoded.status[0],
    id: decoded.ids[0],
    leaseRoundTrip: released && !table.isActive(token),
  });
}

// One front app per env object (workerd hands the same env to every request).
const apps = new WeakMap<object, { fetch(request: Request): Response | Promise<Response> }>();

/**
 * The module Worker: health without a token, everything else authenticated and, for queues,
 * forwarded to their Durable Object. A bad configuration answers 500 naming the key.
 *
 * @example
 * ```ts
 * const response = await worker.fetch(new Request("http://sluice/healthz"), env);
 * ```
 */
const worker = {
  fetch(request: Request, env: WorkerEnv): Response | Promise<Response> {
    let app = apps.get(env);
    if (app === undefined) {
      const config = workerConfig(env);
      if (!config.ok) return Response.json({ error: { code: config.error.code, message: config.error.message } }, { status: 500 });
      const front = createFrontApp(env, config.value, { version: VERSION });
      front.get("/_sluice/wasm", () => wasmSelfTest());
      apps.set(env, (app = front));
    }
    return app.fetch(request);
  },
};

export default worker;
