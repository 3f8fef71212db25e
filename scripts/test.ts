/**
 * Runs the whole test suite: installs the Debian packages tests need (when
 * root), builds the native files, runs `deno test`, then builds the npm package
 * and runs a core subset of the same test files under Node.js and Bun
 * (NPM_TEST_FILES), installs the packed tarball into an empty folder and uses it,
 * and ends with a plain "N passed, N failed, N skipped" line for all of it. `--sanitize` builds and tests the
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

/** The test files the npm build runs under Node.js and Bun. */
export const NPM_TEST_FILES = [
  "driver_test.js",
  "stdio_test.js",
  "calls_system_test.js",
  "cstruct_test.js",
  "local_test.js",
  "runtime_test.js",
];
/** Each runtime, and the command that runs a script under it. */
const NPM_RUNTIMES: [string, string[]][] = [
  ["Node.js", ["node"]],
  ["Bun", ["npx", "--yes", "bun@1.4.4"]],
];
const mustWork = Deno.env.get("ALCOVE_MUST_WORK") === "1";

/** Runs the npm build's test subset under a runtime; an absent runtime is a skip. */
async function runNpmTests(
  name: string,
  cmd: string[],
): Promise<{ passed: number; failed: number; skipped: number }> {
  console.log(`\n--- the npm build under ${name}: ${NPM_TEST_FILES.join(" ")}`);
  let out;
  try {
    out = new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), "_run.js", ...NPM_TEST_FILES],
      cwd: root + "npm/tests",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
  } catch (e) {
    const why = `${name} is not available (${(e as Error).message})`;
    if (mustWork) {
      console.log(`FAILED: ${why} (ALCOVE_MUST_WORK=1)`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    console.log(`skipped: ${why}`);
    return { passed: 0, failed: 0, skipped: NPM_TEST_FILES.length };
  }
  let text = "";
  for await (const chunk of out.stdout) {
    await Deno.stdout.write(chunk);
    text = (text + decoder.decode(chunk, { stream: true })).slice(-4096);
  }
  const { code } = await out.status;
  const m = [...text.matchAll(/(\d+) passed, (\d+) failed, (\d+) skipped/g)].at(-1);
  if (!m) return { passed: 0, failed: 1, skipped: 0 };
  const r = { passed: +m[1], failed: +m[2], skipped: +m[3] };
  if (code !== 0 && r.failed === 0) r.failed = 1;
  return r;
}

/**
 * The packed tarball, installed with npm into an empty folder: each runtime runs a command
 * through it, `npx alcove` runs the CLI, and a TypeScript consumer type-checks against its
 * .d.ts (nodenext).
 */
async function installTest(): Promise<{ passed: number; failed: number; skipped: number }> {
  console.log("\n--- the packed npm package, installed into an empty folder");
  const r = { passed: 0, failed: 0, skipped: 0 };
  const dir = await Deno.makeTempDir({ prefix: "alcove-install-" });
  const quiet = async (cmd: string, args: string[], cwd: string) => {
    const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
    return { ok: o.success, out: decoder.decode(o.stdout) + decoder.decode(o.stderr) };
  };
  const check = (name: string, ok: boolean, out: string) => {
    console.log(`${name} ... ${ok ? "ok" : "FAILED"}`);
    if (ok) r.passed++;
    else {
      console.log(out);
      r.failed++;
    }
  };
  try {
    const pack = await quiet("npm", ["pack", "--silent", "--pack-destination", dir], root + "npm");
    const tarball = `${dir}/${pack.out.trim().split("\n").at(-1)}`;
    const install = await quiet("npm", ["install", "--no-audit", "--no-fund", tarball], dir);
    check(
      `npm install ${tarball.slice(dir.length + 1)} in an empty folder`,
      install.ok,
      install.out,
    );
    const script = `import { Alcove } from "@alcove/alcove";
const drv = await Alcove.start();
const pid = await drv.fork([]);
await drv.execvp([pid], "/bin/echo", ["echo", "ran in a control process"]);
const out = await drv.stdout([pid], { timeout: 5000 });
console.log(new TextDecoder().decode(out ?? undefined).trim());
await drv.stop();
`;
    await Deno.writeTextFile(`${dir}/run.mjs`, script);
    for (const [name, cmd] of NPM_RUNTIMES) {
      const ran = await quiet(cmd[0], [...cmd.slice(1), "run.mjs"], dir).catch((e) => ({
        ok: false,
        out: String(e),
      }));
      check(
        `${name} runs a command through the package`,
        ran.out.trim() === "ran in a control process",
        ran.out,
      );
    }
    // The CLI through the package's bin, as a user of npm runs it.
    const cli = await quiet("npx", [
      "--no-install",
      "alcove",
      "--unshare-all",
      "--ro-bind",
      "/",
      "/",
      "--proc",
      "/proc",
      "--dev",
      "/dev",
      "sh",
      "-c",
      "echo $(id -u) $(cat /proc/self/uid_map | wc -l)",
    ], dir);
    check(
      "npx alcove runs a command in a sandbox",
      cli.ok && /^\d+ 1$/.test(cli.out.trim()),
      cli.out,
    );
    await Deno.writeTextFile(
      `${dir}/consumer.mts`,
      script.replace("const pid", "const pid: number"),
    );
    const tsc = await quiet(root + "npm/node_modules/.bin/tsc", [
      "--noEmit",
      "--strict",
      "--target",
      "es2022",
      "--module",
      "nodenext",
      "--moduleResolution",
      "nodenext",
      "--lib",
      "es2023,dom,esnext.disposable",
      "consumer.mts",
    ], dir);
    check("a TypeScript consumer type-checks against the .d.ts (nodenext)", tsc.ok, tsc.out);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  return r;
}

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
// The prebuilt files of both architectures that the module publishes (tests/published_test.ts).
if ((await run(Deno.execPath(), ["run", "-A", "scripts/build_native.ts"])) !== 0) Deno.exit(1);

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
const totals = summary
  ? { passed: +summary[1], failed: +summary[2], skipped: +(summary[3] ?? 0) }
  : { passed: 0, failed: status.code !== 0 ? 1 : 0, skipped: 0 };
let code = status.code;

// The npm build: a core subset of the same test files under Node.js and Bun (when the whole
// suite runs). The subset leaves out the files that drive Deno itself (permissions, Deno
// subprocesses, the seccomp and mount suites whose code is runtime-independent).
if (files.length === 0 && !sanitize) {
  if ((await run(Deno.execPath(), ["run", "-A", "scripts/build_npm.ts", "--tests"])) !== 0) {
    Deno.exit(1);
  }
  for (const [runtime, cmd] of NPM_RUNTIMES) {
    const r = await runNpmTests(runtime, cmd);
    totals.passed += r.passed;
    totals.failed += r.failed;
    totals.skipped += r.skipped;
    if (r.failed > 0) code = 1;
  }
  const r = await installTest();
  totals.passed += r.passed;
  totals.failed += r.failed;
  if (r.failed > 0) code = 1;
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
Deno.exit(code);
