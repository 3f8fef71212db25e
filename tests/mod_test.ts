/**
 * mod.ts, the package's entry: it serves the generated bundle of the sources (ffi/_bundle/,
 * from ffi/_exports.ts, see scripts/gen_bundles.ts), so what it exports, what Deno loads for it,
 * and whether the bundle is still what the sources make are checked here.
 */
import { assert, assertEquals } from "@std/assert";
import { denoOnly, output, startGraph } from "./_helpers.ts";

const root = new URL("../", import.meta.url).href;

Deno.test(denoOnly("mod.ts exports what the sources' entry exports, from the bundle"), async () => {
  const served = await import("../mod.ts");
  const sources = await import("../ffi/_exports.ts");
  assertEquals(Object.keys(served).sort(), Object.keys(sources).sort());
  // Two copies: the bundle's classes are not the sources' (tests take one or the other).
  assert(served.Alcove !== sources.Alcove, "mod.ts serves the sources, not the bundle");
});

Deno.test(denoOnly("importing mod.ts reads mod.ts and the bundle's files only"), async () => {
  // Files only: the Node.js backend's chunk names node: modules, which Deno reads nowhere.
  const graph = (await startGraph(new URL("../mod.ts", import.meta.url).href))
    .filter((s) => s.startsWith("file:")).map((s) => s.slice(root.length)).sort();
  assert(graph.includes("ffi/_bundle/_exports.js"), graph.join(" "));
  for (const file of graph) {
    assert(file === "mod.ts" || /^ffi\/_bundle\/[\w-]+\.js$/.test(file), `${file} is read`);
  }
});

Deno.test(denoOnly("the bundles and tables are what deno task gen makes now"), async () => {
  // A stale bundle would run old code under every test that imports mod.ts.
  const script = new URL("../scripts/gen.ts", import.meta.url).pathname;
  const r = await output(Deno.execPath(), ["run", "-A", script, "--check"]);
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
});
