// Entry of the Sluice WASM module (built by `npm run build:wasm` into build/sluice.wasm).
// Exports take and return only numbers, so no loader glue is needed; memory is managed by hand
// (runtime "stub", nothing is ever allocated by AssemblyScript itself).
// One instance serves either one frame codec or one lease table; `src/wasm/` lays out memory.
export { initCrcTables } from "./crc32c";
export { codecSetup, codecReserve, codecDecode, codecCrc } from "./frames";
export {
  leaseSetup, leaseSize, leaseAcquire, leaseAcquireMany, leaseIsActive, leaseAttemptOf,
  leaseDeadlineOf, leaseExtend, leaseRelease, leaseTake, leaseReleaseMany, leaseExpireUpTo, leaseNextDeadline,
  leaseSetGeneration, leaseOutPtr,
} from "./leases";

/** First free byte after static data: `src/wasm/` places tables and arenas from here. */
export function heapBase(): usize {
  return __heap_base;
}
