/**
 * The calls that take structs, in control processes, against the real kernel: prctl,
 * ioctl, ptrace, socket, connect, seccomp; and bad input, after which the control
 * process still answers.
 */
import {
  assert,
  assertEquals,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  type Alcove,
  bytes,
  cstring,
  type CstructReadBack,
  ifreq,
  readCstring,
  sockaddrUn,
  sockFprog,
  SystemCallError,
  u16,
  u32,
  u8,
} from "../mod.ts";
import {
  assemble,
  auditArch,
  denySyscall,
  loadSyscallNr,
  nativeArch,
  retAllow,
  SECCOMP_RET_ERRNO,
  validateArch,
} from "../ffi/seccomp/mod.ts";
import { exists, IS_ROOT, le, needs, withDriver } from "./_helpers.ts";
import { createServer, type Socket } from "node:net";

/** A filter failing one syscall with the errno named `errnoName`, allowing the rest. */
async function denyOne(drv: Alcove, pid: number, syscall: string, errnoName: string) {
  const arch = nativeArch();
  assert(arch, "this architecture has no seccomp table");
  const nr = await drv.syscallConstant([pid], syscall);
  assert(nr !== undefined, `${syscall} is unknown here`);
  const errno = drv.constants.lookup("errno", errnoName);
  assert(errno !== undefined, `${errnoName} is unknown here`);
  return assemble([
    ...validateArch(auditArch(arch)),
    loadSyscallNr(),
    ...denySyscall(nr, SECCOMP_RET_ERRNO | errno),
    retAllow(),
  ]);
}

/** A test in a fresh driver's child, which needs a seccomp table for this architecture. */
function seccompTest(name: string, fn: (drv: Alcove, pid: number) => Promise<void>): void {
  Deno.test(
    needs(name, nativeArch() ? undefined : `no seccomp table for ${Deno.build.arch}`),
    () => withDriver(async (drv) => fn(drv, await drv.fork([]))),
  );
}

Deno.test("prctl PR_SET_NAME in a control process shows in /proc/PID/comm", async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const set = await drv.prctl([pid], "PR_SET_NAME", bytes("alcove-test"), 0, 0, 0);
    assertEquals(set, { ret: 0, arg2: bytes("alcove-test"), arg3: 0, arg4: 0, arg5: 0 });
    assertEquals((await Deno.readTextFile(`/proc/${pid}/comm`)).trim(), "alcove-test");

    // Read back through bytes (a pointer to a copy) ...
    const got = await drv.prctl([pid], "pr_get_name", new Uint8Array(16), 0, 0, 0);
    assertEquals(readCstring(got.arg2), "alcove-test");
    // ... and through a cstruct of two inline segments, split where the struct says.
    const split = await drv.prctl(
      [pid],
      "PR_GET_NAME",
      [new Uint8Array(8), new Uint8Array(8)],
      0,
      0,
      0,
    );
    const [a, b] = split.arg2 as CstructReadBack;
    assertEquals(a, bytes("alcove-t"));
    assertEquals(readCstring(b as Uint8Array), "est");
    // The root is untouched.
    assertEquals((await Deno.readTextFile(`/proc/${drv.pid}/comm`)).trim(), "alcove");
  });
});

Deno.test("prctl returns values and reads back integers written through pointers", async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const SIGUSR1 = drv.constants.lookup("signal", "SIGUSR1")!;
    await drv.prctl([pid], "PR_SET_PDEATHSIG", SIGUSR1, 0, 0, 0);
    const sig = await drv.prctl([pid], "PR_GET_PDEATHSIG", [u32(0)], 0, 0, 0);
    assertEquals(sig.arg2, [u32(SIGUSR1)]);
    const sig2 = await drv.prctl([pid], "PR_GET_PDEATHSIG", new Uint8Array(4), 0, 0, 0);
    assertEquals(le(sig2.arg2 as Uint8Array).getInt32(0, true), SIGUSR1);

    assertEquals((await drv.prctl([pid], "PR_GET_DUMPABLE", 0, 0, 0, 0)).ret, 1);
    await drv.prctl([pid], "PR_SET_DUMPABLE", 0, 0, 0, 0);
    assertEquals((await drv.prctl([pid], "PR_GET_DUMPABLE", 0, 0, 0, 0)).ret, 0);

    assertEquals((await drv.prctl([pid], "PR_GET_NO_NEW_PRIVS", 0, 0, 0, 0)).ret, 0);
    await drv.prctl([pid], "PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);
    assertEquals((await drv.prctl([pid], "PR_GET_NO_NEW_PRIVS", 0, 0, 0, 0)).ret, 1);

    // Constant names from the prctl domain, in any argument.
    const ambient = await drv.prctl(
      [pid],
      "PR_CAP_AMBIENT",
      "PR_CAP_AMBIENT_IS_SET",
      "CAP_NET_BIND_SERVICE",
      0,
      0,
    );
    assertEquals(ambient.ret, 0);

    const e = await assertRejects(
      () => drv.prctl([pid], "PR_SET_PDEATHSIG", 1000, 0, 0, 0),
      SystemCallError,
    );
    assertEquals(e.code, "EINVAL");
  });
});

