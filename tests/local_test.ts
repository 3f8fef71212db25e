/**
 * Calls in the host process (ffi/local.ts): synchronous, against the real kernel, with
 * cstructs laid out in this process's memory; refused calls; the C side's checks; and
 * a seccomp filter synchronized over every thread of a Deno process (in a subprocess).
 */
import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertNotEquals,
  assertStringIncludes,
  assertThrows,
} from "@std/assert";
import {
  AlcoveError,
  bytes,
  type CstructReadBack,
  openLocal,
  padding,
  readCstring,
  SystemCallError,
  u32,
  u8,
  UnsupportedError,
} from "../mod.ts";
import { nativeArch } from "../ffi/seccomp/mod.ts";
import { CALLS } from "../ffi/_calls.ts";
import { openLibrary } from "../ffi/_native.ts";
import { runtimeName } from "../ffi/_runtime.ts";
import { Reader, SEG, STATUS, VAL, Writer } from "../ffi/_wire.ts";
import {
  assertEveryThreadDenied,
  denoOnly,
  fixtureCommand,
  le,
  output,
  runThreadedDeno,
  withDriver,
} from "./_helpers.ts";

Deno.test("openLocal runs calls synchronously in this process", () => {
  using local = openLocal();
  assertEquals(local.getpid(), Deno.pid);
  assertEquals(local.constants.lookup("prctl", "PR_SET_NAME"), 15);
  assertEquals(local.constants.lookup("signal", "sigkill"), 9);
  assertEquals(local.prctlConstant("pr_get_name"), 16);
  assertEquals(local.errnoId(1), "EPERM");
});

Deno.test("local prctl sets and reads back the name of this thread", () => {
  using local = openLocal();
  const saved = local.prctl("PR_GET_NAME", new Uint8Array(16), 0, 0, 0).arg2 as Uint8Array;
  try {
    const set = local.prctl("PR_SET_NAME", bytes("alcove-local"), 0, 0, 0);
    assertEquals(set, { ret: 0, arg2: bytes("alcove-local"), arg3: 0, arg4: 0, arg5: 0 });
    assertEquals(Deno.readTextFileSync("/proc/thread-self/comm").trim(), "alcove-local");
    // Through a cstruct laid out here: the kernel writes into this process's buffer.
    const got = local.prctl("PR_GET_NAME", [new Uint8Array(6), new Uint8Array(10)], 0, 0, 0);
    const [head, tail] = got.arg2 as CstructReadBack;
    assertEquals(head, bytes("alcove"));
    assertEquals(readCstring(tail as Uint8Array), "-local");
  } finally {
    local.prctl("PR_SET_NAME", saved, 0, 0, 0);
  }
  assertEquals(
    readCstring(local.prctl("PR_GET_NAME", new Uint8Array(16), 0, 0, 0).arg2),
    readCstring(saved),
  );
});

Deno.test("local prctl and setrlimit change what the whole process shares (in a process of its own)", async () => {
  // Dumpable and RLIMIT_CORE belong to the process, which the test files running beside
  // this one share: the round trips run in a fixture.
  const r = await output(...fixtureCommand("local_process_wide"));
  assertEquals(r.code, 0, new TextDecoder().decode(r.stderr));
  const seen = JSON.parse(new TextDecoder().decode(r.stdout));
  assertEquals([seen.dumpableBefore, seen.dumpableCleared, seen.dumpableAfter], [1, 0, 1]);
  assert(seen.coreWanted.cur !== seen.coreBefore.cur, "the hard limit leaves no other soft one");
  assertEquals(seen.coreSet, seen.coreWanted);
  assertEquals(seen.procLimits, String(seen.coreWanted.cur));
  assertEquals(seen.coreAfter, seen.coreBefore);
});

Deno.test(
  denoOnly("local environment calls are the runtime's, and a Worker reading it meanwhile is safe"),
  async () => {
    // In a process of its own: a test does not change the environment the others share.
    const r = await output(...fixtureCommand("local_env_race"));
    assertEquals(r.code, 0, new TextDecoder().decode(r.stderr)); // a crash was 139 (SIGSEGV)
    const seen = JSON.parse(new TextDecoder().decode(r.stdout));
    assertEquals(seen.calls, {
      set: ["one", "one"],
      kept: "one",
      seen: "three",
      listed: true,
      unset: [null, null],
      invalid: ["EINVAL", "EINVAL", "EINVAL", "EINVAL"],
      noName: [null, null],
      notText: "TypeError: setenv: value must be UTF-8 text (the runtime's environment holds text)",
    });
    assert(seen.rounds > 0);
  },
);

