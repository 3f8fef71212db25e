/**
 * Classic BPF for seccomp: the instruction constants, `stmt`/`jump` to build instructions,
 * `assemble` to encode them as the kernel's `struct sock_filter` array, the `seccomp_data`
 * offsets, the `SECCOMP_RET_*` return values and small helpers to write a filter by hand.
 *
 * Everything here is a pure function: nothing touches a process. The caller supplies syscall
 * numbers (see `syscallNumber` in `arch.ts`, or ask the process that will install the
 * filter) and installs the program with `installFilter` (`install.ts`).
 *
 * @example
 * ```ts
 * import {
 *   AUDIT_ARCH_X86_64,
 *   allowSyscall,
 *   assemble,
 *   loadSyscallNr,
 *   retErrno,
 *   validateArch,
 * } from "./bpf.ts";
 *
 * const EPERM = 1;
 * const program = [
 *   ...validateArch(AUDIT_ARCH_X86_64),
 *   loadSyscallNr(),
 *   ...allowSyscall(0), // read
 *   ...allowSyscall(1), // write
 *   retErrno(EPERM),
 * ];
 * const bytes = assemble(program); // 8 bytes per instruction
 * ```
 *
 * @module
 */

import {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_RISCV64,
  AUDIT_ARCH_X86_64,
} from "./_syscall_tables.ts";

export {
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_RISCV64,
  AUDIT_ARCH_X86_64,
};

// ---------------------------------------------------------------------------------------------
// Instruction classes, sizes, modes and operations (<linux/bpf_common.h>, <linux/filter.h>)

/**
 * Instruction class: load into the accumulator A.
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, stmt } from "./bpf.ts";
 * const loadNr = stmt(BPF_LD | BPF_W | BPF_ABS, 0);
 * ```
 */
export const BPF_LD = 0x00;
/**
 * Instruction class: load into the index register X.
 *
 * @example
 * ```ts
 * import { BPF_IMM, BPF_LDX, BPF_W, stmt } from "./bpf.ts";
 * const xIsFour = stmt(BPF_LDX | BPF_W | BPF_IMM, 4);
 * ```
 */
export const BPF_LDX = 0x01;
/**
 * Instruction class: store A into the scratch memory `M[k]`.
 *
 * @example
 * ```ts
 * import { BPF_ST, stmt } from "./bpf.ts";
 * const saveA = stmt(BPF_ST, 0);
 * ```
 */
export const BPF_ST = 0x02;
/**
 * Instruction class: store X into the scratch memory `M[k]`.
 *
 * @example
 * ```ts
 * import { BPF_STX, stmt } from "./bpf.ts";
 * const saveX = stmt(BPF_STX, 1);
 * ```
 */
export const BPF_STX = 0x03;
/**
 * Instruction class: arithmetic on A (32-bit, unsigned).
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_AND, BPF_K, stmt } from "./bpf.ts";
 * const lowByte = stmt(BPF_ALU | BPF_AND | BPF_K, 0xff);
 * ```
 */
export const BPF_ALU = 0x04;
/**
 * Instruction class: jumps (always forward).
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const isRead = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
 * ```
 */
export const BPF_JMP = 0x05;
/**
 * Instruction class: return the filter's verdict.
 *
 * @example
 * ```ts
 * import { BPF_K, BPF_RET, SECCOMP_RET_ALLOW, stmt } from "./bpf.ts";
 * const allow = stmt(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
 * ```
 */
export const BPF_RET = 0x06;
/**
 * Instruction class: register moves (`tax`, `txa`).
 *
 * @example
 * ```ts
 * import { BPF_MISC, BPF_TAX, stmt } from "./bpf.ts";
 * const copyAtoX = stmt(BPF_MISC | BPF_TAX, 0);
 * ```
 */
export const BPF_MISC = 0x07;

/**
 * Load size: 32-bit word, the only size seccomp accepts.
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, stmt } from "./bpf.ts";
 * const loadArch = stmt(BPF_LD | BPF_W | BPF_ABS, 4);
 * ```
 */
export const BPF_W = 0x00;
/**
 * Load size: 16-bit half word (rejected by seccomp).
 *
 * @example
 * ```ts
 * import { BPF_H } from "./bpf.ts";
 * console.log(BPF_H); // 8
 * ```
 */
export const BPF_H = 0x08;
/**
 * Load size: byte (rejected by seccomp).
 *
 * @example
 * ```ts
 * import { BPF_B } from "./bpf.ts";
 * console.log(BPF_B); // 16
 * ```
 */
export const BPF_B = 0x10;

/**
 * Load mode: the constant `k`.
 *
 * @example
 * ```ts
 * import { BPF_IMM, BPF_LD, stmt } from "./bpf.ts";
 * const aIsSeven = stmt(BPF_LD | BPF_IMM, 7);
 * ```
 */
