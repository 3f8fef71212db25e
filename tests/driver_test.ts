import {
  assert,
  assertEquals,
  assertGreater,
  assertInstanceOf,
  assertRejects,
  assertStringIncludes,
} from "@std/assert";
import {
  AbortedError,
  Alcove,
  DriverClosedError,
  PipelineError,
  ProcessExitedError,
  SystemCallError,
  TimeoutError,
} from "../mod.ts";
import { CONTROL_ARCH, output, readAll, withDriver, withMarker } from "./_helpers.ts";
import { syscallNumber } from "../ffi/seccomp/arch.ts";

Deno.test("start gives up at startTimeout on a root that never connects", async () => {
  // The prefix runs a shell that sleeps instead of the root control process.
  const t0 = performance.now();
  const err = await assertRejects(
    () => Alcove.start({ exec: ["sh", "-c", "exec sleep 30", "sh"], startTimeout: 300 }),
    Error,
  );
  assertStringIncludes(err.message, "did not connect within 300 ms");
  assert(performance.now() - t0 < 10000, "the wait was bounded");
});

Deno.test("a prefix that closes its stdin and exits is reported by its status", async () => {
  // A `sudo -n` that refuses: the channel's line written to its closed stdin must not take
  // the place of how it ended.
  const exec = ["sh", "-c", "exec 0<&-; sleep 0.1; exit 3", "sh"];
  for (let i = 0; i < 10; i++) {
    const err = await assertRejects(() => Alcove.start({ exec }), Error);
    assertStringIncludes(err.message, "it exited with status 3 before connecting");
  }
});

Deno.test("stop kills a root that does not exit when its input closes", async () => {
  const drv = await Alcove.start();
  Deno.kill(drv.pid, "SIGSTOP"); // it cannot read the end of its input, nor exit
  await drv.stop();
  assert(drv.closed);
  const alive = await output("sh", ["-c", `kill -0 ${drv.pid} 2>/dev/null`]);
  assertEquals(alive.code, 1, "the root was killed and reaped");
});

Deno.test("start, version, getpid of the root, stop twice", async () => {
  const drv = await Alcove.start();
  assertEquals(await drv.getpid([]), drv.pid);
  assertEquals(await drv.version([]), "0.1.0");
  assertEquals(await drv.getppid([]), Deno.pid);
  await drv.stop();
  await drv.stop();
  assert(drv.closed);
  await assertRejects(() => drv.getpid([]), DriverClosedError);
});

Deno.test("fork makes a child control process of the pipeline's last process", async () => {
  await withDriver(async (drv) => {
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    assertEquals(await drv.getpid([a]), a);
    assertEquals(await drv.getppid([a, b]), a);
    assertEquals(await drv.getpid([a, b]), b);
    const kids = await drv.cpid([]);
    assertEquals(kids.map((c) => c.pid), [a]);
    assertEquals(kids[0].execed, false);
  });
});

Deno.test("nested pipeline 16 deep carries 2 MiB of yes intact", async () => {
  await withDriver(async (drv) => {
    const pipeline: number[] = [];
    for (let i = 0; i < 16; i++) pipeline.push(await drv.fork(pipeline));
    assertEquals(await drv.getpid(pipeline), pipeline[15]);
    await assertRejects(() => drv.fork(pipeline), SystemCallError, "EAGAIN");
    await drv.execvp(pipeline, "/bin/sh", ["sh", "-c", "yes | head -c 2097152"]);
    const out = await readAll(drv, pipeline, "stdout", 30000);
    assertEquals(out.length, 2097152);
    assertEquals(out, "y\n".repeat(1048576));
    assertEquals(await drv.event(pipeline), { type: "exit", status: 0 });
  });
});

Deno.test("exec in the middle of a pipeline: the deeper process loses its parent", async () => {
  await withDriver(async (drv) => {
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    const c = await drv.fork([a, b]);
    await drv.execvp([a, b], "cat", ["cat"]);
    await drv.stdin([a, b], "through the middle\n");
    assertEquals(
      new TextDecoder().decode((await drv.stdout([a, b], { timeout: 5000 }))!),
      "through the middle\n",
    );
    const e = await assertRejects(() => drv.getpid([a, b, c]), PipelineError);
    assertEquals(e.reason, "not_control");
    assertEquals(e.pid, b);
    assertEquals(await drv.getpid([a]), a);
    await drv.eof([a, b]);
    assertEquals(await drv.event([a, b]), { type: "exit", status: 0 });
  });
});

