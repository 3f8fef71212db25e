import { assert, assertEquals, assertInstanceOf, assertMatch, assertRejects } from "@std/assert";
import { Alcove, DriverClosedError, encodeSpawnRequest, PipelineError } from "../mod.ts";
import { CALLS } from "../ffi/_calls.ts";
import { DOWN, Reader, STATUS, UP, VAL, Writer } from "../ffi/_wire.ts";
import { procEntries, RawControl, withDriver } from "./_helpers.ts";

type Case = [string, (drv: Alcove, p: number) => Promise<unknown>, ErrorConstructor];

// deno-lint-ignore no-explicit-any
const any = (v: unknown) => v as any;

/** Wrong types, out-of-range numbers, unknown names: every one is refused before sending. */
const CASES: Case[] = [
  ["fork: pipeline not an array", (d) => d.fork(any("x")), TypeError],
  ["fork: pipeline with a negative pid", (d) => d.fork([-1]), TypeError],
  ["fork: pipeline with a fraction", (d, p) => d.fork([p + 0.5]), TypeError],
  ["fork: too many arguments", (d) => any(d).fork([], 1, 2), TypeError],
  ["clone: unknown flag", (d) => d.clone([], ["CLONE_NEWNOPE"]), RangeError],
  ["clone: flag of the wrong type", (d) => d.clone([], any([{}])), TypeError],
  ["clone: a non-namespace flag", (d) => d.clone([], "CLONE_VM"), RangeError],
  ["execve: argv not an array", (d, p) => d.execve([p], "/bin/true", any("true"), []), TypeError],
  ["execve: NUL in the path", (d, p) => d.execve([p], "/bin/tr\0ue", ["x"], []), TypeError],
  ["execve: NUL in argv", (d, p) => d.execve([p], "/bin/true", ["a\0b"], []), TypeError],
  ["execve: number in env", (d, p) => d.execve([p], "/bin/true", [], any([1])), TypeError],
  ["execvp: file not a string", (d, p) => d.execvp([p], any(42), ["x"]), TypeError],
  ["exit: status not an integer", (d, p) => d.exit([p], 1.5), TypeError],
  ["exit: status out of range", (d, p) => d.exit([p], 2 ** 40), RangeError],
  ["kill: unknown signal", (d, p) => d.kill([], p, "SIGNOPE"), RangeError],
  ["kill: pid out of range", (d) => d.kill([], 2 ** 32, "SIGTERM"), RangeError],
  // A C int: the bits above 32 would be dropped and another value taken.
  ["kill: signal past 32 bits", (d, p) => d.kill([], p, 2 ** 32 + 9), RangeError],
  ["prctl: option past 32 bits", (d, p) => d.prctl([p], 2 ** 32 + 15, 0, 0, 0, 0), RangeError],
  ["open: flags past 32 bits", (d, p) => d.open([p], "/tmp/x", 2 ** 32 + 0o101, 0), RangeError],
  [
    "setrlimit: resource past 32 bits",
    (d, p) => d.setrlimit([p], 2 ** 32 + 7, { cur: 1, max: 1 }),
    RangeError,
  ],
  // ptrace(2) 2**32 would run as PTRACE_TRACEME (0), waitpid 2**32 + 1 as WNOHANG, umount2
  // 2**32 with no flags.
  ["ptrace: request past 32 bits", (d, p) => d.ptrace([p], 2 ** 32, 0, 0, 0), RangeError],
  ["waitpid: flags past 32 bits", (d, p) => d.waitpid([p], -1, 2 ** 32 + 1), RangeError],
  ["umount2: flags past 32 bits", (d, p) => d.umount2([p], "/nope", 2 ** 32), RangeError],
  ["getpid: options not an object", (d) => d.getpid([], any(5)), TypeError],
  ["getpid: an unknown option", (d) => d.getpid([], any({ timout: 100 })), TypeError],
  ["getpid: negative timeout", (d) => d.getpid([], { timeout: -1 }), RangeError],
  ["getpid: signal not an AbortSignal", (d) => d.getpid([], any({ signal: {} })), TypeError],
  ["getopt: unknown option", (d) => d.getopt([], any("nosuchoption")), TypeError],
  ["setopt: value of the wrong type", (d) => d.setopt([], "maxchild", any("7")), TypeError],
  [
    "setopt: value out of range for the option",
    (d) => d.setopt([], "maxforkdepth", 65536),
    RangeError,
  ],
  ["setopt: spin over 10000", (d) => d.setopt([], "spin", 10001), RangeError],
  ["setopt: negative spin", (d) => d.setopt([], "spin", -1), RangeError],
  ["setcpid: unknown option", (d, p) => d.setcpid([], p, any("nope"), 1), TypeError],
  ["setcpid: flowcontrol below -1", (d, p) => d.setcpid([], p, "flowcontrol", -2), RangeError],
  ["chdir: path not a string", (d) => d.chdir([], any(null)), TypeError],
  ["getenv: NUL in the name", (d) => d.getenv([], "A\0B"), TypeError],
  ["setenv: overwrite not a number", (d) => d.setenv([], "A", "B", any(true)), TypeError],
  ["unsetenv: name missing", (d) => any(d).unsetenv([]), TypeError],
  ["sigaction: unknown handler", (d) => d.sigaction([], "SIGUSR1", any("sig_maybe")), TypeError],
  ["sigaction: signal of the wrong type", (d) => d.sigaction([], any({}), null), TypeError],
  ["waitpid: unknown flag", (d) => d.waitpid([], -1, "WNOPE"), RangeError],
  ["errnoId: not an integer", (d) => d.errnoId([], any("EPERM")), TypeError],
  ["signalConstant: NUL in the name", (d) => d.signalConstant([], "SIG\0TERM"), TypeError],
  ["syscallConstant: not a string", (d) => d.syscallConstant([], any(39)), TypeError],
  [
    "setrlimit: limit without max",
    (d) => d.setrlimit([], "RLIMIT_NOFILE", any({ cur: 1 })),
    TypeError,
  ],
  [
    "setrlimit: negative limit",
    (d) => d.setrlimit([], "RLIMIT_CORE", { cur: -1, max: 0 }),
    TypeError,
  ],
  ["setuid: uid out of range", (d, p) => d.setuid([p], -1), RangeError],
  ["setgroups: not an array", (d, p) => d.setgroups([p], any(0)), TypeError],
  ["stdin: data of the wrong type", (d, p) => d.stdin([p], any(12)), TypeError],
  ["stdin: to the root", (d) => d.stdin([], "x"), TypeError],
  ["eof: to the root", (d) => d.eof([]), TypeError],
  ["stdout: pipeline of strings", (d) => d.stdout(any(["1"])), TypeError],
  ["event: timeout not a number", (d) => d.event([], any({ timeout: "1" })), RangeError],
];