export const BPF_IMM = 0x00;
/**
 * Load mode: the word at offset `k` of `struct seccomp_data`.
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, SECCOMP_DATA, stmt } from "./bpf.ts";
 * const loadNr = stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.nr);
 * ```
 */
export const BPF_ABS = 0x20;
/**
 * Load mode: offset `X + k` (rejected by seccomp).
 *
 * @example
 * ```ts
 * import { BPF_IND } from "./bpf.ts";
 * console.log(BPF_IND); // 64
 * ```
 */
export const BPF_IND = 0x40;
/**
 * Load mode: the scratch memory word `M[k]`.
 *
 * @example
 * ```ts
 * import { BPF_LD, BPF_MEM, stmt } from "./bpf.ts";
 * const restoreA = stmt(BPF_LD | BPF_MEM, 0);
 * ```
 */
export const BPF_MEM = 0x60;
/**
 * Load mode: the packet length, for seccomp the size of `struct seccomp_data` (64).
 *
 * @example
 * ```ts
 * import { BPF_LD, BPF_LEN, BPF_W, stmt } from "./bpf.ts";
 * const aIsSize = stmt(BPF_LD | BPF_W | BPF_LEN, 0);
 * ```
 */
export const BPF_LEN = 0x80;
/**
 * Load mode: IP header length helper (rejected by seccomp).
 *
 * @example
 * ```ts
 * import { BPF_MSH } from "./bpf.ts";
 * console.log(BPF_MSH); // 160
 * ```
 */
export const BPF_MSH = 0xa0;

/**
 * ALU operation: `A += operand`.
 *
 * @example
 * ```ts
 * import { BPF_ADD, BPF_ALU, BPF_K, stmt } from "./bpf.ts";
 * const plusOne = stmt(BPF_ALU | BPF_ADD | BPF_K, 1);
 * ```
 */
export const BPF_ADD = 0x00;
/**
 * ALU operation: `A -= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_SUB, stmt } from "./bpf.ts";
 * const minusOne = stmt(BPF_ALU | BPF_SUB | BPF_K, 1);
 * ```
 */
export const BPF_SUB = 0x10;
/**
 * ALU operation: `A *= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_MUL, stmt } from "./bpf.ts";
 * const double = stmt(BPF_ALU | BPF_MUL | BPF_K, 2);
 * ```
 */
export const BPF_MUL = 0x20;
/**
 * ALU operation: `A /= operand` (unsigned; a zero divisor ends the filter with 0).
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_DIV, BPF_K, stmt } from "./bpf.ts";
 * const half = stmt(BPF_ALU | BPF_DIV | BPF_K, 2);
 * ```
 */
export const BPF_DIV = 0x30;
/**
 * ALU operation: `A |= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_OR, stmt } from "./bpf.ts";
 * const setBit = stmt(BPF_ALU | BPF_OR | BPF_K, 1);
 * ```
 */
export const BPF_OR = 0x40;
/**
 * ALU operation: `A &= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_AND, BPF_K, stmt } from "./bpf.ts";
 * const lowByte = stmt(BPF_ALU | BPF_AND | BPF_K, 0xff);
 * ```
 */
export const BPF_AND = 0x50;
/**
 * ALU operation: `A <<= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_LSH, stmt } from "./bpf.ts";
 * const timesFour = stmt(BPF_ALU | BPF_LSH | BPF_K, 2);
 * ```
 */
export const BPF_LSH = 0x60;
/**
 * ALU operation: `A >>= operand` (logical).
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_RSH, stmt } from "./bpf.ts";
 * const highHalf = stmt(BPF_ALU | BPF_RSH | BPF_K, 16);
 * ```
 */
export const BPF_RSH = 0x70;
/**
 * ALU operation: `A = -A`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_NEG, stmt } from "./bpf.ts";
 * const negate = stmt(BPF_ALU | BPF_NEG, 0);
 * ```
 */
export const BPF_NEG = 0x80;
/**
 * ALU operation: `A %= operand` (rejected by seccomp).
 *
 * @example
 * ```ts
 * import { BPF_MOD } from "./bpf.ts";
 * console.log(BPF_MOD); // 144
 * ```
 */
export const BPF_MOD = 0x90;
/**
 * ALU operation: `A ^= operand`.
 *
 * @example
 * ```ts
 * import { BPF_ALU, BPF_K, BPF_XOR, stmt } from "./bpf.ts";
 * const flip = stmt(BPF_ALU | BPF_XOR | BPF_K, 1);
 * ```
 */
export const BPF_XOR = 0xa0;

