/**
 * Runs the whole test suite: installs the Debian packages tests need (when
 * root), builds the native files, runs `deno test`, then a short run against
 * the control process of every other target (scripts/platforms.ts), then builds
 * the npm package and runs the same test files (all but those that run Deno
 * itself) under Node.js and Bun (NPM_TEST_FILES), installs the packed tarball
 * into an empty folder and uses it, and ends with a plain "N passed, N failed,
 * N skipped" line for all of it. `--sanitize` builds and tests the ASan+UBSan
 * build instead; `--platform NAME` runs against the control process built for
 * another target, the files its `core` list names unless files are given.
 *
 * @example
 * ```sh
 * deno run -A scripts/test.ts              # what `deno task test` runs
 * deno run -A scripts/test.ts --sanitize   # what `deno task sanitize` runs
 * deno run -A scripts/test.ts tests/driver_test.ts   # some files only
 * deno run -A scripts/test.ts --platform musl          # against the musl control process
 * ```
 * @module
 */
import { PLATFORMS } from "./platforms.ts";

const root = new URL("..", import.meta.url).pathname;
const sanitize = Deno.args.includes("--sanitize");
const platformArg = Deno.args.indexOf("--platform");
const platformName = platformArg >= 0 ? Deno.args[platformArg + 1] : undefined;
const platform = platformName === undefined ? undefined : PLATFORMS[platformName];
if (platformName !== undefined && platform === undefined) {
  console.error(
    `Cannot test platform ${JSON.stringify(platformName)}: it must be one of ${
      Object.keys(PLATFORMS).join(", ")
    }`,
  );
  Deno.exit(1);
}
const given = Deno.args.filter((a, i) =>
  !a.startsWith("--") && (platformArg < 0 || i !== platformArg + 1)
);
const files = given.length ? given : platform?.core ?? ["tests/"];
const decoder = new TextDecoder();

/**
 * The test files the npm build runs under Node.js and Bun: every file but those that run
 * Deno or scripts/ themselves (the CLI, the README's examples, the published file set, the
 * stress runs, the seccomp compiler's suite that runs scripts/bench).
 */
export const NPM_TEST_FILES = [
  "bad_input_test.js",
  "calls_files_test.js",
  "calls_filter_test.js",
  "calls_mount_test.js",
  "calls_struct_test.js",
  "calls_system_test.js",
  "capabilities_test.js",
  "cgroup_test.js",
  "cleanup_test.js",
  "control_test.js",
  "cstruct_test.js",
  "driver_test.js",
  "errors_test.js",
  "hygiene_test.js",
  "local_test.js",
  "runtime_test.js",
  "sandbox_steps_test.js",
  "sandbox_test.js",
  "seccomp_driver_test.js",
  "seccomp_tables_test.js",
  "stdio_test.js",
  "unprivileged_test.js",
];
/** Each runtime, and the command that runs a script under it. */
const NPM_RUNTIMES: [string, string[]][] = [
  ["Node.js", ["node"]],
  ["Bun", ["npx", "--yes", "bun@1.4.4"]],
];
const mustWork = Deno.env.get("ALCOVE_MUST_WORK") === "1";
/**
 * What each failed run said about its failures, repeated after the last summary line so that
 * the end of a long log (all that a CI page may show) names every failed test and its error.
 */
const failureReports: string[] = [];

type Counts = { passed: number; failed: number; skipped: number };

/**
 * Runs the npm build's test files under a runtime, in as many shards as there are CPUs (files
 * at once, never the same file twice, as `deno test --parallel` does), each shard's output
 * printed whole when it ends; an absent runtime is a skip.
 */
async function runNpmTests(name: string, cmd: string[]): Promise<Counts> {
  const shards = Math.max(1, Math.min(navigator.hardwareConcurrency, 4));
  const groups = Array.from(
    { length: shards },
    (_, i) => NPM_TEST_FILES.filter((_, j) => j % shards === i),
  );
  const results = await Promise.all(groups.map((files) => runNpmShard(name, cmd, files)));
  return results.reduce((a, r) => ({
    passed: a.passed + r.passed,
    failed: a.failed + r.failed,
    skipped: a.skipped + r.skipped,
  }));
}

