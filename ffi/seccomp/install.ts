/**
 * Installing seccomp filters: in a control process through the driver (`installFilter`,
 * `installPolicy`) or over every thread of the host process (`installFilterLocal`,
 * `installPolicyLocal`), and reading the siginfo of a trapped call (`sigsysInfo`).
 *
 * Installing is two steps, in this order: prctl(PR_SET_NO_NEW_PRIVS), which an unprivileged
 * process needs before it may install a filter, then seccomp(SECCOMP_SET_MODE_FILTER) with the
 * program's `sock_fprog`, or prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER) on a kernel without
 * seccomp(2). A filter can never be removed: it stays on the process, is inherited by every
 * child, survives execve, and later filters only add restrictions. Everything is checked
 * before the first call is sent, so a bad program or option leaves the process untouched.
 *
 * A policy is compiled for the architecture of the process that installs it, which is told
 * by the syscall numbers that process was built with (`seccompArch`), not guessed from the
 * host. Calls of any other ABI (i386's int 0x80 on x86_64, for instance) end the process
 * unless `arches` lists that ABI too.
 *
 * Learning which call was denied: a filter that kills leaves only a `termsig` SIGSYS event.
 * To name the call, install the same policy with `{ trap: N }` as its deny action in a control
 * process: SIGSYS is caught there and reported as a `signal` event, whose `info` `sigsysInfo`
 * decodes into the syscall number, its name and its ABI, while the process lives on. Or use
 * the kernel's audit log: kill actions are logged by default (sysctl
 * `kernel.seccomp.actions_logged`) as `type=1326` records with `syscall=` and `arch=`;
 * the `"log"` action allows a call and logs it, and the flag `SECCOMP_FILTER_FLAG_LOG` logs
 * the errno and trap actions of a filter too (read them with `dmesg` or from auditd's log).
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import { installPolicy } from "./mod.ts";
 *
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await installPolicy(drv, [pid], {
 *   defaultAction: "allow",
 *   rules: [{ names: ["mkdir", "mkdirat"], action: { errno: 1 } }],
 *   skipUnknown: true,
 * });
 * await drv.mkdir([pid], "/tmp/denied", 0o755).catch((e) => console.log(e.code)); // EPERM
 * ```
 *
 * @module
 */

import type { AlcoveCallMethods } from "../_call_methods.ts";
import type { Local } from "../local.ts";
import type { ConstantTable } from "../constants.ts";
import type { CallOptions, Flags, Pipeline } from "../types.ts";
import { FilteredError, SystemCallError, UnsupportedError } from "../errors.ts";
import {
  assemble,
  decode,
  type Instruction,
  PLATFORM_LITTLE_ENDIAN,
  type Program,
  sockFprog,
} from "./bpf.ts";
import {
  auditArch,
  nativeArch,
  SECCOMP_ARCHES,
  type SeccompArch,
  syscallName,
  syscallNumber,
  X32_SYSCALL_BIT,
} from "./arch.ts";
import { actionValue, type CompileOptions, compilePolicy, type SeccompPolicy } from "./policy.ts";
import { checkProgram } from "./sim.ts";

// ---------------------------------------------------------------------------------------------
// Types

/**
 * What `installFilter` needs of a driver: its prctl and seccomp calls, its constant tables and
 * the word size of its control processes (8 when absent).
 * An {@linkcode Alcove} driver is one.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import type { FilterDriver } from "./mod.ts";
 * await using drv = await Alcove.start();
 * const target: FilterDriver = drv;
 * ```
 */
export type FilterDriver =
  & Pick<AlcoveCallMethods, "prctl" | "seccomp" | "syscallConstant">
  & { readonly constants: ConstantTable; readonly wordSize?: 4 | 8 };

/**
 * What `installFilterLocal` needs of the host process's calls; a {@linkcode Local} is one.
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * import type { FilterLocal } from "./mod.ts";
 * using local = openLocal();
 * const target: FilterLocal = local;
 * ```
 */
export type FilterLocal = Pick<Local, "prctl" | "seccomp" | "constants">;

