/**
 * The options of `spawn`: a whole declarative sandbox, checked field by field before anything
 * is sent, and encoded into the one request the control process runs (see csrc/sandbox.h).
 *
 * @example
 * ```ts
 * import type { SpawnOptions } from "@alcove/alcove";
 * const options: SpawnOptions = {
 *   namespaces: ["user", "pid", "net", "mount", "uts", "ipc"],
 *   mounts: [{ type: "ro-bind", source: "/usr", target: "/usr" }, { type: "proc", target: "/proc" }],
 *   timeout: 2000,
 * };
 * ```
 * @module
 */
import { Writer } from "../_wire.ts";
import { type Capability, capabilityNumber } from "../capabilities.ts";
import type { ConstantTable } from "../constants.ts";
import type { SeccompPolicy } from "../seccomp/policy.ts";
import type { SeccompArch } from "../seccomp/arch.ts";
import { seccompCompiler } from "./_seccomp.ts";
import { type CgroupLimits, checkCgroupLimits } from "../cgroup/limits.ts";

/** A Linux namespace a sandbox can get a new one of.
 *
 * @example
 * ```ts
 * import type { Namespace } from "@alcove/alcove";
 * const ns: Namespace[] = ["user", "pid"];
 * ```
 */
export type Namespace = "user" | "pid" | "net" | "mount" | "uts" | "ipc" | "cgroup" | "time";

/** The namespaces `"all"` stands for (every one but time, as bubblewrap's --unshare-all).
 *
 * @example
 * ```ts
 * import { ALL_NAMESPACES } from "@alcove/alcove";
 * console.log(ALL_NAMESPACES.includes("net")); // true
 * ```
 */
export const ALL_NAMESPACES: readonly Namespace[] = [
  "user",
  "pid",
  "net",
  "mount",
  "uts",
  "ipc",
  "cgroup",
];

const CLONE_FLAG: Record<Namespace, bigint> = {
  mount: 0x00020000n,
  cgroup: 0x02000000n,
  uts: 0x04000000n,
  ipc: 0x08000000n,
  user: 0x10000000n,
  pid: 0x20000000n,
  net: 0x40000000n,
  time: 0x00000080n,
};

/** One operation on the new root, with bubblewrap's meaning; applied in order. Paths of
 * `source` are on the host, `target` inside the sandbox.
 *
 * @example
 * ```ts
 * import type { Mount } from "@alcove/alcove";
 * const mounts: Mount[] = [
 *   { type: "ro-bind", source: "/usr", target: "/usr" },
 *   { type: "symlink", source: "usr/lib", target: "/lib" },
 *   { type: "tmpfs", target: "/tmp", size: 64 << 20 },
 *   { type: "file", target: "/etc/motd", data: "hello\n" },
 * ];
 * ```
 */
export type Mount =
  | {
    /** Bind a host path; `-try` forms skip a missing source. */
    type:
      | "bind"
      | "ro-bind"
      | "dev-bind"
      | "bind-try"
      | "ro-bind-try"
      | "dev-bind-try";
    source: string;
    target: string;
  }
  | { type: "remount-ro"; target: string }
  | { type: "tmpfs"; target: string; size?: number; mode?: number }
  | { type: "proc" | "dev" | "mqueue"; target: string }
  | { type: "dir"; target: string; mode?: number }
  | { type: "symlink"; source: string; target: string }
  | { type: "file"; target: string; data: string | Uint8Array; mode?: number }
  | {
    /** The data in a file of its own, bound on target (read-only for ro-bind-data). */
    type: "bind-data" | "ro-bind-data";
    target: string;
    data: string | Uint8Array;
    mode?: number;
  }
  | { type: "chmod"; target: string; mode: number };

/** Landlock path sets: `read` allows reading and running files beneath a path, `write`
 * also every change, `execute` running files and so reading them (the kernel opens a
 * program for reading to run it), but neither listing folders nor changing anything.
 *
 * @example
 * ```ts
 * import type { LandlockOptions } from "@alcove/alcove";
 * const ll: LandlockOptions = { read: ["/usr", "/etc"], write: ["/tmp"], bestEffort: true };
 * ```
 */
export interface LandlockOptions {
  /** Paths to read and execute beneath. */
  read?: readonly string[];
  /** Paths to read, execute and change beneath. */
  write?: readonly string[];
  /** Paths to execute (and so read) files beneath, without listing or changing them. */
  execute?: readonly string[];
  /** Without Landlock in the kernel, go on unrestricted instead of failing. */
  bestEffort?: boolean;
}

/** Where a standard stream of the program goes: a pipe to the caller, /dev/null, or the
 * control process's own descriptor ("inherit"). The root control process has this
 * process's stdout and stderr, and its stdin only with `Alcove.start({ inheritStdio: true })`
 * (/dev/null otherwise). A control process below it (a Task's) has pipes to its parent: what
 * a program spawned there writes to an inherited stdout or stderr is that Task's output, kept
 * for `task.process().stdout` (or `stderr`), up to `maxBuffered` before the program waits.
 *
 * @example
 * ```ts
 * import type { StdioMode } from "@alcove/alcove";
 * const mode: StdioMode = "null";
 * ```
 */