Deno.test("local environment calls take the names objects have as variables too", async () => {
  // The runtime's environment is an object: names its prototype has are no variables, and
  // __proto__ is one like any other.
  using local = openLocal();
  const names = ["toString", "constructor", "__proto__", "hasOwnProperty"];
  try {
    for (const n of names) assertEquals(local.getenv(n), null, n);
    local.setenv("constructor", "cc", 0);
    // Bun's process.env takes no variable named __proto__: said, not dropped.
    const proto = runtimeName() === "bun" ? [] : ["__proto__=pp"];
    if (proto.length === 0) {
      assertThrows(() => local.setenv("__proto__", "pp", 1), UnsupportedError, "__proto__");
    } else local.setenv("__proto__", "pp", 1);
    assertEquals(local.getenv("constructor"), "cc");
    assertEquals(local.getenv("__proto__"), proto.length === 0 ? null : "pp");
    assertEquals(local.getenv("toString"), null);
    const listed = local.environ();
    assert(listed.includes("constructor=cc"), `${listed}`);
    assertEquals(listed.filter((e) => e.startsWith("__proto__=")), proto);
    // A control process started now has them.
    await withDriver(async (drv) => {
      const o = await (await drv.spawn(["env"], { inheritEnv: true })).output();
      const lines = new TextDecoder().decode(o.stdout).split("\n");
      assert(lines.includes("constructor=cc"), `${lines}`);
      assertEquals(lines.filter((e) => e.startsWith("__proto__=")), proto);
    });
    local.unsetenv("__proto__");
    assertEquals(local.getenv("__proto__"), null);
    assertEquals(local.environ().filter((e) => e.startsWith("__proto__=")), []);
  } finally {
    for (const n of names) local.unsetenv(n);
  }
});

Deno.test("local prctl death signal round trips (the calling thread's)", () => {
  using local = openLocal();
  const SIGUSR2 = local.constants.lookup("signal", "SIGUSR2")!;
  try {
    local.prctl("PR_SET_PDEATHSIG", SIGUSR2, 0, 0, 0);
    assertEquals(local.prctl("PR_GET_PDEATHSIG", [u32(0)], 0, 0, 0).arg2, [u32(SIGUSR2)]);
  } finally {
    local.prctl("PR_SET_PDEATHSIG", 0, 0, 0, 0);
  }
  assertEquals(local.prctl("PR_GET_PDEATHSIG", new Uint8Array(4), 0, 0, 0).arg2, u32(0));
  const e = assertThrows(() => local.prctl("PR_SET_PDEATHSIG", 1000, 0, 0, 0), SystemCallError);
  assertEquals(e.code, "EINVAL");
  assertEquals(e.pipeline, []);
  // The same message as a control process's: what the call was about, and the C library's
  // text.
  assertEquals(e.message, "prctl PR_SET_PDEATHSIG: EINVAL (Invalid argument)");
  const bad = assertThrows(() => local.close(999), SystemCallError);
  assertEquals(bad.message, "close fd 999: EBADF (Bad file descriptor)");
  const path = assertThrows(() => local.chdir("/nonexistent"), SystemCallError);
  assertEquals(path.message, "chdir /nonexistent: ENOENT (No such file or directory)");
});

Deno.test("local getrlimit reads this process's limits", () => {
  using local = openLocal();
  const limits = Deno.readTextFileSync("/proc/self/limits");
  const core = local.getrlimit("RLIMIT_CORE");
  const shown = /^Max core file size\s+(\S+)\s+(\S+)/m.exec(limits)!;
  const asShown = (n: number) => n === Infinity ? "unlimited" : String(n);
  assertEquals([asShown(core.cur), asShown(core.max)], [shown[1], shown[2]]);
});

