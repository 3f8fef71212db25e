/**
 * How many instructions a seccomp filter runs for one system call, for filters made of word
 * loads of `seccomp_data`, jumps against constants and constant returns only: what
 * `compilePolicy` makes of rules without argument conditions, and libseccomp of the same policy.
 * The seccomp benchmark prints these counts; the tests hold the compiled lookup to a binary
 * search with them.
 *
 * @module
 */

import {
  BPF_ABS,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_K,
  BPF_LD,
  BPF_RET,
  BPF_W,
  bpfClass,
  bpfOp,
  type Instruction,
  SECCOMP_DATA,
} from "../../../ffi/seccomp/mod.ts";

/**
 * The instructions `program` runs for the call `nr` of the architecture `arch` (an AUDIT_ARCH
 * value), its return included. Loads of other `seccomp_data` fields read 0.
 *
 * @param program The filter.
 * @param call The syscall number and architecture.
 * @returns How many instructions run.
 * @throws {Error} Another kind of instruction runs, or the program runs past its end.
 *
 * @example
 * ```ts
 * import { instructionsRun } from "./instructions_run.ts";
 * import { AUDIT_ARCH_X86_64, compilePolicy } from "../../../ffi/seccomp/mod.ts";
 *
 * const program = compilePolicy(
 *   { defaultAction: "kill_process", rules: [{ name: "read", action: "allow" }] },
 *   { arches: ["x86_64"] },
 * );
 * console.log(instructionsRun(program, { nr: 0, arch: AUDIT_ARCH_X86_64 }));
 * ```
 */
export function instructionsRun(
  program: readonly Instruction[],
  call: { nr: number; arch: number },
): number {
  let a = 0;
  for (let pc = 0, count = 1; pc < program.length; pc++, count++) {
    const { code, jt, jf, k } = program[pc];
    if (code === (BPF_RET | BPF_K)) return count;
    if (code === (BPF_LD | BPF_W | BPF_ABS)) {
      a = k === SECCOMP_DATA.arch ? call.arch : k === SECCOMP_DATA.nr ? call.nr : 0;
    } else if (code === (BPF_JMP | BPF_JA)) {
      pc += k;
    } else if (bpfClass(code) === BPF_JMP) {
      const op = bpfOp(code);
      const taken = op === BPF_JEQ
        ? a === k
        : op === BPF_JGT
        ? a > k
        : op === BPF_JGE
        ? a >= k
        : (a & k) !== 0;
      pc += taken ? jt : jf;
    } else {
      throw new Error(`Cannot count instructions: opcode 0x${code.toString(16)} at ${pc}`);
    }
  }
  throw new Error("Cannot count instructions: the program ran past its end");
}
