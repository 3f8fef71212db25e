/**
 * Seccomp filters installed for real through the driver (ffi/seccomp/install.ts): in control
 * processes, which then run calls and programs under them, and over every thread of a Deno
 * process (in a subprocess, since a filter cannot be removed). Also the pure parts: telling an
 * architecture from its syscall numbers, and decoding the siginfo of SIGSYS.
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  type Alcove,
  type AlcoveEvent,
  archOfSyscalls,
  assemble,
  AUDIT_ARCH_I386,
  AUDIT_ARCH_X86_64,
  auditArch,
  compilePolicy,
  DEFAULT_PROFILE,
  DEFAULT_PROFILE_DENIED,
  installFilter,
  installFilterLocal,
  installPolicy,
  installPolicyLocal,
  loadSyscallNr,
  nativeArch,
  openLocal,
  ProcessExitedError,
  retAllow,
  SECCOMP_ARCHES,
  seccompArch,
  seccompArchLocal,
  type SeccompPolicy,
  sigsysInfo,
  simulate,
  syscallNumber,
  SystemCallError,
  X32_SYSCALL_BIT,
} from "../mod.ts";
import {
  assertEveryThreadDenied,
  cannotRun,
  denoOnly,
  IS_ROOT,
  needs,
  readAll,
  runThreadedDeno,
  withDriver,
} from "./_helpers.ts";

const EPERM = 1;
const EACCES = 13;

function kernelSkip(): string | undefined {
  if (Deno.build.os !== "linux") return "seccomp filters need Linux";
  if (nativeArch() === undefined) return `no syscall table for ${Deno.build.arch}`;
  const status = Deno.readTextFileSync("/proc/self/status");
  if (!/^Seccomp:/m.test(status)) return "the kernel has no seccomp support (no Seccomp: line)";
  return undefined;
}

const SKIP = kernelSkip();

/** The Seccomp: line of /proc/PID/status: 0 none, 1 strict, 2 filter. */
async function seccompMode(pid: number): Promise<number> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  return Number(/^Seccomp:\s+(\d+)/m.exec(status)?.[1]);
}

/** A child of the root with core dumps off, so that a process killed by SIGSYS leaves none. */
async function child(drv: Alcove): Promise<number> {
  const pid = await drv.fork([]);
  await drv.setrlimit([pid], "RLIMIT_CORE", { cur: 0, max: 0 });
  return pid;
}

/** A test with a fresh driver and a child of its root (see `child`); `test` comes from `needs`. */
function childTest(
  test: { name: string; ignore: boolean },
  fn: (drv: Alcove, pid: number) => Promise<void>,
): void {
  Deno.test(test, () => withDriver(async (drv) => fn(drv, await child(drv))));
}

/** Asserts that a call fails with the system error `code` (such as "EPERM"). */
async function assertFailsWith(
  attempt: () => Promise<unknown>,
  code: string,
  msg?: string,
): Promise<void> {
  const e = await assertRejects(attempt);
  assertInstanceOf(e, SystemCallError);
  assertEquals(e.code, code, msg);
}

/** Runs a program in a new child of `parent` and collects its output and its end. */
async function run(
  drv: Alcove,
  parent: number[],
  argv: string[],
): Promise<{ stdout: string; stderr: string; event: AlcoveEvent | null }> {
  const pid = await drv.fork(parent);
  const pipeline = [...parent, pid];
  await drv.execvp(pipeline, argv[0], argv);
  const [stdout, stderr] = await Promise.all([
    readAll(drv, pipeline, "stdout"),
    readAll(drv, pipeline, "stderr"),
  ]);
  return { stdout, stderr, event: await drv.event(pipeline, { timeout: 10000 }) };
}

const MKDIR_DENIED: SeccompPolicy = {
  defaultAction: "allow",
  rules: [{ names: ["mkdir", "mkdirat"], action: { errno: EPERM } }],
  skipUnknown: true,
};

// ---------------------------------------------------------------------------------------------
// Pure

