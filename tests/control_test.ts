/**
 * Regression tests for the control processes' own state: what a fork copies, signals, faults,
 * guards on their descriptors, memory, queues and limits. Each reproduces a defect that was
 * found by review and fixed.
 */
import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import {
  type Alcove,
  PipelineError,
  ProcessExitedError,
  SystemCallError,
  TimeoutError,
} from "../mod.ts";
import { needs, rssKiB, withDriver } from "./_helpers.ts";

/** Reads stdout of `pipeline` until `stop` says so, counting bytes. */
async function drain(drv: Alcove, pipeline: number[], stop: () => boolean): Promise<number> {
  let total = 0;
  while (!stop()) {
    const chunk = await drv.stdout(pipeline, { timeout: 200 });
    if (chunk === null) continue;
    total += chunk.length;
  }
  return total;
}

Deno.test("children forked while a sibling streams bulk output start with a clean state", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const line = "y".repeat(4095);
    await drv.execvp([p], "yes", ["yes", line]);
    let done = false;
    const reader = drain(drv, [p], () => done);
    try {
      for (let round = 0; round < 3; round++) {
        const kids = await Promise.all(Array.from({ length: 20 }, () => drv.fork([])));
        const pids = await Promise.all(kids.map((k) => drv.getpid([k])));
        assertEquals(pids, kids);
        await Promise.all(kids.map((k) => drv.exit([k], 0)));
        for (const k of kids) {
          assertEquals(await drv.event([k], { timeout: 5000 }), { type: "exit", status: 0 });
        }
      }
    } finally {
      done = true;
      assert((await reader) > 0);
      await drv.kill([], p, "SIGKILL");
    }
  });
});

const X86_64 = Deno.build.arch === "x86_64";
/** Offset of rip in x86_64's struct user (user_regs_struct: rip is the 17th word). */
const USER_RIP = 16 * 8;

Deno.test(
  needs(
    "a control process that faults dies of the fault and is reported, instead of spinning",
    X86_64 ? undefined : "moves a tracee's instruction pointer through x86_64's struct user",
  ),
  async () => {
    await withDriver(async (drv) => {
      // A real wild jump: a sibling attaches with ptrace and moves the instruction pointer of
      // the victim to an unmapped address, then lets it run.
      const victim = await drv.fork([]);
      const tracer = await drv.fork([]);
      await drv.ptrace([tracer], "PTRACE_ATTACH", victim, 0, 0);
      for (let tries = 0;; tries++) {
        try {
          await drv.ptrace([tracer], "PTRACE_POKEUSER", victim, USER_RIP, 0x10);
          break;
        } catch (e) {
          // ESRCH until the tracee has stopped.
          if (tries > 200) throw e;
          await new Promise((r) => setTimeout(r, 10));
        }
      }
      await drv.ptrace([tracer], "PTRACE_DETACH", victim, 0, 0);
      assertEquals(await drv.event([victim], { timeout: 5000 }), {
        type: "termsig",
        signal: "SIGSEGV",
      });
      // The same signal sent by a process is not a fault: it is caught and reported.
      await drv.kill([], tracer, "SIGSEGV");
      const ev = await drv.event([tracer], { timeout: 5000 });
      assertEquals(ev?.type, "signal");
      assertEquals(await drv.getpid([tracer]), tracer);
    });
  },
);

/** How many descriptors a process holds. */
function fdCount(pid: number): number {
  return [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
}

Deno.test("SIGCHLD ignored, or taken over and given back, does not stop reaping", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.getpid([p]); // answered: it has set up its own descriptors
    const before = fdCount(p);
    // Ignored: the exits are still reaped and reported, only the signal is not.
    assertEquals(await drv.sigaction([p], "SIGCHLD", "sig_ign"), "sig_dfl");
    const c = await drv.fork([p]);
    await drv.exit([p, c], 3, { timeout: 5000 });
    assertEquals(await drv.event([p, c], { timeout: 5000 }), { type: "exit", status: 3 });
    assertEquals(await drv.cpid([p]), []);
    // Taken over (the caller reaps with waitpid) but given back before it did: the child
    // that exited meanwhile is reaped then.
    assertEquals(await drv.sigaction([p], "SIGCHLD", "sig_info"), "sig_ign");
    const d = await drv.fork([p]);
    // The exit call is answered once the child is reaped.
    const exited = drv.exit([p, d], 4, { timeout: 5000 });
    const ev = await drv.event([p], { timeout: 5000 });
    assert(ev?.type === "signal" && ev.signal === "SIGCHLD");
    assertEquals(await drv.sigaction([p], "SIGCHLD", "sig_dfl"), "sig_info");
    await exited;
    assertEquals(await drv.event([p, d], { timeout: 5000 }), { type: "exit", status: 4 });
    assertEquals(await drv.cpid([p]), []);
    assertEquals(fdCount(p), before);
  });
});