Deno.test("a failed exec answers the errno and the process stays a control process", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const e = await assertRejects(
      () => drv.execvp([p], "/nonexistent/program", ["x"]),
      SystemCallError,
    );
    assertEquals(e.code, "ENOENT");
    assertEquals(e.errno, 2);
    assertEquals(await drv.getpid([p]), p);
    const e2 = await assertRejects(
      () => drv.execve([p], "/etc/passwd", ["x"], []),
      SystemCallError,
    );
    assertEquals(e2.code, "EACCES");
    await drv.execve([p], "/bin/sh", ["sh", "-c", "echo $FOO"], ["FOO=bar"]);
    assertEquals(await readAll(drv, [p]), "bar\n");
  });
});

Deno.test("execve with an empty environment gives the program none", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execve([p], "/usr/bin/env", ["env"], []);
    assertEquals(await readAll(drv, [p]), "");
    assertEquals(await drv.event([p]), { type: "exit", status: 0 });
  });
});

Deno.test("1000 concurrent calls on one process are each matched to their reply", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const names = Array.from({ length: 1000 }, (_, i) => `V${i}`);
    await Promise.all(names.map((n, i) => drv.setenv([p], n, String(i * 7), 1)));
    const values = await Promise.all(names.map((n) => drv.getenv([p], n)));
    assertEquals(values, names.map((_, i) => String(i * 7)));
    const pids = await Promise.all(Array.from({ length: 1000 }, () => drv.getpid([p])));
    assert(pids.every((x) => x === p));
  });
});

Deno.test("100 fork/exit cycles leave no child and no zombie", async () => {
  await withDriver(async (drv) => {
    for (let i = 0; i < 100; i++) {
      const p = await drv.fork([]);
      await drv.exit([p], i % 256);
      assertEquals(await drv.event([p]), { type: "exit", status: i % 256 });
    }
    assertEquals(await drv.cpid([]), []);
    const kids = await Deno.readTextFile(`/proc/${drv.pid}/task/${drv.pid}/children`);
    assertEquals(kids.trim(), "");
  });
});

Deno.test("a process's end ends the readers below it; reads after the end return null", async () => {
  await withDriver(async (drv) => {
    // A read that never settles would hang the test: race each one against a sentinel.
    const settles = async <T>(p: Promise<T>): Promise<T | "still waiting"> => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const hung = new Promise<"still waiting">((r) =>
        timer = setTimeout(r, 10000, "still waiting")
      );
      try {
        return await Promise.race([p, hung]);
      } finally {
        clearTimeout(timer);
      }
    };
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    const waiting = drv.stdout([a, b]);
    await drv.kill([], a, "SIGKILL");
    assertEquals(await drv.event([a]), { type: "termsig", signal: "SIGKILL" });
    assertEquals(await settles(waiting), null);
    assertEquals(await settles(drv.event([a, b])), null);
    assertEquals(await settles(drv.event([a])), null);
    assertEquals(await settles(drv.stdout([a, b, 12345])), null);
    // Many processes later, the driver still answers for each one by itself.
    for (let i = 0; i < 200; i++) {
      const p = await drv.fork([]);
      await drv.exit([p], 0);
      assertEquals(await drv.event([p]), { type: "exit", status: 0 });
      assertEquals(await settles(drv.event([p])), null);
    }
    assertEquals(await drv.getpid([]), drv.pid);
  });
});

Deno.test("output comes before the exit event", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "echo a; echo b >&2; echo c"]);
    // The event is queued behind the output: all of it is there once the exit is.
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "exit", status: 0 });
    assertEquals(await readAll(drv, [p], "stdout", 0), "a\nc\n");
    assertEquals(await readAll(drv, [p], "stderr", 0), "b\n");
  });
});

