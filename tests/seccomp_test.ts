// Tests of the seccomp layer: instruction encoding, the policy compiler checked through the
// simulator against a straightforward reference evaluation of the same policy, the simulator and
// disassembler, the default profile, and filters installed in a real kernel by a small C program.

import {
  assert,
  assertEquals,
  assertGreater,
  assertMatch,
  assertNotEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  actionValue,
  allowSyscall,
  type ArgCondition,
  assemble,
  AUDIT_ARCH_AARCH64,
  AUDIT_ARCH_ARM,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_RISCV64,
  AUDIT_ARCH_X86_64,
  auditArch,
  BPF_A,
  BPF_ABS,
  BPF_ADD,
  BPF_ALU,
  BPF_AND,
  BPF_B,
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
  BPF_MEM,
  BPF_MISC,
  BPF_MOD,
  BPF_NEG,
  BPF_RET,
  BPF_RSH,
  BPF_ST,
  BPF_STX,
  BPF_SUB,
  BPF_TAX,
  BPF_TXA,
  BPF_W,
  BPF_X,
  checkProgram,
  compilePolicy,
  decode,
  denySyscall,
  describeReturn,
  disassemble,
  hasNarrowArgs,
  type Instruction,
  jump,
  loadSyscallNr,
  retAllow,
  retErrno,
  retKillProcess,
  retKillThread,
  retLog,
  retTrace,
  retTrap,
  retUserNotif,
  SECCOMP_ARCHES,
  SECCOMP_DATA,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_ERRNO,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_KILL_THREAD,
  SECCOMP_RET_LOG,
  SECCOMP_RET_TRACE,
  SECCOMP_RET_TRAP,
  SECCOMP_RET_USER_NOTIF,
  type SeccompAction,
  type SeccompArch,
  type SeccompPolicy,
  simulate,
  sockFprog,
  stmt,
  syscallName,
  syscallNames,
  syscallNumber,
  syscallRanges,
  validateArch,
  X32_SYSCALL_BIT,
} from "../ffi/seccomp/mod.ts";
import {
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_ALLOWED,
  DEFAULT_PROFILE_DENIED,
  DEFAULT_PROFILE_GROUPS,
} from "../ffi/seccomp/profile.ts";
import { instructionsRun } from "../scripts/bench/seccomp/instructions_run.ts";

const EPERM = 1;
const EACCES = 13;
const ENOSYS = 38;
const RET_ENOSYS = SECCOMP_RET_ERRNO | ENOSYS;
const U64_MAX = (1n << 64n) - 1n;

// ---------------------------------------------------------------------------------------------
// A reference evaluation of a policy, written for clarity rather than speed: what the compiled
// program must answer for every call.

function reference(
  policy: SeccompPolicy,
  arches: readonly SeccompArch[],
  nr: number,
  arch: number,
  args: readonly bigint[] = [],
  badArch: SeccompAction = "kill_process",
): number {
  const unsignedNr = nr >>> 0;
  const candidates = arches.filter((a) => auditArch(a) === arch);
  let target: SeccompArch | undefined;
  if (arch === AUDIT_ARCH_X86_64) {
    const wanted = unsignedNr >= X32_SYSCALL_BIT ? "x32" : "x86_64";
    target = candidates.find((a) => a === wanted);
  } else {
    target = candidates[0];
  }
  if (target === undefined) return actionValue(badArch);
  const known = syscallRanges(target).some(([lo, hi]) => unsignedNr >= lo && unsignedNr <= hi);
  if (!known) return RET_ENOSYS;
  const name = syscallName(unsignedNr, target);
  const narrow = hasNarrowArgs(target);
  const seen = (index: number): bigint => {
    const value = args[index] ?? 0n;
    return narrow ? value & 0xffffffffn : value;
  };
  const u64 = (value: bigint | number) => BigInt.asUintN(64, BigInt(value));
  for (const rule of policy.rules) {
    const names = rule.name !== undefined ? [rule.name] : rule.names;
    if (name === undefined || !names.includes(name)) continue;
    const holds = (rule.args ?? []).every((c: ArgCondition) => {
      const a = seen(c.arg);
      const v = u64(c.value);
      switch (c.op) {
        case "==":
          return a === v;
        case "!=":
          return a !== v;
        case "<":
          return a < v;
        case "<=":
          return a <= v;
        case ">":
          return a > v;
        case ">=":
          return a >= v;
        case "masked==":
          return (a & u64(c.mask)) === v;
      }
    });
    if (holds) return actionValue(rule.action);
  }
  return actionValue(policy.defaultAction);
}

function run(
  program: readonly Instruction[],
  nr: number,
  arch: number,
  args: readonly bigint[] = [],
): number {
  return simulate(program, { nr, arch, args }).value;
}

function maxNumber(arch: SeccompArch): number {
  return Math.max(...syscallNames(arch).map((name) => syscallNumber(name, arch)!));
}

function hasLongJump(program: readonly Instruction[]): boolean {
  return program.some((insn) => insn.code === (BPF_JMP | BPF_JA));
}

// ---------------------------------------------------------------------------------------------
// Encoding

Deno.test("stmt and jump build sock_filter records", () => {
  assertEquals(stmt(BPF_LD | BPF_W | BPF_ABS, 4), { code: 0x20, jt: 0, jf: 0, k: 4 });
  assertEquals(jump(BPF_JMP | BPF_JEQ | BPF_K, 39, 0, 1), { code: 0x15, jt: 0, jf: 1, k: 39 });
  assertEquals(stmt(BPF_RET | BPF_K, -1).k, 0xffffffff);
  assertEquals(stmt(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS).k, 0x80000000);
  assertThrows(() => jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 256, 0), RangeError, "jt 256");
  assertThrows(() => jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, -1), RangeError, "jf -1");
  assertThrows(() => stmt(BPF_RET | BPF_K, 2 ** 32), RangeError, "not a 32-bit integer");
  assertThrows(() => stmt(0x10000, 0), RangeError, "code 65536");
  assertThrows(() => stmt(BPF_RET | BPF_K, 1.5), RangeError);
});

Deno.test("assemble writes 8 native-endian bytes per instruction", () => {
  const bytes = assemble([
    stmt(BPF_LD | BPF_W | BPF_ABS, 4),
    jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 2),
    retAllow(),
    retErrno(EACCES),
  ]);
  assertEquals(
    [...bytes],
    [
      [0x20, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00],
      [0x15, 0x00, 0x01, 0x02, 0x3e, 0x00, 0x00, 0xc0],
      [0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0x7f],
      [0x06, 0x00, 0x00, 0x00, 0x0d, 0x00, 0x05, 0x00],
    ].flat(),
  );
  assertEquals(decode(bytes), [
    { code: 0x20, jt: 0, jf: 0, k: 4 },
    { code: 0x15, jt: 1, jf: 2, k: AUDIT_ARCH_X86_64 },
    { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ALLOW },
    { code: 0x06, jt: 0, jf: 0, k: SECCOMP_RET_ERRNO | EACCES },
  ]);
  assertThrows(() => decode(new Uint8Array(7)), RangeError, "multiple of the 8-byte sock_filter");
});

