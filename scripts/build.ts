/**
 * Compiles csrc/ with the system C compiler: `build/` (hardened) or, with
 * `--sanitize`, `build-sanitize/` (ASan+UBSan control process, UBSan library).
 *
 * @example
 * ```sh
 * deno run -A scripts/build.ts
 * deno run -A scripts/build.ts --sanitize
 * deno run -A scripts/build.ts --out /tmp/mybuild   # elsewhere (set ALCOVE_LIB_PATH to use it)
 * ```
 * @module
 */
const root = new URL("..", import.meta.url).pathname;
const sanitize = Deno.args.includes("--sanitize");
const outArg = Deno.args.indexOf("--out");
const out = outArg >= 0
  ? new URL(Deno.args[outArg + 1], `file://${Deno.cwd()}/`).pathname
  : root + (sanitize ? "build-sanitize" : "build");

async function run(cmd: string, args: string[]): Promise<boolean> {
  try {
    const status = await new Deno.Command(cmd, {
      args,
      cwd: root + "csrc",
      stdout: args[0] === "--version" ? "null" : "inherit",
    }).spawn().status;
    return status.success;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

if (!(await run("make", ["--version"]))) {
  console.error("Cannot build: `make` is not installed (apt-get install make gcc)");
  Deno.exit(1);
}
const args = [
  `OUT=${out}`,
  `-j${navigator.hardwareConcurrency ?? 2}`,
  "--no-print-directory",
  "-s",
];
if (sanitize) args.push("SANITIZE=1");
if (!(await run("make", args))) {
  console.error(`Cannot build the native files into ${out}: the C compiler failed (see above)`);
  Deno.exit(1);
}