export type StdioMode = "pipe" | "null" | "inherit";

/** A resource limit: one number for both soft and hard, or both; `Infinity` is unlimited.
 *
 * @example
 * ```ts
 * import type { RlimitValue } from "@alcove/alcove";
 * const nofile: RlimitValue = { cur: 64, max: 128 };
 * ```
 */
export type RlimitValue = number | { cur: number; max: number };

/** One seccomp filter of spawn: "default", a policy, or a compiled BPF program.
 *
 * @example
 * ```ts
 * import type { SeccompFilter } from "@alcove/alcove";
 * const filters: SeccompFilter[] = ["default", { defaultAction: "allow", rules: [] }];
 * ```
 */
export type SeccompFilter = "default" | SeccompPolicy | Uint8Array;

/** Everything `spawn` takes besides argv. Every field is optional.
 *
 * @example
 * ```ts
 * import type { SpawnOptions } from "@alcove/alcove";
 * const options: SpawnOptions = { env: { PATH: "/usr/bin:/bin" }, rlimits: { NOFILE: 64 } };
 * ```
 */
export interface SpawnOptions {
  /** New namespaces, or "all". Without root, "user" is added when any is asked for. */
  namespaces?: readonly Namespace[] | "all";
  /** The user id inside; with a user namespace, uid_map is written for it. */
  uid?: number;
  /** The group id inside; with a user namespace, gid_map is written for it. */
  gid?: number;
  /** The host name (needs the "uts" namespace). */
  hostname?: string;
  /** Operations that build a new root (the "mount" namespace is added). */
  mounts?: readonly Mount[];
  /**
   * The working directory (default: "/" with mounts, else the control process's). A list
   * is tried in order, and "/" taken when none exists (bubblewrap's way without --chdir);
   * PWD is then set to the one taken. Absolute; ".." may be in it (it is entered once the new
   * root is made).
   */
  cwd?: string | readonly string[];
  /** The environment: replaces the control process's unless `inheritEnv`. */
  env?: Readonly<Record<string, string>>;
  /** Adds `env` to the control process's environment instead of replacing it. */
  inheritEnv?: boolean;
  /** Resource limits by name, with or without RLIMIT_ (`{ NOFILE: 64, AS: 256 << 20 }`). NPROC
   * counts every process of the real user and does not bind root (uid 0 outside user
   * namespaces): `cgroup.pidsMax` caps one sandbox. */
  rlimits?: Readonly<Record<string, RlimitValue>>;
  /** Capabilities kept (default none: every set is cleared). */
  capabilities?: readonly Capability[];
  /** Sets no_new_privs (default true; seccomp and Landlock need it without CAP_SYS_ADMIN). */
  noNewPrivileges?: boolean;
  /**
   * A seccomp filter, installed last: "default" (DEFAULT_PROFILE), a policy, a compiled BPF
   * program (8-byte `sock_filter` instructions, as bubblewrap's --seccomp reads them), a
   * list of those (installed in order, at most 8), or null.
   */
  seccomp?: SeccompFilter | readonly SeccompFilter[] | null;
  /** Landlock file-system rules (Landlock has no right for metadata: chmod, chown, utimes
   * and xattrs are not restricted by it; a read-only mount is). */
  landlock?: LandlockOptions;
  /**
   * Starts a new session (setsid), detaching it from the terminal. Without it, a program started
   * from a terminal shares it: the default seccomp profile refuses the ioctls that type into a
   * terminal (TIOCSTI, TIOCLINUX); a policy of your own, or none, should too.
   */
  newSession?: boolean;
  /**
   * Puts it in a process group of its own (default true). false keeps the control
   * process's group: a job of a terminal stays the foreground job (the command line). The
   * root control process has a group of its own too unless the driver shares the host's
   * terminal (`Alcove.start({ inheritStdio: true })`): otherwise a program that reads or
   * opens the terminal (a password prompt) is a background job and stops (SIGTTIN). What is
   * left in the program's own group when it exits is killed then; with false, nothing is.
   */
  ownProcessGroup?: boolean;
  /**
   * With the "pid" namespace: a reaper runs as pid 1 and the program as pid 2, as
   * bubblewrap does unless --as-pid-1 (default false: the program is pid 1). The status is
   * the program's, 128 + N after signal N. As pid 1 the program gets no signal it has no
   * handler for (but SIGKILL); as pid 2 it gets them as usual: the reaper passes on a signal
   * sent to it alone (with `ownProcessGroup: false`).
   */
  init?: boolean;
  /** Paths in the new root (see `mounts`) to hold a read lock (fcntl) on while it runs. */
  lockFiles?: readonly string[];
  /** SIGKILL when the control process that started it dies (default true). */
  dieWithParent?: boolean;
  /**
   * Wall-clock limit in milliseconds, from the request: the control process kills the tree at
   * the limit, and a program whose setup took all of it never starts. 0 is a limit already
   * reached (a time budget that ran out), not "no limit": leave it out for none.
   */
  timeout?: number;
  /**
   * Bytes of stdout and stderr together: exactly this many pass, and the tree is killed when it
   * writes more (0: no byte). A program that wrote more and ended before it could be killed
   * still has reason "output-limit" and no success: its output was cut.
   */
  maxOutput?: number;
  /** Standard input (default "pipe"). */
  stdin?: StdioMode;
  /** Standard output (default "pipe"). */
  stdout?: StdioMode;
  /** Standard error (default "pipe"). */
  stderr?: StdioMode;
  /** A cgroup of its own, with these limits: made before the fork, the program placed in it
   * before exec, everything in it killed and the cgroup removed when the program ends; its
   * figures are in `status.usage.cgroup`, and `reason` is "oom" when the memory controller
   * killed it. */
  cgroup?: CgroupLimits;
  /**
   * Descriptors handed to the program at their own numbers, among those the root control
   * process was started with (`Alcove.start({ inheritStdio: true })` keeps the ones this
   * process inherited, as bubblewrap passes its own on); "all" is every one of them but the
   * `/proc/self/fd/N` sources of mounts (bubblewrap's --bind-fd), which the setup uses up.
   * Others are closed, as always.
   */
  inheritFds?: "all" | readonly number[];
  /**
   * A user namespace to join (a descriptor of the control process, e.g. an open
   * /proc/PID/ns/user), as bubblewrap's --userns: the other namespaces are made inside it;
   * "user" cannot be asked for too.
   */
  userns?: number;
  /** A pid namespace to join (a descriptor of the control process), as bubblewrap's --pidns;
   * with "pid" a new one is made below it. */
  pidns?: number;
  /** A user namespace to switch to after the mounts, as bubblewrap's --userns2. */
  userns2?: number;
  /** No further user namespaces inside (bubblewrap's --disable-userns; needs "user"). */
  disableUserns?: boolean;
  /** Fail unless further user namespaces are refused inside (--assert-userns-disabled). */
  assertUsernsDisabled?: boolean;
  /** Aborting kills the process tree. */
  signal?: AbortSignal;
}