Deno.test("sockFprog is the count padded to 8 bytes and a pointer to the program", () => {
  const program = assemble([loadSyscallNr(), ...allowSyscall(0), retKillProcess()]);
  const [header, filter] = sockFprog(program);
  assertEquals([...header], [4, 0, 0, 0, 0, 0, 0, 0]);
  assert(filter.ptr === program);
  assertThrows(() => sockFprog(new Uint8Array(0)), RangeError, "non-empty multiple of 8");
  assertThrows(() => sockFprog(new Uint8Array(12)), RangeError);
  assertThrows(() => sockFprog(new Uint8Array(8 * 4097)), RangeError, "limit of 4096");
});

Deno.test("constants have the kernel's values", () => {
  assertEquals(
    [BPF_LD, BPF_LDX, BPF_ST, BPF_STX, BPF_ALU, BPF_JMP, BPF_RET, BPF_MISC],
    [0, 1, 2, 3, 4, 5, 6, 7],
  );
  assertEquals([BPF_W, BPF_B, BPF_ABS, BPF_MEM, BPF_LEN, BPF_IMM], [0, 0x10, 0x20, 0x60, 0x80, 0]);
  assertEquals([BPF_JA, BPF_JEQ, BPF_JGT, BPF_JGE, BPF_JSET], [0, 0x10, 0x20, 0x30, 0x40]);
  assertEquals([BPF_K, BPF_X, BPF_A, BPF_TAX, BPF_TXA], [0, 8, 0x10, 0, 0x80]);
  assertEquals([BPF_AND, BPF_NEG, BPF_MOD, BPF_LSH, BPF_RSH], [0x50, 0x80, 0x90, 0x60, 0x70]);
  assertEquals(
    [
      SECCOMP_RET_KILL_PROCESS,
      SECCOMP_RET_KILL_THREAD,
      SECCOMP_RET_TRAP,
      SECCOMP_RET_ERRNO,
      SECCOMP_RET_USER_NOTIF,
      SECCOMP_RET_TRACE,
      SECCOMP_RET_LOG,
      SECCOMP_RET_ALLOW,
    ],
    [0x80000000, 0, 0x30000, 0x50000, 0x7fc00000, 0x7ff00000, 0x7ffc0000, 0x7fff0000],
  );
  assertEquals(
    [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, AUDIT_ARCH_RISCV64],
    [0xc000003e, 0x40000003, 0xc00000b7, 0x40000028, 0xc00000f3],
  );
  assertEquals(auditArch("x32"), AUDIT_ARCH_X86_64);
  assertEquals([SECCOMP_DATA.nr, SECCOMP_DATA.arch, SECCOMP_DATA.instructionPointer], [0, 4, 8]);
  assertEquals(SECCOMP_DATA.args, [16, 24, 32, 40, 48, 56]);
  assertEquals(SECCOMP_DATA.argLow, [16, 24, 32, 40, 48, 56]);
  assertEquals(SECCOMP_DATA.argHigh, [20, 28, 36, 44, 52, 60]);
  assertEquals(SECCOMP_DATA.size, 64);
});

Deno.test("return helpers encode action and data", () => {
  assertEquals(retAllow().k, SECCOMP_RET_ALLOW);
  assertEquals(retKillProcess().k, SECCOMP_RET_KILL_PROCESS);
  assertEquals(retKillThread().k, SECCOMP_RET_KILL_THREAD);
  assertEquals(retErrno(4095).k, SECCOMP_RET_ERRNO | 4095);
  assertEquals(retTrap(0xffff).k, SECCOMP_RET_TRAP | 0xffff);
  assertEquals(retTrace(7).k, SECCOMP_RET_TRACE | 7);
  assertEquals(retLog().k, SECCOMP_RET_LOG);
  assertEquals(retUserNotif().k, SECCOMP_RET_USER_NOTIF);
  assertEquals(retErrno(1).code, BPF_RET | BPF_K);
  assertThrows(() => retErrno(4096), RangeError, "ERRNO return: data 4096 is outside 0..4095");
  assertThrows(() => retTrap(0x10000), RangeError, "TRAP return");
  assertEquals(actionValue({ errno: EPERM }), SECCOMP_RET_ERRNO | EPERM);
  assertEquals(actionValue({ trap: 3 }), SECCOMP_RET_TRAP | 3);
  assertEquals(actionValue({ trace: 3 }), SECCOMP_RET_TRACE | 3);
  assertEquals(actionValue("kill_thread"), 0);
  assertThrows(() => actionValue({ errno: -1 }), RangeError, "errno -1 is outside 0..4095");
  // A name that is not an action says which are.
  assertThrows(
    () => actionValue("kill" as SeccompAction),
    TypeError,
    'Invalid seccomp action: "kill" (one of "allow", "kill_process", "kill_thread", "log", ' +
      '"user_notif", { errno: N }, { trap: N }, { trace: N })',
  );
  // Neither is a policy that is not an object.
  for (const policy of [null, undefined, 5, "allow"]) {
    assertThrows(
      () => compilePolicy(policy as unknown as SeccompPolicy, { arches: ["x86_64"] }),
      Error,
      `Cannot compile policy: the policy must be an object, got ${
        policy === null ? "null" : typeof policy
      }`,
    );
  }
});