/**
 * Jump operation: always, by the 32-bit offset `k` (the long jump).
 *
 * @example
 * ```ts
 * import { BPF_JA, BPF_JMP, stmt } from "./bpf.ts";
 * const skip300 = stmt(BPF_JMP | BPF_JA, 300);
 * ```
 */
export const BPF_JA = 0x00;
/**
 * Jump operation: `A == operand`.
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const isZero = jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1);
 * ```
 */
export const BPF_JEQ = 0x10;
/**
 * Jump operation: `A > operand` (unsigned).
 *
 * @example
 * ```ts
 * import { BPF_JGT, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const above456 = jump(BPF_JMP | BPF_JGT | BPF_K, 456, 0, 1);
 * ```
 */
export const BPF_JGT = 0x20;
/**
 * Jump operation: `A >= operand` (unsigned).
 *
 * @example
 * ```ts
 * import { BPF_JGE, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const x32 = jump(BPF_JMP | BPF_JGE | BPF_K, 0x40000000, 0, 1);
 * ```
 */
export const BPF_JGE = 0x30;
/**
 * Jump operation: `(A & operand) != 0`.
 *
 * @example
 * ```ts
 * import { BPF_JMP, BPF_JSET, BPF_K, jump } from "./bpf.ts";
 * const anyLowBit = jump(BPF_JMP | BPF_JSET | BPF_K, 0xff, 0, 1);
 * ```
 */
export const BPF_JSET = 0x40;

/**
 * Operand source: the constant `k`.
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const isFive = jump(BPF_JMP | BPF_JEQ | BPF_K, 5, 0, 1);
 * ```
 */
export const BPF_K = 0x00;
/**
 * Operand source: the index register X.
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_X, jump } from "./bpf.ts";
 * const aEqualsX = jump(BPF_JMP | BPF_JEQ | BPF_X, 0, 0, 1);
 * ```
 */
export const BPF_X = 0x08;
/**
 * Return source: the accumulator A (`ret a`).
 *
 * @example
 * ```ts
 * import { BPF_A, BPF_RET, stmt } from "./bpf.ts";
 * const returnA = stmt(BPF_RET | BPF_A, 0);
 * ```
 */
export const BPF_A = 0x10;
/**
 * Register move: `X = A`.
 *
 * @example
 * ```ts
 * import { BPF_MISC, BPF_TAX, stmt } from "./bpf.ts";
 * const tax = stmt(BPF_MISC | BPF_TAX, 0);
 * ```
 */
export const BPF_TAX = 0x00;
/**
 * Register move: `A = X`.
 *
 * @example
 * ```ts
 * import { BPF_MISC, BPF_TXA, stmt } from "./bpf.ts";
 * const txa = stmt(BPF_MISC | BPF_TXA, 0);
 * ```
 */
export const BPF_TXA = 0x80;

/**
 * The most instructions the kernel accepts in one filter.
 *
 * @example
 * ```ts
 * import { BPF_MAXINSNS } from "./bpf.ts";
 * console.log(BPF_MAXINSNS); // 4096
 * ```
 */
export const BPF_MAXINSNS = 4096;
/**
 * The number of 32-bit scratch memory words `M[0..15]`.
 *
 * @example
 * ```ts
 * import { BPF_MEMWORDS } from "./bpf.ts";
 * console.log(BPF_MEMWORDS); // 16
 * ```
 */
export const BPF_MEMWORDS = 16;

/**
 * The class bits of an opcode (`BPF_CLASS` in C).
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, bpfClass } from "./bpf.ts";
 * console.log(bpfClass(BPF_LD | BPF_W | BPF_ABS) === BPF_LD); // true
 * ```
 */
export function bpfClass(code: number): number {
  return code & 0x07;
}

/**
 * The operation bits of an ALU or jump opcode (`BPF_OP` in C).
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, bpfOp } from "./bpf.ts";
 * console.log(bpfOp(BPF_JMP | BPF_JEQ | BPF_K) === BPF_JEQ); // true
 * ```
 */
export function bpfOp(code: number): number {
  return code & 0xf0;
}

/**
 * The operand source bit of an ALU or jump opcode (`BPF_SRC` in C): `BPF_K` or `BPF_X`.
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_X, bpfSrc } from "./bpf.ts";
 * console.log(bpfSrc(BPF_JMP | BPF_JEQ | BPF_X) === BPF_X); // true
 * ```
 */
export function bpfSrc(code: number): number {
  return code & 0x08;
}

/**
 * The addressing mode bits of a load opcode (`BPF_MODE` in C).
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, bpfMode } from "./bpf.ts";
 * console.log(bpfMode(BPF_LD | BPF_W | BPF_ABS) === BPF_ABS); // true
 * ```
 */
