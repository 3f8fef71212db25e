/**
 * The seccomp policy compiler: rules by syscall name in, a BPF program out.
 *
 * The program first checks `seccomp_data.arch` (an unexpected architecture ends with
 * KILL_PROCESS), then finds the syscall number by binary search over number ranges, so a
 * lookup costs about log2(ranges) comparisons however many rules there are. Numbers outside an
 * architecture's table (calls newer than the table) fail with ENOSYS, which makes C libraries
 * fall back to older calls. Rules with argument conditions compare 64-bit arguments as the kernel
 * stores them, both 32-bit halves, unsigned.
 *
 * Outside argument checks the program only loads `nr` and `arch` and uses constant jumps, so the
 * kernel's action cache (Linux 5.11+) can answer the calls it allows unconditionally without
 * running it at all.
 *
 * x86_64 and x32 share AUDIT_ARCH_X86_64 and are told apart by the x32 bit (0x40000000) of the
 * syscall number: a policy for x86_64 alone kills a process calling with the x32 bit, and one
 * for both dispatches each half of the number space to its own table. On x86, a rule for a
 * socket call (`socket`, `connect`, ...) matches the direct system call only; calls through the
 * `socketcall` multiplexer are a rule for `socketcall`.
 *
 * @example
 * ```ts
 * import { compilePolicy } from "./policy.ts";
 * import { assemble } from "./bpf.ts";
 *
 * const AF_UNIX = 1;
 * const EPERM = 1;
 * const program = compilePolicy({
 *   defaultAction: "kill_process",
 *   rules: [
 *     { names: ["read", "write", "exit_group"], action: "allow" },
 *     { name: "socket", action: "allow", args: [{ arg: 0, op: "==", value: AF_UNIX }] },
 *     { name: "socket", action: { errno: EPERM } },
 *   ],
 * }, { arches: ["x86_64"] });
 * const bytes = assemble(program);
 * ```
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_ALU,
  BPF_AND,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_MAXINSNS,
  BPF_RET,
  BPF_W,
  type Instruction,
  jump,
  MAX_ERRNO,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  stmt,
} from "./bpf.ts";
import {
  auditArch,
  hasNarrowArgs,
  isSeccompArch,
  nativeArch,
  SECCOMP_ARCHES,
  type SeccompArch,
  syscallNumber,
  syscallRanges,
  X32_SYSCALL_BIT,
} from "./arch.ts";

/** ENOSYS on every architecture with a table here. */
const ENOSYS = 38;
const U32_MAX = 0xffffffff;
const U64_MAX = (1n << 64n) - 1n;

/**
 * What a filter does with a call: `"allow"`, `"kill_process"`, `"kill_thread"`, `"log"`
 * (allow and audit), `"user_notif"`, `{ errno: N }` (fail with errno N), `{ trap: data }`
 * (SIGSYS) or `{ trace: data }` (ptrace stop).
 *
 * @example
 * ```ts
 * import type { SeccompAction } from "./policy.ts";
 * const EACCES = 13;
 * const actions: SeccompAction[] = ["allow", { errno: EACCES }, { trap: 1 }, "kill_process"];
 * ```
 */
export type SeccompAction =
  | "allow"
  | "kill_process"
  | "kill_thread"
  | "log"
  | "user_notif"
  | { readonly errno: number }
  | { readonly trap: number }
  | { readonly trace: number };