const KNOWN = new Set([
  "namespaces",
  "uid",
  "gid",
  "hostname",
  "mounts",
  "cwd",
  "env",
  "inheritEnv",
  "rlimits",
  "capabilities",
  "noNewPrivileges",
  "seccomp",
  "landlock",
  "newSession",
  "ownProcessGroup",
  "init",
  "lockFiles",
  "dieWithParent",
  "timeout",
  "maxOutput",
  "stdin",
  "stdout",
  "stderr",
  "cgroup",
  "inheritFds",
  "userns",
  "pidns",
  "userns2",
  "disableUserns",
  "assertUsernsDisabled",
  "signal",
]);

/** The Landlock paths of one spawn, read, write and execute together (csrc/sandbox.h). */
const MAX_LANDLOCK_PATHS = 256;

const TAG = {
  ARG: 1,
  ENV: 2,
  ENV_CLEAR: 3,
  NAMESPACES: 5,
  UID: 6,
  GID: 7,
  HOSTNAME: 8,
  MOUNT: 9,
  CWD: 10,
  RLIMIT: 11,
  CAPS: 12,
  NO_NEW_PRIVS: 13,
  LANDLOCK: 14,
  LANDLOCK_BEST_EFFORT: 15,
  LANDLOCK_ON: 16,
  SECCOMP: 17,
  NEW_SESSION: 18,
  DIE_WITH_PARENT: 19,
  STDIO: 20,
  TIMEOUT: 21,
  MAX_OUTPUT: 22,
  ROOT: 23,
  CGROUP: 24,
  CG_SET: 25,
  CG_FILE: 26,
  KEEP_PGRP: 27,
  INIT: 28,
  CWD_TRY: 29,
  LOCK_FILE: 30,
  PASS_FD: 31,
  USERNS: 32,
  PIDNS: 33,
  USERNS2: 34,
  DISABLE_USERNS: 35,
  ASSERT_USERNS_DISABLED: 36,
} as const;

const MOUNT_OP: Record<Mount["type"], [number, number]> = {
  "bind": [1, 0],
  "ro-bind": [2, 0],
  "dev-bind": [3, 0],
  "bind-try": [1, 1],
  "ro-bind-try": [2, 1],
  "dev-bind-try": [3, 1],
  "remount-ro": [4, 0],
  "tmpfs": [5, 0],
  "proc": [6, 0],
  "dev": [7, 0],
  "mqueue": [8, 0],
  "dir": [9, 0],
  "symlink": [10, 0],
  "file": [11, 0],
  "chmod": [12, 0],
  "bind-data": [13, 0],
  "ro-bind-data": [14, 0],
};

