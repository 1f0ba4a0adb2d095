/**
 * workerd entry (Cloudflare's open-source edge runtime): the Sluice app as a module worker.
 *
 * workerd forbids compiling WebAssembly from bytes at run time, so the WASM module comes in as a
 * precompiled module import (`sluice.wasm`, declared as a `wasm` module in the workerd config, or a
 * `CompiledWasm` rule under wrangler) and is handed to `provideWasmModule` before anything builds
 * a codec or a lease table. Queues live in the isolate's memory, as on Bun and Deno; WebSocket
 * routes answer 501 here until a workerd WebSocket adapter lands. `GET /_sluice/wasm` reports which
 * implementation runs and exercises it once (decode + lease round trip).
 *
 * Bundle and serve (see test/integration/workerd.test.ts):
 * ```sh
 * bun build src/runtime/workerd.ts --target browser --format esm --external '*.wasm' --outfile build/workerd/worker.js
 * workerd serve sluice.capnp
 * ```
 */
// workerd hands a `.wasm` import over as a compiled module (the default export, declared in
// wasm-module.d.ts); Deno types `.wasm` imports as Wasm ES modules with named exports instead.
// @ts-ignore: TS1192 under `deno check` only
import sluiceWasm from "../../build/sluice.wasm";
import { createApp } from "../server/app.ts";
import { DEFAULT_CONFIG } from "../server/config.ts";
import { FrameType } from "../protocol/frame-layout.ts";
import { encodeFrame } from "../protocol/frames.ts";
import { createFrameCodec, createLeaseTable, provideWasmModule, wasmMode } from "../wasm/mod.ts";

provideWasmModule(sluiceWasm);

// Built on the first request: workerd disallows timers and I/O at module scope.
let app: ReturnType<typeof createApp> | undefined;

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

export default {
  fetch(request: Request): Response | Promise<Response> {
    if (new URL(request.url).pathname === "/_sluice/wasm") return wasmSelfTest();
    app ??= createApp(DEFAULT_CONFIG);
    return app.fetch(request);
  },
};