export function bpfMode(code: number): number {
  return code & 0xe0;
}

/**
 * The size bits of a load opcode (`BPF_SIZE` in C).
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, bpfSize } from "./bpf.ts";
 * console.log(bpfSize(BPF_LD | BPF_W | BPF_ABS) === BPF_W); // true
 * ```
 */
export function bpfSize(code: number): number {
  return code & 0x18;
}

// ---------------------------------------------------------------------------------------------
// Seccomp return values (<linux/seccomp.h>)

/**
 * Kill the whole process (thread group), as by an uncatchable SIGSYS; the exit status shows
 * SIGSYS and, with core dumps enabled, a core is written.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_KILL_PROCESS, retAction } from "./bpf.ts";
 * const kill = retAction(SECCOMP_RET_KILL_PROCESS);
 * ```
 */
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
/**
 * Kill only the calling thread.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_KILL_THREAD, retAction } from "./bpf.ts";
 * const killThread = retAction(SECCOMP_RET_KILL_THREAD);
 * ```
 */
export const SECCOMP_RET_KILL_THREAD = 0x00000000;
/**
 * Send a catchable SIGSYS; `si_syscall` names the call and `si_errno` carries the data bits.
 *
 * @example
 * ```ts
 * import { retTrap } from "./bpf.ts";
 * const trap = retTrap(7);
 * ```
 */
export const SECCOMP_RET_TRAP = 0x00030000;
/**
 * Fail the call with the errno in the data bits, without running it.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_ERRNO } from "./bpf.ts";
 * const EPERM = 1;
 * const value = SECCOMP_RET_ERRNO | EPERM;
 * ```
 */
export const SECCOMP_RET_ERRNO = 0x00050000;
/**
 * Hand the call to the supervisor holding the filter's user notification descriptor.
 *
 * @example
 * ```ts
 * import { retUserNotif } from "./bpf.ts";
 * const notify = retUserNotif();
 * ```
 */
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
/**
 * Stop for a ptrace tracer (PTRACE_EVENT_SECCOMP with the data bits); ENOSYS without a tracer.
 *
 * @example
 * ```ts
 * import { retTrace } from "./bpf.ts";
 * const trace = retTrace(1);
 * ```
 */
export const SECCOMP_RET_TRACE = 0x7ff00000;
/**
 * Allow the call and log it (kernel audit log, `type=SECCOMP` records).
 *
 * @example
 * ```ts
 * import { retLog } from "./bpf.ts";
 * const log = retLog();
 * ```
 */
export const SECCOMP_RET_LOG = 0x7ffc0000;
/**
 * Allow the call.
 *
 * @example
 * ```ts
 * import { retAllow } from "./bpf.ts";
 * const allow = retAllow();
 * ```
 */
export const SECCOMP_RET_ALLOW = 0x7fff0000;
/**
 * Mask of the action bits of a return value, including the sign bit of KILL_PROCESS.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ERRNO } from "./bpf.ts";
 * console.log(((SECCOMP_RET_ERRNO | 1) & SECCOMP_RET_ACTION_FULL) === SECCOMP_RET_ERRNO); // true
 * ```
 */
export const SECCOMP_RET_ACTION_FULL = 0xffff0000;
/**
 * Mask of the action bits without the KILL_PROCESS sign bit (the pre-4.14 mask).
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_ACTION } from "./bpf.ts";
 * console.log(SECCOMP_RET_ACTION.toString(16)); // 7fff0000
 * ```
 */
export const SECCOMP_RET_ACTION = 0x7fff0000;
/**
 * Mask of the data bits of a return value (errno, trap or trace data).
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_DATA, SECCOMP_RET_ERRNO } from "./bpf.ts";
 * console.log((SECCOMP_RET_ERRNO | 13) & SECCOMP_RET_DATA); // 13
 * ```
 */
export const SECCOMP_RET_DATA = 0x0000ffff;

/**
 * The largest errno the kernel passes through an ERRNO action; larger data is capped to it.
 *
 * @example
 * ```ts
 * import { MAX_ERRNO } from "./bpf.ts";
 * console.log(MAX_ERRNO); // 4095
 * ```
 */
export const MAX_ERRNO = 4095;

/**
 * The kernel's names of the seccomp actions, by action value.
 *
 * @example
 * ```ts
 * import { SECCOMP_ACTION_NAMES, SECCOMP_RET_LOG } from "./bpf.ts";
 * console.log(SECCOMP_ACTION_NAMES.get(SECCOMP_RET_LOG)); // "LOG"
 * ```
 */