Deno.test("termsig and signal events", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.kill([], p, "SIGUSR1");
    const ev = await drv.event([p], { timeout: 5000 });
    assert(ev !== null && ev.type === "signal");
    assertEquals(ev.signal, "SIGUSR1");
    assertEquals(ev.info.length, 128);
    // si_pid in the siginfo is the sender: the root control process. It follows si_signo,
    // si_errno and si_code, at the union aligned to the control process's word size.
    const siPid = drv.wordSize === 8 ? 16 : 12;
    assertEquals(new DataView(ev.info.buffer).getInt32(siPid, true), drv.pid);
    assertEquals(await drv.getpid([p]), p);
    await drv.execvp([p], "sleep", ["sleep", "100"]);
    await drv.kill([], p, "SIGKILL");
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "termsig", signal: "SIGKILL" });
    assertEquals(await drv.event([p], { timeout: 100 }), null);
  });
});

Deno.test("sigaction: ignore, default and the previous handler", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    assertEquals(await drv.sigaction([p], "SIGUSR1", null), "sig_info");
    assertEquals(await drv.sigaction([p], "SIGUSR1", "sig_ign"), "sig_info");
    await drv.kill([], p, "SIGUSR1");
    assertEquals(await drv.event([p], { timeout: 300 }), null);
    assertEquals(await drv.getpid([p]), p);
    assertEquals(await drv.sigaction([p], "sigusr1", "SIG_DFL" as "sig_dfl"), "sig_ign");
    await drv.kill([], p, "SIGUSR1");
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "termsig", signal: "SIGUSR1" });
    await assertRejects(() => drv.sigaction([], "SIGKILL", "sig_ign"), SystemCallError, "EINVAL");
  });
});

Deno.test("waitpid works once SIGCHLD is taken over", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    assertEquals(await drv.sigaction([p], "SIGCHLD", "sig_info"), "sig_dfl");
    const c = await drv.fork([p]);
    await drv.execvp([p, c], "/bin/sh", ["sh", "-c", "exit 7"]);
    const ev = await drv.event([p], { timeout: 5000 });
    assert(ev?.type === "signal" && ev.signal === "SIGCHLD");
    const r = await drv.waitpid([p], c, 0);
    assertEquals(r.pid, c);
    assertEquals(r.type, "exited");
    assertEquals(r.exitStatus, 7);
    assertEquals(r.status, 7 << 8);
    const none = await drv.waitpid([p], -1, "WNOHANG").catch((e) => e);
    assertInstanceOf(none, SystemCallError);
    assertEquals(none.code, "ECHILD");
  });
});

Deno.test("a pid that is not a child fails that call only", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const e = await assertRejects(() => drv.getpid([p, 1]), PipelineError);
    assertEquals(e.reason, "not_child");
    assertEquals(e.pid, 1);
    assertStringIncludes(e.message, "not a child");
    const e2 = await assertRejects(() => drv.getpid([999999]), PipelineError);
    assertEquals(e2.pid, 999999);
    assertEquals(await drv.getpid([p]), p);
  });
});

Deno.test("maxchild and maxforkdepth give EAGAIN, also after lowering RLIMIT_NOFILE", async () => {
  await withDriver(async (drv) => {
    assertEquals(await drv.getopt([], "maxforkdepth"), 16);
    const p = await drv.fork([]);
    await drv.setopt([p], "maxchild", 2);
    await drv.fork([p]);
    await drv.fork([p]);
    const e = await assertRejects(() => drv.fork([p]), SystemCallError);
    assertEquals(e.code, "EAGAIN");

    const q = await drv.fork([]);
    await drv.setopt([q], "maxforkdepth", 2);
    const q1 = await drv.fork([q]);
    assertEquals(await drv.getopt([q, q1], "maxforkdepth"), 2);
    await assertRejects(() => drv.fork([q, q1]), SystemCallError, "EAGAIN");

    const r = await drv.fork([]);
    await drv.setrlimit([r], "RLIMIT_NOFILE", { cur: 30, max: 30 });
    const max = await drv.getopt([r], "maxchild");
    assertEquals(max, Math.floor((30 - 12) / 5));
    for (let i = 0; i < max; i++) await drv.fork([r]);
    // Bound by RLIMIT_NOFILE, not by the option: raising maxchild alone would give EMFILE.
    const nofile = await assertRejects(() => drv.fork([r]), SystemCallError, "EAGAIN");
    assertEquals(nofile.limit, "RLIMIT_NOFILE");
    assertStringIncludes(nofile.message, "raise RLIMIT_NOFILE");
  });
});