/**
 * Options of `installFilter` and `installFilterLocal`.
 *
 * @example
 * ```ts
 * import type { InstallOptions } from "./mod.ts";
 * const options: InstallOptions = { tsync: true, flags: ["SECCOMP_FILTER_FLAG_LOG"] };
 * ```
 */
export interface InstallOptions {
  /**
   * Install the filter on every thread of the process (SECCOMP_FILTER_FLAG_TSYNC). Default
   * false for a control process (it has one thread) and true for the host process.
   */
  readonly tsync?: boolean;
  /**
   * More SECCOMP_FILTER_FLAG_* flags: names, a list, or a number. Default none. Flags need
   * seccomp(2): with any flag, a kernel without it is an error rather than a prctl fallback.
   */
  readonly flags?: Flags;
  /**
   * Set PR_SET_NO_NEW_PRIVS first. Default true; false only with CAP_SYS_ADMIN, which lets a
   * process install a filter while set-user-id programs it runs keep their privileges.
   */
  readonly noNewPrivs?: boolean;
  /** Milliseconds each call may take (driver only). */
  readonly timeout?: number;
  /** Aborts the calls (driver only). */
  readonly signal?: AbortSignal;
}

/**
 * Options of `installPolicy` and `installPolicyLocal`: how to install, and how to compile
 * (`arches` defaults to the architecture of the installing process).
 *
 * @example
 * ```ts
 * import type { InstallPolicyOptions } from "./mod.ts";
 * const options: InstallPolicyOptions = { arches: ["x86_64", "x86"], badArchAction: { errno: 1 } };
 * ```
 */
export interface InstallPolicyOptions extends InstallOptions, CompileOptions {}

/**
 * How a filter was installed.
 *
 * @example
 * ```ts
 * import type { InstallResult } from "./mod.ts";
 * const result: InstallResult = { ret: 0, via: "seccomp" };
 * ```
 */
export interface InstallResult {
  /**
   * The system call's value: 0, or with SECCOMP_FILTER_FLAG_NEW_LISTENER the descriptor of
   * the listener (in the process that installed the filter).
   */
  readonly ret: number;
  /** seccomp(2), or prctl(PR_SET_SECCOMP) on a kernel without seccomp(2). */
  readonly via: "seccomp" | "prctl";
}

/**
 * What `installPolicy` installed: `InstallResult` plus the program and its architectures.
 *
 * @example
 * ```ts
 * import type { PolicyInstallResult } from "./mod.ts";
 * const describe = (r: PolicyInstallResult) => `${r.program.length} instructions for ${r.arches}`;
 * ```
 */
export interface PolicyInstallResult extends InstallResult {
  /** The architectures the program was compiled for. */
  readonly arches: readonly SeccompArch[];
  /** The compiled program (`disassemble` prints it). */
  readonly program: readonly Instruction[];
}

// ---------------------------------------------------------------------------------------------
// Checks, before anything is sent

const ENOSYS_NAME = "ENOSYS";

function checkObject(call: string, what: string, value: unknown): void {
  if (typeof value !== "object" || value === null) {
    throw new TypeError(
      `${call}: ${what} must be an object, got ${value === null ? "null" : typeof value}`,
    );
  }
}

function checkPipeline(call: string, pipeline: unknown): asserts pipeline is Pipeline {
  if (!Array.isArray(pipeline)) {
    throw new TypeError(`${call}: pipeline must be an array of pids, got ${typeof pipeline}`);
  }
  for (const pid of pipeline) {
    if (typeof pid !== "number" || !Number.isInteger(pid) || pid <= 0 || pid > 0x7fffffff) {
      throw new TypeError(`${call}: pipeline must hold positive pids, got ${String(pid)}`);
    }
  }
}

function checkMethods(call: string, what: string, target: unknown, methods: string[]): void {
  checkObject(call, what, target);
  const missing = methods.filter((m) =>
    typeof (target as Record<string, unknown>)[m] !== "function"
  );
  if (missing.length > 0) {
    throw new TypeError(`${call}: ${what} has no ${missing.join(", ")} method`);
  }
}