export const SECCOMP_ACTION_NAMES: ReadonlyMap<number, string> = new Map([
  [SECCOMP_RET_KILL_PROCESS, "KILL_PROCESS"],
  [SECCOMP_RET_KILL_THREAD, "KILL_THREAD"],
  [SECCOMP_RET_TRAP, "TRAP"],
  [SECCOMP_RET_ERRNO, "ERRNO"],
  [SECCOMP_RET_USER_NOTIF, "USER_NOTIF"],
  [SECCOMP_RET_TRACE, "TRACE"],
  [SECCOMP_RET_LOG, "LOG"],
  [SECCOMP_RET_ALLOW, "ALLOW"],
]);

// ---------------------------------------------------------------------------------------------
// struct seccomp_data

/** True when this platform stores integers little-endian, as every target of the tables does. */
const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Byte offsets in `struct seccomp_data` (64 bytes): `nr` (int), `arch` (u32),
 * `instruction_pointer` (u64) and `args[6]` (u64). BPF loads 32-bit words, so each 64-bit field
 * has a low and a high half; their offsets follow this platform's byte order.
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, SECCOMP_DATA, stmt } from "./bpf.ts";
 * const loadArch = stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.arch); // offset 4
 * const loadFirstArgLow = stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.argLow[0]);
 * ```
 */
export const SECCOMP_DATA = {
  /** The syscall number: offset 0. */
  nr: 0,
  /** The AUDIT_ARCH value of the calling convention: offset 4. */
  arch: 4,
  /** The 64-bit instruction pointer at the time of the call: offset 8. */
  instructionPointer: 8,
  /** The low 32 bits of the instruction pointer. */
  instructionPointerLow: LITTLE_ENDIAN ? 8 : 12,
  /** The high 32 bits of the instruction pointer. */
  instructionPointerHigh: LITTLE_ENDIAN ? 12 : 8,
  /** Offset of each 64-bit argument: 16 + 8 * index. */
  args: [16, 24, 32, 40, 48, 56],
  /** Offset of the low 32 bits of each argument. */
  argLow: LITTLE_ENDIAN ? [16, 24, 32, 40, 48, 56] : [20, 28, 36, 44, 52, 60],
  /** Offset of the high 32 bits of each argument. */
  argHigh: LITTLE_ENDIAN ? [20, 28, 36, 44, 52, 60] : [16, 24, 32, 40, 48, 56],
  /** `sizeof(struct seccomp_data)`. */
  size: 64,
} as const satisfies Record<string, number | readonly number[]>;

/**
 * Whether `seccomp_data` and `sock_filter` are little-endian on this platform (true on every
 * architecture with a syscall table here).
 *
 * @example
 * ```ts
 * import { PLATFORM_LITTLE_ENDIAN } from "./bpf.ts";
 * console.log(PLATFORM_LITTLE_ENDIAN);
 * ```
 */
export const PLATFORM_LITTLE_ENDIAN: boolean = LITTLE_ENDIAN;

// ---------------------------------------------------------------------------------------------
// Instructions

/**
 * One classic BPF instruction, `struct sock_filter`: a 16-bit opcode, the jump offsets taken
 * when a condition is true (`jt`) or false (`jf`), counted from the next instruction, and the
 * 32-bit operand `k` (always stored unsigned).
 *
 * @example
 * ```ts
 * import type { Instruction } from "./bpf.ts";
 * const ret: Instruction = { code: 0x06, jt: 0, jf: 0, k: 0x7fff0000 };
 * ```
 */
export interface Instruction {
  /** The opcode: class | size/operation | mode/source. */
  readonly code: number;
  /** Instructions to skip when the condition holds. */
  readonly jt: number;
  /** Instructions to skip when the condition does not hold. */
  readonly jf: number;
  /** The operand, an unsigned 32-bit value. */
  readonly k: number;
}

function checkU32(what: string, value: number): number {
  if (!Number.isInteger(value) || value < -0x80000000 || value > 0xffffffff) {
    throw new RangeError(`Cannot build instruction: ${what} ${value} is not a 32-bit integer`);
  }
  return value >>> 0;
}

function checkField(what: string, value: number, max: number): number {
  if (!Number.isInteger(value) || value < 0 || value > max) {
    throw new RangeError(`Cannot build instruction: ${what} ${value} is outside 0..${max}`);
  }
  return value;
}

/**
 * Builds an instruction that is not a conditional jump (`BPF_STMT` in C).
 *
 * @param code The opcode, e.g. `BPF_LD | BPF_W | BPF_ABS`.
 * @param k The operand; negative 32-bit values are stored as their unsigned equivalent.
 * @returns The instruction.
 *
 * @example
 * ```ts
 * import { BPF_ABS, BPF_LD, BPF_W, stmt } from "./bpf.ts";
 * const loadNr = stmt(BPF_LD | BPF_W | BPF_ABS, 0);
 * ```
 */
export function stmt(code: number, k: number): Instruction {
  return { code: checkField("code", code, 0xffff), jt: 0, jf: 0, k: checkU32("k", k) };
}

/**
 * Builds a conditional jump (`BPF_JUMP` in C). `jt` and `jf` count instructions from the next
 * one and must fit in 8 bits; farther targets need a `BPF_JMP | BPF_JA` long jump.
 *
 * @param code The opcode, e.g. `BPF_JMP | BPF_JEQ | BPF_K`.
 * @param k The operand compared with A.
 * @param jt Instructions to skip when the condition holds (0..255).
 * @param jf Instructions to skip when it does not (0..255).
 * @returns The instruction.
 *
 * @example
 * ```ts
 * import { BPF_JEQ, BPF_JMP, BPF_K, jump } from "./bpf.ts";
 * const isOpenat = jump(BPF_JMP | BPF_JEQ | BPF_K, 257, 0, 1);
 * ```
 */
export function jump(code: number, k: number, jt: number, jf: number): Instruction {
  return {
    code: checkField("code", code, 0xffff),
    jt: checkField("jt", jt, 255),
    jf: checkField("jf", jf, 255),
    k: checkU32("k", k),
  };
}

/**
 * Encodes instructions as the kernel's array of 8-byte `struct sock_filter` records (u16 code,
 * u8 jt, u8 jf, u32 k) in this platform's byte order.
 *
 * @param program The instructions.
 * @returns The bytes to point a `struct sock_fprog` at.
 *
 * @example
 * ```ts
 * import { assemble, retAllow } from "./bpf.ts";
 * const bytes = assemble([retAllow()]);
 * console.log(bytes); // Uint8Array(8) [6, 0, 0, 0, 0, 0, 255, 127]
 * ```
 */
export function assemble(program: readonly Instruction[]): Uint8Array {
  checkInstructions("assemble", program);
  const bytes = new Uint8Array(program.length * 8);
  const view = new DataView(bytes.buffer);
  program.forEach((insn, index) => {
    const checked = jump(insn.code, insn.k, insn.jt, insn.jf);
    view.setUint16(index * 8, checked.code, LITTLE_ENDIAN);
    view.setUint8(index * 8 + 2, checked.jt);
    view.setUint8(index * 8 + 3, checked.jf);
    view.setUint32(index * 8 + 4, checked.k, LITTLE_ENDIAN);
  });
  return bytes;
}

/**
 * Decodes `struct sock_filter` records (this platform's byte order) back into instructions.
 *
 * @param bytes A multiple of 8 bytes, as produced by `assemble`.
 * @returns The instructions.
 *
 * @example
 * ```ts
 * import { assemble, decode, retAllow } from "./bpf.ts";
 * console.log(decode(assemble([retAllow()]))[0].k === 0x7fff0000); // true
 * ```
 */
export function decode(bytes: Uint8Array): Instruction[] {
  if (!(bytes instanceof Uint8Array)) {
    throw new TypeError(`Cannot decode program: it must be a Uint8Array, got ${typeof bytes}`);
  }
  if (bytes.length % 8 !== 0) {
    throw new RangeError(
      `Cannot decode program: ${bytes.length} bytes is not a multiple of the 8-byte sock_filter`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const program: Instruction[] = [];
  for (let offset = 0; offset < bytes.length; offset += 8) {
    program.push({
      code: view.getUint16(offset, LITTLE_ENDIAN),
      jt: view.getUint8(offset + 2),
      jf: view.getUint8(offset + 3),
      k: view.getUint32(offset + 4, LITTLE_ENDIAN),
    });
  }
  return program;
}

/**
 * A program as instructions or as the bytes of `assemble`.
 *
 * @example
 * ```ts
 * import { type Program, retAllow } from "./bpf.ts";
 * const program: Program = [retAllow()];
 * ```
 */
export type Program = readonly Instruction[] | Uint8Array;

/**
 * The instructions of a program given either way.
 *
 * @example
 * ```ts
 * import { assemble, instructionsOf, retAllow } from "./bpf.ts";
 * console.log(instructionsOf(assemble([retAllow()])).length); // 1
 * ```
 */
export function instructionsOf(program: Program): readonly Instruction[] {
  if (program instanceof Uint8Array) return decode(program);
  checkInstructions("read", program);
  return program;
}

/** Throws unless `program` is an array of instruction objects. */
function checkInstructions(what: string, program: unknown): void {
  if (!Array.isArray(program)) {
    throw new TypeError(
      `Cannot ${what} program: it must be an array of instructions or the bytes of assemble(), got ${
        program === null ? "null" : typeof program
      }`,
    );
  }
  for (let i = 0; i < program.length; i++) {
    const insn: unknown = program[i];
    if (typeof insn !== "object" || insn === null) {
      throw new TypeError(`Cannot ${what} program: instruction ${i} is not an object`);
    }
  }
}

/**
 * The `struct sock_fprog` for seccomp(2) or prctl(2) as a cstruct value: the u16 instruction
 * count zero-padded to the word size of the process that makes the call, then a pointer to a
 * copy of the instructions.
 *
 * @param program The bytes of `assemble`.
 * @param wordSize Bytes of a pointer in the process that makes the call: 8 (default) or 4
 * (`drv.wordSize` tells a control process's).
 * @returns The cstruct segments `[count and padding, { ptr: program }]`.
 *
 * @example
 * ```ts
 * import { assemble, retAllow, sockFprog } from "./bpf.ts";
 * const [header, filter] = sockFprog(assemble([retAllow()]));
 * console.log(header); // Uint8Array(8) [1, 0, 0, 0, 0, 0, 0, 0]
 * console.log(sockFprog(assemble([retAllow()]), 4)[0]); // Uint8Array(4) [1, 0, 0, 0]
 * ```
 */
export function sockFprog(
  program: Uint8Array,
  wordSize: 4 | 8 = 8,
): [Uint8Array, { ptr: Uint8Array }] {
  if (wordSize !== 4 && wordSize !== 8) {
    throw new RangeError(`Cannot build sock_fprog: wordSize must be 4 or 8, got ${wordSize}`);
  }
  if (!(program instanceof Uint8Array)) {
    throw new TypeError(
      `Cannot build sock_fprog: program must be the bytes of assemble(), got ${
        Array.isArray(program) ? "an array (assemble it first)" : typeof program
      }`,
    );
  }
  if (program.length === 0 || program.length % 8 !== 0) {
    throw new RangeError(
      `Cannot build sock_fprog: ${program.length} bytes is not a non-empty multiple of 8`,
    );
  }
  const count = program.length / 8;
  if (count > BPF_MAXINSNS) {
    throw new RangeError(
      `Cannot build sock_fprog: ${count} instructions exceed the kernel's limit of ${BPF_MAXINSNS}`,
    );
  }
  const header = new Uint8Array(wordSize);
  new DataView(header.buffer).setUint16(0, count, LITTLE_ENDIAN);
  return [header, { ptr: program }];
}

