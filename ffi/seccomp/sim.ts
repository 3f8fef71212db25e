/**
 * Running seccomp programs without a kernel: `checkProgram` applies the checks the kernel makes
 * when a filter is installed, `simulate` runs a program on a `seccomp_data` the way the kernel
 * does, and `disassemble` prints a program one instruction per line.
 *
 * @example
 * ```ts
 * import { compilePolicy } from "./policy.ts";
 * import { disassemble, simulate } from "./sim.ts";
 * import { AUDIT_ARCH_X86_64 } from "./bpf.ts";
 *
 * const program = compilePolicy(
 *   { defaultAction: "kill_process", rules: [{ name: "read", action: "allow" }] },
 *   { arches: ["x86_64"] },
 * );
 * console.log(disassemble(program));
 * console.log(simulate(program, { nr: 0, arch: AUDIT_ARCH_X86_64 }).actionName); // "ALLOW"
 * ```
 *
 * @module
 */

import {
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_DIV,
  BPF_IMM,
  BPF_JA,
  BPF_JEQ,
  BPF_JGE,
  BPF_JGT,
  BPF_JMP,
  BPF_JSET,
  BPF_K,
  BPF_LD,
  BPF_LDX,
  BPF_LEN,
  BPF_LSH,
  BPF_MAXINSNS,
  BPF_MEM,
  BPF_MEMWORDS,
  BPF_MISC,
  BPF_MUL,
  BPF_NEG,
  BPF_OR,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  BPF_XOR,
  bpfClass,
  bpfOp,
  bpfSrc,
  type Instruction,
  instructionsOf,
  PLATFORM_LITTLE_ENDIAN,
  type Program,
  SECCOMP_ACTION_NAMES,
  SECCOMP_DATA,
  SECCOMP_RET_ACTION_FULL,
  SECCOMP_RET_DATA,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
} from "./bpf.ts";

const ALU_OPS = [BPF_ADD, BPF_SUB, BPF_MUL, BPF_DIV, BPF_AND, BPF_OR, BPF_XOR, BPF_LSH, BPF_RSH];
const JUMP_OPS = [BPF_JEQ, BPF_JGE, BPF_JGT, BPF_JSET];

/** The opcodes seccomp accepts (the kernel's `seccomp_check_filter`). */
const ALLOWED_CODES: ReadonlySet<number> = new Set([
  BPF_LD | BPF_W | BPF_ABS,
  BPF_LD | BPF_W | BPF_LEN,
  BPF_LDX | BPF_W | BPF_LEN,
  BPF_RET | BPF_K,
  BPF_RET | BPF_A,
  ...ALU_OPS.flatMap((op) => [BPF_ALU | op | BPF_K, BPF_ALU | op | BPF_X]),
  BPF_ALU | BPF_NEG,
  BPF_LD | BPF_IMM,
  BPF_LDX | BPF_IMM,
  BPF_MISC | BPF_TAX,
  BPF_MISC | BPF_TXA,
  BPF_LD | BPF_MEM,
  BPF_LDX | BPF_MEM,
  BPF_ST,
  BPF_STX,
  BPF_JMP | BPF_JA,
  ...JUMP_OPS.flatMap((op) => [BPF_JMP | op | BPF_K, BPF_JMP | op | BPF_X]),
]);

function invalid(pc: number, reason: string): never {
  throw new Error(`Invalid seccomp program: instruction ${pc} ${reason}`);
}

function isConditionalJump(code: number): boolean {
  return bpfClass(code) === BPF_JMP && bpfOp(code) !== BPF_JA;
}

/**
 * Checks a program as seccomp(2) does before installing it, and throws what the kernel would
 * reject with EINVAL: an empty or too long program, an opcode seccomp does not allow, a load
 * outside `seccomp_data` or not 4-byte aligned, a constant division by zero or shift by 32 or
 * more, a scratch memory slot out of range or read before it is written on every path, a jump
 * past the end, or a last instruction that is not a `ret`.
 *
 * @param program The instructions or their bytes.
 * @throws {Error} Naming the first offending instruction.
 *
 * @example
 * ```ts
 * import { checkProgram } from "./sim.ts";
 * import { loadSyscallNr, retAllow } from "./bpf.ts";
 *
 * checkProgram([loadSyscallNr(), retAllow()]); // fine
 * try {
 *   checkProgram([loadSyscallNr()]);
 * } catch (error) {
 *   console.log((error as Error).message); // "Invalid seccomp program: instruction 0 ..."
 * }
 * ```
 */
