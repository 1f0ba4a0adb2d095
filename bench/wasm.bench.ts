// WASM vs JS reference hot-path benchmarks (issue 4). Run:
//   npx bun bench/wasm.bench.ts      |   npx deno run -A bench/wasm.bench.ts
// Prints mitata tables, then one machine-readable line `BENCH_JSON {...}` (medians) for
// scripts that collect results into bench/RESULTS.md.
import { bench, do_not_optimize, run, summary } from "mitata";
import { FRAME_HEADER_BYTES, FrameFlag, FrameType } from "../src/protocol/frame-layout.ts";
import {
  type FrameCodec,
  type LeaseTable,
  createJsFrameCodec,
  createJsLeaseTable,
  createWasmFrameCodec,
  createWasmLeaseTable,
  crc32c,
  encodeFrameHeader,
  wasmMode,
} from "../src/wasm/mod.ts";

const CHUNK_BYTES = 1 << 20; // decode 1 MiB of back-to-back frames per call
const PAYLOADS = [64, 1024, 16 * 1024];
const LEASE_BATCH = 1000;
const SWEEP_LEASES = 100_000;

function frames(payload: number): { bytes: Uint8Array; count: number } {
  const size = FRAME_HEADER_BYTES + payload;
  const count = Math.floor(CHUNK_BYTES / size);
  const bytes = new Uint8Array(count * size);
  for (let i = 0; i < count; i++) {
    const at = i * size;
    for (let k = 0; k < payload; k++) bytes[at + FRAME_HEADER_BYTES + k] = (i * 31 + k * 7) & 0xff;
    const body = bytes.subarray(at + FRAME_HEADER_BYTES, at + size);
    encodeFrameHeader(bytes, at, { type: FrameType.PUBLISH, flags: FrameFlag.Crc, payloadLength: payload, id: i + 1, crc: crc32c(body) });
  }
  return { bytes, count };
}

const wasmCodec = createWasmFrameCodec();
const jsCodec = createJsFrameCodec();
const meta: Record<string, { frames?: number; bytes?: number; ops?: number }> = {};

for (const payload of PAYLOADS) {
  const { bytes, count } = frames(payload);
  const check = (codec: FrameCodec, r: ReturnType<FrameCodec["decode"]>) => {
    if (r.count !== count || r.status[count - 1] !== 0) throw new Error(`${codec.kind} decode failed`);
  };
  check(jsCodec, jsCodec.decodeFrom(bytes));
  check(wasmCodec, wasmCodec.decodeFrom(bytes));
  const names = [`decode+crc ${payload}B js`, `decode+crc ${payload}B wasm (arena)`, `decode+crc ${payload}B wasm (copy in)`];
  for (const n of names) meta[n] = { frames: count, bytes: bytes.length };
  summary(() => {
    bench(names[0]!, () => do_not_optimize(jsCodec.decodeFrom(bytes).count));
    bench(names[1]!, function* () {
      // Zero-copy path: the chunk already sits in the arena (the reader wrote it there).
      yield {
        [0]() {
          wasmCodec.inputBuffer(bytes.length).set(bytes);
          return bytes.length;
        },
        bench(length: number) {
          do_not_optimize(wasmCodec.decode(length).count);
        },
      };
    });
    bench(names[2]!, () => do_not_optimize(wasmCodec.decodeFrom(bytes).count));
  });
}

function leaseBench(label: string, table: LeaseTable): void {
  const tokens = new Float64Array(LEASE_BATCH);
  meta[`lease acquire+release ${label}`] = { ops: LEASE_BATCH * 2 };
  meta[`lease acquireMany+releaseMany ${label}`] = { ops: LEASE_BATCH * 2 };
  bench(`lease acquire+release ${label}`, () => {
    for (let i = 0; i < LEASE_BATCH; i++) tokens[i] = table.acquire(1, 1000 + (i & 63));
    for (let i = 0; i < LEASE_BATCH; i++) table.release(tokens[i]!);
  });
  bench(`lease acquireMany+releaseMany ${label}`, () => {
    table.acquireMany(1, 1000, LEASE_BATCH, tokens);
    table.releaseMany(tokens, LEASE_BATCH);
  });
}
summary(() => {
  leaseBench("js", createJsLeaseTable());
  leaseBench("wasm", createWasmLeaseTable());
});

// Deadlines from a fixed LCG so both tables build the same heap.
const deadlines = new Float64Array(SWEEP_LEASES);
for (let i = 0, x = 12345; i < SWEEP_LEASES; i++) {
  x = (Math.imul(x, 1103515245) + 12345) >>> 0;
  deadlines[i] = x % 1_000_000;
}
const sweepOut = new Float64Array(SWEEP_LEASES);
summary(() => {
  for (const [label, make] of [["js", createJsLeaseTable], ["wasm", createWasmLeaseTable]] as const) {
    const name = `expiry sweep 100k ${label}`;
    meta[name] = { ops: SWEEP_LEASES };
    bench(name, function* () {
      yield {
        [0]() {
          const t = make({ initialSlots: SWEEP_LEASES });
          for (let i = 0; i < SWEEP_LEASES; i++) t.acquire(1, deadlines[i]!);
          return t;
        },
        bench(t: LeaseTable) {
          if (t.expireUpTo(Infinity, sweepOut) !== SWEEP_LEASES) throw new Error(`${label} sweep incomplete`);
        },
      };
    });
  }
});

const { benchmarks, context } = await run();
const medians: Record<string, number> = {};
for (const b of benchmarks) {
  const stats = b.runs[0]?.stats;
  if (stats) medians[b.alias] = stats.p50;
}
const results: Record<string, Record<string, number>> = {};
for (const [name, ns] of Object.entries(medians)) {
  const m = meta[name] ?? {};
  const r: Record<string, number> = { medianNs: Math.round(ns) };
  if (m.frames) r.framesPerSec = Math.round((m.frames / ns) * 1e9);
  if (m.bytes) r.gbPerSec = Number((m.bytes / ns).toFixed(3));
  if (m.ops) r.opsPerSec = Math.round((m.ops / ns) * 1e9);
  results[name] = r;
}
const ratio = (js: string, wasm: string) => Number((medians[js]! / medians[wasm]!).toFixed(2));
const ratios: Record<string, number> = {};
for (const p of PAYLOADS) {
  ratios[`decode+crc ${p}B (arena)`] = ratio(`decode+crc ${p}B js`, `decode+crc ${p}B wasm (arena)`);
  ratios[`decode+crc ${p}B (copy in)`] = ratio(`decode+crc ${p}B js`, `decode+crc ${p}B wasm (copy in)`);
}
ratios["lease acquire+release"] = ratio("lease acquire+release js", "lease acquire+release wasm");
ratios["lease acquireMany+releaseMany"] = ratio("lease acquireMany+releaseMany js", "lease acquireMany+releaseMany wasm");
ratios["expiry sweep 100k"] = ratio("expiry sweep 100k js", "expiry sweep 100k wasm");
const cpus = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? null;
console.log(
  "BENCH_JSON " +
    JSON.stringify({ suite: "wasm", runtime: context.runtime, version: (context as { version?: unknown }).version, cpus, cpu: context.cpu.name, results, speedup: ratios, selected: wasmMode() }),
);