Deno.test("bad input is refused with a clear error and the control process keeps answering", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    for (const [name, run, type] of CASES) {
      const e = await run(drv, p).then(() => undefined, (e) => e);
      assert(e !== undefined, `${name}: no error`);
      assertInstanceOf(e, type, `${name}: ${e}`);
      const call = name.slice(0, name.indexOf(":"));
      assert(
        (e as Error).message.toLowerCase().includes(call.toLowerCase()),
        `${name}: the message does not name the call: ${(e as Error).message}`,
      );
      assertEquals(await drv.getpid([p]), p, `${name}: the process stopped answering`);
    }
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

Deno.test("a Task's call in the driver's form, a pipeline first, says what it takes", async () => {
  await withDriver(async (drv) => {
    const t = await drv.root.fork();
    const cases: [string, () => Promise<unknown>, string][] = [
      ["chdir", () => t.chdir(any([]), any("/")), "chdir(path, options?)"],
      ["kill", () => t.kill(any([]), any(0), any("SIGTERM")), "kill(pid, signal, options?)"],
      ["getpid", () => t.getpid(any([])), "getpid(options?)"],
    ];
    for (const [call, run, form] of cases) {
      const e = await assertRejects(run, TypeError);
      assertEquals(
        e.message,
        `${call}: a Task's calls take no pipeline (the Task is the process): ${form}`,
      );
    }
    // Arrays in their own place are arguments as ever.
    assertEquals(await t.getgroups(), await drv.getgroups([t.pid]));
    await t.setgroups([0]);
    assertEquals(await t.getpid(), t.pid);
  });
});

Deno.test("a timeout past what a timer holds (2^31 ms) waits, and a fraction is taken", async () => {
  const children = () =>
    procEntries().filter((name) => {
      try {
        const stat = Deno.readTextFileSync(`/proc/${name}/stat`);
        return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1] === String(Deno.pid);
      } catch {
        return false;
      }
    }).length;
  const before = children();
  for (const startTimeout of [-1, NaN, Infinity, any("1")]) {
    await assertRejects(
      () => Alcove.start({ startTimeout }),
      RangeError,
      "Alcove.start: startTimeout must be a non-negative number",
    );
  }
  assertEquals(children(), before, "a refused start left a process");
  // A timer given 2^31 ms or more fires at once: these must wait.
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const waits = [
      drv.event([p], { timeout: 2 ** 31 }),
      drv.stdout([p], { timeout: 3e9 }),
      drv.getpid([p], { timeout: 2 ** 32 }),
      drv.getpid([p], { timeout: 1e300 }),
      drv.getpid([p], { timeout: 10000.5 }),
      drv.getpid([p], { timeout: 20000.25 }),
    ];
    const settled = waits.map((w) => w.then((v) => v, (e) => e));
    const early = await Promise.race([
      Promise.all(settled.slice(0, 2)).then(() => "settled"),
      new Promise((r) => setTimeout(() => r("waiting"), 300)),
    ]);
    assertEquals(early, "waiting", "a long timeout fired early");
    assertEquals(await Promise.all(settled.slice(2)), [p, p, p, p]);
    await drv.kill([], p, "SIGKILL");
    assertEquals((await settled[0] as { type: string }).type, "termsig");
    assertEquals(await settled[1], null);
  }, { startTimeout: 2 ** 31 });
});