/** The program as the bytes of its `sock_filter` array, after the kernel's own checks. */
function programBytes(call: string, program: unknown): Uint8Array {
  let bytes: Uint8Array;
  try {
    if (program instanceof Uint8Array) {
      decode(program);
      bytes = program;
    } else if (Array.isArray(program)) {
      bytes = assemble(program as Instruction[]);
    } else {
      throw new TypeError(
        `program must be instructions or their bytes, got ${
          program === null ? "null" : typeof program
        }`,
      );
    }
    checkProgram(bytes);
  } catch (e) {
    if (e instanceof TypeError) throw new TypeError(`${call}: ${e.message}`, { cause: e });
    throw new RangeError(`${call}: ${(e as Error).message}`, { cause: e });
  }
  return bytes;
}

interface Checked {
  flags: number;
  tsync: boolean;
  noNewPrivs: boolean;
  callOptions: CallOptions | undefined;
}

function flagValue(call: string, constants: ConstantTable, flag: unknown): number {
  if (typeof flag === "number") {
    if (!Number.isInteger(flag) || flag < 0 || flag > 0xffffffff) {
      throw new RangeError(`${call}: flag ${flag} is not an unsigned 32-bit integer`);
    }
    return flag;
  }
  if (typeof flag === "string") {
    const value = constants.lookup("seccomp", flag);
    if (value === undefined || !flag.toUpperCase().startsWith("SECCOMP_FILTER_FLAG_")) {
      throw new RangeError(`${call}: unknown seccomp filter flag "${flag}"`);
    }
    return value;
  }
  throw new TypeError(`${call}: flags must be SECCOMP_FILTER_FLAG_* names or numbers`);
}

function checkOptions(
  call: string,
  constants: ConstantTable,
  options: unknown,
  tsyncDefault: boolean,
): Checked {
  checkObject(call, "options", options);
  const o = options as InstallOptions;
  for (const key of ["tsync", "noNewPrivs"] as const) {
    if (o[key] !== undefined && typeof o[key] !== "boolean") {
      throw new TypeError(`${call}: options.${key} must be a boolean`);
    }
  }
  if (o.timeout !== undefined && (typeof o.timeout !== "number" || !(o.timeout >= 0))) {
    throw new RangeError(`${call}: options.timeout must be a non-negative number of milliseconds`);
  }
  if (o.signal !== undefined && !(o.signal instanceof AbortSignal)) {
    throw new TypeError(`${call}: options.signal must be an AbortSignal`);
  }
  const list = o.flags === undefined ? [] : Array.isArray(o.flags) ? o.flags : [o.flags];
  let flags = 0;
  for (const flag of list) flags = (flags | flagValue(call, constants, flag)) >>> 0;
  const tsync = o.tsync ?? tsyncDefault;
  if (tsync) {
    const bit = constants.lookup("seccomp", "SECCOMP_FILTER_FLAG_TSYNC");
    if (bit === undefined) {
      throw new RangeError(`${call}: SECCOMP_FILTER_FLAG_TSYNC is unknown on this platform`);
    }
    flags = (flags | bit) >>> 0;
  }
  const callOptions = o.timeout === undefined && o.signal === undefined
    ? undefined
    : { timeout: o.timeout, signal: o.signal };
  return { flags, tsync, noNewPrivs: o.noNewPrivs ?? true, callOptions };
}

/** seccomp(2) is missing (old kernel, or a build without SYS_seccomp), but not refused. */
function seccompMissing(e: unknown): boolean {
  if (e instanceof FilteredError) return false;
  if (e instanceof UnsupportedError) return true;
  return e instanceof SystemCallError && e.code === ENOSYS_NAME;
}

/** With TSYNC the call returns the id of a thread it could not synchronize, and installs nothing. */
function checkTsync(
  call: string,
  constants: ConstantTable,
  flags: number,
  tsync: boolean,
  ret: number,
): void {
  const listener = constants.lookup("seccomp", "SECCOMP_FILTER_FLAG_NEW_LISTENER") ?? 0;
  if (tsync && ret > 0 && (flags & listener) === 0) {
    throw new Error(
      `${call}: thread ${ret} could not be synchronized (SECCOMP_FILTER_FLAG_TSYNC), ` +
        "no filter was installed",
    );
  }
}

