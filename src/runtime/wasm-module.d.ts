/** A `.wasm` file imported as a compiled module (workerd's `wasm` module type, wrangler's CompiledWasm). */
declare module "*.wasm" {
  const module: WebAssembly.Module;
  export default module;
}