Deno.test("the exit call resolves and the parent reports the status", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const c = await drv.fork([p]);
    await drv.exit([p, c], 42);
    assertEquals(await drv.event([p, c]), { type: "exit", status: 42 });
    await assertRejects(() => drv.getpid([p, c]), PipelineError);
  });
});

Deno.test("a process that dies during a call rejects it with its exit", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.sigaction([p], "SIGCHLD", "sig_info");
    const c = await drv.fork([p]);
    // Long enough that p is surely in waitpid when killed, even emulated on a loaded machine
    // (the kill ends the sleep too: c dies with its parent).
    await drv.execvp([p, c], "sleep", ["sleep", "30"]);
    // waitpid blocks p until its child exits; kill p meanwhile.
    const call = drv.waitpid([p], c, 0);
    await new Promise((r) => setTimeout(r, 50));
    await drv.kill([], p, "SIGKILL");
    const e = await assertRejects(() => call, ProcessExitedError);
    assertEquals(e.event, { type: "termsig", signal: "SIGKILL" });
    assertEquals(e.pid, p);
  });
});

Deno.test("timeouts and aborts reject; the late reply is dropped", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.sigaction([p], "SIGCHLD", "sig_info");
    const c = await drv.fork([p]);
    // Long enough to outlast the 100 ms timeout below with room to spare, even emulated on
    // a loaded machine.
    await drv.execvp([p, c], "sleep", ["sleep", "2"]);
    // p is busy in waitpid: a call behind it times out.
    const busy = drv.waitpid([p], c, 0);
    const e = await assertRejects(() => drv.getpid([p], { timeout: 100 }), TimeoutError);
    assertEquals(e.timeout, 100);
    const ac = new AbortController();
    const aborted = drv.getcwd([p], { signal: ac.signal });
    ac.abort("no longer needed");
    await assertRejects(() => aborted, AbortedError);
    await assertRejects(
      () => drv.getpid([p], { signal: AbortSignal.abort() }),
      AbortedError,
    );
    const r = await busy;
    assertEquals(r.exitStatus, 0);
    // The late getpid reply went nowhere: the next calls get their own answers.
    assertEquals(await drv.getcwd([p]), await drv.getcwd([]));
    assertEquals(await drv.getpid([p]), p);
    // A deadline that has passed when the target reads the call: the target answers at once
    // that it did not run it, mostly before this side's timer fires. That is the timeout too.
    for (let i = 0; i < 20; i++) {
      for (const pipeline of [[], [p]]) {
        const e = await assertRejects(() => drv.getpid(pipeline, { timeout: 0 }), TimeoutError);
        assertEquals(e.timeout, 0);
      }
    }
  });
});

Deno.test("reading the output or events of a process the driver never made fails at once", async () => {
  await withDriver(async (drv) => {
    // No such process: waiting would be for ever, and each pipeline asked about was kept.
    const ghost = [4000000];
    for (const read of [() => drv.event(ghost), () => drv.stdout(ghost), () => drv.stderr(ghost)]) {
      const e = await assertRejects(read, PipelineError);
      assertEquals([e.pid, e.reason], [4000000, "not_child"]);
    }
    const parent = await drv.fork([]);
    await assertRejects(() => drv.event([parent, 4000001]), PipelineError);
    // Nor after a write to it (which fails the same way), and nothing is kept for it.
    await assertRejects(() => drv.stdin([4000002], "x"), PipelineError);
    await assertRejects(() => drv.eof([4000002]), PipelineError);
    await assertRejects(() => drv.event([4000002]), PipelineError);
    // A fork given up on once sent still made a process: its reads are its own.
    await drv.sigaction([parent], "SIGCHLD", "sig_info");
    const c = await drv.fork([parent]);
    await drv.execvp([parent, c], "sleep", ["sleep", "1"]);
    const busy = drv.waitpid([parent], c, 0); // the parent takes no call until c ends
    const ac = new AbortController();
    const late = drv.fork([parent], { signal: ac.signal }).catch((e) => e);
    await new Promise((r) => setTimeout(r, 100));
    ac.abort();
    assert((await late) instanceof AbortedError);
    await busy;
    await drv.sigaction([parent], "SIGCHLD", "sig_dfl");
    const kids = (await drv.cpid([parent])).map((k) => k.pid);
    assertEquals(kids.length, 1);
    assertEquals(await drv.event([parent, kids[0]], { timeout: 0 }), null);
    assertEquals(await drv.getpid([parent, kids[0]]), kids[0]);
    // One it made: read as ever, before and after its end.
    const p = await drv.fork([]);
    assertEquals(await drv.event([p], { timeout: 0 }), null);
    await drv.exit([p], 0);
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "exit", status: 0 });
    assertEquals(await drv.event([p]), null);
  });
});