/**
 * After seccomp(2) failed with `e`: returns when prctl(PR_SET_SECCOMP) may install the filter
 * instead (seccomp(2) is missing and no flags were asked for), and throws otherwise.
 */
function checkFallback(call: string, flags: number, e: unknown): void {
  if (!seccompMissing(e)) throw e;
  if (flags !== 0) {
    throw new Error(
      `${call}: seccomp(2) is not available and prctl(PR_SET_SECCOMP) cannot apply ` +
        `filter flags 0x${flags.toString(16)}`,
      { cause: e },
    );
  }
}

// ---------------------------------------------------------------------------------------------
// Installing a program

/**
 * Installs a seccomp filter in a control process: prctl(PR_SET_NO_NEW_PRIVS, 1), then
 * seccomp(SECCOMP_SET_MODE_FILTER, flags, sock_fprog), or prctl(PR_SET_SECCOMP,
 * SECCOMP_MODE_FILTER, sock_fprog) when the kernel has no seccomp(2) and no flags are asked
 * for. The program is checked as the kernel would check it before anything is sent.
 *
 * The filter applies to the control process from now on, to every child it forks and to every
 * program it executes; it cannot be removed. A filter that denies calls the control process
 * itself needs (read, write, poll, ...) breaks the process, not only its future programs.
 *
 * Wraps seccomp(2) and prctl(2).
 *
 * @param drv The driver.
 * @param pipeline The control process that installs the filter ([] is the root).
 * @param program The filter: instructions or the bytes of `assemble`.
 * @param options Flags (`tsync`, `flags`), `noNewPrivs`, and `timeout`/`signal` for each call.
 * @returns The system call's value and which call installed the filter.
 * @throws {TypeError | RangeError} An invalid program, pipeline or option (nothing was sent).
 * @throws {SystemCallError} The kernel refused the filter (EINVAL, EACCES without no_new_privs
 *   or CAP_SYS_ADMIN, ...).
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import {
 *   auditArch,
 *   installFilter,
 *   loadSyscallNr,
 *   retAllow,
 *   seccompArch,
 *   SECCOMP_RET_ERRNO,
 *   syscallAction,
 *   validateArch,
 * } from "./mod.ts";
 *
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * const EACCES = 13;
 * // The numbers and the arch of the process that installs the filter.
 * const arch = auditArch(await seccompArch(drv, [pid]));
 * const rmdir = (await drv.syscallConstant([pid], "SYS_rmdir"))!;
 * await installFilter(drv, [pid], [
 *   ...validateArch(arch),
 *   loadSyscallNr(),
 *   ...syscallAction(rmdir, SECCOMP_RET_ERRNO | EACCES),
 *   retAllow(),
 * ]);
 * await drv.rmdir([pid], "/tmp").catch((e) => console.log(e.code)); // EACCES
 * ```
 */