Deno.test("a call to a child that ended but is not reaped yet names that child", async () => {
  await withDriver(async (drv) => {
    // Reaping left to waitpid: the child stays, ended, in its parent's table.
    const p = await drv.fork([]);
    await drv.sigaction([p], "SIGCHLD", "sig_info");
    const d = await drv.fork([p]);
    await drv.kill([p], d, "SIGKILL");
    const ev = await drv.event([p], { timeout: 5000 });
    assert(ev?.type === "signal" && ev.signal === "SIGCHLD");
    const e = await assertRejects(() => drv.getpid([p, d]), PipelineError);
    assertEquals(e.pid, d);
    assertStringIncludes(e.message, `${d} is not a child of its predecessor`);
    await drv.waitpid([p], -1, 0);
    // A call in flight when the child ends (it was stopped) waits until waitpid reaps it,
    // then fails with its status (README: "calls in flight to it wait until waitpid").
    const s = await drv.fork([p]);
    await drv.getpid([p, s]);
    await drv.kill([p], s, "SIGSTOP");
    const inflight = drv.getpid([p, s], { timeout: 20000 }).then(() => null, (e) => e);
    await drv.kill([p], s, "SIGKILL");
    const sig = await drv.event([p], { timeout: 5000 });
    assert(sig?.type === "signal" && sig.signal === "SIGCHLD");
    const early = await Promise.race([
      inflight,
      new Promise((r) => setTimeout(() => r("waiting"), 300)),
    ]);
    assertEquals(early, "waiting");
    assertEquals((await drv.waitpid([p], s, 0)).signal, "SIGKILL");
    const late = await inflight;
    assert(late instanceof ProcessExitedError, String(late));
    assertStringIncludes(late.message, "killed by SIGKILL");
  });
});

Deno.test("a pipeline holds 255 pids: a fork below that fails, whatever maxforkdepth says", async () => {
  await withDriver(async (drv) => {
    // A process at depth 256 could not be named, and its first message up made an ancestor
    // kill the whole chain.
    await drv.setopt([], "maxforkdepth", 300);
    const chain: number[] = [];
    for (let i = 0; i < 255; i++) chain.push(await drv.fork(chain));
    const e = await assertRejects(() => drv.fork(chain), SystemCallError);
    assertEquals([e.code, e.limit], ["EAGAIN", "pipeline"]);
    assertStringIncludes(e.message, "a pipeline holds at most 255 pids");
    // The deepest is whole and reports as any other.
    assertEquals(await drv.getpid(chain), chain.at(-1));
    await drv.kill(chain.slice(0, -1), chain.at(-1)!, "SIGUSR1");
    assertEquals((await drv.event(chain, { timeout: 5000 }))?.type, "signal");
    await drv.exit([chain[0]], 0);
  });
});

Deno.test("maxchild and maxforkdepth take alcove's range, and EAGAIN names the limit", async () => {
  await withDriver(async (drv) => {
    for (const option of ["maxchild", "maxforkdepth"] as const) {
      await drv.setopt([], option, 65535);
      assertEquals(await drv.getopt([], option), 65535);
      const e = await assertRejects(() => drv.setopt([], option, 65536), RangeError);
      assertEquals(e.message, `setopt: ${option} must be in [0, 65535], got 65536`);
      // Past 32 bits too: the option's own range, not the wire's.
      const far = await assertRejects(() => drv.setopt([], option, 2 ** 31), RangeError);
      assertEquals(far.message, `setopt: ${option} must be in [0, 65535], got 2147483648`);
    }
    // setcpid's values: the option, its range and the value.
    const c = await drv.fork([]);
    for (
      const [option, value, message] of [
        ["flowcontrol", 2 ** 31, "flowcontrol must be in [-1, 2147483647], got 2147483648"],
        ["signaloneof", 65, "signaloneof must be a signal or 0, in [0, 64], got 65"],
        ["kill_tree", 65, "kill_tree must be a signal number, in [1, 64], got 65"],
        ["stdout_flowcontrol", 2, "stdout_flowcontrol must be -1 or 0, got 2"],
      ] as const
    ) {
      const e = await assertRejects(() => drv.setcpid([], c, option, value), RangeError);
      assertEquals(e.message, `setcpid: ${message}`);
    }
    await drv.exit([c], 0);
    // Deeper than the old bound of 64, as alcove's own tests go.
    await drv.setopt([], "maxforkdepth", 70);
    const chain: number[] = [];
    for (let i = 0; i < 70; i++) chain.push(await drv.fork(chain));
    assertEquals(await drv.getpid(chain), chain.at(-1));
    const deep = await assertRejects(() => drv.fork(chain), SystemCallError);
    assertEquals([deep.code, deep.limit], ["EAGAIN", "maxforkdepth"]);
    assert(deep.message.includes('setopt(pipeline, "maxforkdepth", n)'), deep.message);

    const p = await drv.fork([]);
    await drv.setopt([p], "maxchild", 1);
    await drv.fork([p]);
    const full = await assertRejects(() => drv.fork([p]), SystemCallError);
    assertEquals([full.code, full.limit], ["EAGAIN", "maxchild"]);
    assert(full.message.includes("maxchild reached"), full.message);
  });
});