// ---------------------------------------------------------------------------------------------
// Return helpers

function checkData(what: string, data: number, max: number): number {
  if (!Number.isInteger(data) || data < 0 || data > max) {
    throw new RangeError(`Cannot build ${what} return: data ${data} is outside 0..${max}`);
  }
  return data;
}

/**
 * `ret #value`: end the filter with a raw seccomp return value.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_ERRNO, retAction } from "./bpf.ts";
 * const eacces = retAction(SECCOMP_RET_ERRNO | 13);
 * ```
 */
export function retAction(value: number): Instruction {
  return stmt(BPF_RET | BPF_K, value);
}

/**
 * `ret ALLOW`.
 *
 * @example
 * ```ts
 * import { retAllow } from "./bpf.ts";
 * const allow = retAllow();
 * ```
 */
export function retAllow(): Instruction {
  return retAction(SECCOMP_RET_ALLOW);
}

/**
 * `ret KILL_PROCESS`: the process dies of SIGSYS. To learn which call did it, run the filter in
 * trap mode first (`retTrap`: a control process reports the SIGSYS as an event, and
 * `sigsysInfo` reads `si_syscall` and `si_arch` from its siginfo) or with `retLog` (each call
 * is logged to the audit log with `syscall=` and `arch=`).
 *
 * @example
 * ```ts
 * import { retKillProcess } from "./bpf.ts";
 * const kill = retKillProcess();
 * ```
 */