export async function installFilter(
  drv: FilterDriver,
  pipeline: Pipeline,
  program: Program,
  options: InstallOptions = {},
): Promise<InstallResult> {
  const call = "installFilter";
  checkMethods(call, "drv", drv, ["prctl", "seccomp"]);
  checkPipeline(call, pipeline);
  const bytes = programBytes(call, program);
  const { flags, tsync, noNewPrivs, callOptions } = checkOptions(
    call,
    drv.constants,
    options,
    false,
  );
  // Laid out for the control process that makes the call, which may be 32-bit.
  const fprog = sockFprog(bytes, drv.wordSize ?? 8);

  if (noNewPrivs) await drv.prctl(pipeline, "PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0, callOptions);
  try {
    const ret = await drv.seccomp(pipeline, "SECCOMP_SET_MODE_FILTER", flags, fprog, callOptions);
    checkTsync(call, drv.constants, flags, tsync, ret);
    return { ret, via: "seccomp" };
  } catch (e) {
    checkFallback(call, flags, e);
  }
  const { ret } = await drv.prctl(
    pipeline,
    "PR_SET_SECCOMP",
    "SECCOMP_MODE_FILTER",
    fprog,
    0,
    0,
    callOptions,
  );
  return { ret, via: "prctl" };
}

/**
 * Installs a seccomp filter on the host process itself, synchronously: by default on every
 * thread of the runtime at once (SECCOMP_FILTER_FLAG_TSYNC), which is what a filter for a
 * multithreaded runtime needs; without TSYNC only the calling thread is filtered. Sets
 * PR_SET_NO_NEW_PRIVS first. It cannot be undone: the filter stays until the process exits and
 * applies to every program it starts.
 *
 * Wraps seccomp(2) and prctl(2).
 *
 * @param local The host process's calls (`openLocal()`).
 * @param program The filter: instructions or the bytes of `assemble`.
 * @param options `tsync` (default true), `flags`, `noNewPrivs`.
 * @returns The system call's value and which call installed the filter.
 * @throws {TypeError | RangeError} An invalid program or option (nothing was called).
 * @throws {Error} TSYNC could not synchronize a thread (nothing was installed).
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * import { compilePolicy, installFilterLocal } from "./mod.ts";
 *
 * using local = openLocal();
 * // From here on, no thread of this process can mount anything.
 * installFilterLocal(local, compilePolicy({
 *   defaultAction: "allow",
 *   rules: [{ names: ["mount", "umount2"], action: { errno: 1 } }],
 * }));
 * ```
 */
export function installFilterLocal(
  local: FilterLocal,
  program: Program,
  options: InstallOptions = {},
): InstallResult {
  const call = "installFilterLocal";
  checkMethods(call, "local", local, ["prctl", "seccomp"]);
  const bytes = programBytes(call, program);
  const { flags, tsync, noNewPrivs } = checkOptions(call, local.constants, options, true);
  const fprog = sockFprog(bytes);

  if (noNewPrivs) local.prctl("PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);
  try {
    const ret = local.seccomp("SECCOMP_SET_MODE_FILTER", flags, fprog);
    checkTsync(call, local.constants, flags, tsync, ret);
    return { ret, via: "seccomp" };
  } catch (e) {
    checkFallback(call, flags, e);
  }
  const { ret } = local.prctl("PR_SET_SECCOMP", "SECCOMP_MODE_FILTER", fprog, 0, 0);
  return { ret, via: "prctl" };
}

// ---------------------------------------------------------------------------------------------
// The architecture of a process

/**
 * Syscalls whose numbers tell the architectures with a table apart: `read` splits x86_64,
 * x32, the i386/arm pair and the generic table; `openat` splits i386 from arm; `renameat`
 * (aarch64 only) and `riscv_flush_icache` (riscv64 only) split the two generic-table ones.
 */
const ARCH_PROBES = ["read", "openat", "getpid", "renameat", "riscv_flush_icache"] as const;

/** The architectures whose table agrees with every number the process knows. */
function archCandidates(numbers: Readonly<Record<string, number | undefined>>): SeccompArch[] {
  return SECCOMP_ARCHES.filter((arch) => {
    let agreed = 0;
    for (const [name, value] of Object.entries(numbers)) {
      if (value === undefined) continue;
      if (syscallNumber(name, arch) !== value) return false;
      agreed++;
    }
    return agreed > 0;
  });
}

/**
 * The architecture whose syscall table these numbers come from, or undefined when none or
 * several fit. Give the numbers of a process (`SYS_read`, `SYS_openat`, ...; names without the
 * `SYS_` prefix); names the process does not know are `undefined` and ignored, and a number
 * that differs from a table, or that a table lacks, rules that table out.
 *
 * @param numbers Syscall numbers by name, as the process knows them.
 * @returns The single matching architecture, or undefined.
 *
 * @example
 * ```ts
 * import { archOfSyscalls } from "./mod.ts";
 * console.log(archOfSyscalls({ read: 0, openat: 257 })); // "x86_64"
 * console.log(archOfSyscalls({ read: 63, openat: 56, renameat: 38 })); // "aarch64"
 * console.log(archOfSyscalls({ read: 63, openat: 56 })); // undefined: aarch64 or riscv64
 * ```
 */
export function archOfSyscalls(
  numbers: Readonly<Record<string, number | undefined>>,
): SeccompArch | undefined {
  const candidates = archCandidates(numbers);
  return candidates.length === 1 ? candidates[0] : undefined;
}

function pickArch(call: string, where: string, numbers: Record<string, number | undefined>) {
  const candidates = archCandidates(numbers);
  if (candidates.length === 1) return candidates[0];
  const native = nativeArch();
  // Ambiguous only when the process's headers lack the distinguishing calls.
  if (native !== undefined && candidates.includes(native)) return native;
  const seen = Object.entries(numbers).filter(([, v]) => v !== undefined)
    .map(([n, v]) => `${n}=${v}`).join(", ");
  throw new Error(
    `${call}: the syscall numbers of ${where} (${seen || "none"}) match ${
      candidates.length === 0 ? "no architecture with a table" : candidates.join(" and ")
    }; pass options.arches`,
  );
}

/**
 * The architecture of a control process, told by the syscall numbers it was built with
 * (`syscallConstant`), so that a filter compiled for it checks the `arch` and numbers its
 * calls will really have. (AUDIT_ARCH_* constants cannot tell: every one is defined on every
 * machine.)
 *
 * @param drv The driver.
 * @param pipeline The control process ([] is the root).
 * @param options Timeout and abort signal for the look-ups.
 * @returns The architecture.
 * @throws {Error} The numbers match no architecture with a table, or several.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import { seccompArch } from "./mod.ts";
 * await using drv = await Alcove.start();
 * console.log(await seccompArch(drv, [])); // "x86_64" on a 64-bit PC
 * ```
 */
export async function seccompArch(
  drv: Pick<AlcoveCallMethods, "syscallConstant">,
  pipeline: Pipeline,
  options?: CallOptions,
): Promise<SeccompArch> {
  const call = "seccompArch";
  checkMethods(call, "drv", drv, ["syscallConstant"]);
  checkPipeline(call, pipeline);
  const values = await Promise.all(
    ARCH_PROBES.map((name) => drv.syscallConstant(pipeline, `SYS_${name}`, options)),
  );
  const numbers = Object.fromEntries(ARCH_PROBES.map((name, i) => [name, values[i]]));
  return pickArch(call, `process [${pipeline.join(", ")}]`, numbers);
}

/**
 * The architecture of the host process, told by the syscall numbers libalcove was built with
 * (see `seccompArch`).
 *
 * @param local The host process's calls (`openLocal()`).
 * @returns The architecture.
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * import { seccompArchLocal } from "./mod.ts";
 * using local = openLocal();
 * console.log(seccompArchLocal(local)); // "x86_64" on a 64-bit PC
 * ```
 */
export function seccompArchLocal(local: Pick<Local, "constants">): SeccompArch {
  const call = "seccompArchLocal";
  checkObject(call, "local", local);
  const numbers = Object.fromEntries(
    ARCH_PROBES.map((name) => [name, local.constants.lookup("syscall", `SYS_${name}`)]),
  );
  return pickArch(call, "the host process", numbers);
}

// ---------------------------------------------------------------------------------------------
// Installing a policy

function checkPolicy(call: string, policy: unknown): void {
  checkObject(call, "policy", policy);
  const p = policy as SeccompPolicy;
  if (!Array.isArray(p.rules)) throw new TypeError(`${call}: policy.rules must be an array`);
  try {
    actionValue(p.defaultAction);
  } catch (e) {
    throw new TypeError(`${call}: policy.defaultAction: ${(e as Error).message}`, { cause: e });
  }
}

function compileFor(
  call: string,
  policy: SeccompPolicy,
  arches: readonly SeccompArch[],
  options: InstallPolicyOptions,
): Instruction[] {
  const { badArchAction, outsideTableAction } = options;
  try {
    return compilePolicy(policy, { badArchAction, outsideTableAction, arches });
  } catch (e) {
    throw new RangeError(`${call}: ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Compiles a policy for the architecture of a control process (`seccompArch`, unless
 * `options.arches` is given) and installs it there with `installFilter`.
 *
 * @param drv The driver.
 * @param pipeline The control process that installs the filter ([] is the root).
 * @param policy The default action and the rules (see `compilePolicy`).
 * @param options Install options, and compile options (`arches`, `badArchAction`,
 *   `outsideTableAction`).
 * @returns What was installed: the program, its architectures and the system call's value.
 * @throws {TypeError | RangeError} An invalid policy or option, or one that does not compile
 *   (nothing that changes the process was sent).
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import { DEFAULT_PROFILE } from "./profile.ts";
 * import { installPolicy } from "./mod.ts";
 *
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await installPolicy(drv, [pid], DEFAULT_PROFILE);
 * await drv.execvp([pid], "/bin/sh", ["sh", "-c", "echo confined"]);
 * console.log(await drv.event([pid])); // { type: "exit", status: 0 }
 * ```
 */
export async function installPolicy(
  drv: FilterDriver,
  pipeline: Pipeline,
  policy: SeccompPolicy,
  options: InstallPolicyOptions = {},
): Promise<PolicyInstallResult> {
  const call = "installPolicy";
  checkMethods(call, "drv", drv, ["prctl", "seccomp", "syscallConstant"]);
  checkPipeline(call, pipeline);
  checkPolicy(call, policy);
  const { callOptions } = checkOptions(call, drv.constants, options, false);
  const arches = options.arches ?? [await seccompArch(drv, pipeline, callOptions)];
  const program = compileFor(call, policy, arches, options);
  const result = await installFilter(drv, pipeline, program, options);
  return { ...result, arches: [...arches], program };
}

/**
 * Compiles a policy for the host process's architecture (`seccompArchLocal`, unless
 * `options.arches` is given) and installs it on every thread with `installFilterLocal`.
 *
 * @param local The host process's calls (`openLocal()`).
 * @param policy The default action and the rules (see `compilePolicy`).
 * @param options Install options (`tsync` defaults to true) and compile options.
 * @returns What was installed.
 *
 * @example
 * ```ts
 * import { openLocal } from "@alcove/alcove";
 * import { installPolicyLocal } from "./mod.ts";
 *
 * using local = openLocal();
 * installPolicyLocal(local, {
 *   defaultAction: "allow",
 *   rules: [{ names: ["ptrace", "process_vm_readv", "process_vm_writev"], action: { errno: 1 } }],
 * });
 * ```
 */
export function installPolicyLocal(
  local: FilterLocal,
  policy: SeccompPolicy,
  options: InstallPolicyOptions = {},
): PolicyInstallResult {
  const call = "installPolicyLocal";
  checkMethods(call, "local", local, ["prctl", "seccomp"]);
  checkPolicy(call, policy);
  checkOptions(call, local.constants, options, true);
  const arches = options.arches ?? [seccompArchLocal(local)];
  const program = compileFor(call, policy, arches, options);
  const result = installFilterLocal(local, program, options);
  return { ...result, arches: [...arches], program };
}

// ---------------------------------------------------------------------------------------------
// The siginfo of SIGSYS

/** SIGSYS on every architecture with a table here. */
const SIGSYS = 31;
/** `si_code` of a SIGSYS sent by a seccomp filter. */
const SYS_SECCOMP = 1;

/**
 * What the siginfo of a seccomp SIGSYS says (the `_sigsys` fields of `siginfo_t`).
 *
 * @example
 * ```ts
 * import type { SigsysInfo } from "./mod.ts";
 * const show = (i: SigsysInfo) => `${i.name ?? i.syscall} (${i.archName ?? i.arch.toString(16)})`;
 * ```
 */
export interface SigsysInfo {
  /** The syscall number the filter trapped (`si_syscall`). */
  readonly syscall: number;
  /** Its AUDIT_ARCH value (`si_arch`): the calling convention it used. */
  readonly arch: number;
  /** The address of the instruction after the system call (`si_call_addr`). */
  readonly callAddr: bigint;
  /** The filter's 16 data bits of the TRAP return (`si_errno`). */
  readonly data: number;
  /** True when a seccomp filter sent the signal (`si_code` is SYS_SECCOMP). */
  readonly seccomp: boolean;
  /** The architecture with a table for `arch` (x86_64 or x32 by the number's x32 bit). */
  readonly archName: SeccompArch | undefined;
  /** The syscall's name in that architecture's table. */
  readonly name: string | undefined;
}

/**
 * Decodes the raw `siginfo_t` of a SIGSYS (the `info` of a `signal` event, 128 bytes) into the
 * syscall a seccomp filter trapped. Pure: it reads bytes.
 *
 * The fields follow the kernel's layout: `si_signo`, `si_errno` and `si_code` (three ints),
 * then the union, aligned to a pointer: `si_call_addr` at 16, `si_syscall` at 24 and `si_arch`
 * at 28 on 64-bit platforms, at 12, 16 and 20 on 32-bit ones.
 *
 * This is how to learn which call a filter refuses: compile the policy with `{ trap: N }` as
 * its deny action and install it in a control process, which catches SIGSYS and reports it as
 * an event instead of dying (a process killed by a filter only shows `termsig` SIGSYS).
 *
 * @param info The siginfo bytes.
 * @param options `wordSize` of the process that caught the signal: 8 (default) or 4.
 * @returns The trapped call.
 * @throws {RangeError} Too few bytes, or the siginfo of another signal.
 *
 * @example
 * ```ts
 * import { Alcove } from "@alcove/alcove";
 * import { installPolicy, sigsysInfo } from "./mod.ts";
 *
 * await using drv = await Alcove.start();
 * const pid = await drv.fork([]);
 * await installPolicy(drv, [pid], {
 *   defaultAction: "allow",
 *   rules: [{ names: ["mkdir", "mkdirat"], action: { trap: 7 } }],
 *   skipUnknown: true,
 * });
 * await drv.mkdir([pid], "/tmp/never", 0o700); // not run: the filter traps it
 * const event = await drv.event([pid], { timeout: 1000 });
 * if (event?.type === "signal") console.log(sigsysInfo(event.info)); // { name: "mkdir", data: 7, ... }
 * ```
 */
export function sigsysInfo(info: Uint8Array, options: { wordSize?: 4 | 8 } = {}): SigsysInfo {
  if (!(info instanceof Uint8Array)) throw new TypeError("sigsysInfo: info must be a Uint8Array");
  const wordSize = options.wordSize ?? 8;
  if (wordSize !== 4 && wordSize !== 8) {
    throw new RangeError(`sigsysInfo: wordSize must be 4 or 8, got ${wordSize}`);
  }
  const union = wordSize === 8 ? 16 : 12;
  const end = union + wordSize + 8;
  if (info.length < end) {
    throw new RangeError(`sigsysInfo: ${info.length} bytes are too few for a siginfo_t`);
  }
  const view = new DataView(info.buffer, info.byteOffset, info.byteLength);
  const le = PLATFORM_LITTLE_ENDIAN;
  const signo = view.getInt32(0, le);
  if (signo !== SIGSYS) {
    throw new RangeError(`sigsysInfo: the siginfo is of signal ${signo}, not SIGSYS (${SIGSYS})`);
  }
  const callAddr = wordSize === 8
    ? view.getBigUint64(union, le)
    : BigInt(view.getUint32(union, le));
  const syscall = view.getInt32(union + wordSize, le);
  const arch = view.getUint32(union + wordSize + 4, le);
  // x86_64 and x32 share an AUDIT_ARCH value; the x32 bit of the number tells them apart.
  const x32 = (syscall & X32_SYSCALL_BIT) !== 0;
  const archName = SECCOMP_ARCHES.find((a) =>
    auditArch(a) === arch && (a === "x32" ? x32 : a === "x86_64" ? !x32 : true)
  );
  return {
    syscall,
    arch,
    callAddr,
    data: view.getInt32(4, le),
    seccomp: view.getInt32(8, le) === SYS_SECCOMP,
    archName,
    name: archName === undefined ? undefined : syscallName(syscall, archName),
  };
}