Deno.test("every call refuses a wrong number of arguments and a name of the wrong type", async () => {
  await withDriver(async (drv) => {
    const calls = drv as unknown as Record<string, (...args: unknown[]) => Promise<unknown>>;
    for (const def of Object.values(CALLS)) {
      const method = calls[def.name].bind(drv);
      // One argument too many (a plain value where the options object or nothing goes).
      const extra = [...def.args.map(() => 0), 0, 0];
      const e = await method([], ...extra).then(() => undefined, (e) => e);
      assertInstanceOf(e, TypeError, `${def.name} with extra arguments: ${e}`);
      assert((e as Error).message.startsWith(`${def.name}:`), (e as Error).message);
    }
    for (const def of Object.values(CALLS).filter((d) => d.name.endsWith("Constant"))) {
      const e = await calls[def.name].bind(drv)([], 42).then(() => undefined, (e) => e);
      assertInstanceOf(e, TypeError, `${def.name} with a number: ${e}`);
    }
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

Deno.test("a request over the size limit is refused before it is sent", async () => {
  await withDriver(async (drv) => {
    const big = "x".repeat(65 * 1024 * 1024);
    const e = await assertRejects(() => drv.setenv([], "BIG", big, 1), RangeError);
    assert(e.message.includes("exceeds"));
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

Deno.test("calls to a pipeline through an exec'd process fail with PipelineError", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "sleep", ["sleep", "100"]);
    const e = await assertRejects(() => drv.getpid([p]), PipelineError);
    assertEquals(e.reason, "not_control");
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

/** Talks to a control process directly, bypassing every check of the driver. */
class RawHelper {
  #raw = new RawControl();

  send(bytes: Uint8Array): Promise<void> {
    return this.#raw.send(bytes);
  }

  /** The next frame that is not a greeting. */
  async frame(): Promise<{ type: number; code: number; id: number; reader: Reader }> {
    for (;;) {
      const f = await this.#raw.frame();
      if (f.type === UP.HELLO) continue;
      const view = new DataView(f.bytes.buffer);
      return { ...f, reader: new Reader(f.bytes, view, 12 + 4 * f.depth, f.bytes.length) };
    }
  }

  close(): Promise<void> {
    return this.#raw.close();
  }
}

function frame(call: number, id: number, build: (w: Writer) => void, pids: number[] = []) {
  const w = new Writer();
  const start = w.begin(DOWN.CALL, call, id, pids);
  build(w);
  w.end(start);
  return w.take();
}

Deno.test("the control process checks every request itself and survives bad ones", async () => {
  const raw = new RawHelper();
  try {
    const getpid = CALLS.getpid.id;
    const chdir = CALLS.chdir.id;
    const bad: [string, Uint8Array, number][] = [
      ["unknown call number", frame(499, 1, () => {}), STATUS.UNSUPPORTED],
      ["too many arguments", frame(getpid, 2, (w) => w.int(1)), STATUS.BADARG],
      ["missing argument", frame(chdir, 3, () => {}), STATUS.BADARG],
      ["integer where a string goes", frame(chdir, 4, (w) => w.int(7)), STATUS.BADARG],
      ["string with a NUL", frame(chdir, 5, (w) => w.bytes("/t\0mp")), STATUS.BADARG],
      ["unknown value tag", frame(chdir, 6, (w) => w.u8(99)), STATUS.BADARG],
      [
        "list longer than the frame",
        frame(CALLS.setgroups.id, 7, (w) => {
          w.u8(VAL.LIST);
          w.u32(0x7fffffff);
        }),
        STATUS.BADARG,
      ],
      [
        "bytes longer than the frame",
        frame(chdir, 8, (w) => {
          w.u8(VAL.BYTES);
          w.u32(1000);
        }),
        STATUS.BADARG,
      ],
      ["a pid that is not a child", frame(getpid, 9, () => {}, [1]), STATUS.NOTCHILD],
    ];
    for (const [name, bytes, status] of bad) {
      await raw.send(bytes);
      const f = await raw.frame();
      assertEquals([f.type, f.code], [UP.REPLY, status], name);
      await raw.send(frame(getpid, 100, () => {}));
      const ok = await raw.frame();
      assertEquals([ok.type, ok.code, ok.id], [UP.REPLY, STATUS.OK, 100], `after ${name}`);
    }
  } finally {
    await raw.close();
  }
});

Deno.test("the control process refuses a sandbox's cgroup file that moves or kills processes", async () => {
  // Requests made by the library with an allowed name of the same length, then that name
  // changed in the bytes: what a request that bypasses the driver's checks could carry.
  // The values do no harm should one be written: a pid past any pid_max, the kill of the
  // new cgroup alone, a v1 file of the root only.
  const asked: [string, string, string][] = [
    ["cgroup.xxxxx", "cgroup.procs", "4194305"],
    ["cgroup.xxxxxxx", "cgroup.threads", "4194305"],
    ["cgroup.xxxx", "cgroup.kill", "1"],
    ["a.bcd", "tasks", "4194305"],
    ["a.bcdefghjklm", "release_agent", "/nonexistent"],
    ["a.bcdefghjklmnopq", "notify_on_release", "0"],
  ];
  const requests = await withDriver((drv) =>
    Promise.resolve(asked.map(([allowed, refused, value]) => {
      const { bytes } = encodeSpawnRequest(
        ["true"],
        { cgroup: { files: { [allowed]: value } } },
        drv.constants,
      );
      const at = indexOf(bytes, new TextEncoder().encode(allowed));
      assert(at >= 0, allowed);
      bytes.set(new TextEncoder().encode(refused), at);
      return [refused, bytes] as const;
    }))
  );
  const raw = new RawHelper();
  try {
    for (const [i, [name, bytes]] of requests.entries()) {
      await raw.send(frame(CALLS.spawn.id, 10 + i, (w) => w.bytes(bytes)));
      const f = await raw.frame();
      assertEquals([f.type, f.code, f.id], [UP.REPLY, STATUS.BADARG, 10 + i], name);
    }
    // Nothing was made: no child of the control process.
    await raw.send(frame(CALLS.cpid.id, 99, () => {}));
    const f = await raw.frame();
    assertEquals([f.type, f.code, f.reader.value()], [UP.REPLY, STATUS.OK, []]);
  } finally {
    await raw.close();
  }
});

function indexOf(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

Deno.test("a stream that loses framing ends the control process cleanly", async () => {
  const raw = new RawHelper();
  try {
    // A length below the header size cannot be a frame.
    await raw.send(new Uint8Array([2, 0, 0, 0, 1, 0]));
    await assertRejects(() => raw.frame(), Error, "closed its output");
  } finally {
    await raw.close();
  }
});

Deno.test("a call written after the root died says how the root ended", async () => {
  // The write fails (EPIPE) before the read loop sees the end: that was the error given.
  for (let i = 0; i < 5; i++) {
    await withDriver(async (drv) => {
      const root = drv.pid;
      Deno.kill(root, "SIGKILL");
      // Until it is dead, with no turn of the event loop: its end is not read meanwhile.
      for (;;) {
        try {
          if (Deno.readTextFileSync(`/proc/${root}/stat`).split(") ")[1][0] === "Z") break;
        } catch {
          break; // reaped
        }
      }
      const e = await assertRejects(() => drv.getpid([]), DriverClosedError);
      assertMatch(
        e.message,
        /^Cannot (run|finish) getpid: the root control process exited \(signal SIGKILL\)$/,
      );
    });
  }
});

Deno.test("calls after the root ended reject with DriverClosedError", async () => {
  await withDriver(async (drv) => {
    await drv.kill([], drv.pid, "SIGKILL").catch(() => {});
    await assertRejects(() => drv.getpid([], { timeout: 5000 }), DriverClosedError);
    assert(drv.closed);
    // Made after the end, a call says it could not run, and how the root ended.
    const e = await assertRejects(() => drv.getpid([]), DriverClosedError);
    assertEquals(e.message, "Cannot run getpid: the root control process exited (signal SIGKILL)");
  });
});