function checkActionData(what: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Invalid seccomp action: ${what} ${value} is outside 0..${max}`);
  }
  return value;
}

/**
 * The SECCOMP_RET_* return value of an action.
 *
 * @example
 * ```ts
 * import { actionValue } from "./policy.ts";
 * console.log(actionValue({ errno: 1 }).toString(16)); // "50001"
 * ```
 */
export function actionValue(action: SeccompAction): number {
  switch (action) {
    case "allow":
      return SECCOMP_RET_ALLOW;
    case "kill_process":
      return SECCOMP_RET_KILL_PROCESS;
    case "kill_thread":
      return SECCOMP_RET_KILL_THREAD;
    case "log":
      return SECCOMP_RET_LOG;
    case "user_notif":
      return SECCOMP_RET_USER_NOTIF;
  }
  if (typeof action === "object" && action !== null) {
    if ("errno" in action) {
      return (SECCOMP_RET_ERRNO | checkActionData("errno", action.errno, MAX_ERRNO)) >>> 0;
    }
    if ("trap" in action) {
      return (SECCOMP_RET_TRAP | checkActionData("trap data", action.trap, SECCOMP_RET_DATA)) >>>
        0;
    }
    if ("trace" in action) {
      return (SECCOMP_RET_TRACE | checkActionData("trace data", action.trace, SECCOMP_RET_DATA)) >>>
        0;
    }
  }
  throw new TypeError(
    `Invalid seccomp action: ${JSON.stringify(action)} (one of "allow", "kill_process", ` +
      '"kill_thread", "log", "user_notif", { errno: N }, { trap: N }, { trace: N })',
  );
}

/**
 * A comparison of one syscall argument with a constant; the kernel's arguments are unsigned
 * 64-bit values and so are the comparisons. Values may be numbers or bigints; a negative value
 * stands for its 64-bit two's complement (-1 is 0xffffffffffffffff).
 *
 * An argument the program declares as `int` may reach the kernel with anything in its high 32
 * bits; compare it with `{ op: "masked==", mask: 0xffffffff, value }` to look at the low half
 * only. On x86 and arm arguments are 32 bits and the high half is zero.
 *
 * @example
 * ```ts
 * import type { ArgCondition } from "./policy.ts";
 * const CLONE_NEWUSER = 0x10000000;
 * const notNewUser: ArgCondition = { arg: 0, op: "masked==", mask: CLONE_NEWUSER, value: 0 };
 * const smallCount: ArgCondition = { arg: 2, op: "<=", value: 4096 };
 * ```
 */
export type ArgCondition =
  | {
    /** The argument index, 0..5. */
    readonly arg: number;
    /** How the argument compares with `value`. */
    readonly op: "==" | "!=" | "<" | "<=" | ">" | ">=";
    /** The constant, 0..2^64-1 (or negative, as two's complement). */
    readonly value: bigint | number;
  }
  | {
    /** The argument index, 0..5. */
    readonly arg: number;
    /** `(argument & mask) == value`. */
    readonly op: "masked==";
    /** The bits of the argument to look at. */
    readonly mask: bigint | number;
    /** The expected value of those bits. */
    readonly value: bigint | number;
  };

/**
 * The fields every rule has: what to do and, optionally, when.
 *
 * @example
 * ```ts
 * import type { SeccompRuleBase } from "./policy.ts";
 * const base: SeccompRuleBase = { action: "allow", args: [{ arg: 0, op: "==", value: 1 }] };
 * ```
 */
export interface SeccompRuleBase {
  /** The action when the call matches (and every condition holds). */
  readonly action: SeccompAction;
  /** Conditions that must all hold; without them the rule always matches its calls. */
  readonly args?: readonly ArgCondition[];
}

/**
 * A rule: one syscall (`name`) or several (`names`), an action and optional argument
 * conditions. Several rules for the same call are tried in order; the first whose conditions
 * all hold decides, and when none does, the policy's default action applies.
 *
 * @example
 * ```ts
 * import type { SeccompRule } from "./policy.ts";
 * const rules: SeccompRule[] = [
 *   { names: ["read", "write"], action: "allow" },
 *   { name: "kill", action: "allow", args: [{ arg: 1, op: "==", value: 0 }] },
 * ];
 * ```
 */
export type SeccompRule =
  & SeccompRuleBase
  & (
    | { /** The syscall the rule is about. */ readonly name: string; readonly names?: never }
    | {
      /** The syscalls the rule is about. */ readonly names: readonly string[];
      readonly name?: never;
    }
  );

/**
 * A seccomp policy: a default action for every call no rule decides, and the rules.
 *
 * @example
 * ```ts
 * import type { SeccompPolicy } from "./policy.ts";
 * const EPERM = 1;
 * const policy: SeccompPolicy = {
 *   defaultAction: "allow",
 *   rules: [{ names: ["mkdir", "mkdirat"], action: { errno: EPERM } }],
 *   skipUnknown: true, // mkdir does not exist on aarch64
 * };
 * ```
 */
export interface SeccompPolicy {
  /** The action for a call no rule decides. */
  readonly defaultAction: SeccompAction;
  /** The rules, tried in order for each call. */
  readonly rules: readonly SeccompRule[];
  /**
   * Leave out a rule's syscalls that do not exist on a target architecture instead of failing.
   * Default false: an unknown name is an error naming the call and the architecture. A name
   * that no architecture has (a misspelt one) is an error either way.
   */
  readonly skipUnknown?: boolean;
}

/**
 * Options of `compilePolicy`.
 *
 * @example
 * ```ts
 * import type { CompileOptions } from "./policy.ts";
 * const options: CompileOptions = { arches: ["x86_64", "x86", "x32"] };
 * ```
 */
export interface CompileOptions {
  /**
   * The architectures the program accepts; a call from any other ends with `badArchAction`.
   * Default: the architecture of the running process.
   */
  readonly arches?: readonly SeccompArch[];
  /** The action for a call from an unexpected architecture. Default `"kill_process"`. */
  readonly badArchAction?: SeccompAction;
  /**
   * The action for a number outside the architecture's table (a call newer than the table).
   * Default `{ errno: ENOSYS }`; `"default"` applies the policy's default action instead.
   */
  readonly outsideTableAction?: SeccompAction | "default";
}

// ---------------------------------------------------------------------------------------------
// Normalized policy

type CompareOp = "==" | ">" | ">=" | "masked==";

interface Comparison {
  readonly arg: number;
  readonly op: CompareOp;
  readonly mask: bigint;
  readonly value: bigint;
  /** True when the rule holds if the comparison is false (`!=`, `<`, `<=`). */
  readonly negate: boolean;
}

interface ResolvedRule {
  readonly action: number;
  readonly conditions: readonly Comparison[];
}

function fail(reason: string): never {
  throw new Error(`Cannot compile policy: ${reason}`);
}

function toU64(what: string, value: bigint | number): bigint {
  let big: bigint;
  if (typeof value === "bigint") {
    big = value;
  } else if (typeof value === "number" && Number.isSafeInteger(value)) {
    big = BigInt(value);
  } else {
    fail(`${what} ${String(value)} is not an integer (use a bigint above 2^53)`);
  }
  if (big < -(1n << 63n) || big > U64_MAX) fail(`${what} ${big} does not fit in 64 bits`);
  return BigInt.asUintN(64, big);
}

function normalizeCondition(syscall: string, condition: ArgCondition): Comparison {
  const arg = condition.arg;
  if (!Number.isInteger(arg) || arg < 0 || arg > 5) {
    fail(`rule for "${syscall}" compares argument ${arg}, expected 0..5`);
  }
  const what = `argument ${arg} of "${syscall}":`;
  const value = toU64(`${what} value`, condition.value);
  switch (condition.op) {
    case "==":
      return { arg, op: "==", mask: U64_MAX, value, negate: false };
    case "!=":
      return { arg, op: "==", mask: U64_MAX, value, negate: true };
    case ">":
      return { arg, op: ">", mask: U64_MAX, value, negate: false };
    case "<=":
      return { arg, op: ">", mask: U64_MAX, value, negate: true };
    case ">=":
      return { arg, op: ">=", mask: U64_MAX, value, negate: false };
    case "<":
      return { arg, op: ">=", mask: U64_MAX, value, negate: true };
    case "masked==":
      return {
        arg,
        op: "masked==",
        mask: toU64(`${what} mask`, condition.mask),
        value,
        negate: false,
      };
    default:
      fail(`rule for "${syscall}" has unknown operator "${(condition as { op: string }).op}"`);
  }
}

function ruleNames(rule: SeccompRule, index: number): readonly string[] {
  const r = rule as { name?: unknown; names?: unknown; args?: unknown };
  if (r.name !== undefined && r.names !== undefined) {
    fail(`rule ${index} has both "name" and "names": give one`);
  }
  if (r.args !== undefined && !Array.isArray(r.args)) {
    fail(`rule ${index}: args must be an array of conditions`);
  }
  if (typeof r.name === "string") return [r.name];
  if (Array.isArray(r.names)) {
    if (r.names.length === 0) fail(`rule ${index}: names is empty (it would match no call)`);
    r.names.forEach((n, i) => {
      if (typeof n !== "string") fail(`rule ${index}: names[${i}] must be a string`);
    });
    return r.names;
  }
  fail(`rule ${index} has neither "name" (a string) nor "names" (an array of strings)`);
}

/** Rules by syscall number for one architecture, in policy order. */
function resolveRules(
  policy: SeccompPolicy,
  arch: SeccompArch,
): Map<number, ResolvedRule[]> {
  const byNumber = new Map<number, ResolvedRule[]>();
  for (const [index, rule] of policy.rules.entries()) {
    if (typeof rule !== "object" || rule === null) fail(`rule ${index} must be an object`);
    const names = ruleNames(rule, index);
    const action = actionValue(rule.action);
    for (const name of names) {
      const conditions = (rule.args ?? []).map((c) => normalizeCondition(name, c));
      const nr = syscallNumber(name, arch);
      if (nr === undefined) {
        // Skipped where another architecture has it: a name none has is misspelt (a rule
        // that denies it would deny nothing).
        const somewhere = SECCOMP_ARCHES.some((a) => syscallNumber(name, a) !== undefined);
        if (policy.skipUnknown && somewhere) continue;
        fail(`syscall "${name}" is unknown on ${somewhere ? arch : "every architecture"}`);
      }
      let list = byNumber.get(nr);
      if (list === undefined) byNumber.set(nr, list = []);
      list.push({ action, conditions });
    }
  }
  return byNumber;
}

// ---------------------------------------------------------------------------------------------
// Number ranges and the search tree

/** A leaf of the search: a return value, or the rule chain of one syscall number. */
type Leaf =
  | { readonly kind: "ret"; readonly value: number }
  | { readonly kind: "chain"; readonly rules: readonly ResolvedRule[]; readonly fallback: number };

interface Interval {
  lo: number;
  hi: number;
  leaf: Leaf;
}

function sameLeaf(a: Leaf, b: Leaf): boolean {
  return a.kind === "ret" && b.kind === "ret" && a.value === b.value;
}

/** Sets `[lo, hi]` to `leaf` in a sorted list of disjoint intervals covering 0..2^32-1. */
function paint(intervals: readonly Interval[], lo: number, hi: number, leaf: Leaf): Interval[] {
  const out: Interval[] = [];
  let painted = false;
  for (const interval of intervals) {
    if (interval.hi < lo) {
      out.push(interval);
      continue;
    }
    if (interval.lo < lo) out.push({ lo: interval.lo, hi: lo - 1, leaf: interval.leaf });
    if (!painted) {
      out.push({ lo, hi, leaf });
      painted = true;
    }
    if (interval.lo > hi) out.push(interval);
    else if (interval.hi > hi) out.push({ lo: hi + 1, hi: interval.hi, leaf: interval.leaf });
  }
  return out;
}

function merge(intervals: readonly Interval[]): Interval[] {
  const out: Interval[] = [];
  for (const interval of intervals) {
    const last = out[out.length - 1];
    if (last !== undefined && last.hi + 1 === interval.lo && sameLeaf(last.leaf, interval.leaf)) {
      last.hi = interval.hi;
    } else {
      out.push({ ...interval });
    }
  }
  return out;
}

/** Drops trailing rules whose action is the fallback anyway; a bare rule ends the chain. */
function simplifyChain(rules: readonly ResolvedRule[], fallback: number): Leaf {
  const firstUnconditional = rules.findIndex((rule) => rule.conditions.length === 0);
  const reachable = firstUnconditional === -1 ? [...rules] : rules.slice(0, firstUnconditional + 1);
  const end = firstUnconditional === -1 ? fallback : reachable.pop()!.action;
  while (reachable.length > 0 && reachable[reachable.length - 1].action === end) reachable.pop();
  if (reachable.length === 0) return { kind: "ret", value: end };
  return { kind: "chain", rules: reachable, fallback: end };
}

interface ArchPlan {
  readonly arch: SeccompArch;
  /** The part of the 32-bit number space this architecture owns within its AUDIT_ARCH. */
  readonly space: readonly [number, number];
  readonly rules: Map<number, ResolvedRule[]>;
}

function groupIntervals(
  plans: readonly ArchPlan[],
  defaultValue: number,
  outsideValue: number,
  badArchValue: number,
): Interval[] {
  // Numbers of an ABI sharing the AUDIT_ARCH but not targeted (x32 beside x86_64) are foreign.
  let intervals: Interval[] = [{ lo: 0, hi: U32_MAX, leaf: { kind: "ret", value: badArchValue } }];
  for (const plan of plans) {
    const [spaceLo, spaceHi] = plan.space;
    intervals = paint(intervals, spaceLo, spaceHi, { kind: "ret", value: outsideValue });
    for (const [lo, hi] of syscallRanges(plan.arch)) {
      const clippedLo = Math.max(lo, spaceLo);
      const clippedHi = Math.min(hi, spaceHi);
      if (clippedLo <= clippedHi) {
        intervals = paint(intervals, clippedLo, clippedHi, { kind: "ret", value: defaultValue });
      }
    }
    for (const [nr, rules] of [...plan.rules].sort((a, b) => a[0] - b[0])) {
      intervals = paint(intervals, nr, nr, simplifyChain(rules, defaultValue));
    }
  }
  return merge(intervals);
}

type Tree =
  | { readonly kind: "leaf"; readonly leaf: Leaf }
  | { readonly kind: "jge"; readonly k: number; readonly below: Tree; readonly atOrAbove: Tree }
  | { readonly kind: "jeq"; readonly k: number; readonly equal: Tree; readonly other: Tree };

/** A balanced search tree over `intervals[from..to]` (inclusive), which are contiguous. */
function buildTree(intervals: readonly Interval[], from: number, to: number): Tree {
  if (from === to) return { kind: "leaf", leaf: intervals[from].leaf };
  if (
    to - from === 2 && intervals[from + 1].lo === intervals[from + 1].hi &&
    sameLeaf(intervals[from].leaf, intervals[to].leaf)
  ) {
    // One number between two ranges with the same outcome: a single equality test.
    return {
      kind: "jeq",
      k: intervals[from + 1].lo,
      equal: { kind: "leaf", leaf: intervals[from + 1].leaf },
      other: { kind: "leaf", leaf: intervals[from].leaf },
    };
  }
  const mid = from + Math.ceil((to - from + 1) / 2);
  return {
    kind: "jge",
    k: intervals[mid].lo,
    below: buildTree(intervals, from, mid - 1),
    atOrAbove: buildTree(intervals, mid, to),
  };
}

// ---------------------------------------------------------------------------------------------
// Code generation, from the last instruction to the first

/** A place to jump to: an emitted instruction, or "a `ret` of this value" placed on demand. */
type Target = { readonly pos: number } | { readonly ret: number };

const MAX_OFFSET = 255;

/**
 * Builds a program backwards, so that every jump target already exists when the jump is
 * emitted and its offset is known exactly. Positions count from the end of the program. A
 * target more than 255 instructions away gets a `ja` (32-bit offset) right after the jump; a
 * far `ret` is duplicated instead, which costs the same space and one instruction less.
 */
class Emitter {
  readonly #reversed: Instruction[] = [];
  readonly #rets = new Map<number, number>();

  /** The position of the next instruction to be emitted. */
  get #here(): number {
    return this.#reversed.length;
  }

  #push(insn: Instruction): number {
    this.#reversed.push(insn);
    return this.#reversed.length - 1;
  }

  #distance(pos: number): number {
    return this.#here - pos - 1;
  }

  /** The position of a `ret value` that a jump emitted after `reserve` more instructions reaches. */
  #ret(value: number, reserve: number): number {
    const cached = this.#rets.get(value);
    if (cached !== undefined && this.#distance(cached) + reserve <= MAX_OFFSET) return cached;
    return this.#freshRet(value);
  }

  #freshRet(value: number): number {
    const pos = this.#push(stmt(BPF_RET | BPF_K, value));
    this.#rets.set(value, pos);
    return pos;
  }

  #resolve(target: Target, reserve: number): number {
    return "pos" in target ? target.pos : this.#ret(target.ret, reserve);
  }

  #near(pos: number): number {
    if (this.#distance(pos) <= MAX_OFFSET) return pos;
    return this.#push(stmt(BPF_JMP | BPF_JA, this.#distance(pos)));
  }

  /** A conditional jump; when both targets are the same no test is needed at all. */
  branch(code: number, k: number, whenTrue: Target, whenFalse: Target): Target {
    if ("ret" in whenTrue && "ret" in whenFalse && whenTrue.ret === whenFalse.ret) return whenTrue;
    let t = this.#resolve(whenTrue, 2);
    let f = this.#resolve(whenFalse, 2);
    if (t === f) return { pos: t };
    f = this.#near(f);
    t = this.#near(t);
    return { pos: this.#push(jump(code, k, this.#distance(t), this.#distance(f))) };
  }

  /** A statement followed by `next`. */
  statement(insn: Instruction, next: Target): Target {
    let pos: number;
    if ("ret" in next) {
      pos = this.#rets.get(next.ret) === this.#here - 1 ? this.#here - 1 : this.#freshRet(next.ret);
    } else {
      pos = next.pos;
    }
    if (pos !== this.#here - 1) this.#push(stmt(BPF_JMP | BPF_JA, this.#distance(pos)));
    return { pos: this.#push(insn) };
  }

  get length(): number {
    return this.#reversed.length;
  }

  program(): Instruction[] {
    return [...this.#reversed].reverse();
  }
}

function loadWord(emitter: Emitter, offset: number, next: Target): Target {
  return emitter.statement(stmt(BPF_LD | BPF_W | BPF_ABS, offset), next);
}

const JEQ = BPF_JMP | BPF_JEQ | BPF_K;
const JGT = BPF_JMP | BPF_JGT | BPF_K;
const JGE = BPF_JMP | BPF_JGE | BPF_K;
const JSET = BPF_JMP | BPF_JSET | BPF_K;

/** `(word & mask) == value` on one 32-bit half loaded from `offset`. */
function maskedHalf(
  emitter: Emitter,
  offset: number,
  mask: number,
  value: number,
  whenTrue: Target,
  whenFalse: Target,
): Target {
  if (mask === 0) return value === 0 ? whenTrue : whenFalse;
  let test: Target;
  if (value === 0) {
    test = emitter.branch(JSET, mask, whenFalse, whenTrue);
  } else if (mask === U32_MAX) {
    test = emitter.branch(JEQ, value, whenTrue, whenFalse);
  } else {
    const compare = emitter.branch(JEQ, value, whenTrue, whenFalse);
    test = emitter.statement(stmt(BPF_ALU | BPF_AND | BPF_K, mask), compare);
  }
  return loadWord(emitter, offset, test);
}

/**
 * Code for one comparison of a 64-bit argument, entered with anything in A, leaving by
 * `whenTrue` or `whenFalse`. The high halves decide unless they are equal, then the low halves
 * do. With `narrow` arguments the high half is known to be zero and is not loaded.
 */
function comparison(
  emitter: Emitter,
  comparison: Comparison,
  narrow: boolean,
  whenTrueIn: Target,
  whenFalseIn: Target,
): Target {
  const whenTrue = comparison.negate ? whenFalseIn : whenTrueIn;
  const whenFalse = comparison.negate ? whenTrueIn : whenFalseIn;
  const value = comparison.value;
  const valueHi = Number(value >> 32n);
  const valueLo = Number(value & 0xffffffffn);
  const hiOffset = SECCOMP_DATA.argHigh[comparison.arg];
  const loOffset = SECCOMP_DATA.argLow[comparison.arg];

  if (comparison.op === "masked==") {
    const mask = comparison.mask;
    if ((value & ~mask) !== 0n) return whenFalse;
    const maskHi = narrow ? 0 : Number(mask >> 32n);
    if (narrow && valueHi !== 0) return whenFalse;
    const low = maskedHalf(
      emitter,
      loOffset,
      Number(mask & 0xffffffffn),
      valueLo,
      whenTrue,
      whenFalse,
    );
    return maskedHalf(emitter, hiOffset, maskHi, valueHi, low, whenFalse);
  }

  if (comparison.op === "==") {
    if (narrow && valueHi !== 0) return whenFalse;
    const low = loadWord(emitter, loOffset, emitter.branch(JEQ, valueLo, whenTrue, whenFalse));
    if (narrow) return low;
    return loadWord(emitter, hiOffset, emitter.branch(JEQ, valueHi, low, whenFalse));
  }

  // ">" and ">=": above on the high half wins, below loses, equal defers to the low half.
  const strict = comparison.op === ">";
  if (!strict && value === 0n) return whenTrue;
  if (strict && value === U64_MAX) return whenFalse;
  if (narrow && valueHi !== 0) return whenFalse;
  let low: Target;
  if (strict && valueLo === U32_MAX) {
    low = whenFalse;
  } else if (!strict && valueLo === 0) {
    low = whenTrue;
  } else {
    low = loadWord(
      emitter,
      loOffset,
      emitter.branch(strict ? JGT : JGE, valueLo, whenTrue, whenFalse),
    );
  }
  if (narrow) return low;
  // Not above valueHi: equal when valueHi is 0, otherwise it still has to be checked.
  const notAbove = valueHi === 0 ? low : emitter.branch(JEQ, valueHi, low, whenFalse);
  const high = valueHi === U32_MAX ? notAbove : emitter.branch(JGT, valueHi, whenTrue, notAbove);
  return loadWord(emitter, hiOffset, high);
}

function emitLeaf(emitter: Emitter, leaf: Leaf, narrow: boolean): Target {
  if (leaf.kind === "ret") return { ret: leaf.value };
  let next: Target = { ret: leaf.fallback };
  for (let index = leaf.rules.length - 1; index >= 0; index--) {
    const rule = leaf.rules[index];
    let entry: Target = { ret: rule.action };
    for (let c = rule.conditions.length - 1; c >= 0; c--) {
      entry = comparison(emitter, rule.conditions[c], narrow, entry, next);
    }
    next = entry;
  }
  return next;
}

function emitTree(emitter: Emitter, tree: Tree, narrow: boolean): Target {
  switch (tree.kind) {
    case "leaf":
      return emitLeaf(emitter, tree.leaf, narrow);
    case "jeq": {
      const other = emitTree(emitter, tree.other, narrow);
      const equal = emitTree(emitter, tree.equal, narrow);
      return emitter.branch(JEQ, tree.k, equal, other);
    }
    case "jge": {
      const atOrAbove = emitTree(emitter, tree.atOrAbove, narrow);
      const below = emitTree(emitter, tree.below, narrow);
      return emitter.branch(JGE, tree.k, atOrAbove, below);
    }
  }
}

// ---------------------------------------------------------------------------------------------
// The compiler

/**
 * Compiles a policy into a seccomp BPF program for one or several architectures.
 *
 * The program: load `arch`; for each accepted AUDIT_ARCH value jump to its search tree, else
 * return `badArchAction`; each tree loads `nr` and finds its range with `jge` tests, with
 * `ja` long jumps where a target is farther than 8-bit offsets reach. A number outside the
 * table answers ENOSYS, a number with rules runs them in order, any other the default action.
 *
 * To learn which call killed a process, compile the same policy with `{ trap: 0 }` as the
 * deny action: SIGSYS then reaches the process and a handler reads the call from
 * `siginfo.si_syscall` (and the ABI from `si_arch`); installed in a control process
 * (`installPolicy`), the SIGSYS arrives as a `signal` event whose `info` `sigsysInfo` decodes.
 * Or compile it with `"log"`, which lets calls through and writes `type=SECCOMP ... syscall=N`
 * records to the kernel audit log (`dmesg`, auditd).
 *
 * @param policy The default action and the rules.
 * @param options Target architectures and the actions for the special cases.
 * @returns The instructions; `assemble` turns them into bytes for seccomp(2).
 * @throws {Error} A syscall unknown on a target architecture (unless `skipUnknown`), a bad
 *   argument condition, or a program longer than the kernel's 4096 instructions.
 *
 * @example
 * ```ts
 * import { compilePolicy } from "./policy.ts";
 * import { simulate } from "./sim.ts";
 * import { AUDIT_ARCH_X86_64 } from "./bpf.ts";
 *
 * const program = compilePolicy(
 *   { defaultAction: { errno: 1 }, rules: [{ names: ["getpid"], action: "allow" }] },
 *   { arches: ["x86_64"] },
 * );
 * console.log(simulate(program, { nr: 39, arch: AUDIT_ARCH_X86_64 }).actionName); // "ALLOW"
 * console.log(simulate(program, { nr: 40, arch: AUDIT_ARCH_X86_64 }).actionName); // "ERRNO"
 * ```
 */
export function compilePolicy(policy: SeccompPolicy, options: CompileOptions = {}): Instruction[] {
  const native = nativeArch();
  const arches = options.arches ?? (native === undefined ? [] : [native]);
  if (arches.length === 0) fail("no target architecture (pass options.arches)");
  for (const arch of arches) {
    if (!isSeccompArch(arch)) fail(`architecture "${arch}" has no syscall table`);
  }
  if (new Set(arches).size !== arches.length) fail(`architectures repeat in ${arches.join(", ")}`);
  if (typeof policy !== "object" || policy === null) {
    fail(`the policy must be an object, got ${policy === null ? "null" : typeof policy}`);
  }
  if (!Array.isArray(policy.rules)) fail("policy.rules is not an array");

  const defaultValue = actionValue(policy.defaultAction);
  const badArchValue = actionValue(options.badArchAction ?? "kill_process");
  const outside = options.outsideTableAction ?? { errno: ENOSYS };
  const outsideValue = outside === "default" ? defaultValue : actionValue(outside);

  // One search tree per AUDIT_ARCH value; x86_64 and x32 share one and split the number space.
  const groups = new Map<number, ArchPlan[]>();
  for (const arch of arches) {
    const space: [number, number] = arch === "x86_64"
      ? [0, X32_SYSCALL_BIT - 1]
      : arch === "x32"
      ? [X32_SYSCALL_BIT, U32_MAX]
      : [0, U32_MAX];
    const plan: ArchPlan = { arch, space, rules: resolveRules(policy, arch) };
    const key = auditArch(arch);
    const group = groups.get(key);
    if (group === undefined) groups.set(key, [plan]);
    else group.push(plan);
  }

  const emitter = new Emitter();
  const entries: { auditArch: number; entry: Target }[] = [];
  for (const [key, plans] of [...groups].reverse()) {
    const intervals = groupIntervals(plans, defaultValue, outsideValue, badArchValue);
    const narrow = plans.every((plan) => hasNarrowArgs(plan.arch));
    const root = emitTree(emitter, buildTree(intervals, 0, intervals.length - 1), narrow);
    const entry = "ret" in root ? root : loadWord(emitter, SECCOMP_DATA.nr, root);
    entries.unshift({ auditArch: key, entry });
  }
  let next: Target = { ret: badArchValue };
  for (let index = entries.length - 1; index >= 0; index--) {
    next = emitter.branch(JEQ, entries[index].auditArch, entries[index].entry, next);
  }
  loadWord(emitter, SECCOMP_DATA.arch, next);

  if (emitter.length > BPF_MAXINSNS) {
    fail(`program has ${emitter.length} instructions, more than the kernel's ${BPF_MAXINSNS}`);
  }
  return emitter.program();
}
