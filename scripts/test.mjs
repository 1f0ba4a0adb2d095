#!/usr/bin/env node
// The whole test suite, as `npm test` and CI run it:
//   1. every suite under Bun (`bun test`), WASM hot path on (the default);
//   2. the unit suites under Bun again with SLUICE_WASM=0 (the pure-JS reference; the
//      integration suites run once, in 1 — they test processes and sockets, not the codec);
//   3. the runtime-neutral suites (test/unit/) under Deno.
// Prints one closing line `N passed, N failed` and exits non-zero if any run failed
// or if a run executed no test at all.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";

const runs = [
  { label: "bun (wasm)", cmd: "bun", args: ["test", "--timeout", "60000"], env: { SLUICE_WASM: "1" }, parse: parseBun },
  { label: "bun (js reference, unit)", cmd: "bun", args: ["test", "--timeout", "60000", "test/unit"], env: { SLUICE_WASM: "0" }, parse: parseBun },
  {
    label: "deno (unit)",
    cmd: "deno",
    args: ["test", "--allow-all", "--no-check", "--config", "deno.json", "test/unit/"],
    env: {},
    parse: parseDeno,
  },
];
const only = process.env.SLUICE_TEST_ONLY; // e.g. "bun" or "deno" while iterating locally

function stripAnsi(text) {
  return text.replace(/\u001b\[[0-9;]*m/g, "");
}
function parseBun(out) {
  const pass = /^\s*(\d+) pass\s*$/m.exec(out);
  const fail = /^\s*(\d+) fail\s*$/m.exec(out);
  return pass ? { passed: Number(pass[1]), failed: fail ? Number(fail[1]) : 0 } : null;
}
function parseDeno(out) {
  const m = /(\d+) passed[^|\n]*\|\s*(\d+) failed/.exec(out);
  return m ? { passed: Number(m[1]), failed: Number(m[2]) } : null;
}

function runOne(run) {
  return new Promise((resolve) => {
    const bin = existsSync(`node_modules/.bin/${run.cmd}`) ? `node_modules/.bin/${run.cmd}` : run.cmd;
    const child = spawn(bin, run.args, {
      env: { ...process.env, ...run.env, NO_COLOR: "1", FORCE_COLOR: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      process.stdout.write(d);
    });
    child.stderr.on("data", (d) => {
      out += d;
      process.stderr.write(d);
    });
    child.on("close", (code) => resolve({ code: code ?? 1, counts: run.parse(stripAnsi(out)) }));
  });
}

let passed = 0;
let failed = 0;
let broken = false;
const summary = [];
for (const run of runs) {
  if (only && !run.label.startsWith(only)) continue;
  console.log(`\n=== ${run.label}: ${run.cmd} ${run.args.join(" ")} ===`);
  const { code, counts } = await runOne(run);
  if (!counts || counts.passed + counts.failed === 0) {
    broken = true;
    summary.push(`${run.label}: ran no test or its summary was unreadable (exit ${code})`);
    continue;
  }
  passed += counts.passed;
  failed += counts.failed;
  if (code !== 0) broken = true;
  summary.push(`${run.label}: ${counts.passed} passed, ${counts.failed} failed (exit ${code})`);
}
console.log("\n" + summary.join("\n"));
console.log(`${passed} passed, ${failed} failed`);
process.exit(broken || failed > 0 ? 1 : 0);
