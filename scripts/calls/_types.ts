/**
 * The types of the call list (scripts/call_list.ts), in a module of their own so that the
 * call list and its groups (scripts/calls/*.ts) both import them and neither imports the other.
 *
 * @example
 * ```ts
 * import type { CallSpec } from "./_types.ts";
 * const call: CallSpec = {
 *   name: "getpid", args: [], result: "int", ts: "number", platforms: "all",
 *   doc: "Returns the process id.", example: "await drv.getpid([]);",
 * };
 * ```
 * @module
 */

/** How a TypeScript argument is checked and encoded. */
export type ArgType =
  | "i32"
  | "u32"
  | "i64"
  | "string"
  | "bytes"
  | "strings"
  | "handler"
  | "option"
  | "cpidoption"
  | "optvalue"
  | "constname"
  | "rlimit"
  | "gids"
  | "id"
  | "mode"
  | "readcount"
  | "fds"
  | "timeval?"
  | "mountflags"
  | "callnames"
  | "capmask"
  | "ints"
  | "string?"
  | "cstruct"
  | "sockaddr"
  | `const:${string}`
  | `flags:${string}`
  | `any:${string}`;

/** How a reply value becomes the TypeScript result. */
export type ResultType =
  | "ok"
  | "int"
  | "string"
  | "string?"
  | "strings"
  | "bytes"
  | "handler"
  | "constant"
  | "errnoname"
  | "rlimit"
  | "waitpid"
  | "cpid"
  | "ints"
  | "fdsets"
  | "caps"
  | `record:${string}`
  | `fields:${string}`;

/** One argument of a call. */
export interface ArgSpec {
  /** Parameter name in TypeScript. */
  name: string;
  /** Checked type. */
  type: ArgType;
  /** What it means, for the generated documentation. */
  doc: string;
}

/** One call. */
export interface CallSpec {
  /** alcove's name (snake_case); the method is its camelCase form. */
  name: string;
  /** Arguments after the pipeline. */
  args: ArgSpec[];
  /** Result shape. */
  result: ResultType;
  /** TypeScript result type, for the generated signature. */
  ts: string;
  /** Where the call exists. */
  platforms: "all" | "linux" | "freebsd" | "openbsd";
  /** Refused in the host process (would fork or replace the runtime). */
  noLocal?: boolean;
  /** Success closes the control channel (execve family). */
  exec?: boolean;
  /** Used by the library itself: no generated method (spawn has its own API). */
  internal?: boolean;
  /** The man page it wraps, e.g. "fork(2)". */
  man?: string;
  /** One or two sentences for the documentation. */
  doc: string;
  /** Body of the example, after a driver `drv` was started. */
  example: string;
  /** Body of the example of the host-process method, after `using local = openLocal()`. */
  localExample?: string;
}
