/**
 * Architectures a seccomp filter can target and their syscall tables: name to number, number to
 * name, the AUDIT_ARCH value the kernel puts in `seccomp_data.arch`, and the width of arguments.
 *
 * The tables are data generated from libseccomp by `scripts/gen_syscalls.ts`. A name missing
 * from an architecture's table does not exist there (`open` on aarch64, `socketcall` on x86_64);
 * the caller decides what that means for its filter.
 *
 * @example
 * ```ts
 * import { auditArch, syscallName, syscallNumber } from "./arch.ts";
 *
 * console.log(syscallNumber("openat", "aarch64")); // 56
 * console.log(syscallNumber("open", "aarch64")); // undefined
 * console.log(syscallName(0x40000000, "x32")); // "read"
 * console.log(auditArch("x86").toString(16)); // "40000003"
 * ```
 *
 * @module
 */

import { SYSCALL_ARCHES, SYSCALL_TABLES, type SyscallArch } from "./_syscall_tables.ts";
import { runtime, runtimeName } from "../_runtime.ts";

/**
 * An architecture a filter can target, named as libseccomp names it: `x86_64`, `x86` (i386),
 * `x32`, `aarch64`, `arm` (EABI) and `riscv64`.
 *
 * @example
 * ```ts
 * import type { SeccompArch } from "./arch.ts";
 * const arches: SeccompArch[] = ["x86_64", "x86", "x32"];
 * ```
 */
export type SeccompArch = SyscallArch;

/**
 * Every architecture with a syscall table.
 *
 * @example
 * ```ts
 * import { SECCOMP_ARCHES } from "./arch.ts";
 * console.log(SECCOMP_ARCHES.length); // 6
 * ```
 */
export const SECCOMP_ARCHES: readonly SeccompArch[] = SYSCALL_ARCHES;

/**
 * The bit the kernel sets in x32 syscall numbers. x32 shares AUDIT_ARCH_X86_64 with x86_64, so
 * this bit is what tells the two apart in a filter.
 *
 * @example
 * ```ts
 * import { X32_SYSCALL_BIT, syscallNumber } from "./arch.ts";
 * console.log(syscallNumber("read", "x32") === X32_SYSCALL_BIT); // true
 * ```
 */
export const X32_SYSCALL_BIT = 0x40000000;

function checkArch(arch: string): SeccompArch {
  if (!(SYSCALL_ARCHES as readonly string[]).includes(arch)) {
    throw new RangeError(
      `Unknown seccomp architecture "${arch}": expected one of ${SYSCALL_ARCHES.join(", ")}`,
    );
  }
  return arch as SeccompArch;
}

/**
 * Whether `arch` names an architecture with a syscall table.
 *
 * @example
 * ```ts
 * import { isSeccompArch } from "./arch.ts";
 * console.log(isSeccompArch("riscv64"), isSeccompArch("mips")); // true false
 * ```
 */
export function isSeccompArch(arch: string): arch is SeccompArch {
  return (SYSCALL_ARCHES as readonly string[]).includes(arch);
}

/**
 * The architecture of the running process, or undefined when it has no syscall table here.
 *
 * @example
 * ```ts
 * import { nativeArch } from "./arch.ts";
 * console.log(nativeArch()); // "x86_64" on a 64-bit PC
 * ```
 */
export function nativeArch(): SeccompArch | undefined {
  const arch = runtimeName() === "unknown" ? undefined : runtime.arch();
  return arch !== undefined && isSeccompArch(arch) ? arch : undefined;
}

/**
 * The AUDIT_ARCH value of `arch` (x32 reports AUDIT_ARCH_X86_64).
 *
 * @example
 * ```ts
 * import { auditArch } from "./arch.ts";
 * console.log(auditArch("x86_64") === 0xc000003e); // true
 * ```
 */
export function auditArch(arch: SeccompArch): number {
  return SYSCALL_TABLES[checkArch(arch)].auditArch;
}

/**
 * Whether system call arguments are 32 bits wide on `arch` (x86 and arm): the kernel then
 * passes zero in the high half of each `seccomp_data.args[i]`.
 *
 * @example
 * ```ts
 * import { hasNarrowArgs } from "./arch.ts";
 * console.log(hasNarrowArgs("arm"), hasNarrowArgs("x32")); // true false
 * ```
 */
export function hasNarrowArgs(arch: SeccompArch): boolean {
  return checkArch(arch) === "x86" || arch === "arm";
}

/**
 * The number of syscall `name` on `arch`, or undefined when the call does not exist there.
 *
 * @example
 * ```ts
 * import { syscallNumber } from "./arch.ts";
 * console.log(syscallNumber("socket", "x86")); // 359
 * ```
 */
export function syscallNumber(name: string, arch: SeccompArch): number | undefined {
  const numbers = SYSCALL_TABLES[checkArch(arch)].numbers;
  return Object.hasOwn(numbers, name) ? numbers[name] : undefined;
}

const namesByNumber = new Map<SeccompArch, Map<number, string>>();

/**
 * The name of syscall `nr` on `arch`, or undefined when no call has that number.
 *
 * @example
 * ```ts
 * import { syscallName } from "./arch.ts";
 * console.log(syscallName(59, "x86_64")); // "execve"
 * ```
 */
export function syscallName(nr: number, arch: SeccompArch): string | undefined {
  let names = namesByNumber.get(checkArch(arch));
  if (names === undefined) {
    names = new Map(Object.entries(SYSCALL_TABLES[arch].numbers).map(([n, v]) => [v, n]));
    namesByNumber.set(arch, names);
  }
  return names.get(nr);
}

/**
 * Every syscall name of `arch`, in number order.
 *
 * @example
 * ```ts
 * import { syscallNames } from "./arch.ts";
 * console.log(syscallNames("x86_64")[0]); // "read"
 * ```
 */
export function syscallNames(arch: SeccompArch): string[] {
  return Object.keys(SYSCALL_TABLES[checkArch(arch)].numbers);
}

/**
 * The ranges of syscall numbers the table of `arch` covers, as inclusive `[first, last]` pairs:
 * the regular range from the architecture's base (0, or the x32 bit) to its highest call, and
 * separate ranges for private calls far above it (ARM's 0xf0000 calls). The policy compiler
 * answers ENOSYS for numbers outside them.
 *
 * @example
 * ```ts
 * import { syscallRanges } from "./arch.ts";
 * console.log(syscallRanges("arm")); // [[0, 456], [983040, 983046]] with the current table
 * ```
 */
export function syscallRanges(arch: SeccompArch): [number, number][] {
  const numbers = Object.values(SYSCALL_TABLES[checkArch(arch)].numbers).sort((a, b) => a - b);
  const base = arch === "x32" ? X32_SYSCALL_BIT : 0;
  const ranges: [number, number][] = [];
  for (const nr of numbers) {
    const last = ranges.at(-1);
    // A gap of more than a page of numbers starts a separate block of calls.
    if (last !== undefined && nr - last[1] <= 0x1000) {
      last[1] = nr;
    } else {
      ranges.push([last === undefined ? base : nr & ~0xfff, nr]);
    }
  }
  return ranges;
}