export function retKillProcess(): Instruction {
  return retAction(SECCOMP_RET_KILL_PROCESS);
}

/**
 * `ret KILL_THREAD`: only the calling thread dies.
 *
 * @example
 * ```ts
 * import { retKillThread } from "./bpf.ts";
 * const kill = retKillThread();
 * ```
 */
export function retKillThread(): Instruction {
  return retAction(SECCOMP_RET_KILL_THREAD);
}

/**
 * `ret ERRNO(errno)`: the call fails with `errno` without running.
 *
 * @param errno 0..4095.
 *
 * @example
 * ```ts
 * import { retErrno } from "./bpf.ts";
 * const EPERM = 1;
 * const deny = retErrno(EPERM);
 * ```
 */
export function retErrno(errno: number): Instruction {
  return retAction(SECCOMP_RET_ERRNO | checkData("ERRNO", errno, MAX_ERRNO));
}

/**
 * `ret TRAP(data)`: a catchable SIGSYS; the handler's siginfo has `si_syscall` (the call),
 * `si_arch`, `si_call_addr` and `si_errno` set to `data`.
 *
 * @param data 0..0xffff.
 *
 * @example
 * ```ts
 * import { retTrap } from "./bpf.ts";
 * const trap = retTrap(0);
 * ```
 */