const STDIO: Record<StdioMode, number> = { pipe: 0, null: 1, inherit: 2 };
const U64_MAX = 0xffffffffffffffffn;
const MODE_DEFAULT = 0xffffffff;
const encoder = new TextEncoder();

/** A checked, encoded spawn request and what the host keeps of it. */
export interface SpawnRequest {
  /** The request bytes (csrc/sandbox.h). */
  readonly bytes: Uint8Array;
  /** The stdio modes, to know which streams exist. */
  readonly stdio: readonly [StdioMode, StdioMode, StdioMode];
  /** The abort signal, if any. */
  readonly signal?: AbortSignal;
  /** Whether the program is pid 1 of a new pid namespace. */
  readonly pidNamespace: boolean;
}

/**
 * The request's records (tag, u32 length, payload), written into one buffer as they come:
 * `open` starts a record, whose payload runs until the next `open` or `finish()`.
 */
class Records extends Writer {
  #start = -1;

  open(tag: number): void {
    this.#close();
    this.u8(tag);
    this.#start = this.len;
    this.u32(0);
  }

  #close(): void {
    if (this.#start < 0) return;
    this.view.setUint32(this.#start, this.len - this.#start - 4, true);
    this.#start = -1;
  }

  /** A whole record: the tag and, if any, its payload. */
  add(tag: number, payload?: Uint8Array): void {
    this.open(tag);
    if (payload !== undefined) this.raw(payload);
  }

  /** A record of one string, UTF-8. */
  addText(tag: number, s: string): void {
    this.open(tag);
    this.text(s);
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  text(s: string): void {
    // Worst case three bytes per UTF-16 unit. ASCII, the usual case, is copied here:
    // cheaper than a call into the runtime's encoder.
    this.ensure(s.length * 3);
    const buf = this.buf;
    const at = this.len;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.len = at + encoder.encodeInto(s, buf.subarray(at)).written;
        return;
      }
      buf[at + i] = c;
    }
    this.len = at + s.length;
  }

  u64(v: bigint): void {
    this.ensure(8);
    this.view.setBigUint64(this.len, v, true);
    this.len += 8;
  }

  /** A u32-length-prefixed string inside a record. */
  lpText(s: string): void {
    const at = this.len;
    this.u32(0);
    this.text(s);
    this.view.setUint32(at, this.len - at - 4, true);
  }

  lpRaw(b: Uint8Array): void {
    this.u32(b.length);
    this.raw(b);
  }

  finish(): Uint8Array {
    this.#close();
    return this.buf.slice(0, this.len);
  }

  /** Empties it for the next request (after one that may have failed half way). */
  reset(): void {
    this.len = 0;
    this.#start = -1;
  }
}

/** One buffer for every request (encoding is synchronous), unless a large one grew it. */
let scratch: Records | undefined;

function records(): Records {
  const r = scratch !== undefined && scratch.buf.length <= 65536 ? scratch : new Records();
  r.reset();
  scratch = r;
  return r;
}

/** Whether the options install a seccomp filter (none for null or an empty list). */
function seccompGiven(o: SpawnOptions): boolean {
  return o.seccomp !== undefined && o.seccomp !== null &&
    !(Array.isArray(o.seccomp) && o.seccomp.length === 0);
}

function fail(field: string, what: string, Kind: typeof TypeError = TypeError): never {
  throw new Kind(`spawn: options.${field}: ${what}`);
}

function str(field: string, v: unknown): string {
  if (typeof v !== "string") fail(field, `must be a string, got ${typeof v}`);
  if (v.includes("\0")) fail(field, "must not contain a NUL byte");
  return v;
}

/** An absolute path; ".." may be in a working directory (`dotDot`), which is entered once the
 * new root is made, where it cannot lead out. */
function absPath(field: string, v: unknown, dotDot = false): string {
  const s = str(field, v);
  if (!s.startsWith("/")) fail(field, "must be an absolute path");
  if (!dotDot && s.split("/").includes("..")) fail(field, 'must not contain ".." components');
  // No system call takes a path of PATH_MAX (4096) bytes or more.
  if (s.length >= 1366) {
    const n = encoder.encode(s).length;
    if (n >= 4096) fail(field, `must be shorter than 4096 bytes (PATH_MAX), got ${n}`, RangeError);
  }
  return s;
}

function id(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0xfffffffe) {
    fail(field, "must be an integer from 0 to 4294967294", RangeError);
  }
  return v;
}

function bool(field: string, v: unknown): boolean {
  if (typeof v !== "boolean") fail(field, `must be a boolean, got ${typeof v}`);
  return v;
}

