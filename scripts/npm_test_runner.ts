/**
 * Runs test files of the npm build under Node.js or Bun, as dnt's runner does: each
 * file's `Deno.test` calls (the @deno/shim-deno namespace) are collected, then run one
 * at a time, steps included. Ends with "N passed, N failed, N skipped" and exits
 * non-zero on a failure. Compiled into npm/tests/_run.js by scripts/build_npm.ts.
 *
 * @example
 * ```sh
 * node npm/tests/_run.js driver_test.js stdio_test.js
 * ```
 * @module
 */
// @ts-ignore: a module of npm's @deno/shim-deno, present in the npm build only
import { testDefinitions } from "@deno/shim-deno/test-internals";
import process from "node:process";

interface Definition {
  name: string;
  fn: (t: Context) => unknown;
  ignore?: boolean;
  only?: boolean;
  /** Set by tests/_helpers.ts's denoOnly outside Deno. */
  denoOnly?: boolean;
}

interface Context {
  name: string;
  step(name: string | Definition, fn?: (t: Context) => unknown): Promise<boolean>;
}

const definitions = testDefinitions as Definition[];
let passed = 0;
let failed = 0;
let skipped = 0;
let denoOnly = 0;

function context(name: string, depth: number): Context {
  return {
    name,
    async step(nameOrDef, fn) {
      const def = typeof nameOrDef === "string" ? { name: nameOrDef, fn: fn! } : nameOrDef;
      return await runOne(def, depth + 1);
    },
  };
}

async function runOne(def: Definition, depth: number): Promise<boolean> {
  const indent = "  ".repeat(depth);
  if (def.ignore) {
    console.log(`${indent}${def.name} ... ${def.denoOnly ? "Deno only" : "ignored"}`);
    if (depth === 0 && def.denoOnly) denoOnly++;
    else if (depth === 0) skipped++;
    return true;
  }
  const started = performance.now();
  try {
    await def.fn(context(def.name, depth));
    const ms = Math.round(performance.now() - started);
    console.log(`${indent}${def.name} ... ok (${ms}ms)`);
    if (depth === 0) passed++;
    return true;
  } catch (e) {
    console.log(`${indent}${def.name} ... FAILED`);
    console.log(e instanceof Error ? (e.stack ?? e.message) : String(e));
    if (depth === 0) failed++;
    return false;
  }
}

const here = new URL(".", import.meta.url);
for (const file of process.argv.slice(2)) {
  const before = definitions.length;
  await import(new URL(file, here).href);
  console.log(`${file}: ${definitions.length - before} tests`);
}
const chosen = definitions.some((d) => d.only) ? definitions.filter((d) => d.only) : definitions;
for (const def of chosen) await runOne(def, 0);
console.log(
  `\n${passed} passed, ${failed} failed, ${skipped} skipped (${denoOnly} Deno-only left out)`,
);
process.exit(failed > 0 ? 1 : 0);
