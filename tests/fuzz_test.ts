/**
 * A short run of each fuzz harness (scripts/fuzz.ts): they build, accept their seed corpus and
 * find nothing in a few seconds, and `--runs` stops each at that many executions. `deno task
 * fuzz` runs them longer.
 */
import { assert, assertEquals, assertStringIncludes } from "@std/assert";

/** Runs scripts/fuzz.ts with `args`, checks that it succeeded, and returns its output. */
async function fuzz(...args: string[]): Promise<string> {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("../scripts/fuzz.ts", import.meta.url).pathname, ...args],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const out = new TextDecoder().decode(r.stdout);
  assert(r.success, out);
  return out;
}

Deno.test("each fuzz harness runs its seeds and a few seconds of inputs without a finding", async () => {
  const out = await fuzz("--seconds", "3");
  for (const name of ["call", "stream", "spawn_request"]) {
    const line = out.split("\n").find((l) => l.startsWith(`${name}: `));
    assert(line, out);
    assertStringIncludes(line, "no finding");
    // Every seed ran, then more.
    const runs = Number(line.match(/^\w+: (\d+) executions/)?.[1]);
    assert(runs > 5, line);
  }
});

Deno.test("fuzz --runs N stops each harness after N executions", async () => {
  const out = await fuzz("--runs", "777", "--seconds", "60");
  for (const name of ["call", "stream", "spawn_request"]) {
    const m = out.match(
      new RegExp(
        `^${name}: (\\d+) executions in \\d+ s \\(\\d+/s\\), (\\d+) of them the saved`,
        "m",
      ),
    );
    assert(m, out);
    // The saved inputs all run first, however many earlier runs kept.
    assertEquals(Number(m[1]), Math.max(777, Number(m[2])), m[0]);
  }
});
