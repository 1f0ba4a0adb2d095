// Implementation selection: WASM by default, the JS reference under SLUICE_WASM=0
// (scripts/test.mjs runs the suite both ways, so both branches are exercised).
import { describe, expect, test } from "../harness.ts";
import {
  createFrameCodec,
  createJsLeaseTable,
  createLeaseTable,
  createWasmLeaseTable,
  wasmMode,
} from "../../src/wasm/mod.ts";
import { sluiceWasmBytes } from "../../src/wasm/loader.ts";

const flag = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.SLUICE_WASM;
const expected = flag === "0" ? "js" : "wasm";

describe("wasm selection", () => {
  test(`SLUICE_WASM=${flag ?? "(unset)"} selects ${expected}`, () => {
    expect(wasmMode()).toBe(expected);
    expect(createFrameCodec().kind).toBe(expected);
    const table = createLeaseTable();
    const jsClass = createJsLeaseTable().constructor;
    const wasmClass = createWasmLeaseTable().constructor;
    expect(table.constructor).toBe(expected === "js" ? jsClass : wasmClass);
  });

  test("option errors surface from the selector instead of silently falling back", () => {
    expect(() => createFrameCodec({ maxPayloadBytes: 1.5 })).toThrow(RangeError);
  });

  test("the embedded module is valid WebAssembly with no imports (no loader glue)", () => {
    const bytes = sluiceWasmBytes();
    expect(Array.from(bytes.subarray(0, 4))).toEqual([0x00, 0x61, 0x73, 0x6d]);
    const module = new WebAssembly.Module(bytes as Uint8Array<ArrayBuffer>);
    expect(WebAssembly.Module.imports(module)).toEqual([]);
  });
});