export function checkProgram(program: Program): void {
  const insns = instructionsOf(program);
  const length = insns.length;
  if (length === 0 || length > BPF_MAXINSNS) {
    throw new Error(
      `Invalid seccomp program: ${length} instructions, expected 1..${BPF_MAXINSNS}`,
    );
  }
  insns.forEach((insn, pc) => {
    const { code, k } = insn;
    if (!ALLOWED_CODES.has(code)) invalid(pc, `has opcode 0x${code.toString(16)} seccomp rejects`);
    switch (code) {
      case BPF_LD | BPF_W | BPF_ABS:
        if (k >= SECCOMP_DATA.size || (k & 3) !== 0) {
          invalid(pc, `loads offset ${k}, outside seccomp_data or not 4-byte aligned`);
        }
        break;
      case BPF_ALU | BPF_DIV | BPF_K:
        if (k === 0) invalid(pc, "divides by the constant 0");
        break;
      case BPF_ALU | BPF_LSH | BPF_K:
      case BPF_ALU | BPF_RSH | BPF_K:
        if (k >= 32) invalid(pc, `shifts by ${k}, 32 or more`);
        break;
      case BPF_LD | BPF_MEM:
      case BPF_LDX | BPF_MEM:
      case BPF_ST:
      case BPF_STX:
        if (k >= BPF_MEMWORDS) invalid(pc, `uses M[${k}], beyond M[${BPF_MEMWORDS - 1}]`);
        break;
      case BPF_JMP | BPF_JA:
        if (k >= length - pc - 1) invalid(pc, `jumps ${k} past the end`);
        break;
    }
    if (isConditionalJump(code) && (pc + insn.jt + 1 >= length || pc + insn.jf + 1 >= length)) {
      invalid(pc, `jumps past the end (jt ${insn.jt}, jf ${insn.jf})`);
    }
  });
  // Scratch memory must be written on every path before it is read (the kernel's
  // check_load_and_stores, including its conservative handling of code after a `ret`).
  const masks = new Array<number>(length).fill(0xffff);
  let valid = 0;
  insns.forEach((insn, pc) => {
    valid &= masks[pc];
    const { code, k } = insn;
    if (code === BPF_ST || code === BPF_STX) {
      valid |= 1 << k;
    } else if (code === (BPF_LD | BPF_MEM) || code === (BPF_LDX | BPF_MEM)) {
      if ((valid & (1 << k)) === 0) invalid(pc, `reads M[${k}] before it is written`);
    } else if (code === (BPF_JMP | BPF_JA)) {
      masks[pc + 1 + k] &= valid;
      valid = 0xffff;
    } else if (isConditionalJump(code)) {
      masks[pc + 1 + insn.jt] &= valid;
      masks[pc + 1 + insn.jf] &= valid;
      valid = 0xffff;
    }
  });
  const last = insns[length - 1].code;
  if (last !== (BPF_RET | BPF_K) && last !== (BPF_RET | BPF_A)) {
    invalid(length - 1, "is the last one and not a ret");
  }
}

/**
 * The `seccomp_data` a filter sees: the syscall number, the AUDIT_ARCH value, and optionally
 * the instruction pointer and up to six 64-bit arguments (missing ones are 0).
 *
 * @example
 * ```ts
 * import type { SeccompData } from "./sim.ts";
 * import { AUDIT_ARCH_X86_64 } from "./bpf.ts";
 * const AF_INET = 2;
 * const data: SeccompData = { nr: 41, arch: AUDIT_ARCH_X86_64, args: [AF_INET, 1, 0] };
 * ```
 */
export interface SeccompData {
  /** The syscall number (an `int`; -1 is stored as 0xffffffff). */
  readonly nr: number;
  /** The AUDIT_ARCH value. */
  readonly arch: number;
  /** The instruction pointer, default 0. */
  readonly instructionPointer?: bigint | number;
  /** The arguments; negative values are stored as 64-bit two's complement. */
  readonly args?: readonly (bigint | number)[];
}