Deno.test("a call aborted before the driver wrote it is never run", async () => {
  await withDriver(async (drv) => {
    const dir = Deno.makeTempDirSync({ prefix: "alcove-abort-" });
    try {
      // Aborted in the same turn: the call is still in the driver's batch.
      const ac = new AbortController();
      const first = drv.mkdir([], `${dir}/first`, 0o755, { signal: ac.signal });
      ac.abort();
      await assertRejects(() => first, AbortedError);
      // Aborted while it waits behind a large write (a frame of its own, sent first).
      const p = await drv.fork([]);
      await drv.execvp([p], "cat", ["cat"]);
      const big = drv.stdin([p], new Uint8Array(8 << 20)).catch(() => {});
      const late = new AbortController();
      const second = drv.mkdir([], `${dir}/second`, 0o755, { signal: late.signal });
      late.abort();
      await assertRejects(() => second, AbortedError);
      // Not aborted: run as ever, after them.
      await drv.mkdir([], `${dir}/third`, 0o755, { signal: new AbortController().signal });
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["third"]);
      await drv.kill([], p, "SIGKILL");
      await big;
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  });
});

Deno.test("stop() rejects calls still in flight with DriverClosedError", async () => {
  const drv = await Alcove.start();
  const p = await drv.fork([]);
  await drv.sigaction([p], "SIGCHLD", "sig_info");
  const c = await drv.fork([p]);
  await drv.execvp([p, c], "sleep", ["sleep", "5"]);
  const call = drv.waitpid([p], c, 0);
  const stopped = drv.stop();
  await assertRejects(() => call, DriverClosedError);
  await stopped;
  assertEquals(await drv.stdout([p]), null);
});

Deno.test("options: defaults, set, inherited by later children", async () => {
  await withDriver(async (drv) => {
    assertEquals(await drv.getopt([], "exit_status"), 1);
    assertEquals(await drv.getopt([], "termsig"), 1);
    assertEquals(await drv.getopt([], "flowcontrol"), -1);
    assertEquals(await drv.getopt([], "signaloneof"), 15);
    assertEquals(await drv.getopt([], "stdout_closed"), 0);
    assertGreater(await drv.getopt([], "maxchild"), 0);
    await drv.setopt([], "stdout_closed", true);
    await drv.setopt([], "exit_status", false);
    const p = await drv.fork([]);
    assertEquals(await drv.getopt([p], "stdout_closed"), 1);
    await drv.execvp([p], "true", ["true"]);
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "stdout_closed" });
    // exit_status is off: no exit event.
    assertEquals(await drv.event([p], { timeout: 300 }), null);
  });
});