seccompTest(
  "prctl PR_SET_SECCOMP installs a sock_fprog filter in a child and a denied call fails",
  async (drv, pid) => {
    const prog = await denyOne(drv, pid, "SYS_chdir", "EACCES");
    await drv.chdir([pid], "/");
    await drv.prctl([pid], "PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);
    const r = await drv.prctl(
      [pid],
      "PR_SET_SECCOMP",
      "SECCOMP_MODE_FILTER",
      sockFprog(prog),
      0,
      0,
    );
    assertEquals(r.ret, 0);
    // The filter came back as it was sent: the count, then the pointer's contents.
    assertEquals(r.arg3, [sockFprog(prog)[0], { ptr: prog }]);
    const e = await assertRejects(() => drv.chdir([pid], "/"), SystemCallError);
    assertEquals(e.code, "EACCES");
    const mode = await drv.prctl([pid], "PR_GET_SECCOMP", 0, 0, 0, 0);
    assertEquals(mode.ret, drv.constants.lookup("prctl", "SECCOMP_MODE_FILTER"));
    assertEquals(await drv.getppid([pid]), drv.pid);
    await drv.chdir([], "/"); // the parent is not filtered
  },
);

seccompTest("seccomp SECCOMP_SET_MODE_FILTER installs a filter in a child", async (drv, pid) => {
  const prog = await denyOne(drv, pid, "SYS_getcwd", "EPERM");
  assertEquals(await drv.getcwd([pid]), await drv.getcwd([]));
  // Without no_new_privs, only CAP_SYS_ADMIN may install a filter.
  await drv.prctl([pid], "PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);
  assertEquals(await drv.seccomp([pid], "SECCOMP_SET_MODE_FILTER", 0, sockFprog(prog)), 0);
  const e = await assertRejects(() => drv.getcwd([pid]), SystemCallError);
  assertEquals(e.code, "EPERM");
  assertEquals(await drv.getpid([pid]), pid);
  // An action the kernel knows is available; a bad operation is EINVAL.
  const allow = u32(0x7fff0000);
  assertEquals(await drv.seccomp([pid], "SECCOMP_GET_ACTION_AVAIL", 0, allow), 0);
  const bad = await assertRejects(() => drv.seccomp([pid], 999, 0, null), SystemCallError);
  assertEquals(bad.code, "EINVAL");
});

Deno.test(
  needs(
    "ioctl TUNSETIFF names a tap device in a new network namespace",
    !IS_ROOT ? "needs root" : exists("/dev/net/tun") ? undefined : "no /dev/net/tun",
  ),
  async () => {
    await withDriver(async (drv) => {
      const pid = await drv.clone([], "CLONE_NEWNET");
      const IFF_TAP = drv.constants.lookup("ioctl", "IFF_TAP")!;
      const IFF_NO_PI = drv.constants.lookup("ioctl", "IFF_NO_PI")!;
      const fd = await drv.open([pid], "/dev/net/tun", "O_RDWR", 0);
      const set = await drv.ioctl([pid], fd, "TUNSETIFF", ifreq("tap0", u16(IFF_TAP | IFF_NO_PI)));
      assertEquals(set.ret, 0);
      const [name, union] = set.arg as Uint8Array[];
      assertEquals(readCstring(name), "tap0");
      assertEquals(le(union).getUint16(0, true), IFF_TAP | IFF_NO_PI);
      // What the kernel chose, read back through another request.
      const got = await drv.ioctl([pid], fd, "TUNGETIFF", ifreq(""));
      assertEquals(readCstring((got.arg as Uint8Array[])[0]), "tap0");
      assert(le((got.arg as Uint8Array[])[1]).getUint16(0, true) & IFF_TAP);
      // The device lives in the child's namespace, not in ours.
      assertStringIncludes(await Deno.readTextFile(`/proc/${pid}/net/dev`), "tap0:");
      // A name template: the kernel writes the name it picked into the struct.
      const fd2 = await drv.open([pid], "/dev/net/tun", "O_RDWR", 0);
      const picked = await drv.ioctl([pid], fd2, "TUNSETIFF", ifreq("tap%d", u16(IFF_TAP)));
      assertEquals(readCstring((picked.arg as Uint8Array[])[0]), "tap1");
    });
  },
);

Deno.test("ioctl FIONREAD counts the bytes waiting in a FIFO", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const path = `${dir}/fifo`;
      await drv.mkfifo([pid], path, 0o600);
      const fd = await drv.open([pid], path, ["O_RDWR", "O_NONBLOCK"], 0);
      assertEquals((await drv.ioctl([pid], fd, "FIONREAD", new Uint8Array(4))).arg, u32(0));
      await drv.write([pid], fd, "hello");
      const r = await drv.ioctl([pid], fd, "FIONREAD", new Uint8Array(4));
      assertEquals(r, { ret: 0, arg: u32(5) });
      // The int is written where the argument points: into the laid-out struct.
      const s = await drv.ioctl([pid], fd, "FIONREAD", [u32(0)]);
      assertEquals(s.arg, [u32(5)]);
      // A number is passed by value: as a pointer it is garbage.
      const e = await assertRejects(() => drv.ioctl([pid], fd, "FIONREAD", 1), SystemCallError);
      assertEquals(e.code, "EFAULT");
      const n = await assertRejects(
        () => drv.ioctl([pid], 9999, "FIONREAD", u32(0)),
        SystemCallError,
      );
      assertEquals(n.code, "EBADF");
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("ptrace TRACEME: the tracer sees the tracee stop at exec, then lets it run", async () => {
  await withDriver(async (drv) => {
    const tracer = await drv.fork([]);
    await drv.sigaction([tracer], "SIGCHLD", "sig_info");
    const tracee = await drv.fork([tracer]);
    const r = await drv.ptrace([tracer, tracee], "PTRACE_TRACEME", 0, 0, 0);
    assertEquals(r, { ret: 0, addr: 0, data: 0 });
    await drv.execvp([tracer, tracee], "true", ["true"]);

    const stopped = await drv.waitpid([tracer], tracee, 0);
    assertEquals(stopped.type, "stopped");
    assertEquals(stopped.signal, "SIGTRAP");
    // The siginfo of the stop, written by the kernel into data.
    const info = await drv.ptrace([tracer], "PTRACE_GETSIGINFO", tracee, 0, new Uint8Array(128));
    assertEquals(le(info.data as Uint8Array).getInt32(0, true), 5); // si_signo: SIGTRAP
    await drv.ptrace([tracer], "PTRACE_CONT", tracee, 0, 0);
    const exited = await drv.waitpid([tracer], tracee, 0);
    assertEquals(exited.type, "exited");
    assertEquals(exited.exitStatus, 0);

    const e = await assertRejects(
      () => drv.ptrace([tracer], "PTRACE_CONT", tracee, 0, 0),
      SystemCallError,
    );
    assertEquals(e.code, "ESRCH");
  });
});

Deno.test("socket and connect reach a listening AF_UNIX socket", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/listen.sock`;
  // node:net, so that the same test runs under Node.js and Bun.
  const listener = createServer();
  await new Promise<void>((resolve) => listener.listen(path, resolve));
  const accept = () => new Promise<Socket>((resolve) => listener.once("connection", resolve));
  try {
    await withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const fd = await drv.socket([pid], "AF_UNIX", ["SOCK_STREAM", "SOCK_CLOEXEC"], 0);
      assert(fd >= 0);
      const accepting = accept();
      await drv.connect([pid], fd, sockaddrUn(path));
      const conn = await accepting;
      const received = new Promise<Uint8Array>((resolve) => conn.once("data", resolve));
      assertEquals(await drv.write([pid], fd, "hello"), 5);
      assertEquals(new TextDecoder().decode(await received), "hello");
      conn.write(bytes("back"));
      assertEquals(await drv.read([pid], fd, 4), bytes("back"));
      conn.destroy();

      // The same address as a cstruct: sun_family, then sun_path.
      const fd2 = await drv.socket([pid], "AF_UNIX", "SOCK_STREAM", 0);
      const accepting2 = accept();
      await drv.connect([pid], fd2, [u16(1), cstring(path)]);
      (await accepting2).destroy();

      // Nobody listens there.
      const fd3 = await drv.socket([pid], "AF_UNIX", "SOCK_STREAM", 0);
      const e = await assertRejects(
        () => drv.connect([pid], fd3, sockaddrUn(`${dir}/nobody.sock`)),
        SystemCallError,
      );
      assertEquals(e.code, "ENOENT");

      // null: AF_UNSPEC dissolves a datagram socket's association.
      const dgram = await drv.socket([pid], "AF_UNIX", "SOCK_DGRAM", 0);
      await drv.connect([pid], dgram, null);
      for (const f of [fd, fd2, fd3, dgram]) await drv.close([pid], f);
    });
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bad arguments of the struct calls fail before sending; the process still answers", async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const cases: [() => Promise<unknown>, ErrorConstructor | RangeErrorConstructor, string][] = [
      [() => drv.prctl([pid], {} as never, 0, 0, 0, 0), TypeError, "prctl: option must be"],
      [
        () => drv.prctl([pid], "PR_SET_NAME", {} as never, 0, 0, 0),
        TypeError,
        "prctl: arg2 must be a number, a constant name, a Uint8Array, a cstruct or null",
      ],
      [
        () => drv.prctl([pid], "PR_GET_NAME", { ptr: 16 } as never, 0, 0, 0),
        TypeError,
        "got a pointer segment alone (a cstruct is an array of segments: [{ ptr: ... }])",
      ],
      [() => drv.prctl([pid], "PR_NOPE", 0, 0, 0, 0), RangeError, "unknown prctl constant"],
      [() => drv.prctl([pid], "PR_SET_PDEATHSIG", "SIGTERM", 0, 0, 0), RangeError, "arg2 names"],
      [() => drv.prctl([pid], "PR_SET_NAME", 2 ** 53, 0, 0, 0), RangeError, "arg2 must be in"],
      [() => drv.prctl([pid], "PR_SET_NAME", 1.5, 0, 0, 0), TypeError, "arg2 must be an integer"],
      [() => drv.prctl([pid], "PR_SET_NAME", 2n ** 64n, 0, 0, 0), RangeError, "fit in 64 bits"],
      [
        () => drv.prctl([pid], "PR_SET_NAME", [], 0, 0, 0),
        RangeError,
        "prctl: arg2 is a cstruct with no",
      ],
      [
        () => drv.prctl([pid], "PR_SET_NAME", 0, [{ ptr: { ptr: 1 } }] as never, 0, 0),
        TypeError,
        "prctl: arg3[0].ptr is an object: nested pointers are not supported",
      ],
      [
        () => drv.prctl([pid], "PR_SET_NAME", 0, 0, Array(65).fill(u8(0)), 0),
        RangeError,
        "prctl: arg4 is a cstruct of 65 segments",
      ],
      [() => drv.prctl([pid], "PR_SET_NAME", 0, 0, 0, [{ ptr: -8 }]), RangeError, "arg5[0].ptr"],
      [
        () => (drv.prctl as (...a: unknown[]) => Promise<unknown>)([pid], 1, 0),
        TypeError,
        "prctl: arg3 must be a number, a constant name, a Uint8Array, a cstruct or null, got a " +
        "value of type undefined",
      ],
      [() => drv.ioctl([pid], 1.5, "FIONREAD", 0), TypeError, "ioctl: fd must be an integer"],
      [() => drv.ioctl([pid], 0, "NOT_A_REQUEST", 0), RangeError, "unknown ioctl constant"],
      [() => drv.ptrace([pid], "PTRACE_NOPE", 0, 0, 0), RangeError, "unknown ptrace constant"],
      [
        () => drv.ptrace([pid], "PTRACE_CONT", "x" as never, 0, 0),
        TypeError,
        "ptrace: pid must be",
      ],
      // An integer where the kernel takes an address would be one in the control process:
      // its memory read or written there (a live address crashed it).
      [
        () => drv.prctl([pid], "PR_GET_NAME", 0x7ff000001000, 0, 0, 0),
        RangeError,
        "prctl: this option takes arg2 as a pointer (bytes or a cstruct), not an integer",
      ],
      [
        () => drv.prctl([pid], "PR_SET_SECCOMP", 2, 0x7ff000001000, 0, 0),
        RangeError,
        "prctl: PR_SET_SECCOMP takes arg3 as a pointer (a cstruct), not an integer",
      ],
      [
        () => drv.ioctl([pid], 0, TCGETS2, 0x7ff000001000),
        RangeError,
        "ioctl: the request reads or writes its argument: pass bytes or a cstruct, not an address",
      ],
      [
        // PR_GET_AUXV (0x41555856), by number: the C library's headers may not name it.
        () => drv.prctl([pid], 0x41555856, 0x7ff000001000, 448, 0, 0),
        RangeError,
        "prctl: this option takes arg2 as a pointer",
      ],
      [
        // PTRACE_GET_RSEQ_CONFIGURATION
        () => drv.ptrace([pid], 0x420f, pid, 32, 0x7ff000001000),
        RangeError,
        "ptrace: this request takes data as a pointer",
      ],
      [
        () => drv.ptrace([pid], "PTRACE_GETSIGINFO", pid, 0, 0x7ff000001000),
        RangeError,
        "ptrace: this request takes data as a pointer (bytes or a cstruct), not an integer",
      ],
      [() => drv.socket([pid], "AF_NOPE", "SOCK_STREAM", 0), RangeError, "unknown socket constant"],
      [() => drv.connect([pid], 3, 5 as never), TypeError, "connect: address must be a Uint8Array"],
      [() => drv.connect([pid], 3, "/tmp/x" as never), TypeError, "connect: address must be"],
      [() => drv.seccomp([pid], "SECCOMP_SET_MODE_FILTER", "NOPE", null), RangeError, "seccomp"],
    ];
    for (const [run, type, message] of cases) {
      const e = await run().then(() => null, (e) => e);
      assertInstanceOf(e, type, message);
      assertStringIncludes((e as Error).message, message);
    }
    assertEquals(await drv.getpid([pid]), pid);
    assertEquals((await drv.prctl([pid], "PR_GET_DUMPABLE", 0, 0, 0, 0)).ret, 1);
  });
});

/** TCGETS2: _IOR('T', 0x2A, struct termios2), a 44-byte struct the kernel writes. */
const X86_OR_ARM = ["x86_64", "aarch64"].includes(Deno.build.arch)
  ? undefined
  : `TCGETS2's number is known here for x86_64 and aarch64, not ${Deno.build.arch}`;
const TCGETS2 = 2 << 30 | 44 << 16 | 0x54 << 8 | 0x2a;

Deno.test(
  needs("ioctl: a buffer shorter than the request's struct is not overrun", X86_OR_ARM),
  () =>
    withDriver(async (drv) => {
      const pid = await drv.fork([]);
      const fd = await drv.open([pid], "/dev/ptmx", ["O_RDWR", "O_NOCTTY"], 0);
      // The kernel writes 44 bytes whatever the caller gave: the read-back keeps the
      // caller's length, and nothing after the buffer is overwritten.
      for (const arg of [new Uint8Array(0), new Uint8Array(1), [{ ptr: 1 }]] as const) {
        for (let i = 0; i < 50; i++) {
          const r = await drv.ioctl([pid], fd, TCGETS2, arg);
          assertEquals(r.ret, 0);
          const sizes = [16, 24, 40, 64, 100];
          await drv.alloc([pid], sizes.map((n) => ({ ptr: n })));
        }
      }
      // Legacy requests carry no size: TCGETS writes a 60-byte struct termios into 0 bytes.
      for (let i = 0; i < 50; i++) {
        await drv.ioctl([pid], fd, "TCGETS", new Uint8Array(0));
        await drv.alloc([pid], [{ ptr: 24 }, { ptr: 40 }]);
      }
      assertEquals(await drv.getpid([pid]), pid);
    }),
);
