/**
 * Compiles csrc/ with the system C compiler: `build/` (hardened) or, with
 * `--sanitize`, `build-sanitize/` (ASan+UBSan control process, UBSan library).
 * `--platform NAME` builds the control process for another target into
 * `build-NAME/`, and `build-NAME/run/` for ALCOVE_LIB_PATH: see {@linkcode PLATFORMS}.
 *
 * @example
 * ```sh
 * deno run -A scripts/build.ts
 * deno run -A scripts/build.ts --sanitize
 * deno run -A scripts/build.ts --platform musl   # build-musl/alcove, linked with musl
 * deno run -A scripts/build.ts --out /tmp/mybuild   # elsewhere (set ALCOVE_LIB_PATH to use it)
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
    `Cannot build for platform ${JSON.stringify(platformName)}: it must be one of ${
      Object.keys(PLATFORMS).join(", ")
    }`,
  );
  Deno.exit(1);
}
const outArg = Deno.args.indexOf("--out");
const out = outArg >= 0
  ? new URL(Deno.args[outArg + 1], `file://${Deno.cwd()}/`).pathname
  : root + (platformName ? `build-${platformName}` : sanitize ? "build-sanitize" : "build");

async function succeeds(cmd: string, args: string[]): Promise<boolean> {
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

if (!(await succeeds("make", ["--version"]))) {
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
if (platform) {
  args.push(...platform.make, `${out}/alcove`);
}
if (!(await succeeds("make", args))) {
  console.error(`Cannot build the native files into ${out}: the C compiler failed (see above)`);
  Deno.exit(1);
}
/** Whether this kernel runs the executable itself (it may lack IA32 emulation, say): given an
 * argument, the control process says that it takes none. (An executable the kernel refuses
 * may be handed to /bin/sh instead, which fails otherwise.) */
async function runsNatively(path: string): Promise<boolean> {
  try {
    const r = await new Deno.Command(path, { args: ["--probe"], stdout: "null", stderr: "piped" })
      .output();
    return new TextDecoder().decode(r.stderr).startsWith("alcove: ");
  } catch {
    return false; // ENOEXEC: Exec format error
  }
}

if (platform) {
  // What ALCOVE_LIB_PATH names for a test run: this machine's libalcove.so (the runtime loads
  // it, so it stays native) beside the foreign control process, or beside a script that runs
  // it under its emulator (the pid stays the control process's: the script execs).
  const run = `${out}/run`;
  if (!(await succeeds("make", [`OUT=${root}build`, "--no-print-directory", "-s"]))) Deno.exit(1);
  await Deno.remove(run, { recursive: true }).catch(() => {});
  await Deno.mkdir(run, { recursive: true });
  await Deno.symlink(`${root}build/libalcove.so`, `${run}/libalcove.so`);
  if (platform.emulator.length && !(await runsNatively(`${out}/alcove`))) {
    const argv = [...platform.emulator, `${out}/alcove`].map((a) => `'${a}'`).join(" ");
    await Deno.writeTextFile(`${run}/alcove`, `#!/bin/sh\nexec ${argv} "$@"\n`, { mode: 0o755 });
  } else {
    await Deno.symlink(`${out}/alcove`, `${run}/alcove`);
  }
}