function mode(field: string, v: unknown): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > 0o7777) {
    fail(field, "must be a permission mode from 0 to 0o7777", RangeError);
  }
  return v;
}

function count(field: string, v: unknown, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > max) {
    fail(field, `must be an integer from 0 to ${max}`, RangeError);
  }
  return v;
}

function namespaces(v: unknown): Namespace[] {
  if (v === "all") return [...ALL_NAMESPACES];
  if (!Array.isArray(v)) fail("namespaces", 'must be an array of namespace names or "all"');
  for (const [i, ns] of v.entries()) {
    if (typeof ns !== "string" || !Object.hasOwn(CLONE_FLAG, ns)) {
      fail(
        `namespaces[${i}]`,
        `must be one of ${Object.keys(CLONE_FLAG).join(", ")}, got ${JSON.stringify(ns)}`,
        RangeError,
      );
    }
  }
  return [...new Set(v as Namespace[])];
}

/** Every field of a mount, of one type or another. */
const MOUNT_FIELDS = ["type", "source", "target", "data", "size", "mode"];

/** The fields of a mount of this type. */
function mountFields(type: Mount["type"]): string[] {
  if (type === "symlink" || type.includes("bind") && !type.endsWith("data")) {
    return ["type", "source", "target"];
  }
  if (type === "tmpfs") return ["type", "target", "size", "mode"];
  if (type === "dir" || type === "chmod") return ["type", "target", "mode"];
  if (type === "file" || type.endsWith("data")) return ["type", "target", "data", "mode"];
  return ["type", "target"];
}

function encodeMount(r: Records, m: unknown, i: number): void {
  const f = `mounts[${i}]`;
  if (typeof m !== "object" || m === null) fail(f, "must be an object");
  const o = m as Record<string, unknown>;
  if (typeof o.type !== "string" || !Object.hasOwn(MOUNT_OP, o.type)) {
    fail(`${f}.type`, `must be one of ${Object.keys(MOUNT_OP).join(", ")}`, RangeError);
  }
  const type = o.type as Mount["type"];
  const [op, flags] = MOUNT_OP[type];
  // A misspelt field would be dropped silently (a tmpfs with "sise" has no size limit).
  const fields = mountFields(type);
  for (const key of Object.keys(o)) {
    if (fields.includes(key) || o[key] === undefined && MOUNT_FIELDS.includes(key)) continue;
    if (MOUNT_FIELDS.includes(key)) fail(`${f}.${key}`, `not for ${type}`);
    fail(`${f}.${key}`, `unknown option (${type} takes ${fields.join(", ")})`);
  }
  const target = absPath(`${f}.target`, o.target);
  let source = "";
  let data: Uint8Array = new Uint8Array(0);
  let modeValue = MODE_DEFAULT;
  let size = 0n;
  if (type.includes("bind") && !type.endsWith("data")) {
    // A host path: ".." in it is the host's to resolve.
    source = absPath(`${f}.source`, o.source, true);
  }
  if (type === "symlink") {
    source = str(`${f}.source`, o.source);
    if (source === "") fail(`${f}.source`, "must not be empty");
  }
  if (type === "file" || type === "bind-data" || type === "ro-bind-data") {
    if (typeof o.data === "string") data = encoder.encode(o.data);
    else if (o.data instanceof Uint8Array) data = o.data;
    else fail(`${f}.data`, "must be a string or a Uint8Array");
  }
  // (A mode or size its type does not take was refused with the fields above.)
  if (type === "chmod" || o.mode !== undefined) modeValue = mode(`${f}.mode`, o.mode);
  if (o.size !== undefined) size = BigInt(count(`${f}.size`, o.size));
  r.open(TAG.MOUNT);
  r.u8(op);
  r.u8(flags);
  r.u32(modeValue);
  r.u64(size);
  r.lpText(source);
  r.lpText(target);
  r.lpRaw(data);
}

/**
 * The number of a resource of `setrlimit(2)` by name, with or without `RLIMIT_`, in any case;
 * undefined when the platform has none of that name. Internal.
 *
 * @example
 * ```ts ignore
 * rlimitResource(table, "nofile"); // 7
 * ```
 */
export function rlimitResource(table: ConstantTable, name: string): number | undefined {
  // RLIMIT_NLIMITS counts the resources and is none of them.
  const count = table.lookup("rlimit", "RLIMIT_NLIMITS") ?? 16;
  const res = table.lookup("rlimit", /^rlimit_/i.test(name) ? name : `RLIMIT_${name}`);
  return res === undefined || res < 0 || res >= count ? undefined : res;
}

function rlimitValue(field: string, v: unknown): [bigint, bigint] {
  const one = (f: string, n: unknown): bigint => {
    if (n === Infinity) return U64_MAX;
    return BigInt(count(f, n));
  };
  if (typeof v === "number") {
    const n = one(field, v);
    return [n, n];
  }
  if (typeof v !== "object" || v === null) fail(field, "must be a number or { cur, max }");
  const o = v as Record<string, unknown>;
  const cur = one(`${field}.cur`, o.cur);
  const max = one(`${field}.max`, o.max);
  if (cur > max) fail(field, "cur must not be above max", RangeError);
  return [cur, max];
}