Deno.test("hand-built filter with validateArch, allowSyscall and denySyscall", () => {
  const program = [
    ...validateArch(AUDIT_ARCH_X86_64),
    loadSyscallNr(),
    ...allowSyscall(0),
    ...denySyscall(165, SECCOMP_RET_ERRNO | EPERM),
    ...denySyscall(101),
    retErrno(EACCES),
  ];
  assertEquals(run(program, 0, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  assertEquals(run(program, 165, AUDIT_ARCH_X86_64), SECCOMP_RET_ERRNO | EPERM);
  assertEquals(run(program, 101, AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);
  assertEquals(run(program, 1, AUDIT_ARCH_X86_64), SECCOMP_RET_ERRNO | EACCES);
  assertEquals(run(program, 0, AUDIT_ARCH_I386), SECCOMP_RET_KILL_PROCESS);
  const armOnly = [...validateArch(AUDIT_ARCH_ARM, SECCOMP_RET_ERRNO | 5), retAllow()];
  assertEquals(run(armOnly, 0, AUDIT_ARCH_X86_64), SECCOMP_RET_ERRNO | 5);
  assertEquals(run(armOnly, 0, AUDIT_ARCH_ARM), SECCOMP_RET_ALLOW);
});

// ---------------------------------------------------------------------------------------------
// Compiler, checked through the simulator

const X86_64_NAMES = syscallNames("x86_64");
const ALLOWED = X86_64_NAMES.filter((_, index) => index % 3 !== 1);

const ALLOWLIST: SeccompPolicy = {
  defaultAction: "kill_process",
  rules: [{ names: ALLOWED, action: "allow" }],
};

const DENYLIST: SeccompPolicy = {
  defaultAction: "allow",
  rules: X86_64_NAMES.filter((_, index) => index % 4 === 0).map((name, index) => ({
    name,
    action:
      ([{ errno: EPERM }, "kill_process", { trap: index }, "log", { errno: ENOSYS }] as const)[
        index % 5
      ],
  })),
};

Deno.test("allowlist: every x86_64 number from 0 to the table's highest + 10", () => {
  const program = compilePolicy(ALLOWLIST, { arches: ["x86_64"] });
  checkProgram(program);
  const max = maxNumber("x86_64");
  let allowed = 0;
  for (let nr = 0; nr <= max + 10; nr++) {
    const expected = reference(ALLOWLIST, ["x86_64"], nr, AUDIT_ARCH_X86_64);
    assertEquals(run(program, nr, AUDIT_ARCH_X86_64), expected, `nr ${nr}`);
    if (expected === SECCOMP_RET_ALLOW) allowed++;
    if (nr > max) assertEquals(expected, RET_ENOSYS);
  }
  assertEquals(allowed, ALLOWED.length);
});

Deno.test("denylist: every x86_64 number from 0 to the table's highest + 10", () => {
  const program = compilePolicy(DENYLIST, { arches: ["x86_64"] });
  const max = maxNumber("x86_64");
  const seen = new Set<number>();
  for (let nr = 0; nr <= max + 10; nr++) {
    const expected = reference(DENYLIST, ["x86_64"], nr, AUDIT_ARCH_X86_64);
    assertEquals(run(program, nr, AUDIT_ARCH_X86_64), expected, `nr ${nr}`);
    seen.add(expected);
  }
  for (const value of [SECCOMP_RET_ALLOW, SECCOMP_RET_KILL_PROCESS, SECCOMP_RET_LOG, RET_ENOSYS]) {
    assert(seen.has(value), `no call answered 0x${value.toString(16)}`);
  }
});

Deno.test("the dispatch is a binary search, not a scan", () => {
  const program = compilePolicy(ALLOWLIST, { arches: ["x86_64"] });
  const counts = Array.from(
    { length: maxNumber("x86_64") + 1 },
    (_, nr) => instructionsRun(program, { nr, arch: AUDIT_ARCH_X86_64 }),
  );
  // A scan over ~250 allowed calls would run hundreds of instructions for late numbers.
  const worst = Math.max(...counts);
  assert(worst <= 3 + Math.ceil(Math.log2(program.length)) + 2, `a lookup runs up to ${worst}`);
  assertGreater(program.length, 64);
});

Deno.test("architecture check: kill_process on an unexpected arch, or the given action", () => {
  const program = compilePolicy(ALLOWLIST, { arches: ["x86_64"] });
  for (const arch of [AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64, AUDIT_ARCH_ARM, 0, 0xffffffff]) {
    assertEquals(run(program, 0, arch), SECCOMP_RET_KILL_PROCESS);
  }
  const trapping = compilePolicy(ALLOWLIST, {
    arches: ["x86_64"],
    badArchAction: { trap: 9 },
  });
  assertEquals(run(trapping, 0, AUDIT_ARCH_AARCH64), SECCOMP_RET_TRAP | 9);
  assertEquals(run(trapping, 0, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  // The first instruction reads seccomp_data.arch.
  assertEquals(program[0], stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.arch));
});

Deno.test("ENOSYS above the table, or the default action when asked", () => {
  const program = compilePolicy(ALLOWLIST, { arches: ["x86_64"] });
  const max = maxNumber("x86_64");
  for (const nr of [max + 1, max + 1000, 0x3fffffff]) {
    assertEquals(run(program, nr, AUDIT_ARCH_X86_64), RET_ENOSYS, `nr ${nr}`);
  }
  const plain = compilePolicy(ALLOWLIST, { arches: ["x86_64"], outsideTableAction: "default" });
  assertEquals(run(plain, max + 1, AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);
  const logging = compilePolicy(ALLOWLIST, { arches: ["x86_64"], outsideTableAction: "log" });
  assertEquals(run(logging, max + 1, AUDIT_ARCH_X86_64), SECCOMP_RET_LOG);
  // ARM: between the regular calls and the private ones at 0xf0000.
  const arm = compilePolicy({ defaultAction: "allow", rules: [] }, { arches: ["arm"] });
  assertEquals(run(arm, 0xf0000, AUDIT_ARCH_ARM), SECCOMP_RET_ALLOW);
  assertEquals(run(arm, maxNumber("arm") + 1, AUDIT_ARCH_ARM), RET_ENOSYS);
  assertEquals(run(arm, syscallNumber("set_tls", "arm")!, AUDIT_ARCH_ARM), SECCOMP_RET_ALLOW);
  assertEquals(run(arm, syscallRanges("arm")[0][1] + 1, AUDIT_ARCH_ARM), RET_ENOSYS);
  assertEquals(run(arm, 0xf0000 + 0x1000, AUDIT_ARCH_ARM), RET_ENOSYS);
});

Deno.test("x32: the 0x40000000 bit tells it from x86_64", () => {
  const policy: SeccompPolicy = {
    defaultAction: { errno: EPERM },
    rules: [
      { names: ["read", "rt_sigaction"], action: "allow" },
      { name: "write", action: { errno: EACCES } },
    ],
  };
  const only64 = compilePolicy(policy, { arches: ["x86_64"] });
  assertEquals(run(only64, 0, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  assertEquals(run(only64, X32_SYSCALL_BIT | 0, AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);
  assertEquals(run(only64, -1, AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);

  const onlyX32 = compilePolicy(policy, { arches: ["x32"] });
  assertEquals(run(onlyX32, 0, AUDIT_ARCH_X86_64), SECCOMP_RET_KILL_PROCESS);
  assertEquals(run(onlyX32, X32_SYSCALL_BIT | 0, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  assertEquals(run(onlyX32, X32_SYSCALL_BIT | 512, AUDIT_ARCH_X86_64), SECCOMP_RET_ALLOW);
  assertEquals(run(onlyX32, X32_SYSCALL_BIT | 13, AUDIT_ARCH_X86_64), SECCOMP_RET_ERRNO | EPERM);

  const arches: SeccompArch[] = ["x86_64", "x86", "x32"];
  const all = compilePolicy(policy, { arches });
  const numbers = [
    0,
    1,
    2,
    13,
    511,
    512,
    maxNumber("x86_64"),
    maxNumber("x86_64") + 1,
    X32_SYSCALL_BIT - 1,
    -1,
  ];
  for (const arch of [AUDIT_ARCH_X86_64, AUDIT_ARCH_I386, AUDIT_ARCH_AARCH64]) {
    for (const base of [0, X32_SYSCALL_BIT]) {
      for (const low of numbers) {
        const nr = (base | low) >>> 0;
        assertEquals(
          run(all, nr, arch),
          reference(policy, arches, nr, arch),
          `nr 0x${nr.toString(16)}`,
        );
      }
    }
  }
  assertEquals(run(all, syscallNumber("read", "x86")!, AUDIT_ARCH_I386), SECCOMP_RET_ALLOW);
  assertEquals(
    run(all, syscallNumber("write", "x86")!, AUDIT_ARCH_I386),
    SECCOMP_RET_ERRNO | EACCES,
  );
});

Deno.test("skipUnknown skips a name another architecture has, not a misspelt one", () => {
  const rules = (name: string) => [{ name, action: { errno: EACCES } }];
  // mkdir: x86_64 has it, aarch64 not.
  const program = compilePolicy(
    { defaultAction: "allow", rules: rules("mkdir"), skipUnknown: true },
    { arches: ["aarch64"] },
  );
  assert(program.length > 0);
  assertThrows(
    () =>
      compilePolicy(
        { defaultAction: "allow", rules: rules("mkdri"), skipUnknown: true },
        { arches: ["x86_64"] },
      ),
    Error,
    'syscall "mkdri" is unknown on every architecture',
  );
  assertThrows(
    () => compilePolicy({ defaultAction: "allow", rules: rules("mkdir") }, { arches: ["aarch64"] }),
    Error,
    'syscall "mkdir" is unknown on aarch64',
  );
});

Deno.test("every architecture, every number: compiled program agrees with the reference", () => {
  const policy: SeccompPolicy = {
    defaultAction: { errno: EACCES },
    rules: [
      { names: ["read", "write", "openat", "close", "exit_group"], action: "allow" },
      { names: ["open", "socketcall", "set_tls", "mmap2"], action: "log" },
      { name: "ioctl", action: "allow", args: [{ arg: 1, op: "<", value: 0x5500 }] },
    ],
    skipUnknown: true,
  };
  for (const arch of SECCOMP_ARCHES) {
    const program = compilePolicy(policy, { arches: [arch] });
    const audit = auditArch(arch);
    const base = arch === "x32" ? X32_SYSCALL_BIT : 0;
    for (let low = 0; low <= syscallRanges(arch)[0][1] - base + 10; low++) {
      const nr = base + low;
      for (const args of [[], [0n, 0x5401n], [0n, 0x5500n]]) {
        assertEquals(
          run(program, nr, audit, args),
          reference(policy, [arch], nr, audit, args),
          `${arch} nr ${nr}`,
        );
      }
    }
  }
});

Deno.test("rules for one syscall are tried in order, then the default action", () => {
  const policy: SeccompPolicy = {
    defaultAction: { errno: EPERM },
    rules: [
      { name: "socket", action: "allow", args: [{ arg: 0, op: "==", value: 1 }] },
      { name: "socket", action: { errno: EACCES }, args: [{ arg: 0, op: "==", value: 2 }] },
      { name: "socket", action: "log", args: [{ arg: 1, op: "==", value: 2 }] },
      { name: "socket", action: "allow", args: [{ arg: 0, op: "==", value: 1 }] },
    ],
  };
  const program = compilePolicy(policy, { arches: ["x86_64"] });
  const cases: [bigint[], number][] = [
    [[1n, 2n], SECCOMP_RET_ALLOW],
    [[2n, 2n], SECCOMP_RET_ERRNO | EACCES],
    [[10n, 2n], SECCOMP_RET_LOG],
    [[10n, 1n], SECCOMP_RET_ERRNO | EPERM],
    [[1n | (1n << 32n), 1n], SECCOMP_RET_ERRNO | EPERM],
  ];
  for (const [args, expected] of cases) {
    assertEquals(run(program, 41, AUDIT_ARCH_X86_64, args), expected);
  }
  // A rule without conditions ends the list: later rules for the call never apply.
  const shadowed = compilePolicy({
    defaultAction: "allow",
    rules: [
      { name: "socket", action: "kill_thread" },
      { name: "socket", action: "allow", args: [{ arg: 0, op: "==", value: 1 }] },
    ],
  }, { arches: ["x86_64"] });
  assertEquals(run(shadowed, 41, AUDIT_ARCH_X86_64, [1n]), SECCOMP_RET_KILL_THREAD);
  // Several conditions in one rule must all hold.
  const both = compilePolicy({
    defaultAction: "allow",
    rules: [{
      name: "mmap",
      action: { errno: EACCES },
      args: [{ arg: 2, op: "masked==", mask: 4, value: 4 }, { arg: 3, op: "!=", value: 0x22 }],
    }],
  }, { arches: ["x86_64"] });
  assertEquals(run(both, 9, AUDIT_ARCH_X86_64, [0n, 4096n, 7n, 0x2n]), SECCOMP_RET_ERRNO | EACCES);
  assertEquals(run(both, 9, AUDIT_ARCH_X86_64, [0n, 4096n, 7n, 0x22n]), SECCOMP_RET_ALLOW);
  assertEquals(run(both, 9, AUDIT_ARCH_X86_64, [0n, 4096n, 3n, 0x2n]), SECCOMP_RET_ALLOW);
});

const EDGE_VALUES: bigint[] = [
  0n,
  1n,
  5n,
  0x7fffffffn,
  0x80000000n,
  0xfffffffen,
  0xffffffffn,
  1n << 32n,
  (1n << 32n) + 1n,
  (1n << 32n) + 5n,
  (5n << 32n) + 5n,
  (5n << 32n) + 4n,
  (5n << 32n) + 6n,
  (4n << 32n) + 5n,
  (6n << 32n) + 5n,
  0x7fffffffffffffffn,
  1n << 63n,
  (1n << 63n) + 1n,
  0xffffffff00000000n,
  0xfffffffffffffffen,
  U64_MAX,
];

Deno.test("argument comparisons: every operator on 64-bit edge values, wide and narrow", () => {
  const ops = ["==", "!=", "<", "<=", ">", ">="] as const;
  const masks = [0n, 0xffn, 0xffffffffn, 0xffffffff00000000n, 0x8000000000000001n, U64_MAX];
  const conditions: ArgCondition[] = [];
  for (const value of EDGE_VALUES) {
    for (const op of ops) conditions.push({ arg: 3, op, value });
    for (const mask of masks) {
      conditions.push({ arg: 3, op: "masked==", mask, value: value & mask });
      conditions.push({ arg: 3, op: "masked==", mask, value });
    }
  }
  let checked = 0;
  for (const arch of ["x86_64", "x86", "aarch64", "arm"] as const) {
    for (const condition of conditions) {
      const policy: SeccompPolicy = {
        defaultAction: { errno: EPERM },
        rules: [{ name: "ioctl", action: "allow", args: [condition] }],
      };
      const program = compilePolicy(policy, { arches: [arch] });
      const nr = syscallNumber("ioctl", arch)!;
      const audit = auditArch(arch);
      for (const value of EDGE_VALUES) {
        const args = [0n, 0n, 0n, value];
        assertEquals(
          run(program, nr, audit, args),
          reference(policy, [arch], nr, audit, args),
          `${arch} arg ${value} ${condition.op} ${condition.value}`,
        );
        checked++;
      }
    }
  }
  assertGreater(checked, 10000);
});

Deno.test("argument comparisons accept numbers, negative values and reject the rest", () => {
  const program = compilePolicy({
    defaultAction: "allow",
    rules: [{
      name: "openat",
      action: { errno: EPERM },
      args: [{ arg: 0, op: "==", value: -100 }],
    }],
  }, { arches: ["x86_64"] });
  const AT_FDCWD = BigInt.asUintN(64, -100n);
  assertEquals(run(program, 257, AUDIT_ARCH_X86_64, [AT_FDCWD]), SECCOMP_RET_ERRNO | EPERM);
  assertEquals(run(program, 257, AUDIT_ARCH_X86_64, [AT_FDCWD & 0xffffffffn]), SECCOMP_RET_ALLOW);
  const low = compilePolicy({
    defaultAction: "allow",
    rules: [{
      name: "openat",
      action: { errno: EPERM },
      args: [{ arg: 0, op: "masked==", mask: 0xffffffff, value: (-100 & 0xffffffff) >>> 0 }],
    }],
  }, { arches: ["x86_64"] });
  assertEquals(
    run(low, 257, AUDIT_ARCH_X86_64, [AT_FDCWD & 0xffffffffn]),
    SECCOMP_RET_ERRNO | EPERM,
  );
  assertEquals(run(low, 257, AUDIT_ARCH_X86_64, [AT_FDCWD]), SECCOMP_RET_ERRNO | EPERM);

  const bad = (condition: ArgCondition) => () =>
    compilePolicy({
      defaultAction: "allow",
      rules: [{ name: "read", action: "log", args: [condition] }],
    }, {
      arches: ["x86_64"],
    });
  assertThrows(bad({ arg: 6, op: "==", value: 0 }), Error, 'rule for "read" compares argument 6');
  assertThrows(bad({ arg: 0, op: "==", value: 0.5 }), Error, "is not an integer");
  assertThrows(bad({ arg: 0, op: "==", value: 1n << 64n }), Error, "does not fit in 64 bits");
  assertThrows(bad({ arg: 0, op: "~" as "==", value: 0 }), Error, 'unknown operator "~"');
});

Deno.test("unknown syscalls are an error naming the call and the arch, unless skipped", () => {
  const policy: SeccompPolicy = {
    defaultAction: "allow",
    rules: [{ names: ["open", "openat"], action: { errno: EPERM } }],
  };
  const error = assertThrows(() => compilePolicy(policy, { arches: ["x86_64", "aarch64"] }), Error);
  assertEquals(error.message, 'Cannot compile policy: syscall "open" is unknown on aarch64');
  const program = compilePolicy({ ...policy, skipUnknown: true }, { arches: ["aarch64"] });
  assertEquals(run(program, 56, AUDIT_ARCH_AARCH64), SECCOMP_RET_ERRNO | EPERM);
  assertThrows(
    () => compilePolicy(policy, { arches: ["mips" as SeccompArch] }),
    Error,
    'architecture "mips" has no syscall table',
  );
  assertThrows(() => compilePolicy(policy, { arches: [] }), Error, "no target architecture");
  assertThrows(
    () => compilePolicy(policy, { arches: ["x86_64", "x86_64"] }),
    Error,
    "architectures repeat",
  );
});

Deno.test("long jumps: a 300-rule policy with conditions is correct everywhere", () => {
  const names = [...syscallNames("x86_64"), ...syscallNames("x86_64")].slice(0, 300);
  const policy: SeccompPolicy = {
    defaultAction: "allow",
    rules: names.map((name, index) => ({
      name,
      action: { errno: 1 + index },
      args: index % 2 === 0 ? [{ arg: index % 6, op: ">=", value: BigInt(index) << 32n }] : [],
    })),
  };
  const program = compilePolicy(policy, { arches: ["x86_64"] });
  assertGreater(program.length, 600);
  assert(hasLongJump(program), "expected BPF_JA long jumps in a long program");
  checkProgram(program);
  const max = maxNumber("x86_64");
  for (let nr = 0; nr <= max + 10; nr++) {
    for (const shift of [0n, 100n, 1000n]) {
      const args = [0, 1, 2, 3, 4, 5].map((i) => (shift + BigInt(i)) << 32n);
      assertEquals(
        run(program, nr, AUDIT_ARCH_X86_64, args),
        reference(policy, ["x86_64"], nr, AUDIT_ARCH_X86_64, args),
        `nr ${nr} shift ${shift}`,
      );
    }
  }
  // The same policy for three ABIs at once is longer still and must be as correct.
  const arches: SeccompArch[] = ["x86_64", "x86", "x32"];
  const wide = compilePolicy({ ...policy, skipUnknown: true }, { arches });
  for (
    const [arch, audit, base] of [
      ["x86", AUDIT_ARCH_I386, 0],
      ["x32", AUDIT_ARCH_X86_64, X32_SYSCALL_BIT],
    ] as const
  ) {
    for (let low = 0; low <= maxNumber(arch) - base + 5; low += 3) {
      const nr = base + low;
      const args = [7n, 1n << 40n, 3n, 4n << 32n, 5n, 6n];
      assertEquals(
        run(wide, nr, audit, args),
        reference({ ...policy, skipUnknown: true }, arches, nr, audit, args),
        `${arch} nr ${nr}`,
      );
    }
  }
});

Deno.test("a program over the kernel's 4096 instructions is an error", () => {
  const policy: SeccompPolicy = {
    defaultAction: "allow",
    rules: syscallNames("x86_64").map((name, index) => ({
      name,
      action: { errno: 1 + (index % 4000) },
      args: [0, 1, 2, 3, 4, 5].map((arg) => ({
        arg,
        op: "!=" as const,
        value: (1n << 40n) + BigInt(index),
      })),
    })),
  };
  assertThrows(
    () => compilePolicy(policy, { arches: ["x86_64"] }),
    Error,
    "more than the kernel's 4096",
  );
});

// ---------------------------------------------------------------------------------------------
// Simulator and disassembler

Deno.test("disassemble names loads, jump targets and return values", () => {
  // The exact text, for a hand-written program covering every kind of instruction.
  const listing = disassemble([
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.arch),
    jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 1, 0),
    retKillProcess(),
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.nr),
    jump(BPF_JMP | BPF_JGE | BPF_K, 0x27, 0, 1),
    stmt(BPF_JMP | BPF_JA, 1),
    retErrno(EPERM),
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.argHigh[1]),
    stmt(BPF_ALU | BPF_AND | BPF_K, 0xff),
    stmt(BPF_ST, 3),
    stmt(BPF_LDX | BPF_MEM, 3),
    stmt(BPF_MISC | BPF_TXA, 0),
    stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
    stmt(BPF_ALU | BPF_NEG, 0),
    jump(BPF_JMP | BPF_JSET | BPF_X, 0, 0, 1),
    retTrap(5),
    stmt(BPF_LD | BPF_IMM, 0x7fff0000),
    stmt(BPF_RET | BPF_A, 0),
  ]);
  assertEquals(
    listing,
    [
      "0000: ld [4]      ; arch",
      "0001: jeq #0xc000003e jt 3 jf 2",
      "0002: ret KILL_PROCESS",
      "0003: ld [0]      ; nr",
      "0004: jge #0x27 jt 5 jf 6",
      "0005: ja 7",
      "0006: ret ERRNO(1)",
      "0007: ld [28]     ; args[1].hi",
      "0008: and #0xff",
      "0009: st M[3]",
      "0010: ldx M[3]",
      "0011: txa",
      "0012: add x",
      "0013: neg",
      "0014: jset x jt 15 jf 16",
      "0015: ret TRAP(0x5)",
      "0016: ld #0x7fff0000",
      "0017: ret a",
      "",
    ].join("\n"),
  );
  assertEquals(describeReturn(SECCOMP_RET_ERRNO | ENOSYS), "ERRNO(38)");
  assertEquals(describeReturn(SECCOMP_RET_KILL_THREAD), "KILL_THREAD");
  assertEquals(describeReturn(SECCOMP_RET_TRACE | 1), "TRACE(0x1)");
  assertEquals(describeReturn(SECCOMP_RET_USER_NOTIF), "USER_NOTIF");
  assertEquals(describeReturn(0x12340000), "#0x12340000");
  assertMatch(disassemble([{ code: 0xffff, jt: 1, jf: 2, k: 3 }]), /^0000: \.insn code 0xffff/);
});

Deno.test("disassemble the compiled program exactly", () => {
  const program = compilePolicy({
    defaultAction: "kill_process",
    rules: [
      { names: ["read", "write"], action: "allow" },
      { name: "getpid", action: { errno: EPERM } },
    ],
  }, { arches: ["x86_64"] });
  assertEquals(
    disassemble(program),
    [
      "0000: ld [4]      ; arch",
      "0001: jeq #0xc000003e jt 2 jf 10",
      "0002: ld [0]      ; nr",
      "0003: jge #0x28 jt 8 jf 4",
      "0004: jge #0x27 jt 5 jf 6",
      "0005: ret ERRNO(1)",
      "0006: jge #0x2 jt 10 jf 7",
      "0007: ret ALLOW",
      "0008: jge #0x40000000 jt 10 jf 9",
      "0009: jge #0x1c9 jt 11 jf 10",
      "0010: ret KILL_PROCESS",
      "0011: ret ERRNO(38)",
      "",
    ].join("\n"),
  );
});

Deno.test("simulate runs ALU, scratch memory, X and ret a like the kernel", () => {
  const program: Instruction[] = [
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.argLow[0]), // A = arg0.lo
    stmt(BPF_ST, 0),
    stmt(BPF_LDX | BPF_W | BPF_LEN, 0), // X = 64
    stmt(BPF_ALU | BPF_SUB | BPF_X, 0), // A -= 64
    stmt(BPF_ALU | BPF_LSH | BPF_K, 4),
    stmt(BPF_ALU | BPF_RSH | BPF_K, 4),
    stmt(BPF_LDX | BPF_MEM, 0), // X = arg0.lo
    stmt(BPF_ALU | BPF_DIV | BPF_X, 0), // A /= X (0 ends with 0)
    stmt(BPF_MISC | BPF_TAX, 0),
    stmt(BPF_LD | BPF_IMM, SECCOMP_RET_ERRNO),
    stmt(BPF_ALU | BPF_ADD | BPF_X, 0),
    stmt(BPF_RET | BPF_A, 0),
  ];
  // (2 - 64) mod 2^32 = 0xffffffc2, << 4 >> 4 = 0x0fffffc2, / 2 = 0x07ffffe1, data 0xffe1.
  assertEquals(
    simulate(program, { nr: 0, arch: 0, args: [2] }).value,
    (SECCOMP_RET_ERRNO + 0x07ffffe1) >>> 0,
  );
  const killed = simulate(program, { nr: 0, arch: 0, args: [0] });
  assertEquals([killed.value, killed.actionName], [0, "KILL_THREAD"]);
  // An action the kernel does not know counts as KILL_PROCESS.
  const unknown = simulate([stmt(BPF_RET | BPF_K, 0x12340005)], { nr: 0, arch: 0 });
  assertEquals([unknown.action, unknown.data, unknown.actionName], [
    SECCOMP_RET_KILL_PROCESS,
    5,
    "KILL_PROCESS",
  ]);
  const errno = simulate([retErrno(EACCES)], { nr: 0, arch: 0 });
  assertEquals(errno, {
    value: SECCOMP_RET_ERRNO | EACCES,
    action: SECCOMP_RET_ERRNO,
    data: EACCES,
    actionName: "ERRNO",
  });
  // The instruction pointer halves and the -1 syscall number.
  const ip = [
    stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.instructionPointerHigh),
    stmt(BPF_RET | BPF_A, 0),
  ];
  assertEquals(
    simulate(ip, { nr: 0, arch: 0, instructionPointer: 0x7fff_0000_1000n }).value,
    0x7fff,
  );
  const nr = [stmt(BPF_LD | BPF_W | BPF_ABS, SECCOMP_DATA.nr), stmt(BPF_RET | BPF_A, 0)];
  assertEquals(simulate(nr, { nr: -1, arch: 0 }).value, 0xffffffff);
  assertEquals(simulate(assemble(nr), { nr: 7, arch: 0 }).value, 7);
});

Deno.test("checkProgram rejects what the kernel rejects", () => {
  const ok = [loadSyscallNr(), retAllow()];
  checkProgram(ok);
  const rejects = (program: Instruction[], message: string) =>
    assertThrows(() => checkProgram(program), Error, message);
  rejects([], "0 instructions, expected 1..4096");
  rejects(Array(4097).fill(retAllow()), "4097 instructions");
  rejects([loadSyscallNr()], "instruction 0 is the last one and not a ret");
  rejects([stmt(BPF_LD | BPF_B | BPF_ABS, 0), retAllow()], "instruction 0 has opcode 0x30");
  rejects([stmt(BPF_ALU | BPF_MOD | BPF_K, 3), retAllow()], "opcode 0x94");
  rejects([stmt(BPF_LD | BPF_W | BPF_ABS, 2), retAllow()], "loads offset 2");
  rejects([stmt(BPF_LD | BPF_W | BPF_ABS, 64), retAllow()], "loads offset 64");
  rejects([stmt(BPF_ALU | BPF_DIV | BPF_K, 0), retAllow()], "divides by the constant 0");
  rejects([stmt(BPF_ALU | BPF_LSH | BPF_K, 32), retAllow()], "shifts by 32");
  rejects([stmt(BPF_ST, 16), retAllow()], "uses M[16]");
  rejects([stmt(BPF_LD | BPF_MEM, 0), retAllow()], "reads M[0] before it is written");
  rejects([stmt(BPF_JMP | BPF_JA, 1), retAllow()], "instruction 0 jumps 1 past the end");
  rejects(
    [jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1), retAllow()],
    "jumps past the end (jt 0, jf 1)",
  );
  // M[0] written on one path only is rejected at the join.
  rejects([
    loadSyscallNr(),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    stmt(BPF_ST, 0),
    stmt(BPF_LD | BPF_MEM, 0),
    retAllow(),
  ], "instruction 3 reads M[0]");
  checkProgram([
    loadSyscallNr(),
    stmt(BPF_ST, 0),
    jump(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 1),
    stmt(BPF_ST, 1),
    stmt(BPF_LD | BPF_MEM, 0),
    retAllow(),
  ]);
  assertThrows(
    () => simulate([loadSyscallNr()], { nr: 0, arch: 0 }),
    Error,
    "Invalid seccomp program",
  );
});

// ---------------------------------------------------------------------------------------------
// Default profile

Deno.test("the default profile compiles for every architecture and decides as documented", () => {
  for (const arch of SECCOMP_ARCHES) {
    const program = compilePolicy(DEFAULT_PROFILE, { arches: [arch] });
    checkProgram(program);
    const audit = auditArch(arch);
    const call = (name: string, args: bigint[] = []) =>
      run(program, syscallNumber(name, arch)!, audit, args);
    assertEquals(call("openat"), SECCOMP_RET_ALLOW, arch);
    assertEquals(call("execve"), SECCOMP_RET_ALLOW, arch);
    assertEquals(call("mount"), SECCOMP_RET_ERRNO | EPERM, arch);
    assertEquals(call("unshare"), SECCOMP_RET_ERRNO | EPERM, arch);
    assertEquals(call("bpf"), SECCOMP_RET_ERRNO | EPERM, arch);
    assertEquals(call("keyctl"), SECCOMP_RET_ERRNO | EPERM, arch);
    assertEquals(call("clone3"), SECCOMP_RET_ERRNO | ENOSYS, arch);
    assertEquals(call("io_uring_setup"), SECCOMP_RET_ERRNO | ENOSYS, arch);
    const threadFlags = 0x3d0f00n; // CLONE_VM | FS | FILES | SIGHAND | THREAD | SYSVSEM | ...
    assertEquals(call("clone", [threadFlags]), SECCOMP_RET_ALLOW, arch);
    assertEquals(call("clone", [0x11n]), SECCOMP_RET_ALLOW, arch); // fork: SIGCHLD
    for (
      const flag of [
        0x20000n,
        0x2000000n,
        0x4000000n,
        0x8000000n,
        0x10000000n,
        0x20000000n,
        0x40000000n,
      ]
    ) {
      assertEquals(
        call("clone", [flag | 0x11n]),
        SECCOMP_RET_ERRNO | EPERM,
        `${arch} 0x${flag.toString(16)}`,
      );
    }
    assertEquals(call("personality", [0n]), SECCOMP_RET_ALLOW, arch);
    assertEquals(call("personality", [0xffffffffn]), SECCOMP_RET_ALLOW, arch);
    assertEquals(call("personality", [0x0400000n]), SECCOMP_RET_ERRNO | EPERM, arch);
    // Typing into the terminal is refused, whatever the upper half holds; other requests pass.
    for (const request of [0x5412n, 0x541cn, 0xffff_ffff_0000_5412n]) {
      assertEquals(call("ioctl", [0n, request]), SECCOMP_RET_ERRNO | EPERM, `${arch} ${request}`);
    }
    for (const request of [0x541bn, 0x5413n, 0x5401n, 0x5412_0000n]) {
      assertEquals(call("ioctl", [0n, request]), SECCOMP_RET_ALLOW, `${arch} ${request}`);
    }
    const base = arch === "x32" ? X32_SYSCALL_BIT : 0;
    assertEquals(run(program, base + syscallRanges(arch)[0][1] + 1, audit), RET_ENOSYS, arch);
  }
  const x86 = compilePolicy(DEFAULT_PROFILE, { arches: ["x86_64", "x86", "x32"] });
  assertEquals(run(x86, syscallNumber("socketcall", "x86")!, AUDIT_ARCH_I386), SECCOMP_RET_ALLOW);
  assertEquals(
    run(x86, syscallNumber("ptrace", "x32")!, AUDIT_ARCH_X86_64),
    SECCOMP_RET_ERRNO | EPERM,
  );
});

Deno.test("the default profile's lists: the brief's denials present, allowed and denied disjoint", () => {
  for (
    const name of [
      "init_module",
      "finit_module",
      "delete_module",
      "kexec_load",
      "kexec_file_load",
      "bpf",
      "perf_event_open",
      "add_key",
      "request_key",
      "keyctl",
      "userfaultfd",
      "ptrace",
      "process_vm_readv",
      "process_vm_writev",
      "mount",
      "umount2",
      "pivot_root",
      "move_mount",
      "fsopen",
      "fsmount",
      "open_tree",
      "unshare",
      "setns",
      "swapon",
      "swapoff",
      "reboot",
      "settimeofday",
      "clock_settime",
      "adjtimex",
      "acct",
      "quotactl",
      "lookup_dcookie",
      "iopl",
      "ioperm",
      "name_to_handle_at",
      "open_by_handle_at",
      "vm86",
    ]
  ) {
    assert(DEFAULT_PROFILE_DENIED.includes(name), `${name} is not denied`);
  }
  const both = DEFAULT_PROFILE_ALLOWED.filter((name) => DEFAULT_PROFILE_DENIED.includes(name));
  assertEquals(both.sort(), ["clone", "ioctl", "personality"]);
  for (const group of DEFAULT_PROFILE_GROUPS) {
    assertNotEquals(group.reason, "");
    for (const rule of group.rules) {
      for (const name of rule.name !== undefined ? [rule.name] : rule.names) {
        assert(
          SECCOMP_ARCHES.some((arch) => syscallNumber(name, arch) !== undefined),
          `${name} exists on no architecture`,
        );
      }
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Real kernel: filters installed by tests/c/seccomp_install.c

const MUST_WORK = Deno.env.get("ALCOVE_MUST_WORK") === "1";

async function commandWorks(command: string, args: string[]): Promise<boolean> {
  try {
    const output = await new Deno.Command(command, { args, stdout: "null", stderr: "null" })
      .output();
    return output.success;
  } catch {
    return false;
  }
}

async function kernelSkipReason(): Promise<string | undefined> {
  if (Deno.build.os !== "linux") return "seccomp filters need Linux";
  if (nativeArchOrUndefined() === undefined) return `no syscall table for ${Deno.build.arch}`;
  if (!(await commandWorks("gcc", ["--version"]))) return "gcc is not installed";
  const status = await Deno.readTextFile("/proc/self/status").catch(() => "");
  if (!/^Seccomp:/m.test(status)) return "the kernel has no seccomp support (no Seccomp: line)";
  return undefined;
}

function nativeArchOrUndefined(): SeccompArch | undefined {
  const arch = Deno.build.arch;
  return (SECCOMP_ARCHES as readonly string[]).includes(arch) ? arch as SeccompArch : undefined;
}

const KERNEL_SKIP = await kernelSkipReason();

// The interpreter itself rather than a wrapper script, whose shell would run under the filters too.
const PYTHON = await Deno.stat("/usr/bin/python3").then(() => "/usr/bin/python3", () => "python3");

let installer: Promise<{ dir: string; binary: string }> | undefined;
let installerDir: string | undefined;

globalThis.addEventListener("unload", () => {
  if (installerDir !== undefined) Deno.removeSync(installerDir, { recursive: true });
});

function buildInstaller(): Promise<{ dir: string; binary: string }> {
  installer ??= (async () => {
    const dir = await Deno.makeTempDir({ prefix: "alcove_seccomp_test_" });
    installerDir = dir;
    const binary = `${dir}/seccomp_install`;
    const source = new URL("./c/seccomp_install.c", import.meta.url).pathname;
    const output = await new Deno.Command("gcc", {
      args: ["-Wall", "-Wextra", "-Werror", "-O2", "-o", binary, source],
    }).output();
    if (!output.success) {
      throw new Error(
        `Cannot compile seccomp_install.c: ${new TextDecoder().decode(output.stderr)}`,
      );
    }
    return { dir, binary };
  })();
  return installer;
}

interface Outcome {
  code: number;
  signal: Deno.Signal | null;
  stdout: string;
  stderr: string;
}

async function runUnder(program: readonly Instruction[], command: string[]): Promise<Outcome> {
  const { dir, binary } = await buildInstaller();
  const filter = await Deno.makeTempFile({ dir, suffix: ".bpf" });
  await Deno.writeFile(filter, assemble(program));
  const output = await new Deno.Command(binary, {
    args: [filter, ...command],
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(filter);
  return {
    code: output.code,
    signal: output.signal,
    stdout: new TextDecoder().decode(output.stdout),
    stderr: new TextDecoder().decode(output.stderr),
  };
}

function kernelTest(name: string, fn: () => Promise<void>): void {
  Deno.test({
    name: KERNEL_SKIP === undefined
      ? `kernel: ${name}`
      : `kernel: ${name} (skipped: ${KERNEL_SKIP})`,
    ignore: KERNEL_SKIP !== undefined && !MUST_WORK,
    fn: async () => {
      if (KERNEL_SKIP !== undefined) {
        throw new Error(`Cannot run with ALCOVE_MUST_WORK=1: ${KERNEL_SKIP}`);
      }
      await fn();
    },
  });
}

function native(policy: SeccompPolicy): Instruction[] {
  return compilePolicy(policy, { arches: [nativeArchOrUndefined()!] });
}

kernelTest("an allowed call works and an errno rule returns that errno", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove_seccomp_mkdir_" });
  try {
    const program = native({
      defaultAction: "allow",
      rules: [{ names: ["mkdir", "mkdirat"], action: { errno: EPERM } }],
      skipUnknown: true,
    });
    const listed = await runUnder(program, ["ls", dir]);
    assertEquals(listed.code, 0, listed.stderr);
    const made = await runUnder(program, ["mkdir", `${dir}/child`]);
    assertNotEquals(made.code, 0);
    assertStringIncludes(made.stderr, "Operation not permitted");
    assertEquals([...Deno.readDirSync(dir)], []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

kernelTest("kill_process and trap end the process with SIGSYS", async () => {
  for (const action of ["kill_process", { trap: 1 }] as SeccompAction[]) {
    const program = native({ defaultAction: "allow", rules: [{ name: "uname", action }] });
    const killed = await runUnder(program, ["uname", "-a"]);
    assertEquals(killed.signal, "SIGSYS", JSON.stringify(action));
    const fine = await runUnder(program, ["true"]);
    assertEquals([fine.code, fine.signal], [0, null]);
  }
});

kernelTest("socket is allowed for AF_UNIX only", async () => {
  const AF_UNIX = 1;
  const program = native({
    defaultAction: "allow",
    rules: [
      { name: "socket", action: "allow", args: [{ arg: 0, op: "==", value: AF_UNIX }] },
      { name: "socket", action: { errno: EPERM } },
    ],
  });
  const unix = await runUnder(program, [
    PYTHON,
    "-c",
    "import socket; socket.socket(socket.AF_UNIX); print('unix ok')",
  ]);
  assertEquals(unix.code, 0, unix.stderr);
  assertStringIncludes(unix.stdout, "unix ok");
  const inet = await runUnder(program, [
    PYTHON,
    "-c",
    "import socket; socket.socket(socket.AF_INET)",
  ]);
  assertNotEquals(inet.code, 0);
  assertStringIncludes(inet.stderr, "PermissionError");
});

kernelTest("64-bit argument comparisons see the high half", async () => {
  const program = native({
    defaultAction: "allow",
    rules: [{
      name: "lseek",
      action: { errno: EACCES },
      args: [{ arg: 1, op: ">=", value: 1n << 32n }],
    }],
  });
  const script = (offset: string) =>
    `import os; fd = os.open("/dev/zero", os.O_RDONLY); print(os.lseek(fd, ${offset}, 0))`;
  for (const offset of ["0", "5", "2**32 - 1"]) {
    const ok = await runUnder(program, [PYTHON, "-c", script(offset)]);
    assertEquals(ok.code, 0, `${offset}: ${ok.stderr}`);
  }
  for (const offset of ["2**32", "2**32 + 5", "2**40"]) {
    const denied = await runUnder(program, [PYTHON, "-c", script(offset)]);
    assertNotEquals(denied.code, 0, offset);
    assertStringIncludes(denied.stderr, "Permission denied");
  }
});

kernelTest("the default profile runs a shell but refuses unshare and mount", async () => {
  const program = native(DEFAULT_PROFILE);
  const shell = await runUnder(program, ["/bin/sh", "-c", "ls /; cat /etc/hostname"]);
  assertEquals(shell.code, 0, shell.stderr);
  assertStringIncludes(shell.stdout, "usr");
  const hostname = (await Deno.readTextFile("/etc/hostname").catch(() => "")).trim();
  if (hostname !== "") assertStringIncludes(shell.stdout, hostname);

  const unshare = await runUnder(program, ["unshare", "-U", "true"]);
  assertNotEquals(unshare.code, 0);
  assertStringIncludes(unshare.stderr, "Operation not permitted");

  const target = await Deno.makeTempDir({ prefix: "alcove_seccomp_mount_" });
  try {
    const mount = await runUnder(program, ["mount", "-t", "tmpfs", "none", target]);
    assertNotEquals(mount.code, 0);
    const mounts = await Deno.readTextFile("/proc/self/mountinfo");
    assert(!mounts.includes(target), "the tmpfs was mounted");
  } finally {
    await Deno.remove(target);
  }
});

kernelTest("the kernel accepts long-jump and multi-arch programs", async () => {
  const names = syscallNames(nativeArchOrUndefined()!).slice(0, 300);
  const long = native({
    defaultAction: "allow",
    rules: [
      ...names.map((name, index) => ({
        name,
        action: { errno: 1 + index } as SeccompAction,
        args: [{ arg: 5, op: "==" as const, value: 0xdead_beef_cafen + BigInt(index) }],
      })),
      { names: ["mkdir", "mkdirat"], action: { errno: EACCES } },
    ],
    skipUnknown: true,
  });
  assert(hasLongJump(long));
  const dir = await Deno.makeTempDir({ prefix: "alcove_seccomp_long_" });
  try {
    const ok = await runUnder(long, ["true"]);
    assertEquals(ok.code, 0, ok.stderr);
    const made = await runUnder(long, ["mkdir", `${dir}/x`]);
    assertStringIncludes(made.stderr, "Permission denied");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  if (nativeArchOrUndefined() === "x86_64") {
    const multi = compilePolicy(DEFAULT_PROFILE, { arches: ["x86_64", "x86", "x32"] });
    const ok = await runUnder(multi, ["/bin/sh", "-c", "echo multi"]);
    assertEquals([ok.code, ok.stdout], [0, "multi\n"], ok.stderr);
  }
});

Deno.test("the builders refuse input of the wrong shape with a clear error", () => {
  // deno-lint-ignore no-explicit-any
  const any = (v: unknown) => v as any;
  const arches: SeccompArch[] = ["x86_64"];
  const bad: [() => unknown, ErrorConstructor, string][] = [
    [() => assemble(any(5)), TypeError, "Cannot assemble program: it must be an array"],
    [() => assemble(any([retAllow(), null])), TypeError, "instruction 1 is not an object"],
    [() => checkProgram(any("x")), TypeError, "Cannot read program: it must be an array"],
    [() => decode(any([1, 2])), TypeError, "Cannot decode program: it must be a Uint8Array"],
    [
      () => sockFprog(any(Array(8).fill(retAllow()))),
      TypeError,
      "Cannot build sock_fprog: program must be the bytes of assemble(), got an array",
    ],
    [() => simulate([retAllow()], any(null)), TypeError, "Cannot simulate: data must be an object"],
    [() => simulate([retAllow()], any({ nr: 0 })), RangeError, "Cannot simulate: arch undefined"],
    [
      () => simulate([retAllow()], any({ nr: 0, arch: AUDIT_ARCH_X86_64, args: 5 })),
      TypeError,
      "Cannot simulate: args must be an array",
    ],
    [
      () => compilePolicy(any({ defaultAction: "allow", rules: [null] }), { arches }),
      Error,
      "rule 0 must be an object",
    ],
    [
      () =>
        compilePolicy(
          any({ defaultAction: "allow", rules: [{ name: "read", action: "allow", args: 5 }] }),
          {
            arches,
          },
        ),
      Error,
      "rule 0: args must be an array",
    ],
    [
      () =>
        compilePolicy(
          any({
            defaultAction: "allow",
            rules: [{ name: "read", names: ["write"], action: "allow" }],
          }),
          { arches },
        ),
      Error,
      'rule 0 has both "name" and "names"',
    ],
    [
      () =>
        compilePolicy(any({ defaultAction: "allow", rules: [{ names: [], action: "allow" }] }), {
          arches,
        }),
      Error,
      "rule 0: names is empty",
    ],
    [
      () =>
        compilePolicy(any({ defaultAction: "allow", rules: [{ names: [1], action: "allow" }] }), {
          arches,
        }),
      Error,
      "rule 0: names[0] must be a string",
    ],
  ];
  for (const [attempt, type, message] of bad) {
    const e = assertThrows(attempt, type, message);
    assert(!(e as Error).message.includes("Cannot read properties"), (e as Error).message);
  }
});
