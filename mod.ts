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
// The package as one generated bundle of JavaScript (scripts/gen_bundles.ts) of its sources
// (ffi/_exports.ts, which types it): Deno loads a few files sooner than fifty modules.
// @ts-types="./ffi/_exports.ts"
export * from "./ffi/_bundle/_exports.js";
