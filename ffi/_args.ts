/**
 * Checking and encoding call arguments, decoding results. Every check runs
 * before anything is sent, and its error names the call and the argument.
 * Internal.
 *
 * @module
 */
import type { ArgKind, CallDef, ResultKind } from "./_calls.ts";
import type { ConstantDomain, ConstantTable } from "./constants.ts";
import { ALCOVE_OPTIONS, type ChildInfo, type Rlimit, type WaitResult } from "./types.ts";
import type { Value, Writer } from "./_wire.ts";

const HANDLERS = ["sig_dfl", "sig_ign", "sig_info"] as const;
const U64_MAX = 18446744073709551615n;
const decoder = new TextDecoder();

function describe(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (v instanceof Uint8Array) return "a Uint8Array";
  if (typeof v === "string") return `the string ${JSON.stringify(v.slice(0, 40))}`;
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
    return v;
  }
  if (typeof v !== "string") {
    throw argError(call, name, `must be a constant name or a number, got ${describe(v)}`);
  }
  const value = table.lookup(domain, v);
  if (value === undefined) {
    throw argError(call, name, `names an unknown ${domain} constant ${JSON.stringify(v)}`, true);
  }
  return value;
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

/** Checks and encodes one argument. */
export function encodeArg(
  w: Writer,
  table: ConstantTable,
  call: string,
  name: string,
  kind: ArgKind,
  v: unknown,
): void {
  switch (kind) {
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
        throw argError(call, name, `must be one of ${ALCOVE_OPTIONS.join(", ")}, got ${describe(v)}`);
      }
      return w.int(i);
    }
    case "cpidoption": {
      const i = ["flowcontrol", "signaloneof"].indexOf(String(v).toLowerCase());
      if (typeof v !== "string" || i < 0) {
        throw argError(call, name, `must be "flowcontrol" or "signaloneof"`);
      }
      return w.int(i);
    }
    case "optvalue":
      if (typeof v === "boolean") return w.int(v ? 1 : 0);
      return w.int(int(call, name, v, -2147483648, 2147483647));
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
  }
  if (kind.startsWith("const:")) {
    return w.int(constant(table, call, name, kind.slice(6) as ConstantDomain, v));
  }
  if (kind.startsWith("flags:")) {
    return w.int(flags(table, call, name, kind.slice(6) as ConstantDomain, v));
  }
  throw new TypeError(`${call}: unknown argument kind ${kind}`);
}

/** Checks and encodes every argument of a call. */
export function encodeArgs(w: Writer, table: ConstantTable, def: CallDef, args: readonly unknown[]): void {
  if (args.length !== def.args.length) {
    throw new TypeError(`${def.name}: takes ${def.args.length} arguments after the pipeline, got ${args.length}`);
  }
  for (let i = 0; i < args.length; i++) {
    encodeArg(w, table, def.name, def.args[i].name, def.args[i].kind, args[i]);
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
  }
  if (kind.startsWith("record:")) {
    const names = kind.slice(7).split(",");
    const values = list(v ?? null).map(num);
    return Object.fromEntries(names.map((n: string, i: number) => [n, values[i]]));
  }
  throw new Error(`Unknown result kind ${kind}`);
}