Deno.test("archOfSyscalls tells every architecture with a table from its own numbers", () => {
  const probes = ["read", "openat", "getpid", "renameat", "riscv_flush_icache"];
  for (const arch of SECCOMP_ARCHES) {
    const numbers = Object.fromEntries(probes.map((name) => [name, syscallNumber(name, arch)]));
    assertEquals(archOfSyscalls(numbers), arch);
  }
  // The generic table alone does not tell aarch64 from riscv64; nothing matches no table.
  assertEquals(archOfSyscalls({ read: 63, openat: 56 }), undefined);
  assertEquals(archOfSyscalls({ read: 63, openat: 56, riscv_flush_icache: 259 }), "riscv64");
  assertEquals(archOfSyscalls({ read: 0, openat: 56 }), undefined);
  assertEquals(archOfSyscalls({}), undefined);
});

/** A SIGSYS siginfo as the kernel lays it out for a process with `wordSize`-byte pointers. */
function siginfo(
  fields: { signo?: number; errno: number; code: number; addr: bigint; nr: number; arch: number },
  wordSize: 4 | 8 = 8,
): Uint8Array {
  const info = new Uint8Array(128);
  const view = new DataView(info.buffer);
  view.setInt32(0, fields.signo ?? 31, true);
  view.setInt32(4, fields.errno, true);
  view.setInt32(8, fields.code, true);
  const union = wordSize === 8 ? 16 : 12;
  if (wordSize === 8) view.setBigUint64(union, fields.addr, true);
  else view.setUint32(union, Number(fields.addr), true);
  view.setInt32(union + wordSize, fields.nr, true);
  view.setUint32(union + wordSize + 4, fields.arch, true);
  return info;
}

Deno.test("sigsysInfo reads si_call_addr, si_syscall and si_arch at the kernel's offsets", () => {
  const info = siginfo({
    errno: 7,
    code: 1,
    addr: 0x7f00_dead_beefn,
    nr: 83,
    arch: AUDIT_ARCH_X86_64,
  });
  assertEquals(sigsysInfo(info), {
    syscall: 83,
    arch: AUDIT_ARCH_X86_64,
    callAddr: 0x7f00_dead_beefn,
    data: 7,
    seccomp: true,
    archName: "x86_64",
    name: "mkdir",
  });
  // x32 shares the AUDIT_ARCH value: the number's x32 bit names the table.
  const x32 = sigsysInfo(
    siginfo({ errno: 0, code: 1, addr: 1n, nr: X32_SYSCALL_BIT | 83, arch: AUDIT_ARCH_X86_64 }),
  );
  assertEquals([x32.archName, x32.name], ["x32", "mkdir"]);
  // A 32-bit process: the union starts at 12.
  const i386 = sigsysInfo(
    siginfo({ errno: 2, code: 1, addr: 0x8048000n, nr: 39, arch: AUDIT_ARCH_I386 }, 4),
    { wordSize: 4 },
  );
  assertEquals(
    [i386.callAddr, i386.syscall, i386.archName, i386.name, i386.data],
    [0x8048000n, 39, "x86", "mkdir", 2],
  );
  // Not from seccomp (kill -SYS), an unknown architecture.
  const other = sigsysInfo(siginfo({ errno: 0, code: 0, addr: 0n, nr: 0, arch: 0x1234 }));
  assertEquals([other.seccomp, other.archName, other.name], [false, undefined, undefined]);

  assertThrows(() => sigsysInfo(new Uint8Array(20)), RangeError, "too few");
  assertThrows(
    () => sigsysInfo(siginfo({ signo: 11, errno: 0, code: 1, addr: 0n, nr: 0, arch: 0 })),
    RangeError,
    "signal 11, not SIGSYS",
  );
  assertThrows(() => sigsysInfo(info, { wordSize: 2 as 4 }), RangeError, "wordSize");
});

// ---------------------------------------------------------------------------------------------
// Control processes

Deno.test(needs("seccompArch of a control process is the host's architecture", SKIP), async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    assertEquals(await seccompArch(drv, []), nativeArch());
    assertEquals(await seccompArch(drv, [pid]), nativeArch());
  });
  using local = openLocal();
  assertEquals(seccompArchLocal(local), nativeArch());
});