function pathList(field: string, v: unknown): string[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) fail(field, "must be an array of absolute paths");
  return v.map((p, i) => absPath(`${field}[${i}]`, p));
}

const compiled = new Map<string, Uint8Array>();
/** The architecture of each control process's constants, found once. */
const archOf = new WeakMap<ConstantTable, SeccompArch>();

function seccompProgram(table: ConstantTable, v: unknown, field: string): Uint8Array {
  if (v instanceof Uint8Array) {
    if (v.length === 0 || v.length % 8 !== 0 || v.length / 8 > 4096) {
      fail(field, "a BPF program must be 1 to 4096 instructions of 8 bytes", RangeError);
    }
    return v;
  }
  if (v !== "default" && (typeof v !== "object" || v === null)) {
    fail(field, 'must be "default", a SeccompPolicy, a BPF program or null');
  }
  const c = seccompCompiler();
  if (c === undefined) {
    throw new Error(`spawn: ${field}: the seccomp modules are not loaded (import the package)`);
  }
  let arch = archOf.get(table);
  if (arch === undefined) {
    arch = c.seccompArchLocal({ constants: table });
    archOf.set(table, arch);
  }
  if (v === "default") {
    let bytes = compiled.get(arch);
    if (!bytes) {
      bytes = c.assemble(c.compilePolicy(c.defaultProfile, { arches: [arch] }));
      compiled.set(arch, bytes);
    }
    return bytes;
  }
  try {
    return c.assemble(c.compilePolicy(v as SeccompPolicy, { arches: [arch] }));
  } catch (e) {
    fail(field, (e as Error).message, e instanceof RangeError ? RangeError : TypeError);
  }
}

const FD_MAX = 0x7fffffff;

/** inheritFds and the namespaces given as descriptors. */
function encodeDescriptors(r: Records, o: Record<string, unknown>, ns: Namespace[]): void {
  if (o.inheritFds === "all") r.add(TAG.PASS_FD);
  else if (o.inheritFds !== undefined) {
    if (!Array.isArray(o.inheritFds)) {
      fail("inheritFds", 'must be "all" or an array of descriptors');
    }
    o.inheritFds.forEach((fd, i) => {
      if (count(`inheritFds[${i}]`, fd, FD_MAX) < 3) {
        fail(`inheritFds[${i}]`, "must be 3 or above (0, 1, 2 are stdin, stdout, stderr)");
      }
      r.open(TAG.PASS_FD);
      r.u32(fd);
    });
  }
  if (o.userns !== undefined) {
    if (ns.includes("user")) fail("userns", 'cannot go with the "user" namespace');
    r.open(TAG.USERNS);
    r.u32(count("userns", o.userns, FD_MAX));
  }
  if (o.pidns !== undefined) {
    r.open(TAG.PIDNS);
    r.u32(count("pidns", o.pidns, FD_MAX));
  }
  if (o.userns2 !== undefined) {
    r.open(TAG.USERNS2);
    r.u32(count("userns2", o.userns2, FD_MAX));
  }
  if (o.disableUserns !== undefined && bool("disableUserns", o.disableUserns)) {
    if (!ns.includes("user")) fail("disableUserns", 'needs the "user" namespace');
    r.add(TAG.DISABLE_USERNS);
  }
  if (
    o.assertUsernsDisabled !== undefined && bool("assertUsernsDisabled", o.assertUsernsDisabled)
  ) {
    r.add(TAG.ASSERT_USERNS_DISABLED);
  }
}

/**
 * Checks `argv` and `options` and encodes the spawn request. Every problem is a TypeError or
 * RangeError naming the field, before anything is sent.
 *
 * @param argv The program and its arguments (argv[0] is searched in PATH).
 * @param options The sandbox.
 * @param table The constants of the control process that will run it.
 * @returns The request.
 *
 * @example
 * ```ts
 * import { Alcove, encodeSpawnRequest } from "@alcove/alcove";
 * await using drv = await Alcove.start();
 * const req = encodeSpawnRequest(["true"], { rlimits: { NOFILE: 64 } }, drv.constants);
 * console.log(req.bytes.length > 0);
 * ```
 */