/**
 * The verdict of a filter: the raw return `value`, its `action` (one of the SECCOMP_RET_*
 * values, as the kernel interprets it), the 16 data bits and the action's name.
 *
 * @example
 * ```ts
 * import type { SimulationResult } from "./sim.ts";
 * const result: SimulationResult = { value: 0x50001, action: 0x50000, data: 1, actionName: "ERRNO" };
 * ```
 */
export interface SimulationResult {
  /** The 32-bit value the program returned. */
  readonly value: number;
  /** `value & SECCOMP_RET_ACTION_FULL`, or KILL_PROCESS for an action the kernel does not know. */
  readonly action: number;
  /** `value & SECCOMP_RET_DATA`: the errno, trap or trace data. */
  readonly data: number;
  /** The kernel's name of the action: `ALLOW`, `ERRNO`, `KILL_PROCESS`, ... */
  readonly actionName: string;
}

function u64(what: string, value: bigint | number): bigint {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new RangeError(`Cannot simulate: ${what} ${value} is not an integer`);
  }
  return BigInt.asUintN(64, BigInt(value));
}

function seccompData(data: SeccompData): DataView {
  if (typeof data !== "object" || data === null) {
    throw new TypeError(`Cannot simulate: data must be an object ({ nr, arch, args? })`);
  }
  if (!Number.isInteger(data.arch) || data.arch < 0 || data.arch > 0xffffffff) {
    throw new RangeError(`Cannot simulate: arch ${data.arch} is not a 32-bit AUDIT_ARCH value`);
  }
  if (data.args !== undefined && !Array.isArray(data.args)) {
    throw new TypeError("Cannot simulate: args must be an array of at most 6 numbers or bigints");
  }
  const view = new DataView(new ArrayBuffer(SECCOMP_DATA.size));
  if (!Number.isInteger(data.nr) || data.nr < -0x80000000 || data.nr > 0xffffffff) {
    throw new RangeError(`Cannot simulate: nr ${data.nr} is not a 32-bit integer`);
  }
  view.setUint32(SECCOMP_DATA.nr, data.nr >>> 0, PLATFORM_LITTLE_ENDIAN);
  view.setUint32(SECCOMP_DATA.arch, data.arch >>> 0, PLATFORM_LITTLE_ENDIAN);
  view.setBigUint64(
    SECCOMP_DATA.instructionPointer,
    u64("instruction pointer", data.instructionPointer ?? 0),
    PLATFORM_LITTLE_ENDIAN,
  );
  const args = data.args ?? [];
  if (args.length > 6) throw new RangeError(`Cannot simulate: ${args.length} arguments, at most 6`);
  args.forEach((arg, index) => {
    view.setBigUint64(
      SECCOMP_DATA.args[index],
      u64(`argument ${index}`, arg),
      PLATFORM_LITTLE_ENDIAN,
    );
  });
  return view;
}

function alu(op: number, a: number, operand: number): number | undefined {
  switch (op) {
    case BPF_ADD:
      return (a + operand) >>> 0;
    case BPF_SUB:
      return (a - operand) >>> 0;
    case BPF_MUL:
      return Math.imul(a, operand) >>> 0;
    case BPF_DIV:
      return operand === 0 ? undefined : Math.floor(a / operand) >>> 0;
    case BPF_AND:
      return (a & operand) >>> 0;
    case BPF_OR:
      return (a | operand) >>> 0;
    case BPF_XOR:
      return (a ^ operand) >>> 0;
    case BPF_LSH:
      return (a << (operand & 31)) >>> 0;
    case BPF_RSH:
      return a >>> (operand & 31);
    case BPF_NEG:
      return -a >>> 0;
  }
  return undefined;
}

function verdict(value: number): SimulationResult {
  const raw = value >>> 0;
  const known = SECCOMP_ACTION_NAMES.get((raw & SECCOMP_RET_ACTION_FULL) >>> 0);
  // The kernel treats an action it does not know as KILL_PROCESS.
  const action = known === undefined
    ? SECCOMP_RET_KILL_PROCESS
    : (raw & SECCOMP_RET_ACTION_FULL) >>> 0;
  return {
    value: raw,
    action,
    data: raw & SECCOMP_RET_DATA,
    actionName: known ?? "KILL_PROCESS",
  };
}