/** The descriptor of a control process's channel to its parent: its only write end of a pipe
 * (above stdio) whose other end it does not hold. */
function upwardFd(pid: number): number {
  const pipes = new Map<number, string>();
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    const fd = Number(e.name);
    if (fd > 2) pipes.set(fd, Deno.readLinkSync(`/proc/${pid}/fd/${fd}`));
  }
  const writeEnd = (fd: number) =>
    (parseInt(/flags:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/fdinfo/${fd}`))![1], 8) &
      3) === 1;
  const found = [...pipes].filter(([fd, target]) =>
    writeEnd(fd) && [...pipes].filter(([, t]) => t === target).length === 1
  );
  assertEquals(found.length, 1, `descriptors of ${pid}: ${[...pipes]}`);
  return found[0][0];
}

Deno.test("a control process cannot answer calls sent to another process", async () => {
  await withDriver(async (drv) => {
    const liar = await drv.fork([]);
    const busy = await drv.fork([]);
    await drv.getpid([liar]);
    // The busy process blocks in a read of an empty FIFO.
    const dir = await Deno.makeTempDir({ prefix: "alcove_fifo_" });
    const fifo = `${dir}/fifo`;
    try {
      await drv.mkfifo([busy], fifo, 0o600);
      const rfd = await drv.open([busy], fifo, "O_RDWR", 0);
      const victim = drv.read([busy], rfd, 1);
      let settled = false;
      victim.then(() => (settled = true), () => (settled = true));
      // The liar writes replies with every id the driver may have used so far into its channel
      // to its parent, through a second descriptor of its own (which the guard does not know).
      const up = await drv.open([liar], `/proc/self/fd/${upwardFd(liar)}`, "O_WRONLY", 0);
      const frames = new Uint8Array(500 * 21);
      const view = new DataView(frames.buffer);
      for (let i = 0; i < 500; i++) {
        const at = i * 21;
        view.setUint32(at, 17, true); // the length after this field
        frames[at + 4] = 1; // REPLY, depth 0, status OK
        view.setUint32(at + 8, i + 1, true); // the id
        frames[at + 12] = 1; // INT
        view.setUint32(at + 13, 4242, true);
      }
      await drv.write([liar], up, frames).catch(() => {});
      await drv.getpid([liar]).catch(() => {});
      await new Promise((r) => setTimeout(r, 200));
      assertEquals(settled, false);
      await drv.kill([], busy, "SIGKILL");
      await assertRejects(() => victim);
      assertEquals(await drv.getpid([]), await drv.getpid([]));
    } finally {
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  });
});

/** CPU time (user + system, in clock ticks) a process has used. */
function cpuTicks(pid: number): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** What a process has mapped, in KiB. */
function vmSizeKiB(pid: number): number {
  return Number(/VmSize:\s+(\d+)/.exec(Deno.readTextFileSync(`/proc/${pid}/status`))![1]);
}

Deno.test("a call too large for a control process's memory fails with ENOMEM, no spin", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const fd = await drv.open([p], "/dev/null", "O_WRONLY", 0);
    // 8 MiB above what it has mapped (a sanitizer build maps far more than a plain one).
    const limit = vmSizeKiB(p) * 1024 + (8 << 20);
    await drv.setrlimit([p], "RLIMIT_AS", { cur: limit, max: limit });
    const e = await assertRejects(
      () => drv.write([p], fd, new Uint8Array(32 << 20), { timeout: 10000 }),
      SystemCallError,
    );
    assertEquals(e.code, "ENOMEM");
    // It answers, and it does not burn a CPU meanwhile.
    assertEquals(await getpidRetried(drv, [p]), p);
    const before = cpuTicks(p);
    await new Promise((r) => setTimeout(r, 500));
    assert(cpuTicks(p) - before < 10, `${cpuTicks(p) - before} ticks in 500 ms`);
    assertEquals(await drv.write([p], fd, new Uint8Array(1 << 20)), 1 << 20);
  });
});

Deno.test("a child's frame cut short in a parent short of memory goes up padded, no spin", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const c = await drv.fork([p]);
    await drv.getpid([p, c]); // its descriptors are set up once it answers
    const up = await drv.open([p, c], `/proc/self/fd/${upwardFd(c)}`, "O_WRONLY", 0);
    // The parent has room for little more than it holds: not for the announced frame.
    const limit = (vmSizeKiB(p) + 256) * 1024;
    await drv.setrlimit([p], "RLIMIT_AS", { cur: limit, max: limit });
    // The child announces 1 MiB of stdout, sends 4 KiB of it and dies: the parent has begun
    // passing the frame up and must complete it without the child.
    const frame = new Uint8Array(12 + 4096);
    const view = new DataView(frame.buffer);
    view.setUint32(0, (1 << 20) + 8, true); // the length after this field
    frame[4] = 2; // STDOUT, depth 0
    for (let i = 12; i < frame.length; i++) frame[i] = 1 + i % 255;
    await drv.write([p, c], up, frame, { timeout: 300 }).catch(() => {});
    await drv.kill([p], c, "SIGKILL", { timeout: 10000 });
    assertEquals(await drv.event([p, c], { timeout: 10000 }), {
      type: "termsig",
      signal: "SIGKILL",
    });
    assertEquals(await drv.getpid([p], { timeout: 10000 }), p);
    const before = cpuTicks(p);
    await new Promise((r) => setTimeout(r, 500));
    assert(cpuTicks(p) - before < 10, `${cpuTicks(p) - before} ticks in 500 ms`);
    // What came, then zeros up to the announced length (the child's own reply to the write
    // call went into the frame too).
    const out: Uint8Array[] = [];
    let total = 0;
    while (total < 1 << 20) {
      const chunk = await drv.stdout([p, c], { timeout: 5000 });
      assert(chunk !== null, `${total} bytes of stdout`);
      out.push(chunk);
      total += chunk.length;
    }
    assertEquals(total, 1 << 20);
    const got = new Uint8Array(total);
    out.reduce((at, b) => (got.set(b, at), at + b.length), 0);
    assertEquals(got.subarray(0, 4096), frame.subarray(12));
    assert(got.subarray(total - 65536).every((b) => b === 0));
  });
});

Deno.test("a child announcing a frame larger than any it sends is killed before any of it goes up", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    // Output frames carry at most 1 MiB, events at most a signal and its siginfo (143 bytes),
    // and HELLO comes from the root alone: anything more can only be a corrupt stream, which the
    // parent would buffer, or pad with zeros up to its announced length once the child died.
    const cases: [string, number, number, number][] = [
      ["stdout, one byte over", 2, (1 << 20) + 1, 4096],
      ["stderr, 1 GiB", 3, 1 << 30, 4096],
      ["an event of 64 KiB", 4, 1 << 16, 4096],
      ["an event one byte over", 4, 144, 144],
      ["a greeting", 5, 16, 16],
    ];
    for (const [what, type, announced, sent] of cases) {
      const c = await drv.fork([p]);
      await drv.getpid([p, c]); // its descriptors are set up once it answers
      const up = await drv.open([p, c], `/proc/self/fd/${upwardFd(c)}`, "O_WRONLY", 0);
      const frame = new Uint8Array(12 + sent);
      new DataView(frame.buffer).setUint32(0, announced + 8, true); // the length after this field
      frame[4] = type; // depth 0
      frame.fill(7, 12);
      await drv.write([p, c], up, frame, { timeout: 300 }).catch(() => {});
      // The parent kills it by itself, and nothing of the frame reached the host.
      assertEquals(await drv.event([p, c], { timeout: 5000 }), {
        type: "termsig",
        signal: "SIGKILL",
      }, what);
      assertEquals(await drv.stdout([p, c], { timeout: 100 }), null, what);
      assertEquals(await drv.stderr([p, c], { timeout: 100 }), null, what);
    }
    assertEquals(await drv.getpid([p]), p);
  });
});

Deno.test("a stopped child does not make its parent buffer without bound", async () => {
  await withDriver(async (drv) => {
    const root = await drv.getpid([]);
    const p = await drv.fork([]);
    const fd = await drv.open([p], "/dev/null", "O_WRONLY", 0);
    // What the root holds before (a sanitizer build holds far more, whatever it does).
    const baseline = rssKiB(root);
    await drv.kill([], p, "SIGSTOP");
    const data = new Uint8Array(1 << 20);
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, rssKiB(root))), 20);
    const waiting: Promise<unknown>[] = [];
    try {
      // Calls that do not fit in the root's queue for the child fail at once; the others time
      // out (most before the driver even sent them: those are never sent).
      const results = await Promise.all(Array.from(
        { length: 256 },
        () => drv.write([p], fd, data, { timeout: 200 }).then(() => "done", (e: Error) => e.name),
      ));
      assertEquals(results.filter((r) => r === "done"), []);
      // Without a timeout: queued while there is room, then refused.
      let refused: SystemCallError | undefined;
      for (let i = 0; i < 8 && refused === undefined; i++) {
        const call = drv.write([p], fd, data);
        const r = await Promise.race([call.catch((e) => e), delay(300)]);
        if (r instanceof SystemCallError) refused = r;
        else waiting.push(call);
      }
      assertEquals(refused?.code, "ENOBUFS");
      // Everything else still flows.
      assertEquals(await drv.getpid([]), root);
      peak = Math.max(peak, rssKiB(root));
      await drv.kill([], p, "SIGCONT");
      await Promise.all(waiting);
      assertEquals(await getpidRetried(drv, [p]), p);
    } finally {
      clearInterval(sample);
    }
    // The queue's hard limit (16 MiB) and a few frames, not the 256 MiB sent, however fast
    // the host sends (a bound on time alone let a fast host queue 93 to 153 MiB within it).
    // About 18 MiB here; up to 38 in a sanitizer build, whose realloc holds the old buffer
    // and the new one at once.
    assert(peak - baseline < 48 * 1024, `root control process grew by ${peak - baseline} KiB`);
    assert(rssKiB(root) < 16 * 1024, `root control process holds ${rssKiB(root)} KiB`);
    assert(rssKiB(p) < 16 * 1024, `child holds ${rssKiB(p)} KiB`);
  });
});

/** Resolves after `ms` milliseconds. */
function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** getpid, retried while the process's parent refuses calls to it with ENOBUFS (its queue
 * toward it is full and it has not taken any of it for a while, as after SIGCONT on a busy
 * machine), as a caller would. */
async function getpidRetried(drv: Alcove, pipeline: number[]): Promise<number> {
  for (let i = 0;; i++) {
    const r = await drv.getpid(pipeline, { timeout: 10000 }).catch((e) => e);
    if (!(r instanceof SystemCallError && r.code === "ENOBUFS" && i < 100)) {
      if (r instanceof Error) throw r;
      return r;
    }
    await delay(100);
  }
}

Deno.test("a call whose deadline has come never runs, even in the deadline's millisecond", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const dir = await Deno.makeTempDir({ prefix: "alcove_late_" });
    try {
      // With a timeout of 0 the deadline is the millisecond the call is sent in, and the
      // call reaches its target well within it: it must be dropped there, not run.
      for (let i = 0; i < 20; i++) {
        await assertRejects(() => drv.mkdir([p], `${dir}/now${i}`, 0o700, { timeout: 0 }));
      }
      assertEquals(await drv.getpid([p]), p);
      assertEquals([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("a call that timed out while waiting in a queue does not run later", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    const dir = await Deno.makeTempDir({ prefix: "alcove_late_" });
    try {
      await drv.kill([], p, "SIGSTOP");
      const late = `${dir}/late`;
      await assertRejects(() => drv.mkdir([p], late, 0o700, { timeout: 200 }), TimeoutError);
      await drv.kill([], p, "SIGCONT");
      // Answered after the mkdir would have run.
      assertEquals(await drv.getpid([p], { timeout: 5000 }), p);
      assertEquals([...Deno.readDirSync(dir)], []);
      // A call within its deadline runs as before.
      await drv.mkdir([p], `${dir}/on_time`, 0o700, { timeout: 5000 });
      assertEquals([...Deno.readDirSync(dir)].map((e) => e.name), ["on_time"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});
