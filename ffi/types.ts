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
  "spin",
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
  | { type: "stderr_closed" }
  | {
    /** Before the exit or termsig of a program started by spawn, or of a forked child
     * that setcpid's "usage" asked it for: the limit that ended it (null: none; "seccomp":
     * SIGSYS under a seccomp filter that spawn gave it or that it inherited, or any SIGSYS
     * of a forked child) and what it used. */
    type: "usage";
    limit: UsageLimit;
    usage: ResourceUsage;
  };

/** What ended a process, where its status alone does not say (a usage event's `limit`).
 *
 * @example
 * ```ts
 * import type { UsageLimit } from "@alcove/alcove";
 * const limit: UsageLimit = "timeout";
 * ```
 */
export type UsageLimit = "timeout" | "output-limit" | "oom" | "seccomp" | null;

/** What a process used, from wait4(2) and the control process's clock.
 *
 * @example
 * ```ts
 * import type { ResourceUsage } from "@alcove/alcove";
 * const u: ResourceUsage = { wallMs: 2.5, userMs: 1, systemMs: 0.5, maxRssKb: 1800 };
 * ```
 */
export interface ResourceUsage {
  /** Wall-clock milliseconds to its reaping, from its fork (spawn) or from its exec (a
   * forked child that exec'd later). */
  wallMs: number;
  /** User CPU milliseconds (the process and its reaped children). */
  userMs: number;
  /** System CPU milliseconds (the process and its reaped children). */
  systemMs: number;
  /** Peak resident set size in KiB, of the process or of one of its reaped children,
   * whichever was larger (wait4's ru_maxrss). A spawned program starts on the control
   * process's memory until its exec, so this is at least that process's resident size at
   * the spawn (about 1.3 MiB), as a program run through posix_spawn reports. */
  maxRssKb: number;
  /** From the sandbox's cgroup, when it had one (spawn's `cgroup` option). */
  cgroup?: CgroupUsage;
}

/** What a sandbox's cgroup accounted, read when its program ended (after everything left in
 * it was killed); a figure the machine's cgroups do not keep is undefined.
 *
 * @example
 * ```ts
 * import type { CgroupUsage } from "@alcove/alcove";
 * const u: CgroupUsage = { memoryPeak: 4 << 20, cpuMs: 12, pidsPeak: 3, oomKills: 0 };
 * ```
 */
export interface CgroupUsage {
  /** Peak memory of the whole cgroup in bytes (v2 memory.peak, v1 memory.max_usage_in_bytes). */
  memoryPeak?: number;
  /** CPU time of everything that ran in it, in milliseconds (v2 cpu.stat, v1 cpuacct.usage). */
  cpuMs?: number;
  /** Peak number of processes and threads (pids.peak). */
  pidsPeak?: number;
  /** Processes the OOM killer killed in it (memory.events or memory.oom_control oom_kill). */
  oomKills?: number;
}

/** The real, effective and saved user ids, as getresuid returns them.
 *
 * @example
 * ```ts
 * import type { ResUid } from "@alcove/alcove";
 * const ids: ResUid = { ruid: 0, euid: 0, suid: 0 };
 * ```
 */
export interface ResUid {
  /** Real user id. */
  ruid: number;
  /** Effective user id. */
  euid: number;
  /** Saved set-user-id. */
  suid: number;
}

/** The real, effective and saved group ids, as getresgid returns them.
 *
 * @example
 * ```ts
 * import type { ResGid } from "@alcove/alcove";
 * const ids: ResGid = { rgid: 0, egid: 0, sgid: 0 };
 * ```
 */
export interface ResGid {
  /** Real group id. */
  rgid: number;
  /** Effective group id. */
  egid: number;
  /** Saved set-group-id. */
  sgid: number;
}

/** A select timeout: seconds and microseconds (`usec` defaults to 0).
 *
 * @example
 * ```ts
 * import type { Timeval } from "@alcove/alcove";
 * const halfSecond: Timeval = { sec: 0, usec: 500000 };
 * ```
 */
export interface Timeval {
  /** Seconds, 0 or more. */
  sec: number;
  /** Microseconds, 0 to 999999. */
  usec?: number;
}

/** The descriptors select found ready, in increasing order.
 *
 * @example
 * ```ts
 * import type { FdSets } from "@alcove/alcove";
 * const ready: FdSets = { readfds: [3], writefds: [], exceptfds: [] };
 * ```
 */
export interface FdSets {
  /** Ready for reading. */
  readfds: number[];
  /** Ready for writing. */
  writefds: number[];
  /** With an exceptional condition. */
  exceptfds: number[];
}

/** The capability sets of a process as 64-bit masks: bit N is capability N
 * (CAP_CHOWN is 0, CAP_SYS_ADMIN is 21), as in /proc/PID/status.
 *
 * @example
 * ```ts
 * import type { Capabilities } from "@alcove/alcove";
 * const CAP_SYS_ADMIN = 21n;
 * function isAdmin(c: Capabilities) { return (c.effective >> CAP_SYS_ADMIN & 1n) === 1n; }
 * ```
 */
export interface Capabilities {
  /** Capabilities in use. */
  effective: bigint;
  /** Capabilities the process may make effective. */
  permitted: bigint;
  /** Capabilities kept across execve (with file or ambient capabilities). */
  inheritable: bigint;
}

/** A capability set for capset: a 64-bit mask (a bigint, or a number below 2^53), or a
 * list of capability numbers.
 *
 * @example
 * ```ts
 * import type { CapabilitySet } from "@alcove/alcove";
 * const netOnly: CapabilitySet = [10, 12, 13]; // CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW
 * ```
 */
export type CapabilitySet = bigint | number | readonly number[];