Deno.test("spin: on by default, inherited, and calls and spawns behave the same without it", async () => {
  await withDriver(async (drv) => {
    assertEquals(await drv.getopt([], "spin"), 500);
    for (const spin of [0, 10000, 500]) {
      await drv.setopt([], "spin", spin);
      const p = await drv.fork([]);
      assertEquals(await drv.getopt([p], "spin"), spin);
      const q = await drv.fork([p]);
      assertEquals(await drv.getpid([p, q]), q);
      await drv.execvp([p, q], "/bin/sh", ["sh", "-c", "echo $$"]);
      assertEquals(await readAll(drv, [p, q], "stdout", 5000), `${q}\n`);
      assertEquals(await drv.event([p, q], { timeout: 5000 }), { type: "exit", status: 0 });
      const calls = await Promise.all(Array.from({ length: 100 }, () => drv.getpid([p])));
      assert(calls.every((pid) => pid === p));
      // A spawned program's end, waited for awake or not: its output, then its status.
      for (let i = 0; i < 3; i++) {
        const out = await (await drv.spawn(["/bin/sh", "-c", `echo ${i}; exit ${i}`], {
          stderr: "null",
        })).output();
        assertEquals([new TextDecoder().decode(out.stdout), out.status.code], [`${i}\n`, i]);
      }
      await drv.exit([p], 0);
      assertEquals(await drv.event([p], { timeout: 5000 }), { type: "exit", status: 0 });
    }
  });
});

Deno.test("flowcontrol stops and resumes reading a child's output", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.setcpid([], p, "flowcontrol", 0);
    assertEquals((await drv.cpid([]))[0].flowcontrol, 0);
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "echo held; exec sleep 100"]);
    assertEquals(await drv.stdout([p], { timeout: 300 }), null);
    await drv.setcpid([], p, "flowcontrol", 1);
    assertEquals(
      new TextDecoder().decode((await drv.stdout([p], { timeout: 5000 }))!),
      "held\n",
    );
    assertEquals((await drv.cpid([]))[0].flowcontrol, 0);
  });
});

Deno.test("stdout_flowcontrol and stderr_flowcontrol stop one stream of a child alone", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.setcpid([], p, "stderr_flowcontrol", 0);
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "echo e >&2; sleep 0.2; echo o; exec sleep 100"]);
    const text = (b: Uint8Array | null) => b && new TextDecoder().decode(b);
    assertEquals(text(await drv.stdout([p], { timeout: 5000 })), "o\n");
    assertEquals(await drv.stderr([p], { timeout: 100 }), null);
    await drv.setcpid([], p, "stderr_flowcontrol", -1);
    assertEquals(text(await drv.stderr([p], { timeout: 5000 })), "e\n");
    await assertRejects(
      () => drv.setcpid([], p, "stdout_flowcontrol", 3),
      RangeError,
      "setcpid: stdout_flowcontrol must be -1 or 0",
    );
    await drv.kill([], p, "SIGKILL");
  });
});

Deno.test("setcpid kill_tree signals the child's group and everything below it", async () => {
  await withDriver(async (drv) => {
    const marker = `1000.${Math.floor(Math.random() * 1e9)}`;
    const p = await drv.fork([]);
    await drv.execvp([p], "/bin/sh", [
      "sh",
      "-c",
      `setsid sleep ${marker} & sleep ${marker} & echo started; exec sleep ${marker}`,
    ]);
    assertEquals(
      new TextDecoder().decode((await drv.stdout([p], { timeout: 5000 }))!),
      "started\n",
    );
    // The three sleeps, once each has run sleep (a shell forked on its way there holds the
    // marker in its command line too).
    const sleeping = () =>
      withMarker(marker).filter((pid) => {
        try {
          return Deno.readTextFileSync(`/proc/${pid}/cmdline`) === `sleep\0${marker}\0`;
        } catch {
          return false;
        }
      });
    for (let i = 0; i < 250 && sleeping().length < 3; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(sleeping().length, 3);
    await assertRejects(
      () => drv.setcpid([], p, "kill_tree", 0),
      RangeError,
      "setcpid: kill_tree must be a signal number",
    );
    await drv.setcpid([], p, "kill_tree", drv.constants.lookup("signal", "SIGKILL")!);
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "termsig", signal: "SIGKILL" });
    for (let i = 0; i < 250 && withMarker(marker).length > 0; i++) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assertEquals(withMarker(marker), []);
    await assertRejects(() => drv.setcpid([], p, "kill_tree", 9), SystemCallError, "ESRCH");
  });
});

