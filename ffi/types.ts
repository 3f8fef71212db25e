/**
 * Types shared by the driver and the calls.
 *
 * @example
 * ```ts
 * import type { Pipeline } from "@alcove/alcove";
 * const root: Pipeline = [];
 * ```
 * @module
 */

/** The pids from the root control process down to a process; `[]` is the root.
 *
 * @example
 * ```ts
 * import type { Pipeline } from "@alcove/alcove";
 * const grandchild: Pipeline = [1234, 1240];
 * ```
 */
export type Pipeline = readonly number[];

/** Options every call takes as its last argument.
 *
 * @example
 * ```ts
 * import type { CallOptions } from "@alcove/alcove";
 * const opts: CallOptions = { timeout: 1000, signal: AbortSignal.timeout(5000) };
 * ```
 */
export interface CallOptions {
  /** Milliseconds before the call rejects with a TimeoutError; a late reply is dropped. */
  timeout?: number;
  /** Aborting rejects the call with an AbortedError; a late reply is dropped. */
  signal?: AbortSignal;
}

/** A constant: its C macro name (case-insensitive) or its number.
 *
 * @example
 * ```ts
 * import type { Constant } from "@alcove/alcove";
 * const sig: Constant = "SIGTERM";
 * ```
 */
export type Constant = string | number;

/** Flags: one constant, a list of constants OR'ed together, or a number.
 *
 * @example
 * ```ts
 * import type { Flags } from "@alcove/alcove";
 * const flags: Flags = ["CLONE_NEWPID", "CLONE_NEWNS"];
 * ```
 */
export type Flags = Constant | readonly Constant[];

/** A signal disposition in a control process.
 *
 * @example
 * ```ts
 * import type { SignalHandler } from "@alcove/alcove";
 * const h: SignalHandler = "sig_ign";
 * ```
 */
export type SignalHandler = "sig_dfl" | "sig_ign" | "sig_info";

/** The settings of a control process, for getopt and setopt.
 *
 * @example
 * ```ts
 * import { ALCOVE_OPTIONS } from "@alcove/alcove";
 * console.log(ALCOVE_OPTIONS.includes("maxchild"));
 * ```
 */
export const ALCOVE_OPTIONS = [
  "maxchild",
  "maxforkdepth",
  "exit_status",
  "termsig",
  "flowcontrol",
  "signaloneof",
  "stdin_closed",
  "stdout_closed",
  "stderr_closed",
] as const;

/** One of {@linkcode ALCOVE_OPTIONS}.
 *
 * @example
 * ```ts
 * import type { AlcoveOption } from "@alcove/alcove";
 * const o: AlcoveOption = "maxforkdepth";
 * ```
 */
export type AlcoveOption = typeof ALCOVE_OPTIONS[number];

/** A resource limit; `Infinity` stands for RLIM_INFINITY.
 *
 * @example
 * ```ts
 * import type { Rlimit } from "@alcove/alcove";
 * const nofile: Rlimit = { cur: 64, max: 64 };
 * ```
 */
export interface Rlimit {
  /** Soft limit. */
  cur: number;
  /** Hard limit. */
  max: number;
}

/** What waitpid found.
 *
 * @example
 * ```ts
 * import type { WaitResult } from "@alcove/alcove";
 * const r: WaitResult = { pid: 10, status: 768, type: "exited", exitStatus: 3 };
 * ```
 */
export interface WaitResult {
  /** The child, or 0 with WNOHANG when none changed state. */
  pid: number;
  /** The raw wait status. */
  status: number;
  /** How it changed. */
  type: "none" | "exited" | "signaled" | "stopped" | "continued";
  /** Exit status, when it exited. */
  exitStatus?: number;
  /** Signal name, when it was killed or stopped. */
  signal?: string;
}

/** A child of a control process, as cpid reports it.
 *
 * @example
 * ```ts
 * import type { ChildInfo } from "@alcove/alcove";
 * function show(c: ChildInfo) { console.log(c.pid, c.execed); }
 * ```
 */
export interface ChildInfo {
  /** Its pid. */
  pid: number;
  /** -1 unlimited, 0 output not read, N chunks left to read. */
  flowcontrol: number;
  /** Signal sent to it (its process group) when the parent's input closes; 0 none. */
  signaloneof: number;
  /** The parent's end of its control channel (-1 once closed). */
  fdctl: number;
  /** The parent's end of its stdin (-1 once closed). */
  stdin: number;
  /** The parent's end of its stdout (-1 once closed). */
  stdout: number;
  /** The parent's end of its stderr (-1 once closed). */
  stderr: number;
  /** True once it ran execve. */
  execed: boolean;
}

/** Something that happened to a process, delivered in order with its output.
 *
 * @example
 * ```ts
 * import type { AlcoveEvent } from "@alcove/alcove";
 * function done(e: AlcoveEvent) { return e.type === "exit" || e.type === "termsig"; }
 * ```
 */
export type AlcoveEvent =
  | { type: "exit"; status: number }
  | { type: "termsig"; signal: string }
  | { type: "signal"; signal: string; info: Uint8Array }
  | { type: "stdin_closed" }
  | { type: "stdout_closed" }
  | { type: "stderr_closed" };