/**
 * Runs a program on one `seccomp_data`, as the kernel runs a filter on a system call: A, X and
 * the 16 scratch words start at 0, loads read 32-bit words of `seccomp_data` in this platform's
 * byte order, arithmetic is unsigned 32-bit, jumps only go forward, and a division by a zero X
 * ends the program with 0 (KILL_THREAD). The program is checked first with `checkProgram`.
 *
 * @param program The instructions or their bytes.
 * @param data The system call to evaluate.
 * @returns The verdict.
 *
 * @example
 * ```ts
 * import { simulate } from "./sim.ts";
 * import { AUDIT_ARCH_X86_64, retErrno } from "./bpf.ts";
 *
 * const result = simulate([retErrno(13)], { nr: 2, arch: AUDIT_ARCH_X86_64 });
 * console.log(result.actionName, result.data); // "ERRNO" 13
 * ```
 */
export function simulate(program: Program, data: SeccompData): SimulationResult {
  const insns = instructionsOf(program);
  checkProgram(insns);
  const view = seccompData(data);
  const memory = new Uint32Array(16);
  let a = 0;
  let x = 0;
  for (let pc = 0; pc < insns.length; pc++) {
    const { code, jt, jf, k } = insns[pc];
    switch (bpfClass(code)) {
      case BPF_LD:
        if (code === (BPF_LD | BPF_W | BPF_ABS)) a = view.getUint32(k, PLATFORM_LITTLE_ENDIAN);
        else if (code === (BPF_LD | BPF_W | BPF_LEN)) a = SECCOMP_DATA.size;
        else if (code === (BPF_LD | BPF_IMM)) a = k;
        else a = memory[k];
        break;
      case BPF_LDX:
        if (code === (BPF_LDX | BPF_W | BPF_LEN)) x = SECCOMP_DATA.size;
        else if (code === (BPF_LDX | BPF_IMM)) x = k;
        else x = memory[k];
        break;
      case BPF_ST:
        memory[k] = a;
        break;
      case BPF_STX:
        memory[k] = x;
        break;
      case BPF_ALU: {
        const result = alu(bpfOp(code), a, bpfSrc(code) === BPF_X ? x : k);
        if (result === undefined) return verdict(0);
        a = result;
        break;
      }
      case BPF_JMP: {
        const op = bpfOp(code);
        if (op === BPF_JA) {
          pc += k;
          break;
        }
        const operand = bpfSrc(code) === BPF_X ? x : k;
        const taken = op === BPF_JEQ
          ? a === operand
          : op === BPF_JGT
          ? a > operand
          : op === BPF_JGE
          ? a >= operand
          : (a & operand) !== 0;
        pc += taken ? jt : jf;
        break;
      }
      case BPF_RET:
        return verdict(code === (BPF_RET | BPF_A) ? a : k);
      case BPF_MISC:
        if (code === (BPF_MISC | BPF_TAX)) x = a;
        else a = x;
        break;
    }
  }
  // checkProgram guarantees the last instruction is a ret.
  throw new Error("Cannot simulate: the program ran past its end");
}

// ---------------------------------------------------------------------------------------------
// Disassembler

const ALU_NAMES = new Map([
  [BPF_ADD, "add"],
  [BPF_SUB, "sub"],
  [BPF_MUL, "mul"],
  [BPF_DIV, "div"],
  [BPF_AND, "and"],
  [BPF_OR, "or"],
  [BPF_XOR, "xor"],
  [BPF_LSH, "lsh"],
  [BPF_RSH, "rsh"],
]);

const JUMP_NAMES = new Map([
  [BPF_JEQ, "jeq"],
  [BPF_JGT, "jgt"],
  [BPF_JGE, "jge"],
  [BPF_JSET, "jset"],
]);

function hex(value: number): string {
  return `#0x${value.toString(16)}`;
}

function dataField(offset: number): string | undefined {
  if (offset === SECCOMP_DATA.nr) return "nr";
  if (offset === SECCOMP_DATA.arch) return "arch";
  if (offset === SECCOMP_DATA.instructionPointerLow) return "instruction_pointer.lo";
  if (offset === SECCOMP_DATA.instructionPointerHigh) return "instruction_pointer.hi";
  const low = (SECCOMP_DATA.argLow as readonly number[]).indexOf(offset);
  if (low >= 0) return `args[${low}].lo`;
  const high = (SECCOMP_DATA.argHigh as readonly number[]).indexOf(offset);
  if (high >= 0) return `args[${high}].hi`;
  return undefined;
}

