/**
 * Checking and encoding call arguments, decoding results. Every check runs
 * before anything is sent, and its error names the call and the argument.
 * Internal.
 *
 * @module
 */
import { type ArgKind, type CallDef, CALLS, type ResultKind } from "./_calls.ts";
import type { ConstantDomain, ConstantTable } from "./constants.ts";
import {
  ALCOVE_OPTIONS,
  type Capabilities,
  type ChildInfo,
  type FdSets,
  type Rlimit,
  type Timeval,
  type WaitResult,
} from "./types.ts";
import { CstructValue, type Value, type Writer } from "./_wire.ts";
import { checkCstruct, type Segment } from "./cstruct.ts";

const HANDLERS = ["sig_dfl", "sig_ign", "sig_info"] as const;
const U64_MAX = 18446744073709551615n;
/** glibc's fd_set holds descriptors below this on Linux. */
const FD_SETSIZE = 1024;
/** Largest count of one read call (the control process checks it too). */
const READ_MAX = 16 * 1024 * 1024;
/** alcove's portable mount flag names. */
const MOUNT_ALIASES: Readonly<Record<string, string>> = {
  rdonly: "MS_RDONLY",
  nosuid: "MS_NOSUID",
  noexec: "MS_NOEXEC",
  noatime: "MS_NOATIME",
};
const decoder = new TextDecoder();

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 40))}`;
  // A pointer segment alone: a cstruct is the array of its segments.
  if (typeof v === "object" && "ptr" in v) {
    return "a pointer segment alone (a cstruct is an array of segments: [{ ptr: ... }])";
  }
  return typeof v === "number" ? `the number ${v}` : `a value of type ${typeof v}`;
}

/** The error for an argument, before anything is sent. */
export function argError(
  call: string,
  arg: string,
  problem: string,
  range = false,
): TypeError | RangeError {
  const msg = `${call}: ${arg} ${problem}`;
  return range ? new RangeError(msg) : new TypeError(msg);
}

function int(call: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== "number" || !Number.isInteger(v)) {
    throw argError(call, name, `must be an integer, got ${describe(v)}`);
  }
  if (v < lo || v > hi) throw argError(call, name, `must be in [${lo}, ${hi}], got ${v}`, true);
  return v;
}

function hasNul(v: string | Uint8Array): boolean {
  return typeof v === "string" ? v.includes("\0") : v.includes(0);
}

/** The domains whose values the calls take as a C int (32 bits); the others (clone, mount,
 * ioctl and ptrace, and fcntl's argument, "fcntl|file") as a long. */
const NARROW_DOMAINS = new Set([
  "signal",
  "rlimit",
  "prctl",
  "socket",
  "seccomp",
  "prio",
  "file",
  "fcntl",
  "wait",
]);

/** Arguments taken as a C int although their domain is a long elsewhere: ptrace's request (the
 * C library's enum; its addr and data are words) and umount2's flags (mount's are a long). */
const NARROW_ARGS = new Set(["ptrace request", "umount2 flags"]);

/** Resolves a constant name (case-insensitive) or checks a number. */
export function constant(
  table: ConstantTable,
  call: string,
  name: string,
  domain: ConstantDomain,
  v: unknown,
): number {
  if (typeof v === "number") {
    if (!Number.isSafeInteger(v)) {
      throw argError(call, name, `must be an integer or a constant name, got ${describe(v)}`);
    }
    // An int in C: the bits above 32 would be dropped, and another value taken.
    const narrow = NARROW_DOMAINS.has(domain) || NARROW_ARGS.has(`${call} ${name}`);
    if (narrow && (v < -0x80000000 || v > 0xffffffff)) {
      throw argError(call, name, `must fit in 32 bits (an int in C), got ${v}`, true);
    }
    return v;
  }
  if (typeof v !== "string") {
    throw argError(call, name, `must be a constant name or a number, got ${describe(v)}`);
  }
  // A kind may name several domains ("fcntl|file"): the first that knows the name wins.
  const domains = domain.split("|") as ConstantDomain[];
  for (const d of domains) {
    const value = table.lookup(d, v);
    if (value !== undefined) return value;
  }
  throw argError(
    call,
    name,
    `names an unknown ${domains.join(" or ")} constant ${JSON.stringify(v)}`,
    true,
  );
}

function flags(
  table: ConstantTable,
  call: string,
  name: string,
  domain: ConstantDomain,
  v: unknown,
): number {
  if (!Array.isArray(v)) return constant(table, call, name, domain, v);
  let out = 0n;
  for (const f of v) out |= BigInt(constant(table, call, name, domain, f));
  return Number(out);
}

function rlimValue(call: string, name: string, v: unknown): bigint {
  if (v === Infinity) return -1n;
  if (typeof v === "bigint" && v >= 0n && v <= U64_MAX) return BigInt.asIntN(64, v);
  if (typeof v !== "number" || !Number.isSafeInteger(v) || v < 0) {
    throw argError(call, name, `must be a non-negative integer or Infinity, got ${describe(v)}`);
  }
  return BigInt(v);
}

function capMask(call: string, name: string, v: unknown): bigint {
  if (typeof v === "bigint") {
    if (v < 0n || v > U64_MAX) throw argError(call, name, "must be a 64-bit mask", true);
    return BigInt.asIntN(64, v);
  }
  if (typeof v === "number") return BigInt(int(call, name, v, 0, Number.MAX_SAFE_INTEGER));
  if (!Array.isArray(v)) {
    throw argError(
      call,
      name,
      `must be a bigint mask or an array of capabilities, got ${describe(v)}`,
    );
  }
  let mask = 0n;
  for (const [i, c] of v.entries()) mask |= 1n << BigInt(int(call, `${name}[${i}]`, c, 0, 63));
  return BigInt.asIntN(64, mask);
}

/** alcove's call name (snake_case) for a name in either spelling, or undefined. */
function callName(v: string): string | undefined {
  if (Object.hasOwn(CALLS, v)) return v;
  const snake = v.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
  return Object.hasOwn(CALLS, snake) ? snake : undefined;
}

/**
 * Encodes a cstruct passed by pointer. A control process gets the segments and lays
 * them out itself; calls in the host process lay them out in their own memory and
 * send the address instead (ffi/local.ts).
 */
export type PointerEncoder = (w: Writer, segments: Segment[], call: string, name: string) => void;

function cstructValue(call: string, name: string, v: unknown): Segment[] {
  return checkCstruct(v, `${call}: ${name}`);
}

/** A value passed as one machine word: a number, a constant, bytes, a cstruct or null. */
function wordArg(
  w: Writer,
  table: ConstantTable,
  call: string,
  name: string,
  domain: ConstantDomain,
  v: unknown,
  pointer?: PointerEncoder,
): void {
  if (v === null) return w.null();
  if (typeof v === "number") {
    return w.int(int(call, name, v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
  }
  if (typeof v === "bigint") {
    if (v < -(1n << 63n) || v > U64_MAX) {
      throw argError(call, name, `must fit in 64 bits, got ${v}`, true);
    }
    return w.int(BigInt.asIntN(64, v));
  }
  if (typeof v === "string") return w.int(constant(table, call, name, domain, v));
  if (v instanceof Uint8Array) return w.bytes(v);
  if (Array.isArray(v)) {
    const segments = cstructValue(call, name, v);
    return pointer ? pointer(w, segments, call, name) : w.cstruct(segments);
  }
  throw argError(
    call,
    name,
    `must be a number, a constant name, a Uint8Array, a cstruct or null, got ${describe(v)}`,
  );
}

/** Checks and encodes one argument. */
export function encodeArg(
  w: Writer,
  table: ConstantTable,
  call: string,
  name: string,
  kind: ArgKind,
  v: unknown,
  pointer?: PointerEncoder,
): void {
  switch (kind) {
    case "cstruct":
      return w.cstruct(cstructValue(call, name, v));
    case "sockaddr":
      if (v === null) return w.null();
      if (v instanceof Uint8Array) return w.bytes(v);
      if (!Array.isArray(v)) {
        throw argError(call, name, `must be a Uint8Array, a cstruct or null, got ${describe(v)}`);
      }
      return wordArg(w, table, call, name, "socket", v, pointer);
    case "i32":
      return w.int(int(call, name, v, -2147483648, 2147483647));
    case "u32":
      return w.int(int(call, name, v, 0, 4294967295));
    case "i64":
      return w.int(int(call, name, v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case "string":
    case "bytes":
    case "constname":
      if (typeof v !== "string" && !(v instanceof Uint8Array)) {
        throw argError(call, name, `must be a string or a Uint8Array, got ${describe(v)}`);
      }
      if (kind !== "bytes" && hasNul(v)) throw argError(call, name, "contains a NUL byte");
      return w.bytes(v);
    case "strings":
      if (!Array.isArray(v)) throw argError(call, name, `must be an array of strings`);
      w.list(v.length);
      for (const [i, s] of v.entries()) {
        if (typeof s !== "string" && !(s instanceof Uint8Array)) {
          throw argError(call, `${name}[${i}]`, `must be a string, got ${describe(s)}`);
        }
        if (hasNul(s)) throw argError(call, `${name}[${i}]`, "contains a NUL byte");
        w.bytes(s);
      }
      return;
    case "handler": {
      if (v === null) return w.null();
      const i = typeof v === "string" ? HANDLERS.indexOf(v.toLowerCase() as never) : -1;
      if (i < 0) {
        throw argError(call, name, `must be "sig_dfl", "sig_ign", "sig_info" or null`);
      }
      return w.int(i);
    }
    case "option": {
      const i = typeof v === "string" ? ALCOVE_OPTIONS.indexOf(v.toLowerCase() as never) : -1;
      if (i < 0) {
        throw argError(
          call,
          name,
          `must be one of ${ALCOVE_OPTIONS.join(", ")}, got ${describe(v)}`,
        );
      }
      return w.int(i);
    }
    case "cpidoption": {
      const i = CPID_OPTIONS.indexOf(String(v).toLowerCase());
      if (typeof v !== "string" || i < 0) {
        throw argError(call, name, `must be one of ${CPID_OPTIONS.join(", ")}, got ${describe(v)}`);
      }
      return w.int(i);
    }
    case "optvalue":
      // Any integer: the control process checks each option's range, and names it.
      if (typeof v === "boolean") return w.int(v ? 1 : 0);
      return w.int(int(call, name, v, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
    case "rlimit": {
      if (typeof v !== "object" || v === null || !("cur" in v) || !("max" in v)) {
        throw argError(call, name, "must be { cur, max }");
      }
      const r = v as Rlimit;
      w.list(2);
      w.int(rlimValue(call, `${name}.cur`, r.cur));
      w.int(rlimValue(call, `${name}.max`, r.max));
      return;
    }
    case "gids":
      if (!Array.isArray(v)) throw argError(call, name, "must be an array of group ids");
      w.list(v.length);
      for (const [i, g] of v.entries()) w.int(int(call, `${name}[${i}]`, g, 0, 4294967295));
      return;
    case "id":
      // -1 leaves the id unchanged (chown, setresuid, setresgid).
      return w.int(int(call, name, v, -1, 4294967295));
    case "mode": {
      const mode = flags(table, call, name, "file", v);
      if (mode < 0 || mode > 0o7777) {
        throw argError(
          call,
          name,
          `must be a file mode in [0, 0o7777], got 0o${mode.toString(8)}`,
          true,
        );
      }
      return w.int(mode);
    }
    case "readcount":
      return w.int(int(call, name, v, 0, READ_MAX));
    case "fds":
      if (!Array.isArray(v)) {
        throw argError(call, name, `must be an array of descriptors, got ${describe(v)}`);
      }
      w.list(v.length);
      for (const [i, fd] of v.entries()) w.int(int(call, `${name}[${i}]`, fd, 0, FD_SETSIZE - 1));
      return;
    case "timeval?": {
      if (v === null || v === undefined) return w.list(0);
      if (typeof v !== "object" || Array.isArray(v) || !("sec" in v)) {
        throw argError(call, name, `must be null or { sec, usec }, got ${describe(v)}`);
      }
      const t = v as Timeval;
      w.list(2);
      w.int(int(call, `${name}.sec`, t.sec, 0, Number.MAX_SAFE_INTEGER));
      w.int(int(call, `${name}.usec`, t.usec ?? 0, 0, 999999));
      return;
    }
    case "mountflags": {
      const alias = (f: unknown) => typeof f === "string" ? MOUNT_ALIASES[f.toLowerCase()] ?? f : f;
      const f = flags(table, call, name, "mount", Array.isArray(v) ? v.map(alias) : alias(v));
      if (f < 0 || f > 4294967295) {
        throw argError(call, name, `must be in [0, 4294967295], got ${f}`, true);
      }
      return w.int(f);
    }
    case "callnames": {
      if (!Array.isArray(v)) {
        throw argError(call, name, `must be an array of call names, got ${describe(v)}`);
      }
      const ids = v.map((c, i) => {
        if (typeof c !== "string") {
          throw argError(call, `${name}[${i}]`, `must be a call name, got ${describe(c)}`);
        }
        const known = callName(c);
        if (known === undefined) {
          throw argError(call, `${name}[${i}]`, `names an unknown call ${JSON.stringify(c)}`, true);
        }
        return CALLS[known].id;
      });
      w.list(ids.length);
      for (const id of ids) w.int(id);
      return;
    }
    case "capmask":
      return w.int(capMask(call, name, v));
    case "ints":
      if (!Array.isArray(v)) {
        throw argError(call, name, `must be an array of integers, got ${describe(v)}`);
      }
      w.list(v.length);
      for (const [i, n] of v.entries()) {
        w.int(int(call, `${name}[${i}]`, n, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER));
      }
      return;
    case "string?":
      if (v === null) return w.null();
      if (typeof v !== "string" && !(v instanceof Uint8Array)) {
        throw argError(call, name, `must be a string, a Uint8Array or null, got ${describe(v)}`);
      }
      if (hasNul(v)) throw argError(call, name, "contains a NUL byte");
      return w.bytes(v);
  }
  if (kind.startsWith("const:")) {
    return w.int(constant(table, call, name, kind.slice(6) as ConstantDomain, v));
  }
  if (kind.startsWith("flags:")) {
    return w.int(flags(table, call, name, kind.slice(6) as ConstantDomain, v));
  }
  if (kind.startsWith("any:")) {
    return wordArg(w, table, call, name, kind.slice(4) as ConstantDomain, v, pointer);
  }
  throw new TypeError(`${call}: unknown argument kind ${kind}`);
}

/** Checks and encodes every argument of a call. */
export function encodeArgs(
  w: Writer,
  table: ConstantTable,
  def: CallDef,
  args: readonly unknown[],
  pointer?: PointerEncoder,
): void {
  if (args.length !== def.args.length) {
    throw new TypeError(
      `${def.name}: takes ${def.args.length} arguments after the pipeline, got ${args.length}`,
    );
  }
  for (let i = 0; i < args.length; i++) {
    encodeArg(w, table, def.name, def.args[i].name, def.args[i].kind, args[i], pointer);
  }
}

function num(v: Value): number {
  if (typeof v !== "number") throw new Error("Expected an integer in the reply");
  return v;
}

function str(v: Value): string {
  if (!(v instanceof Uint8Array)) throw new Error("Expected bytes in the reply");
  return decoder.decode(v);
}

function list(v: Value): Value[] {
  if (!Array.isArray(v)) throw new Error("Expected a list in the reply");
  return v;
}

function rlim(v: Value): number {
  // RLIM_INFINITY is all ones: -1 as a signed 64-bit integer.
  return num(v) === -1 ? Infinity : num(v);
}

function readBack(v: Value | undefined): unknown {
  if (v instanceof CstructValue) return v.segments;
  if (v === undefined || Array.isArray(v)) throw new Error("Expected a value read back");
  return v;
}

const WAIT_TYPES = ["none", "exited", "signaled", "stopped", "continued"] as const;

/** Turns a reply value into the call's result. */
export function decodeResult(
  table: ConstantTable,
  kind: ResultKind,
  v: Value | undefined,
): unknown {
  switch (kind) {
    case "ok":
      return undefined;
    case "int":
      return num(v ?? null);
    case "string":
      return str(v ?? null);
    case "string?":
      return v === null ? null : str(v ?? null);
    case "strings":
      return list(v ?? null).map(str);
    case "bytes":
      return v;
    case "ints":
      return list(v ?? null).map(num);
    case "handler":
      return HANDLERS[num(v ?? null)];
    case "constant":
      return v === null || v === undefined ? undefined : num(v);
    case "errnoname":
      return str(v ?? null);
    case "rlimit": {
      const [cur, max] = list(v ?? null);
      return { cur: rlim(cur), max: rlim(max) };
    }
    case "waitpid": {
      const [pid, status, type, value] = list(v ?? null).map(num);
      const r: WaitResult = { pid, status, type: WAIT_TYPES[type] ?? "none" };
      if (type === 1) r.exitStatus = value;
      if (type === 2 || type === 3) r.signal = table.name("signal", value) ?? String(value);
      return r;
    }
    case "cpid":
      return list(v ?? null).map((c): ChildInfo => {
        const [pid, flowcontrol, signaloneof, fdctl, stdin, stdout, stderr, execed] = list(c).map(
          num,
        );
        return { pid, flowcontrol, signaloneof, fdctl, stdin, stdout, stderr, execed: !!execed };
      });
    case "fdsets": {
      const [readfds, writefds, exceptfds] = list(v ?? null).map((s) => list(s).map(num));
      return { readfds, writefds, exceptfds } satisfies FdSets;
    }
    case "caps": {
      // Each set arrives as two 32-bit words, low word first.
      const w = list(v ?? null).map((n) => BigInt(num(n)));
      const mask = (i: number) => w[i + 1] << 32n | w[i];
      return {
        effective: mask(0),
        permitted: mask(2),
        inheritable: mask(4),
      } satisfies Capabilities;
    }
  }
  if (kind.startsWith("fields:")) {
    // Named values of any shape: numbers, bytes, cstructs read back, null.
    const names = kind.slice(7).split(",");
    const values = list(v ?? null);
    return Object.fromEntries(names.map((n: string, i: number) => [n, readBack(values[i])]));
  }
  if (kind.startsWith("record:")) {
    const names = kind.slice(7).split(",");
    const values = list(v ?? null).map(num);
    return Object.fromEntries(names.map((n: string, i: number) => [n, values[i]]));
  }
  throw new Error(`Unknown result kind ${kind}`);
}

/**
 * What a failed call was about, for its error message: its path (the first string
 * argument), else the descriptor, process or id it named ("fd 9"), or its constant
 * ("RLIMIT_NOFILE"). Internal.
 *
 * @example
 * ```ts
 * import { argumentOf } from "./_args.ts";
 * import { CALLS } from "./_calls.ts";
 * console.log(argumentOf(CALLS.close, [9])); // "fd 9"
 * ```
 */
export function argumentOf(def: CallDef, args: readonly unknown[] | undefined): string | undefined {
  if (!args) return undefined;
  const i = def.args.findIndex((a) => a.kind === "string" || a.kind === "string?");
  if (i >= 0) {
    const v = args[i];
    return typeof v === "string"
      ? v
      : v instanceof Uint8Array
      ? new TextDecoder().decode(v)
      : undefined;
  }
  // No path: the descriptor, process or id it was about ("close fd 9"), or its constant
  // ("setrlimit RLIMIT_NOFILE").
  const first = def.args[0];
  const v = args[0];
  if (first === undefined) return undefined;
  if (first.kind.startsWith("const:") && (typeof v === "string" || typeof v === "number")) {
    return String(v);
  }
  return typeof v === "number" && ARGUMENTS_BY_NAME.has(first.name)
    ? `${first.name} ${v}`
    : undefined;
}

/** setcpid's options, by their number on the wire (the last four are ours). */
const CPID_OPTIONS = [
  "flowcontrol",
  "signaloneof",
  "stdout_flowcontrol",
  "stderr_flowcontrol",
  "kill_tree",
  "usage",
];

/** First arguments that say, with their number, what a failed call was about. */
const ARGUMENTS_BY_NAME = new Set(["fd", "pid", "uid", "gid", "pgid"]);