Deno.test("local ioctl FIONREAD counts the bytes in a FIFO", () => {
  using local = openLocal();
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/fifo`;
    local.mkfifo(path, 0o600);
    const fd = local.open(path, ["O_RDWR", "O_NONBLOCK"], 0);
    try {
      local.write(fd, "1234567");
      assertEquals(local.ioctl(fd, "FIONREAD", new Uint8Array(4)), { ret: 0, arg: u32(7) });
      // A cstruct: laid out in this process, passed by address, read back from it.
      assertEquals(local.ioctl(fd, "FIONREAD", [u32(0)]).arg, [u32(7)]);
      assertEquals(local.ioctl(fd, "FIONREAD", [u8(1), u8(2), u8(3), u8(4)]).arg, [
        u8(7),
        u8(0),
        u8(0),
        u8(0),
      ]);
    } finally {
      local.close(fd);
    }
    const e = assertThrows(() => local.ioctl(fd, "FIONREAD", new Uint8Array(4)), SystemCallError);
    assertEquals(e.code, "EBADF");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** struct ifconf: int ifc_len, padding, a pointer to `size` bytes of struct ifreq. */
function ifconf(size: number) {
  const len = u32(size);
  return [len, padding(len.length), { ptr: size }];
}

function ifconfNames(arg: unknown): string[] {
  const [len, , buf] = arg as [Uint8Array, Uint8Array, { ptr: Uint8Array }];
  const used = le(len).getInt32(0, true);
  const names: string[] = [];
  for (let off = 0; off < used; off += 40) {
    names.push(readCstring(buf.ptr.subarray(off, off + 16)));
  }
  return names;
}

Deno.test("ioctl SIOCGIFCONF fills a buffer pointed to from inside the struct", async () => {
  // Here: the struct and its buffer are this process's memory, with real pointers.
  using local = openLocal();
  const fd = local.socket("AF_INET", "SOCK_DGRAM", 0);
  let hostNames: string[];
  try {
    const r = local.ioctl(fd, "SIOCGIFCONF", ifconf(40 * 16));
    hostNames = ifconfNames(r.arg);
    assert(hostNames.includes("lo"), hostNames.join(","));
  } finally {
    local.close(fd);
  }
  // The same in a control process: same network namespace, same interfaces.
  await withDriver(async (drv) => {
    const sock = await drv.socket([], "AF_INET", "SOCK_DGRAM", 0);
    const r = await drv.ioctl([], sock, "SIOCGIFCONF", ifconf(40 * 16));
    assertEquals(ifconfNames(r.arg), hostNames);
    await drv.close([], sock);
  });
});

Deno.test("local alloc lays out the documented example", () => {
  using local = openLocal();
  const r = local.alloc([bytes("some data"), { ptr: 6 }, { ptr: bytes("stuff") }, bytes("foo")]);
  assertEquals(r.cstruct, [
    bytes("some data"),
    { ptr: new Uint8Array(6) },
    { ptr: bytes("stuff") },
    bytes("foo"),
  ]);
  assertEquals(r.bytes.length, 28);
  assertNotEquals(le(r.bytes).getBigUint64(9, true), 0n);
  // A reply larger than the first reply buffer is handed over whole.
  const big = local.alloc([{ ptr: 1 << 20 }, bytes("end")]);
  assertEquals((big.cstruct[0] as { ptr: Uint8Array }).ptr.length, 1 << 20);
  assertEquals(big.cstruct[1], bytes("end"));
});

const OWN = "it manages a control process's own children, signals or settings";

Deno.test("calls that fork, exec or need a control process are refused in the host", () => {
  using local = openLocal();
  const refused: [string, () => unknown, string][] = [
    ["fork", () => local.fork(), "a fork of a multithreaded runtime is unsafe"],
    ["clone", () => local.clone("CLONE_NEWNS"), "a fork of a multithreaded runtime is unsafe"],
    ["execve", () => local.execve("/bin/true", ["true"], []), "it would replace the host process"],
    ["execvp", () => local.execvp("true", ["true"]), "it would replace the host process"],
    ["exit", () => local.exit(0), "it would end the host process"],
    ["sigaction", () => local.sigaction("SIGCHLD", "sig_info"), OWN],
    ["waitpid", () => local.waitpid(-1, 0), OWN],
    ["getopt", () => local.getopt("maxchild"), OWN],
    ["setopt", () => local.setopt("maxchild", 1), OWN],
    ["cpid", () => local.cpid(), OWN],
    ["setcpid", () => local.setcpid(1, "flowcontrol", 0), OWN],
  ];
  for (const [name, run, why] of refused) {
    const e = assertThrows(run, UnsupportedError);
    assertEquals(e.call, name);
    assertStringIncludes(e.message, `Cannot run ${name}: not in the host process: ${why}`);
    assertStringIncludes(e.message, "use a control process");
  }
  assertEquals(local.getpid(), Deno.pid);
});

Deno.test("local calls check their arguments like the driver's", () => {
  using local = openLocal();
  assertThrows(() => local.prctl({} as never, 0, 0, 0, 0), TypeError, "prctl: option must be");
  assertThrows(
    () => local.prctl("PR_SET_NAME", [{ ptr: { ptr: 1 } }] as never, 0, 0, 0),
    TypeError,
    "prctl: arg2[0].ptr is an object: nested pointers are not supported",
  );
  assertThrows(
    () => local.prctl("PR_SET_NAME", Array(65).fill(u8(0)), 0, 0, 0),
    RangeError,
    "prctl: arg2 is a cstruct of 65 segments",
  );
  assertThrows(() => local.prctl("PR_SET_NAME", [{ ptr: -1 }], 0, 0, 0), RangeError);
  assertThrows(() => local.ioctl(0, "NOPE", 0), RangeError, "unknown ioctl constant");
  assertThrows(() => local.connect(0, 7 as never), TypeError, "connect: address must be");
  assertThrows(() => local.getrlimit("RLIMIT_NOPE"), RangeError);
  assertEquals(local.getpid(), Deno.pid);
});

Deno.test("an unloaded handle refuses calls", () => {
  const local = openLocal();
  local.unload();
  local.unload();
  assert(local.unloaded);
  const e = assertThrows(() => local.getpid(), AlcoveError);
  assertStringIncludes(e.message, "unloaded");
});

/** A hand-made call straight into libalcove.so, bypassing every TypeScript check. */
function rawLocalCall(call: number, payload: Uint8Array): { status: number; value: unknown } {
  const lib = openLibrary();
  try {
    const out = new Uint8Array(4096);
    const n = lib.localCall(call, payload, out);
    assertGreater(n, 1);
    const view = le(out);
    const r = new Reader(out, view, 2, n);
    return { status: view.getUint16(0, true), value: r.done ? undefined : r.value() };
  } finally {
    lib.close();
  }
}

Deno.test("libalcove.so checks cstructs itself and takes raw pointers in the host", () => {
  const text = (v: unknown) => new TextDecoder().decode(v as Uint8Array);
  const w = new Writer();
  w.u8(VAL.CSTRUCT);
  w.u32(0);
  const empty = rawLocalCall(CALLS.alloc.id, w.take());
  assertEquals(empty.status, STATUS.BADARG);
  assertStringIncludes(text(empty.value), "alloc: argument 1 is a cstruct with no segments");

  w.u8(VAL.CSTRUCT);
  w.u32(65);
  for (let i = 0; i < 65; i++) {
    w.u8(SEG.ZEROED);
    w.u32(1);
  }
  const many = rawLocalCall(CALLS.alloc.id, w.take());
  assertEquals(many.status, STATUS.BADARG);
  assertStringIncludes(text(many.value), "more than 64 segments");

  w.u8(VAL.CSTRUCT);
  w.u32(1);
  w.u8(SEG.ZEROED);
  w.u32(16 * 1024 * 1024 + 1);
  const huge = rawLocalCall(CALLS.alloc.id, w.take());
  assertEquals(huge.status, STATUS.BADARG);
  assertStringIncludes(text(huge.value), "larger than 16 MiB");

  // The local entry point accepts a raw pointer: prctl writes this thread's name there.
  const name = new Uint8Array(new ArrayBuffer(16));
  w.int(16); // PR_GET_NAME
  const lib = openLibrary();
  w.ptr(lib.address(name), name.length);
  lib.close();
  w.int(0);
  w.int(0);
  w.int(0);
  const got = rawLocalCall(CALLS.prctl.id, w.take());
  assertEquals(got.status, STATUS.OK);
  assertEquals(
    readCstring(name),
    Deno.readTextFileSync("/proc/thread-self/comm").trim(),
  );

  // And refuses what would fork, whatever the TypeScript side does.
  const fork = rawLocalCall(CALLS.fork.id, new Uint8Array(0));
  assertEquals(fork.status, STATUS.UNSUPPORTED);
  assertStringIncludes(text(fork.value), "host process");
});

// ---------------------------------------------------------------------------------------
// seccomp over the whole host process, in a subprocess (a filter cannot be removed).

const MOD = new URL("../mod.ts", import.meta.url).href;
const SECCOMP = new URL("../ffi/seccomp/mod.ts", import.meta.url).href;

const IMPORTS = `
import { openLocal, sockFprog } from "${MOD}";
import {
  assemble, auditArch, denySyscall, loadSyscallNr, nativeArch, retAllow, SECCOMP_RET_ERRNO,
  validateArch,
} from "${SECCOMP}";
`;

/** Installs a filter denying mkdir on every thread (TSYNC) or on the calling one only. */
function denyMkdir(tsync: boolean): string {
  const flags = JSON.stringify(tsync ? "SECCOMP_FILTER_FLAG_TSYNC" : 0);
  return `
using local = openLocal();
const EPERM = local.constants.lookup("errno", "EPERM");
const nrs = ["SYS_mkdir", "SYS_mkdirat"].map((n) => local.constants.lookup("syscall", n))
  .filter((n) => n !== undefined);
const prog = assemble([
  ...validateArch(auditArch(nativeArch())),
  loadSyscallNr(),
  ...nrs.flatMap((nr) => denySyscall(nr, SECCOMP_RET_ERRNO | EPERM)),
  retAllow(),
]);
local.prctl("PR_SET_NO_NEW_PRIVS", 1, 0, 0, 0);
out.ret = local.seccomp("SECCOMP_SET_MODE_FILTER", ${flags}, sockFprog(prog));
`;
}

/** Under the filter, programs still start and timers still fire. */
const STILL_WORKS = `
const cmd = await new Deno.Command("echo", { args: ["exec works"] }).output();
out.exec = new TextDecoder().decode(cmd.stdout).trim();
out.timer = await new Promise((resolve) => setTimeout(() => resolve("fired"), 10));
`;

/** Runs a Deno process that filters mkdir over itself; the filter must go in. */
async function runFiltered(tsync: boolean) {
  const { out } = await runThreadedDeno<{ ret: number; exec: string; timer: string }>({
    imports: IMPORTS,
    setup: denyMkdir(tsync),
    after: STILL_WORKS,
  });
  assertEquals(out.ret, 0);
  return out;
}

Deno.test({
  ...denoOnly(
    "local seccomp with TSYNC filters every thread of a Deno process",
    nativeArch() === undefined,
  ),
  async fn() {
    const out = await runFiltered(true);
    assertEveryThreadDenied(out, "os error 1");
    assertEquals(out.exec, "exec works");
    assertEquals(out.timer, "fired");
  },
});

Deno.test({
  ...denoOnly(
    "local seccomp without TSYNC leaves the other threads unfiltered",
    nativeArch() === undefined,
  ),
  async fn() {
    const out = await runFiltered(false);
    assertStringIncludes(out.mkdirSync, "os error 1");
    // The worker's thread predates the filter: it is not filtered.
    assertEquals(out.workerAfter, "ok");
    assertGreater(out.threads, out.filtered);
  },
});

Deno.test(denoOnly("local connect reaches a listening socket of this process"), async () => {
  using local = openLocal();
  const dir = await Deno.makeTempDir();
  const path = `${dir}/s.sock`;
  const listener = Deno.listen({ transport: "unix", path });
  try {
    const fd = local.socket("AF_UNIX", "SOCK_STREAM", 0);
    try {
      const accepting = listener.accept();
      // The cstruct form, laid out here: sun_family then sun_path.
      local.connect(fd, [bytes([1, 0]), new TextEncoder().encode(path + "\0")]);
      using conn = await accepting;
      local.write(fd, "ping");
      const buf = new Uint8Array(8);
      const n = await conn.read(buf);
      assertEquals(new TextDecoder().decode(buf.subarray(0, n ?? 0)), "ping");
    } finally {
      local.close(fd);
    }
    // A descriptor that is not open (not the one just closed: the runtime may have opened
    // another with its number since).
    const e = assertThrows(() => local.connect(1 << 20, null), SystemCallError);
    assertInstanceOf(e, SystemCallError);
    assertEquals(e.code, "EBADF");
  } finally {
    listener.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test(
  denoOnly("calls in several threads of the host process get their own error messages"),
  async () => {
    const url = new URL("./fixtures/local_errors_worker.ts", import.meta.url);
    const calls = ["getpid", "getuid", "getgid", "getppid"];
    const results = await Promise.all(
      calls.map((call) =>
        new Promise<string[]>((resolve, reject) => {
          const w = new Worker(url, { type: "module" });
          w.onmessage = (e) => {
            w.terminate();
            resolve(e.data);
          };
          w.onerror = (e) => {
            w.terminate();
            reject(e.error ?? new Error(e.message));
          };
          w.postMessage({ call, rounds: 100000 });
        })
      ),
    );
    assertEquals(results, calls.map(() => []));
  },
);