/**
 * The name of a seccomp return value as `disassemble` prints it: `ALLOW`, `KILL_PROCESS`,
 * `ERRNO(1)`, `TRAP(0x5)`, `TRACE(0x1)`, or the hexadecimal value for an unknown action.
 *
 * @example
 * ```ts
 * import { describeReturn } from "./sim.ts";
 * console.log(describeReturn(0x50026)); // "ERRNO(38)"
 * ```
 */
export function describeReturn(value: number): string {
  const raw = value >>> 0;
  const action = (raw & SECCOMP_RET_ACTION_FULL) >>> 0;
  const data = raw & SECCOMP_RET_DATA;
  const name = SECCOMP_ACTION_NAMES.get(action);
  if (name === undefined) return hex(raw);
  if (action === SECCOMP_RET_ERRNO) return `ERRNO(${data})`;
  if (action === SECCOMP_RET_TRAP || action === SECCOMP_RET_TRACE) {
    return `${name}(0x${data.toString(16)})`;
  }
  return data === 0 ? name : `${name}(0x${data.toString(16)})`;
}

function describe(insn: Instruction, pc: number): string {
  const { code, jt, jf, k } = insn;
  const operand = bpfSrc(code) === BPF_X ? "x" : hex(k);
  switch (code) {
    case BPF_LD | BPF_W | BPF_ABS: {
      const field = dataField(k);
      return field === undefined ? `ld [${k}]` : `ld [${k}]`.padEnd(12) + `; ${field}`;
    }
    case BPF_LD | BPF_W | BPF_LEN:
      return "ld #len";
    case BPF_LDX | BPF_W | BPF_LEN:
      return "ldx #len";
    case BPF_LD | BPF_IMM:
      return `ld ${hex(k)}`;
    case BPF_LDX | BPF_IMM:
      return `ldx ${hex(k)}`;
    case BPF_LD | BPF_MEM:
      return `ld M[${k}]`;
    case BPF_LDX | BPF_MEM:
      return `ldx M[${k}]`;
    case BPF_ST:
      return `st M[${k}]`;
    case BPF_STX:
      return `stx M[${k}]`;
    case BPF_ALU | BPF_NEG:
      return "neg";
    case BPF_MISC | BPF_TAX:
      return "tax";
    case BPF_MISC | BPF_TXA:
      return "txa";
    case BPF_RET | BPF_K:
      return `ret ${describeReturn(k)}`;
    case BPF_RET | BPF_A:
      return "ret a";
    case BPF_JMP | BPF_JA:
      return `ja ${pc + 1 + k}`;
  }
  const op = bpfOp(code);
  if (bpfClass(code) === BPF_ALU && ALU_NAMES.has(op) && (code & ~0xf8) === BPF_ALU) {
    return `${ALU_NAMES.get(op)} ${operand}`;
  }
  if (bpfClass(code) === BPF_JMP && JUMP_NAMES.has(op) && (code & ~0xf8) === BPF_JMP) {
    return `${JUMP_NAMES.get(op)} ${operand} jt ${pc + 1 + jt} jf ${pc + 1 + jf}`;
  }
  return `.insn code 0x${code.toString(16)} jt ${jt} jf ${jf} k 0x${k.toString(16)}`;
}

/**
 * Prints a program one instruction per line: the index, then the instruction in the usual BPF
 * assembler syntax with jump targets as absolute indexes, loads of `seccomp_data` named, and
 * return values named (`ret ERRNO(1)`).
 *
 * ```text
 * 0000: ld [4]      ; arch
 * 0001: jeq #0xc000003e jt 2 jf 5
 * 0002: ld [0]      ; nr
 * 0003: jeq #0x27 jt 4 jf 5
 * 0004: ret ALLOW
 * 0005: ret KILL_PROCESS
 * ```
 *
 * @param program The instructions or their bytes.
 * @returns The listing, lines ending in a newline.
 *
 * @example
 * ```ts
 * import { disassemble } from "./sim.ts";
 * import { allowSyscall, loadSyscallNr, retKillProcess } from "./bpf.ts";
 *
 * console.log(disassemble([loadSyscallNr(), ...allowSyscall(39), retKillProcess()]));
 * ```
 */
export function disassemble(program: Program): string {
  return instructionsOf(program)
    .map((insn, pc) => `${String(pc).padStart(4, "0")}: ${describe(insn, pc)}\n`)
    .join("");
}