Deno.test("environment calls", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.setenv([p], "ALCOVE_T", "one", 1);
    await drv.setenv([p], "ALCOVE_T", "two", 0);
    assertEquals(await drv.getenv([p], "ALCOVE_T"), "one");
    assert((await drv.environ([p])).includes("ALCOVE_T=one"));
    await drv.unsetenv([p], "ALCOVE_T");
    assertEquals(await drv.getenv([p], "ALCOVE_T"), null);
    await drv.clearenv([p]);
    assertEquals(await drv.environ([p]), []);
    await assertRejects(() => drv.setenv([p], "A=B", "x", 1), SystemCallError, "EINVAL");
  });
});

Deno.test("replies over 64 KiB arrive whole", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const big = "x".repeat(3 * 1024 * 1024);
    await drv.setenv([p], "BIG", big, 1);
    assertEquals(await drv.getenv([p], "BIG"), big);
    for (let i = 0; i < 2000; i++) await drv.setenv([p], `K${i}`, "v".repeat(100), 1);
    const env = await drv.environ([p]);
    assertGreater(env.length, 2000);
    assert(env.includes(`BIG=${big}`));
  });
});

Deno.test("chdir and getcwd", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.chdir([p], "/tmp");
    assertEquals(await drv.getcwd([p]), "/tmp");
    await assertRejects(() => drv.chdir([p], "/nonexistent"), SystemCallError, "ENOENT");
    const long = "/" + "a".repeat(5000);
    await assertRejects(() => drv.chdir([p], long), SystemCallError, "ENAMETOOLONG");
  });
});

Deno.test("constant look-ups run in the process and unknown names are undefined", async () => {
  await withDriver(async (drv) => {
    // The numbers of the control process's architecture (39 on x86_64).
    assertEquals(
      await drv.syscallConstant([], "SYS_getpid"),
      syscallNumber("getpid", CONTROL_ARCH),
    );
    assertEquals(await drv.syscallConstant([], "AUDIT_ARCH_X86_64"), 0xc000003e);
    assertEquals(await drv.signalConstant([], "sigkill"), 9);
    assertEquals(await drv.rlimitConstant([], "RLIMIT_NOFILE"), 7);
    assertEquals(await drv.cloneConstant([], "CLONE_NEWPID"), 0x20000000);
    assertEquals(await drv.fileConstant([], "O_CLOEXEC"), 0o2000000);
    assertEquals(await drv.fcntlConstant([], "F_GETFD"), 1);
    assertEquals(await drv.ioctlConstant([], "FIONREAD"), 0x541b);
    assertEquals(await drv.mountConstant([], "MS_BIND"), 4096);
    assertEquals(await drv.prctlConstant([], "PR_SET_NAME"), 15);
    assertEquals(await drv.ptraceConstant([], "PTRACE_TRACEME"), 0);
    assertEquals(await drv.seccompConstant([], "SECCOMP_SET_MODE_FILTER"), 1);
    assertEquals(await drv.signalConstant([], "SIGNOSUCH"), undefined);
    assertEquals(await drv.syscallConstant([], "SYS_nosuchcall"), undefined);
    assertEquals(await drv.errnoId([], 1), "EPERM");
    assertEquals(await drv.errnoId([], 11), "EAGAIN");
    assertEquals(await drv.errnoId([], 99999), "unknown");
    assertEquals(drv.constants.lookup("signal", "SIGTERM"), 15);
  });
});

Deno.test("kill sends signals by name and number", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "sleep", ["sleep", "100"]);
    await drv.kill([], p, 15);
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "termsig", signal: "SIGTERM" });
    await assertRejects(() => drv.kill([], 999999, "SIGTERM"), SystemCallError, "ESRCH");
  });
});

Deno.test("stop right after a call: the call is refused and a running Process still ends by the stop", async () => {
  for (let i = 0; i < 10; i++) {
    const drv = await Alcove.start();
    const p = await drv.spawn(["sleep", "30"]);
    // Sent in the same turn as the stop: its frame was written to a closed input, and the
    // failed write took the statuses still to come.
    const calls = [drv.fork([]), drv.getpid([]), drv.spawn(["true"])].map((c) =>
      c.then(() => "answered", (e) => (e as Error).constructor.name)
    );
    const stopped = drv.stop();
    assertEquals(await Promise.all(calls), Array(3).fill("DriverClosedError"));
    const status = await p.status;
    assertEquals([status.signal, status.reason], ["SIGTERM", "signal"]);
    await stopped;
  }
});
