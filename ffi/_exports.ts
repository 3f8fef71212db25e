/**
 * Every export of the package, from the sources: mod.ts serves them from the generated
 * bundle of this module (ffi/_bundle/, see scripts/gen_bundles.ts), typed by it. Internal.
 *
 * @module
 */
export * from "./driver.ts";
export * from "./errors.ts";
export * from "./types.ts";
export * from "./constants.ts";
export * from "./cstruct.ts";
export * from "./local.ts";
export * from "./capabilities.ts";
export * from "./seccomp/mod.ts";
export * from "./seccomp/profile.ts";
export * from "./sandbox/mod.ts";
export * from "./cgroup/mod.ts";
export * from "./cli/parse.ts";
export { runCommandLine, type RunCommandLineOptions } from "./cli/run.ts";
export {
  AlcoveCalls,
  type ArgKind,
  type CallDef,
  CALLS,
  LocalCalls,
  type ResultKind,
  TaskCalls,
} from "./_calls.ts";
export type { AlcoveCallMethods, LocalCallMethods, TaskCallMethods } from "./_call_methods.ts";

// The package loads the seccomp modules anyway: spawn's encoder takes them at once, so that
// encodeSpawnRequest compiles filters synchronously (the command line loads them on demand).
import { assemble } from "./seccomp/bpf.ts";
import { compilePolicy } from "./seccomp/policy.ts";
import { DEFAULT_PROFILE } from "./seccomp/profile.ts";
import { seccompArchLocal } from "./seccomp/install.ts";
import { provideSeccompCompiler } from "./sandbox/_seccomp.ts";
provideSeccompCompiler({
  assemble,
  compilePolicy,
  defaultProfile: DEFAULT_PROFILE,
  seccompArchLocal,
});