export function retTrap(data: number = 0): Instruction {
  return retAction(SECCOMP_RET_TRAP | checkData("TRAP", data, SECCOMP_RET_DATA));
}

/**
 * `ret TRACE(data)`: notify a ptrace tracer (PTRACE_O_TRACESECCOMP) with `data` as the event
 * message; without a tracer the call fails with ENOSYS.
 *
 * @param data 0..0xffff.
 *
 * @example
 * ```ts
 * import { retTrace } from "./bpf.ts";
 * const trace = retTrace(1);
 * ```
 */
export function retTrace(data: number = 0): Instruction {
  return retAction(SECCOMP_RET_TRACE | checkData("TRACE", data, SECCOMP_RET_DATA));
}

/**
 * `ret LOG`: allow the call and record it in the audit log.
 *
 * @example
 * ```ts
 * import { retLog } from "./bpf.ts";
 * const log = retLog();
 * ```
 */
export function retLog(): Instruction {
  return retAction(SECCOMP_RET_LOG);
}

/**
 * `ret USER_NOTIF`: let the listener of SECCOMP_FILTER_FLAG_NEW_LISTENER decide.
 *
 * @example
 * ```ts
 * import { retUserNotif } from "./bpf.ts";
 * const notify = retUserNotif();
 * ```
 */
export function retUserNotif(): Instruction {
  return retAction(SECCOMP_RET_USER_NOTIF);
}

// ---------------------------------------------------------------------------------------------
// Filter building blocks

/**
 * `ld [4]; jeq #auditArch, jt 1, jf 0; ret action`: end the filter with `action` (KILL_PROCESS
 * by default) unless the call uses the expected calling convention. A filter that reads `nr`
 * without this check can be bypassed with another ABI's numbers (int 0x80 on x86_64).
 *
 * @param auditArch The expected AUDIT_ARCH value, e.g. `AUDIT_ARCH_X86_64`.
 * @param action The raw return value on a mismatch.
 * @returns Three instructions.
 *
 * @example
 * ```ts
 * import { AUDIT_ARCH_AARCH64, validateArch } from "./bpf.ts";
 * const check = validateArch(AUDIT_ARCH_AARCH64);
 * ```
 */
export function validateArch(
  auditArch: number,
  action: number = SECCOMP_RET_KILL_PROCESS,
): Instruction[] {
  return [
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.arch),
    jump(BPF_JMP | BPF_JEQ | BPF_K, auditArch, 1, 0),
    retAction(action),
  ];
}

/**
 * `ld [0]`: load the syscall number into A.
 *
 * @example
 * ```ts
 * import { loadSyscallNr } from "./bpf.ts";
 * const load = loadSyscallNr();
 * ```
 */
export function loadSyscallNr(): Instruction {
  return stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.nr);
}

/**
 * `jeq #nr, jt 0, jf 1; ret action`: end the filter with `action` when A (the syscall number)
 * is `nr`, else go on after these two instructions.
 *
 * @param nr The syscall number for the caller's architecture.
 * @param action The raw return value.
 * @returns Two instructions.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_LOG, syscallAction } from "./bpf.ts";
 * const logOpenat = syscallAction(257, SECCOMP_RET_LOG);
 * ```
 */
export function syscallAction(nr: number, action: number): Instruction[] {
  return [jump(BPF_JMP | BPF_JEQ | BPF_K, nr, 0, 1), retAction(action)];
}

/**
 * Allow syscall `nr` (A must hold the syscall number).
 *
 * @example
 * ```ts
 * import { allowSyscall } from "./bpf.ts";
 * const allowRead = allowSyscall(0);
 * ```
 */
export function allowSyscall(nr: number): Instruction[] {
  return syscallAction(nr, SECCOMP_RET_ALLOW);
}

/**
 * Deny syscall `nr` (A must hold the syscall number): by default the process is killed, or
 * pass another return value such as `SECCOMP_RET_ERRNO | EPERM`.
 *
 * @example
 * ```ts
 * import { SECCOMP_RET_ERRNO, denySyscall } from "./bpf.ts";
 * const killPtrace = denySyscall(101);
 * const EPERM = 1;
 * const failMount = denySyscall(165, SECCOMP_RET_ERRNO | EPERM);
 * ```
 */
export function denySyscall(nr: number, action: number = SECCOMP_RET_KILL_PROCESS): Instruction[] {
  return syscallAction(nr, action);
}