async function runNpmShard(name: string, cmd: string[], files: string[]): Promise<Counts> {
  let out;
  try {
    out = await new Deno.Command(cmd[0], {
      args: [...cmd.slice(1), "_run.js", ...files],
      cwd: root + "npm/tests",
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    const why = `${name} is not available (${(e as Error).message})`;
    if (mustWork) {
      console.log(`FAILED: ${why} (ALCOVE_MUST_WORK=1)`);
      failureReports.push(`${why} (ALCOVE_MUST_WORK=1)`);
      return { passed: 0, failed: 1, skipped: 0 };
    }
    console.log(`skipped: ${why}`);
    return { passed: 0, failed: 0, skipped: files.length };
  }
  const text = decoder.decode(out.stdout);
  console.log(`\n--- the npm build under ${name}: ${files.join(" ")}`);
  await Deno.stdout.write(out.stdout);
  await Deno.stderr.write(out.stderr);
  const m = [...text.matchAll(/(\d+) passed, (\d+) failed, (\d+) skipped/g)].at(-1);
  const r = m
    ? { passed: +m[1], failed: +m[2], skipped: +m[3] }
    : { passed: 0, failed: 0, skipped: 0 };
  if (out.code !== 0 && r.failed === 0) r.failed = 1;
  if (r.failed) {
    // The runner prints "name ... FAILED" then the error's stack, up to the next result line.
    const lines = text.split("\n");
    const report: string[] = [];
    lines.forEach((line, i) => {
      if (!line.endsWith("... FAILED")) return;
      report.push(line);
      for (let j = i + 1; j < lines.length && !/ \.\.\. |^\d+ passed/.test(lines[j]); j++) {
        report.push(lines[j]);
      }
    });
    if (!report.length) report.push(text.slice(-2000), decoder.decode(out.stderr).slice(-2000));
    failureReports.push(`under ${name} (${files.join(" ")}):\n${report.join("\n")}`);
  }
  return r;
}

/**
 * The packed tarball, installed with npm into an empty folder: each runtime runs a command
 * through it, `npx alcove` runs the CLI, and a TypeScript consumer type-checks against its
 * .d.ts (nodenext).
 */
async function installTest(): Promise<Counts> {
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
      failureReports.push(`the installed package: ${name}\n${out}`);
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
    // Under each runtime the bin becomes the supervisor (the command's parent), as under
    // Deno: the command gets stdout in blocking mode (Node.js turns O_NONBLOCK on for a pipe),
    // and a descriptor an option names crosses the exec though the runtime made it
    // close-on-exec (both do, from 0 to 16 under Node.js).
    const bin = `${dir}/node_modules/@alcove/alcove/cli.js`;
    const probe = `tr '\\0' ' ' < /proc/$PPID/cmdline; echo; grep ^flags /proc/self/fdinfo/1`;
    for (const [name, cmd] of NPM_RUNTIMES) {
      // The runtime's own executable: npx would not pass descriptor 5 on.
      const exe =
        (await quiet(cmd[0], [...cmd.slice(1), "-e", "console.log(process.execPath)"], dir))
          .out.trim();
      const line = [exe, bin, "--ro-bind", "/", "/", "--info-fd", "5", "sh", "-c", probe]
        .map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
      const ran = await quiet("sh", ["-c", `exec ${line} 5>info.json`], dir);
      const [parent = "", flags = ""] = ran.out.trim().split("\n");
      const info = await Deno.readTextFile(`${dir}/info.json`).catch(() => "");
      check(
        `${name}: the bin becomes the supervisor and passes stdio and --info-fd as they were`,
        ran.ok && parent.includes(" --cli ") &&
          (parseInt(flags.split(/\s+/)[1] ?? "", 8) & 0o4000) === 0 &&
          /"child-pid": \d+/.test(info),
        `${ran.out}\ninfo: ${info}`,
      );
    }
    // Through the driver (--output-limit), a reader that goes away: the command gets SIGPIPE
    // and the bin exits with its status (an EPIPE of the runtime's stdout, unheard, ended
    // Node.js).
    for (const [name, cmd] of NPM_RUNTIMES) {
      const exe =
        (await quiet(cmd[0], [...cmd.slice(1), "-e", "console.log(process.execPath)"], dir))
          .out.trim();
      const script = "yes; echo status=$? >&2; exit 4";
      const line = [exe, bin, "--output-limit", "1G", "--time", "20s", "--ro-bind", "/", "/"]
        .concat(["sh", "-c", script])
        .map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
      await quiet(
        "sh",
        ["-c", `{ ${line} 2>err.txt; echo $? >rc.txt; } | head -c 10 >/dev/null`],
        dir,
      );
      const [err, rc] = await Promise.all(
        ["err.txt", "rc.txt"].map((f) => Deno.readTextFile(`${dir}/${f}`).catch(() => "")),
      );
      check(
        `${name}: through the driver, a reader gone gives the command SIGPIPE, no runtime error`,
        err === "status=141\n" && rc === "4\n",
        `stderr: ${err}\nstatus: ${rc}`,
      );
      // A write that fails otherwise (a full disk) lost output: said, status 1.
      const full = await quiet("sh", ["-c", `${line} >/dev/full`], dir);
      check(
        `${name}: through the driver, output that cannot be written is said, status 1`,
        !full.ok && /^alcove: Cannot write the command's stdout: .*no space left/im.test(full.out),
        full.out,
      );
    }
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
      "consumer.mts", // with target es2022's own libraries: the package brings the rest
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
// The prebuilt files of both architectures that the module publishes (tests/published_test.ts).
if ((await run(Deno.execPath(), ["run", "-A", "scripts/build_native.ts"])) !== 0) Deno.exit(1);

/** Builds what a run needs and its environment: the control process of `name`, or this
 * machine's (sanitized with --sanitize). */
async function prepare(name: string | undefined): Promise<Record<string, string> | undefined> {
  const build = [
    "run",
    "-A",
    "scripts/build.ts",
    ...(sanitize ? ["--sanitize"] : []),
    ...(name ? ["--platform", name] : []),
  ];
  if ((await run(Deno.execPath(), build)) !== 0) {
    failureReports.push(`the build failed: deno ${build.join(" ")} (its output is above)`);
    return undefined;
  }
  const env: Record<string, string> = {};
  if (sanitize) {
    env.ALCOVE_LIB_PATH = root + "build-sanitize";
    // Children exit with _exit and inherit the parent's heap: leak reports would be noise.
    // A failed allocation returns NULL, as the C library's does (the tests of calls too large
    // for a process's memory expect ENOMEM, not the sanitizer's abort), and freed memory waits
    // in a quarantine of 8 MiB, not 256 (the tests that bound a control process's memory
    // would count the quarantine's).
    env.ASAN_OPTIONS = [
      "detect_leaks=0",
      "abort_on_error=0",
      "halt_on_error=1",
      "allocator_may_return_null=1",
      "quarantine_size_mb=8",
    ].join(":");
    env.UBSAN_OPTIONS = "halt_on_error=1:print_stacktrace=1";
  }
  if (name) {
    env.ALCOVE_LIB_PATH = `${root}build-${name}/run`;
    // Read by tests/_helpers.ts for what the platform cannot do.
    env.ALCOVE_PLATFORM = name;
    env.ALCOVE_CONTROL_EXECUTABLE = `${root}build-${name}/alcove`;
    const emulated = !(await Deno.lstat(`${env.ALCOVE_LIB_PATH}/alcove`)).isSymlink;
    if (emulated) env.ALCOVE_EMULATOR = PLATFORMS[name].emulator.join(" ");
    console.log(
      `\nTesting against the control process for ${PLATFORMS[name].description}${
        emulated ? `, under ${env.ALCOVE_EMULATOR}` : ""
      }`,
    );
  }
  return env;
}

/** Runs `deno test` on `files`, passing its output through; returns its counts. */
async function runTests(files: string[], env: Record<string, string>): Promise<Counts> {
  const test = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", "--parallel", ...files],
    cwd: root,
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  // Pass the output through and remember the summary line.
  let all = "";
  for await (const chunk of test.stdout) {
    await Deno.stdout.write(chunk);
    all += decoder.decode(chunk, { stream: true });
  }
  const status = await test.status;
  // deno test ends with e.g. "ok | 40 passed (3 steps) | 0 failed | 2 ignored (12s)", after
  // an " ERRORS " section that gives each failed test's error.
  // deno-lint-ignore no-control-regex
  const plain = all.replace(/\x1b\[[0-9;]*m/g, "");
  const errors = plain.lastIndexOf(" ERRORS ");
  if (status.code !== 0) {
    failureReports.push(
      `deno test ${files.join(" ")}:\n${errors >= 0 ? plain.slice(errors) : plain.slice(-4000)}`,
    );
  }
  const summary = [
    ...plain.matchAll(/(?:ok|FAILED) \| (\d+) passed[^|]*\| (\d+) failed(?: \| (\d+) ignored)?/g),
  ]
    .at(-1);
  const counts = summary
    ? { passed: +summary[1], failed: +summary[2], skipped: +(summary[3] ?? 0) }
    : { passed: 0, failed: 0, skipped: 0 };
  if (status.code !== 0 && counts.failed === 0) counts.failed = 1;
  return counts;
}

// The runs: the files asked for against one control process, or, for the whole suite, this
// machine's and then the short run of every other platform (`ci` in scripts/platforms.ts).
const runs: [string | undefined, string[]][] = [[platformName, files]];
if (!given.length && !platformName && !sanitize) {
  for (const [name, p] of Object.entries(PLATFORMS)) runs.push([name, p.ci]);
}
const totals: Counts = { passed: 0, failed: 0, skipped: 0 };
for (const [name, runFiles] of runs) {
  const env = await prepare(name);
  const counts = env ? await runTests(runFiles, env) : { passed: 0, failed: 1, skipped: 0 };
  totals.passed += counts.passed;
  totals.failed += counts.failed;
  totals.skipped += counts.skipped;
}
let code = totals.failed ? 1 : 0;

// The npm build: the same test files under Node.js and Bun (when the whole suite runs), but
// NPM_TEST_FILES' few; tests of Deno itself inside them are marked denoOnly.
if (!given.length && !platformName && !sanitize) {
  const npmBuild = ["run", "-A", "scripts/build_npm.ts", "--tests"];
  if ((await run(Deno.execPath(), npmBuild)) !== 0) {
    failureReports.push(`the npm build failed: deno ${npmBuild.join(" ")} (its output is above)`);
    totals.failed++;
    code = 1;
  } else {
    await npmRuns();
  }
}

/** The npm build's tests under each runtime, then the packed tarball installed and used. */
async function npmRuns(): Promise<void> {
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

if (failureReports.length) {
  console.log(
    `\n=== the failures again, as each run reported them\n${failureReports.join("\n\n")}`,
  );
}
console.log(`\n${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
Deno.exit(code);
