/**
 * alcove for TypeScript: fork, confine and control system processes.
 *
 * A driver starts a root control process; every process below it is reached by
 * its pipeline (the pids from the root down) and runs system calls on request:
 * namespaces, rlimits, credentials, exec, and its stdin/stdout/stderr.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const pid = await drv.clone([], ["CLONE_NEWPID", "CLONE_NEWUTS"]);
 * await drv.sethostname([pid], "sandbox");
 * await drv.execvp([pid], "hostname", ["hostname"]);
 * console.log(new TextDecoder().decode((await drv.stdout([pid]))!));
 * ```
 * @module
 */
export * from "./ffi/driver.ts";
export * from "./ffi/errors.ts";
export * from "./ffi/types.ts";
export * from "./ffi/constants.ts";
export * from "./ffi/cstruct.ts";
export * from "./ffi/local.ts";
export * from "./ffi/capabilities.ts";
export * from "./ffi/seccomp/mod.ts";
export * from "./ffi/seccomp/profile.ts";
export * from "./ffi/sandbox/mod.ts";
export * from "./ffi/cgroup/mod.ts";
export * from "./ffi/cli/parse.ts";
export { runCommandLine, type RunCommandLineOptions } from "./ffi/cli/run.ts";
export {
  AlcoveCalls,
  type ArgKind,
  type CallDef,
  CALLS,
  LocalCalls,
  type ResultKind,
  TaskCalls,
} from "./ffi/_calls.ts";
export type { AlcoveCallMethods, LocalCallMethods, TaskCallMethods } from "./ffi/_call_methods.ts";

// The package loads the seccomp modules anyway: spawn's encoder takes them at once, so that
// encodeSpawnRequest compiles filters synchronously (the command line loads them on demand).
import { assemble } from "./ffi/seccomp/bpf.ts";
import { compilePolicy } from "./ffi/seccomp/policy.ts";
import { DEFAULT_PROFILE } from "./ffi/seccomp/profile.ts";
import { seccompArchLocal } from "./ffi/seccomp/install.ts";
import { provideSeccompCompiler } from "./ffi/sandbox/_seccomp.ts";
provideSeccompCompiler({
  assemble,
  compilePolicy,
  defaultProfile: DEFAULT_PROFILE,
  seccompArchLocal,
});