Deno.test(needs("installFilter checks everything before it sends anything", SKIP), async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const fine = [retAllow()];
    const bad: [string, () => Promise<unknown>, ErrorConstructor | TypeErrorConstructor, string][] =
      [
        ["empty", () => installFilter(drv, [pid], []), RangeError, "installFilter:"],
        [
          "no ret at the end",
          () => installFilter(drv, [pid], [loadSyscallNr()]),
          RangeError,
          "instruction 0",
        ],
        [
          "bytes not a multiple of 8",
          () => installFilter(drv, [pid], new Uint8Array(12)),
          RangeError,
          "multiple of the 8-byte",
        ],
        [
          "not a program",
          () => installFilter(drv, [pid], "ret allow" as unknown as Uint8Array),
          TypeError,
          "program must be",
        ],
        [
          "bad pipeline",
          () => installFilter(drv, [0], fine),
          TypeError,
          "positive pids",
        ],
        [
          "unknown flag",
          () => installFilter(drv, [pid], fine, { flags: "SECCOMP_FILTER_FLAG_BOGUS" }),
          RangeError,
          'unknown seccomp filter flag "SECCOMP_FILTER_FLAG_BOGUS"',
        ],
        [
          "a flag of another domain",
          () => installFilter(drv, [pid], fine, { flags: "SECCOMP_RET_KILL" }),
          RangeError,
          "unknown seccomp filter flag",
        ],
        [
          "tsync not a boolean",
          () => installFilter(drv, [pid], fine, { tsync: 1 as unknown as boolean }),
          TypeError,
          "options.tsync",
        ],
        [
          "not a driver",
          () => installFilter({} as Alcove, [pid], fine),
          TypeError,
          "drv has no prctl, seccomp method",
        ],
        [
          "bad policy",
          () => installPolicy(drv, [pid], { defaultAction: "allow" } as unknown as SeccompPolicy),
          TypeError,
          "policy.rules",
        ],
        [
          "bad default action",
          () => installPolicy(drv, [pid], { defaultAction: "deny", rules: [] } as never),
          TypeError,
          "defaultAction",
        ],
        [
          "unknown syscall",
          () =>
            installPolicy(drv, [pid], {
              defaultAction: "allow",
              rules: [{ name: "no_such_call", action: "allow" }],
            }),
          RangeError,
          'syscall "no_such_call" is unknown',
        ],
      ];
    for (const [what, attempt, type, message] of bad) {
      const e = await attempt().then(() => undefined, (error: Error) => error);
      assert(e !== undefined, `${what}: no error`);
      assertInstanceOf(e, type, `${what}: ${e}`);
      assertStringIncludes(e.message, message, what);
    }
    // Nothing reached the process: no no_new_privs, no filter.
    assertEquals((await drv.prctl([pid], "PR_GET_NO_NEW_PRIVS", 0, 0, 0, 0)).ret, 0);
    assertEquals(await seccompMode(pid), 0);
  });
});