export function encodeSpawnRequest(
  argv: readonly string[],
  options: SpawnOptions,
  table: ConstantTable,
): SpawnRequest {
  if (!Array.isArray(argv) || argv.length === 0) {
    throw new TypeError("spawn: argv must be a non-empty array of strings");
  }
  // Every index: forEach would skip the holes of a sparse array.
  for (let i = 0; i < argv.length; i++) {
    const a: unknown = argv[i];
    if (typeof a !== "string" || a.includes("\0")) {
      throw new TypeError(`spawn: argv[${i}] must be a string without NUL bytes`);
    }
  }
  if (argv[0] === "") throw new TypeError("spawn: argv[0] must not be empty");
  if (typeof options !== "object" || options === null || Array.isArray(options)) {
    throw new TypeError("spawn: options must be an object");
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) throw new TypeError(`spawn: options.${key}: unknown option`);
  }
  // Its own fields alone: one it inherits would be taken without the check above.
  const o: Record<string, unknown> = { ...options };
  const cgroup = o.cgroup === undefined
    ? undefined
    : checkCgroupLimits(o.cgroup, "spawn: options.cgroup");
  const r = records();
  for (const a of argv) r.addText(TAG.ARG, a);

  let ns = o.namespaces === undefined ? [] : namespaces(o.namespaces);
  if (o.mounts !== undefined && !ns.includes("mount")) ns = [...ns, "mount"];
  if (o.hostname !== undefined && !ns.includes("uts")) {
    fail("hostname", 'needs the "uts" namespace');
  }
  if (ns.length > 0) {
    r.open(TAG.NAMESPACES);
    r.u64(ns.reduce((m, n) => m | CLONE_FLAG[n], 0n));
  }
  if (o.uid !== undefined) {
    r.open(TAG.UID);
    r.u32(id("uid", o.uid));
  }
  if (o.gid !== undefined) {
    r.open(TAG.GID);
    r.u32(id("gid", o.gid));
  }
  if (o.hostname !== undefined) {
    const h = encoder.encode(str("hostname", o.hostname));
    if (h.length > 64) fail("hostname", "must be at most 64 bytes", RangeError);
    r.add(TAG.HOSTNAME, h);
  }
  if (o.mounts !== undefined) {
    if (!Array.isArray(o.mounts)) fail("mounts", "must be an array");
    if (o.mounts.length > 1024) fail("mounts", "must have at most 1024 entries", RangeError);
    o.mounts.forEach((m, i) => encodeMount(r, m, i));
    r.add(TAG.ROOT);
  }
  if (Array.isArray(o.cwd)) {
    if (o.cwd.length > 4) fail("cwd", "must list at most 4 directories", RangeError);
    o.cwd.forEach((d, i) => r.addText(TAG.CWD_TRY, absPath(`cwd[${i}]`, d, true)));
    if (o.cwd.length === 0 && o.mounts !== undefined) r.addText(TAG.CWD, "/");
  } else if (o.cwd !== undefined) r.addText(TAG.CWD, absPath("cwd", o.cwd, true));
  else if (o.mounts !== undefined) r.addText(TAG.CWD, "/");
  if (o.lockFiles !== undefined) {
    if (o.mounts === undefined) fail("lockFiles", "needs mounts (a new root)");
    const locks = pathList("lockFiles", o.lockFiles);
    if (locks.length > 16) fail("lockFiles", "must list at most 16 paths", RangeError);
    for (const p of locks) r.addText(TAG.LOCK_FILE, p);
  }

  if (o.inheritEnv !== undefined) bool("inheritEnv", o.inheritEnv);
  if (o.env !== undefined) {
    if (typeof o.env !== "object" || o.env === null || Array.isArray(o.env)) {
      fail("env", "must be an object of NAME: value strings");
    }
    if (o.inheritEnv !== true) r.add(TAG.ENV_CLEAR);
    for (const [k, v] of Object.entries(o.env)) {
      if (k === "" || k.includes("=") || k.includes("\0")) {
        fail(`env.${k}`, "a name must be non-empty, without '=' or NUL bytes");
      }
      r.addText(TAG.ENV, `${k}=${str(`env.${k}`, v)}`);
    }
  }
  if (o.rlimits !== undefined) {
    if (typeof o.rlimits !== "object" || o.rlimits === null || Array.isArray(o.rlimits)) {
      fail("rlimits", "must be an object of limits by name");
    }
    const named = new Map<number, string>();
    for (const [name, v] of Object.entries(o.rlimits)) {
      const res = rlimitResource(table, name);
      if (res === undefined) fail(`rlimits.${name}`, "unknown resource here", RangeError);
      const before = named.get(res);
      if (before !== undefined) {
        fail(`rlimits.${name}`, `names the resource of rlimits.${before} again`);
      }
      named.set(res, name);
      const [cur, max] = rlimitValue(`rlimits.${name}`, v);
      r.open(TAG.RLIMIT);
      r.u32(res);
      r.u64(cur);
      r.u64(max);
    }
  }
  let caps = 0n;
  if (o.capabilities !== undefined) {
    if (!Array.isArray(o.capabilities)) fail("capabilities", "must be an array");
    o.capabilities.forEach((c, i) => {
      try {
        caps |= 1n << BigInt(capabilityNumber(table, c));
      } catch (e) {
        fail(
          `capabilities[${i}]`,
          (e as Error).message,
          e instanceof RangeError ? RangeError : TypeError,
        );
      }
    });
  }
  r.open(TAG.CAPS);
  r.u64(caps);
  if (o.noNewPrivileges === undefined || bool("noNewPrivileges", o.noNewPrivileges)) {
    r.add(TAG.NO_NEW_PRIVS);
  }
  if (o.landlock !== undefined) {
    if (typeof o.landlock !== "object" || o.landlock === null || Array.isArray(o.landlock)) {
      fail("landlock", "must be an object of path sets");
    }
    const ll = o.landlock as Record<string, unknown>;
    for (const key of Object.keys(ll)) {
      if (!["read", "write", "execute", "bestEffort"].includes(key)) {
        fail(`landlock.${key}`, "unknown option");
      }
    }
    r.add(TAG.LANDLOCK_ON);
    if (ll.bestEffort !== undefined && bool("landlock.bestEffort", ll.bestEffort)) {
      r.add(TAG.LANDLOCK_BEST_EFFORT);
    }
    let paths = 0;
    (["read", "write", "execute"] as const).forEach((kind, k) => {
      for (const p of pathList(`landlock.${kind}`, ll[kind])) {
        if (++paths > MAX_LANDLOCK_PATHS) {
          fail(
            `landlock.${kind}`,
            `makes more than ${MAX_LANDLOCK_PATHS} paths in all`,
            RangeError,
          );
        }
        r.open(TAG.LANDLOCK);
        r.u8(k);
        r.text(p);
      }
    });
  }
  if (o.seccomp !== undefined && o.seccomp !== null) {
    if (Array.isArray(o.seccomp)) {
      if (o.seccomp.length > 8) fail("seccomp", "must list at most 8 filters", RangeError);
      o.seccomp.forEach((f, i) => r.add(TAG.SECCOMP, seccompProgram(table, f, `seccomp[${i}]`)));
    } else r.add(TAG.SECCOMP, seccompProgram(table, o.seccomp, "seccomp"));
  }
  // The kernel installs neither without no_new_privs, unless CAP_SYS_ADMIN stays.
  const confined = o.landlock !== undefined ? "landlock" : seccompGiven(o) ? "seccomp" : null;
  if (
    o.noNewPrivileges === false && confined !== null &&
    (caps & (1n << BigInt(capabilityNumber(table, "CAP_SYS_ADMIN")))) === 0n
  ) {
    fail(
      "noNewPrivileges",
      `must stay true with ${confined}, unless capabilities keep CAP_SYS_ADMIN (the kernel ` +
        "refuses it otherwise)",
    );
  }
  const newSession = o.newSession !== undefined && bool("newSession", o.newSession);
  if (newSession) r.add(TAG.NEW_SESSION);
  if (o.ownProcessGroup !== undefined && !bool("ownProcessGroup", o.ownProcessGroup)) {
    if (newSession) fail("ownProcessGroup", "false cannot go with newSession");
    r.add(TAG.KEEP_PGRP);
  }
  if (o.init !== undefined && bool("init", o.init)) {
    if (!ns.includes("pid")) fail("init", 'needs the "pid" namespace');
    r.add(TAG.INIT);
  }
  if (o.dieWithParent === undefined || bool("dieWithParent", o.dieWithParent)) {
    r.add(TAG.DIE_WITH_PARENT);
  }
  if (o.timeout !== undefined) {
    r.open(TAG.TIMEOUT);
    r.u64(BigInt(count("timeout", o.timeout, 1_000_000_000)));
  }
  if (o.maxOutput !== undefined) {
    r.open(TAG.MAX_OUTPUT);
    r.u64(BigInt(count("maxOutput", o.maxOutput)));
  }
  const stdio = (["stdin", "stdout", "stderr"] as const).map((k) => {
    const v = o[k] ?? "pipe";
    if (typeof v !== "string" || !Object.hasOwn(STDIO, v)) {
      fail(k, `must be "pipe", "null" or "inherit", got ${JSON.stringify(v)}`, RangeError);
    }
    return v as StdioMode;
  }) as [StdioMode, StdioMode, StdioMode];
  r.open(TAG.STDIO);
  for (const m of stdio) r.u8(STDIO[m]);
  if (cgroup !== undefined) {
    r.add(TAG.CGROUP);
    for (const [key, value] of cgroup.set) {
      r.open(TAG.CG_SET);
      r.u8(key);
      r.u64(value);
    }
    for (const [name, value] of cgroup.files) {
      r.open(TAG.CG_FILE);
      r.lpText(name);
      r.lpText(value);
    }
  }
  encodeDescriptors(r, o, ns);
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    fail("signal", "must be an AbortSignal");
  }
  return {
    bytes: r.finish(),
    stdio,
    signal: o.signal as AbortSignal | undefined,
    pidNamespace: ns.includes("pid"),
  };
}
