/**
 * Runs the whole test suite: installs the Debian packages tests need (when
 * root), builds the native files, runs `deno test`, and ends with a plain
 * "N passed, N failed, N skipped" line. `--sanitize` builds and tests the
 * ASan+UBSan build instead.
 *
 * @example
 * ```sh
 * deno run -A scripts/test.ts              # what `deno task test` runs
 * deno run -A scripts/test.ts --sanitize   # what `deno task sanitize` runs
 * deno run -A scripts/test.ts tests/driver_test.ts   # some files only
 * ```
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const sanitize = Deno.args.includes("--sanitize");
const files = Deno.args.filter((a) => !a.startsWith("--"));

async function run(cmd: string, args: string[], env?: Record<string, string>): Promise<number> {
  const p = new Deno.Command(cmd, { args, cwd: root, env }).spawn();
  return (await p.status).code;
}

if ((await run("sh", ["scripts/install_deps.sh"])) !== 0) {
  console.error("Cannot install the packages the tests need (scripts/install_deps.sh failed)");
  Deno.exit(1);
}
const build = ["run", "-A", "scripts/build.ts", ...(sanitize ? ["--sanitize"] : [])];
if ((await run(Deno.execPath(), build)) !== 0) Deno.exit(1);

const env: Record<string, string> = {};
if (sanitize) {
  env.ALCOVE_LIB_PATH = root + "build-sanitize";
  // Children exit with _exit and inherit the parent's heap: leak reports would be noise.
  env.ASAN_OPTIONS = "detect_leaks=0:abort_on_error=0:halt_on_error=1";
  env.UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1";
}
const test = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--parallel", ...(files.length ? files : ["tests/"])],
  cwd: root,
  env,
  stdout: "piped",
  stderr: "inherit",
}).spawn();

// Pass the output through and remember the summary line.
let tail = "";
const decoder = new TextDecoder();
for await (const chunk of test.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + decoder.decode(chunk, { stream: true })).slice(-4096);
}
const status = await test.status;
// deno test ends with e.g. "ok | 40 passed (3 steps) | 0 failed | 2 ignored (12s)".
// deno-lint-ignore no-control-regex
const plain = tail.replace(/\x1b\[[0-9;]*m/g, "");
const summary = [
  ...plain.matchAll(/(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed(?: \| (\d+) ignored)?/g),
]
  .at(-1);
if (summary) {
  console.log(`\n${summary[1]} passed, ${summary[2]} failed, ${summary[3] ?? 0} skipped`);
} else if (status.code !== 0) {
  console.log("\n0 passed, 1 failed");
}
Deno.exit(status.code);