childTest(
  needs("an allowed call works and an errno rule returns that errno", SKIP),
  async (drv, pid) => {
    const dir = await Deno.makeTempDir({ prefix: "alcove_seccomp_drv_" });
    try {
      const result = await installPolicy(drv, [pid], MKDIR_DENIED, { tsync: true });
      assertEquals([result.ret, result.via, result.arches], [0, "seccomp", [nativeArch()]]);
      assertEquals(await seccompMode(pid), 2);
      assertEquals((await drv.prctl([pid], "PR_GET_NO_NEW_PRIVS", 0, 0, 0, 0)).ret, 1);
      // The compiled program denies what the kernel denies.
      const mkdirNr = (await drv.syscallConstant([pid], "SYS_mkdirat"))!;
      const verdict = simulate(result.program, { nr: mkdirNr, arch: auditArch(nativeArch()!) });
      assertEquals([verdict.actionName, verdict.data], ["ERRNO", EPERM]);

      // Allowed calls work; mkdir fails with the rule's errno.
      assertEquals(await drv.getpid([pid]), pid);
      await drv.open([pid], "/etc/hostname", "O_RDONLY", 0).then((fd) => drv.close([pid], fd));
      const e = await assertRejects(() => drv.mkdir([pid], `${dir}/x`, 0o755), SystemCallError);
      assertEquals([e.code, e.errno], ["EPERM", EPERM]);

      // Programs it runs and children it forks are under the filter too.
      const made = await run(drv, [pid], ["/bin/mkdir", `${dir}/y`]);
      assertStringIncludes(made.stderr, "Operation not permitted");
      assertEquals(made.event, { type: "exit", status: 1 });
      const listed = await run(drv, [pid], ["/bin/ls", "-d", dir]);
      assertEquals([listed.stdout, listed.event], [`${dir}\n`, { type: "exit", status: 0 }]);
      assertEquals([...Deno.readDirSync(dir)], []);

      // Its siblings are not.
      const sibling = await drv.fork([]);
      await drv.mkdir([sibling], `${dir}/z`, 0o755);
      assertEquals([...Deno.readDirSync(dir)].map((d) => d.name), ["z"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

childTest(
  needs("a call that cannot fail but for a filter says its errno, not an id of -1", SKIP),
  async (drv, pid) => {
    const calls = ["getpid", "getppid", "getuid", "getgid", "getpgrp"] as const;
    await installPolicy(drv, [pid], {
      defaultAction: "allow",
      rules: [
        { names: ["getpid", "getppid", "getpgrp"], action: { errno: EPERM } },
        { names: ["getuid", "getgid"], action: { errno: EACCES } },
      ],
    });
    for (const call of calls) {
      const code = call === "getuid" || call === "getgid" ? "EACCES" : "EPERM";
      await assertFailsWith(() => drv[call]([pid]), code, call);
    }
    // Its parent, without the filter, answers as ever.
    assertEquals(await drv.getpid([]), drv.pid);
  },
);

childTest(needs("kill_process ends a control process with SIGSYS", SKIP), async (drv, pid) => {
  await installPolicy(drv, [pid], {
    defaultAction: "allow",
    rules: [{ name: "getppid", action: "kill_process" }],
  });
  assertEquals(await drv.getpid([pid]), pid);
  const e = await assertRejects(() => drv.getppid([pid]), ProcessExitedError);
  assertEquals(e.event, { type: "termsig", signal: "SIGSYS" });
  assertEquals(await drv.event([pid], { timeout: 5000 }), { type: "termsig", signal: "SIGSYS" });

  // A program run under such a filter dies the same way.
  const parent = await child(drv);
  await installPolicy(drv, [parent], {
    defaultAction: "allow",
    rules: [{ name: "uname", action: "kill_process" }],
  });
  const killed = await run(drv, [parent], ["/bin/uname", "-a"]);
  assertEquals([killed.stdout, killed.event], ["", { type: "termsig", signal: "SIGSYS" }]);
  const fine = await run(drv, [parent], ["/bin/true"]);
  assertEquals(fine.event, { type: "exit", status: 0 });
});

childTest(
  needs("argument conditions: socket is allowed for AF_UNIX only", SKIP),
  async (drv, pid) => {
    const AF_UNIX = drv.constants.lookup("socket", "AF_UNIX")!;
    await installPolicy(drv, [pid], {
      defaultAction: "allow",
      rules: [
        {
          name: "socket",
          action: "allow",
          args: [{ arg: 0, op: "masked==", mask: 0xffffffff, value: AF_UNIX }],
        },
        { name: "socket", action: { errno: EACCES } },
      ],
    });
    const fd = await drv.socket([pid], "AF_UNIX", "SOCK_STREAM", 0);
    assertGreater(fd, 2);
    await drv.close([pid], fd);
    for (const domain of ["AF_INET", "AF_INET6", "AF_NETLINK"]) {
      await assertFailsWith(() => drv.socket([pid], domain, "SOCK_STREAM", 0), "EACCES", domain);
    }

    // The same for a program: the interpreter itself, not a wrapper script.
    const script = (family: string) =>
      `import socket; socket.socket(socket.${family}); print("${family} ok")`;
    const unix = await run(drv, [pid], ["/usr/bin/python3", "-c", script("AF_UNIX")]);
    assertEquals([unix.stdout, unix.event], ["AF_UNIX ok\n", { type: "exit", status: 0 }]);
    const inet = await run(drv, [pid], ["/usr/bin/python3", "-c", script("AF_INET")]);
    assertStringIncludes(inet.stderr, "PermissionError");
    assertEquals(inet.event, { type: "exit", status: 1 });
  },
);

childTest(
  needs("the default profile runs a shell and refuses namespaces and mounts", SKIP),
  async (drv, pid) => {
    const result = await installPolicy(drv, [pid], DEFAULT_PROFILE);
    assertEquals(result.via, "seccomp");
    // The control process itself keeps working under the profile.
    assertEquals(await drv.getpid([pid]), pid);

    const shell = await run(drv, [pid], ["/bin/sh", "-c", "ls /; cat /etc/hostname"]);
    assertEquals(shell.event, { type: "exit", status: 0 }, shell.stderr);
    assertStringIncludes(shell.stdout, "usr\n");
    const hostname = (await Deno.readTextFile("/etc/hostname").catch(() => "")).trim();
    if (hostname !== "") assertStringIncludes(shell.stdout, hostname);

    // Denied calls fail with EPERM, in the control process and in programs.
    assert(DEFAULT_PROFILE_DENIED.includes("unshare"));
    await assertFailsWith(() => drv.unshare([pid], ["CLONE_NEWUTS"]), "EPERM");
    const target = await Deno.makeTempDir({ prefix: "alcove_seccomp_mount_" });
    try {
      await assertFailsWith(() => drv.mount([pid], "none", target, "tmpfs", 0, "", ""), "EPERM");
      const mounts = await Deno.readTextFile("/proc/self/mountinfo");
      assert(!mounts.includes(target), "the tmpfs was mounted");
    } finally {
      await Deno.remove(target);
    }
    const user = await run(drv, [pid], ["/usr/bin/unshare", "-U", "true"]);
    assertStringIncludes(user.stderr, "Operation not permitted");
    assertEquals(user.event, { type: "exit", status: 1 });
  },
);

childTest(
  needs("trap mode: the control process survives and reports SIGSYS with the syscall", SKIP),
  async (drv, pid) => {
    const dir = await Deno.makeTempDir({ prefix: "alcove_seccomp_trap_" });
    try {
      await installPolicy(drv, [pid], {
        defaultAction: "allow",
        rules: [{ names: ["mkdir", "mkdirat"], action: { trap: 7 } }],
        skipUnknown: true,
      });
      // The trapped call does not run; what it returns to its caller is meaningless.
      await drv.mkdir([pid], `${dir}/x`, 0o755).catch(() => {});
      const event = await drv.event([pid], { timeout: 5000 });
      assert(event?.type === "signal", JSON.stringify(event));
      assertEquals(event.signal, "SIGSYS");
      assertEquals(event.info.length, 128);
      const info = sigsysInfo(event.info);
      const numbers = await Promise.all(
        ["SYS_mkdir", "SYS_mkdirat"].map((n) => drv.syscallConstant([pid], n)),
      );
      assert(numbers.includes(info.syscall), `si_syscall ${info.syscall}`);
      // si_syscall sits at 24 on 64-bit Linux, right after si_call_addr at 16.
      if (Deno.build.arch === "x86_64" || Deno.build.arch === "aarch64") {
        assertEquals(
          new DataView(event.info.buffer, event.info.byteOffset).getInt32(24, true),
          info.syscall,
        );
      }
      assertEquals(info.arch, auditArch(nativeArch()!));
      assertEquals(info.archName, nativeArch());
      assert(info.name === "mkdir" || info.name === "mkdirat", info.name);
      assertEquals([info.data, info.seccomp], [7, true]);
      assertGreater(info.callAddr, 0n);
      assertEquals([...Deno.readDirSync(dir)], []);

      // Still a control process answering calls.
      assertEquals(await drv.getpid([pid]), pid);
      const fd = await drv.open([pid], "/etc/hostname", "O_RDONLY", 0);
      await drv.close([pid], fd);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
);

childTest(
  needs("without seccomp(2) the filter goes in by prctl(PR_SET_SECCOMP)", SKIP),
  async (drv, pid) => {
    // A first filter makes seccomp(2) look absent, as on a kernel before 3.17.
    const first = await installPolicy(drv, [pid], {
      defaultAction: "allow",
      rules: [{ name: "seccomp", action: { errno: 38 } }],
    });
    assertEquals(first.via, "seccomp");
    await assertFailsWith(
      () => drv.seccomp([pid], "SECCOMP_SET_MODE_FILTER", 0, [new Uint8Array(8), { ptr: 0 }]),
      "ENOSYS",
    );

    const second = await installPolicy(drv, [pid], MKDIR_DENIED);
    assertEquals([second.via, second.ret], ["prctl", 0]);
    await assertFailsWith(() => drv.mkdir([pid], "/tmp/never", 0o755), "EPERM");

    // Flags need seccomp(2): no silent prctl without them.
    const flagged = await assertRejects(() =>
      installFilter(drv, [pid], [retAllow()], { tsync: true })
    );
    assertStringIncludes(flagged.message, "seccomp(2) is not available");
    assertStringIncludes(flagged.message, "filter flags");
  },
);

childTest(
  needs(
    "an unprivileged process needs no_new_privs, which installFilter sets",
    SKIP ?? (IS_ROOT ? undefined : "dropping to uid 65534 needs root"),
  ),
  async (drv, pid) => {
    await drv.setgroups([pid], []);
    await drv.setgid([pid], 65534);
    await drv.setuid([pid], 65534);
    // Without CAP_SYS_ADMIN the kernel refuses a filter unless no_new_privs is set.
    await assertFailsWith(
      () => installPolicy(drv, [pid], MKDIR_DENIED, { noNewPrivs: false }),
      "EACCES",
    );
    assertEquals(await seccompMode(pid), 0);

    const result = await installPolicy(drv, [pid], MKDIR_DENIED);
    assertEquals(result.via, "seccomp");
    assertEquals(await seccompMode(pid), 2);
    await assertFailsWith(() => drv.mkdir([pid], "/tmp/never", 0o755), "EPERM");
  },
);

childTest(needs("installFilter takes the bytes of a program too", SKIP), async (drv, pid) => {
  const program = compilePolicy(MKDIR_DENIED, { arches: [await seccompArch(drv, [pid])] });
  const result = await installFilter(drv, [pid], assemble(program), {
    flags: ["SECCOMP_FILTER_FLAG_LOG"],
  });
  assertEquals([result.ret, result.via], [0, "seccomp"]);
  await assertFailsWith(() => drv.mkdir([pid], "/tmp/never", 0o755), "EPERM");
});

// ---------------------------------------------------------------------------------------------
// The host process, in a subprocess: a filter cannot be removed.

const MOD = new URL("../mod.ts", import.meta.url).href;
const SECCOMP = new URL("../ffi/seccomp/mod.ts", import.meta.url).href;

const IMPORTS = `
import { openLocal } from "${MOD}";
import { installPolicyLocal } from "${SECCOMP}";
`;

const DENY_MKDIR = `
using local = openLocal();
const result = installPolicyLocal(local, {
  defaultAction: "allow",
  rules: [{ names: ["mkdir", "mkdirat"], action: { errno: ${EACCES} } }],
  skipUnknown: true,
});
out.result = { ret: result.ret, via: result.via, arches: result.arches };
`;

/** A program the process starts is under the filter too. */
const RUN_MKDIR = `
const cmd = await new Deno.Command("/bin/mkdir", { args: [dir + "/command"], stderr: "piped" }).output();
out.command = { code: cmd.code, stderr: new TextDecoder().decode(cmd.stderr) };
`;

Deno.test(
  denoOnly(
    "installPolicyLocal with TSYNC filters every thread of a Deno process",
    cannotRun(SKIP) !== undefined,
  ),
  async () => {
    const { out, files } = await runThreadedDeno<{
      result: unknown;
      command: { code: number; stderr: string };
    }>({ imports: IMPORTS, setup: DENY_MKDIR, after: RUN_MKDIR });
    assertEquals(out.result, { ret: 0, via: "seccomp", arches: [nativeArch()] });
    assertEveryThreadDenied(out, "os error 13");
    assertEquals(out.command.code, 1);
    assertStringIncludes(out.command.stderr, "Permission denied");
    assertEquals(files, ["file", "main.ts", "worker-before", "worker.ts"]);
  },
);

Deno.test("installFilterLocal checks its input before calling anything", () => {
  using local = openLocal();
  assertThrows(() => installFilterLocal(local, []), RangeError, "installFilterLocal:");
  assertThrows(
    () => installFilterLocal(local, [retAllow()], { flags: "SECCOMP_FILTER_FLAG_NOPE" }),
    RangeError,
    "unknown seccomp filter flag",
  );
  assertThrows(
    () =>
      installPolicyLocal(local, {
        defaultAction: "allow",
        rules: [{ name: "nope", action: "allow" }],
      }),
    RangeError,
    'syscall "nope" is unknown',
  );
  // This process is still unfiltered.
  assertEquals(local.prctl("PR_GET_SECCOMP", 0, 0, 0, 0).ret, 0);
});
