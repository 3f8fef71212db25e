import { assert, assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { type Alcove, PipelineError, SystemCallError } from "../mod.ts";
import { concat } from "../ffi/_wire.ts";
import { readAll, rssKiB, withDriver } from "./_helpers.ts";

async function sha256(data: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest("SHA-256", new Uint8Array(data));
  return Array.from(new Uint8Array(d), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Everything a process writes to its stdout until it ends, joined. */
async function readBytes(drv: Alcove, pipeline: number[]): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  for (;;) {
    const chunk = await drv.stdout(pipeline);
    if (chunk === null) return concat(chunks);
    chunks.push(chunk);
  }
}

function randomBytes(n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let off = 0; off < n; off += 65536) crypto.getRandomValues(out.subarray(off, off + 65536));
  return out;
}

Deno.test("8 MiB of stdin through cat arrives intact, nothing dropped", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "cat", ["cat"]);
    const data = randomBytes(8 * 1024 * 1024);
    const reader = readBytes(drv, [p]);
    await drv.stdin([p], data);
    await drv.eof([p]);
    const got = await reader;
    assertEquals(got.length, data.length);
    assertEquals(await sha256(got), await sha256(data));
    assertEquals(await drv.event([p]), { type: "exit", status: 0 });
  });
});

Deno.test("stdin waits while the pipe is full (backpressure) and completes later", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    // Nothing reads stdin for the first 0.5 s: the pipe fills up.
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "sleep 0.5; exec wc -c"]);
    const started = performance.now();
    let done = false;
    const write = drv.stdin([p], new Uint8Array(4 * 1024 * 1024)).then(() => (done = true));
    await new Promise((r) => setTimeout(r, 200));
    assertEquals(done, false);
    await write;
    assert(performance.now() - started >= 400);
    await drv.eof([p]);
    assertEquals((await readAll(drv, [p])).trim(), String(4 * 1024 * 1024));
  });
});

Deno.test("concurrent stdin writes do not interleave", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "cat", ["cat"]);
    const a = "a".repeat(600000);
    const b = "b".repeat(600000);
    const out = readAll(drv, [p]);
    await Promise.all([drv.stdin([p], a), drv.stdin([p], b)]);
    await drv.eof([p]);
    assertEquals(await out, a + b);
  });
});

Deno.test("stdin to a program that does not read waits in the host, not in the control process", async () => {
  await withDriver(async (drv) => {
    const root = await drv.getpid([]);
    const p = await drv.fork([]);
    await drv.execvp([p], "sleep", ["sleep", "30"]);
    const data = new Uint8Array(1 << 20);
    let peak = 0;
    const sample = setInterval(() => (peak = Math.max(peak, rssKiB(root))), 20);
    let settled = 0;
    const writes = Array.from({ length: 256 }, () =>
      drv.stdin([p], data).then(
        () => "done",
        (e: Error) => e instanceof SystemCallError ? e.code : e.name,
      ).finally(() => settled++));
    try {
      await new Promise((r) => setTimeout(r, 1000));
      peak = Math.max(peak, rssKiB(root));
      // 256 MiB asked for: the pipe and the host's window of 1 MiB went down, the rest waits
      // as the caller's own buffers.
      assertEquals(settled, 0);
      assert(peak < 16 * 1024, `root control process peaked at ${peak} KiB`);
      assertEquals(await drv.getpid([]), root);
      await drv.kill([], p, "SIGKILL");
      // The write in the pipe fails with EPIPE, those behind it find no process.
      const ends = new Set(await Promise.all(writes));
      assert([...ends].every((e) => e === "EPIPE" || e === "PipelineError"), [...ends].join());
    } finally {
      clearInterval(sample);
    }
  });
});

Deno.test("stdin to a process that closed its stdin fails with EPIPE; to one that exited, says so", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "exec 0<&-; sleep 100"]);
    await new Promise((r) => setTimeout(r, 200));
    const e = await assertRejects(
      () => drv.stdin([p], new Uint8Array(1024 * 1024)),
      SystemCallError,
    );
    assertEquals(e.code, "EPIPE");
    assertStringIncludes(e.message, "EPIPE (Broken pipe)");
    // Once its end has been seen, stdin to it says it has exited.
    await drv.kill([], p, "SIGKILL");
    assertEquals(await drv.event([p]), { type: "termsig", signal: "SIGKILL" });
    const gone = await assertRejects(() => drv.stdin([p], "late"), PipelineError);
    assertEquals(gone.message, `Cannot run stdin in [${p}]: ${p} has exited`);
    assertEquals(gone.reason, "not_child");
  });
});

Deno.test("stdin_closed event when a program closes its stdin", async () => {
  await withDriver(async (drv) => {
    await drv.setopt([], "stdin_closed", 1);
    const p = await drv.fork([]);
    await drv.execvp([p], "/bin/sh", ["sh", "-c", "exec 0<&-; sleep 100"]);
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "stdin_closed" });
    await drv.kill([], p, "SIGKILL");
    assertEquals(await drv.event([p], { timeout: 5000 }), { type: "termsig", signal: "SIGKILL" });
  });
});

Deno.test("stdout and stderr are kept apart and tagged with the pipeline", async () => {
  await withDriver(async (drv) => {
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    await drv.execvp([a, b], "/bin/sh", ["sh", "-c", "echo out; echo err >&2"]);
    assertEquals(await readAll(drv, [a, b]), "out\n");
    assertEquals(await readAll(drv, [a, b], "stderr"), "err\n");
    assertEquals(await drv.stdout([a], { timeout: 100 }), null);
  });
});

Deno.test("a Process's stdin fails with EPIPE whether the program closed it or ended", async () => {
  // After the exit the write failed with a PipelineError (the pid has exited), before it
  // with EPIPE: which one came depended on timing.
  await withDriver(async (drv) => {
    for (const script of ["exit 0", "exec 0<&- 1>&-; sleep 5"]) {
      const p = await drv.spawn(["sh", "-c", script], { stderr: "null" });
      if (script === "exit 0") await p.status;
      else await new Response(p.stdout).arrayBuffer(); // closed (stdin and stdout) by now
      const w = p.stdin.getWriter();
      const e = await assertRejects(() => w.write(new Uint8Array(8)), SystemCallError);
      assertEquals([e.code, e.message], ["EPIPE", `stdin in [${p.pid}]: EPIPE (Broken pipe)`]);
      await p.kill();
    }
  });
});

Deno.test("a spawned program's stdout ends where it closes it, before its exit", async () => {
  // Read to its end, then stdin closed: the end came only with the exit, which waited for
  // stdin: a deadlock.
  await withDriver(async (drv) => {
    const p = await drv.spawn([
      "sh",
      "-c",
      "echo answer; exec 1>&-; echo late >&2; cat >/dev/null",
    ]);
    const out = new Uint8Array(await new Response(p.stdout).arrayBuffer());
    assertEquals(new TextDecoder().decode(out), "answer\n");
    await p.stdin.getWriter().close();
    // stderr, which cat holds, ends with the exit.
    const err = new Uint8Array(await new Response(p.stderr).arrayBuffer());
    assertEquals(new TextDecoder().decode(err), "late\n");
    assertEquals((await p.status).code, 0);
    // Also once exactly maxOutput bytes came, none past it.
    const full = await drv.spawn(["sh", "-c", "printf hello; exec 1>&-; cat >/dev/null"], {
      maxOutput: 5,
    });
    assertEquals(await new Response(full.stdout).text(), "hello");
    await full.stdin.getWriter().close();
    assertEquals((await full.status).reason, "exit");
    // The low-level call: null once the stdout_closed event came, the exit still to come
    // (and well before the call's own time limit, which would give null too).
    const q = await drv.spawn(["sh", "-c", "exec 1>&-; read x"]);
    const asked = Date.now();
    assertEquals(await drv.stdout([q.pid], { timeout: 20000 }), null);
    assert(Date.now() - asked < 10000, "stdout waited for its time limit");
    await q.kill();
  });
});

Deno.test("after the end, stdout and event return null at once", async () => {
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "true", ["true"]);
    assertEquals(await drv.event([p]), { type: "exit", status: 0 });
    assertEquals(await drv.stdout([p]), null);
    assertEquals(await drv.event([p]), null);
  });
});

Deno.test("16 MiB of random output through 3 levels arrives intact and in order", async () => {
  const data = randomBytes(16 * 1024 * 1024);
  const file = await Deno.makeTempFile();
  try {
    await Deno.writeFile(file, data);
    await withDriver(async (drv) => {
      const a = await drv.fork([]);
      const b = await drv.fork([a]);
      const c = await drv.fork([a, b]);
      // Small writes mixed with large ones: both the copying and the splicing paths.
      await drv.execvp([a, b, c], "/bin/sh", [
        "sh",
        "-c",
        `head -c 1000 ${file}; tail -c +1001 ${file} | cat`,
      ]);
      const got = await readBytes(drv, [a, b, c]);
      assertEquals(got.length, data.length);
      assertEquals(await sha256(got), await sha256(data));
      assertEquals(await drv.event([a, b, c]), { type: "exit", status: 0 });
    });
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("a program flooding its stdout is paused, not buffered without bound", async () => {
  const max = 1024 * 1024;
  await withDriver(async (drv) => {
    const p = await drv.fork([]);
    await drv.execvp([p], "yes", ["yes"]);
    await new Promise((r) => setTimeout(r, 1000));
    // What waits in the host: at most the limit plus what was already on its way
    // (a pipe or two and the relay's buffer).
    let waiting = 0;
    for (;;) {
      const chunk = await drv.stdout([p], { timeout: 0 });
      if (chunk === null) break;
      waiting += chunk.length;
      if (waiting > 64 * max) break;
    }
    assert(waiting > max, `only ${waiting} bytes arrived`);
    assert(waiting < 8 * max, `${waiting} bytes waited in the host`);
    // Reading it all resumed the flow.
    let more = 0;
    while (more < 4 * max) {
      const chunk = await drv.stdout([p], { timeout: 5000 });
      assert(chunk !== null, `the flow stopped after ${more} more bytes`);
      more += chunk.length;
    }
    await drv.kill([], p, "SIGKILL");
  }, { maxBuffered: max });
});

Deno.test("closing the stdin of a program that has ended resolves; a write rejects", async () => {
  await withDriver(async (drv) => {
    // A program that reads less than it is given: the usual write-then-close races its exit.
    const p = await drv.spawn(["head", "-c", "1"]);
    const writer = p.stdin.getWriter();
    await writer.write(new TextEncoder().encode("ab"));
    assertEquals((await p.status).code, 0);
    await writer.close();
    const q = await drv.spawn(["true"]);
    await q.status;
    const late = q.stdin.getWriter();
    const e = await assertRejects(() => late.write(new Uint8Array(1)), SystemCallError);
    assertEquals(e.code, "EPIPE");
  });
});

Deno.test("a flood of stderr nobody reads does not hold stdout back", async () => {
  const max = 1024 * 1024;
  await withDriver(async (drv) => {
    // A background process floods stderr; meanwhile the program talks on stdin and stdout,
    // where alone its caller listens: it says it is ready, waits for an answer, then ends
    // the flood.
    const p = await drv.spawn([
      "sh",
      "-c",
      "head -c 1000000000 /dev/zero >&2 & sleep 0.3; echo ready; read x; echo got $x; kill $!",
    ]);
    const reader = p.stdout.getReader();
    let heard = "";
    const hear = async (what: string) => {
      while (!heard.includes(what)) {
        const { done, value } = await reader.read();
        if (done) break;
        heard += new TextDecoder().decode(value);
      }
      return heard;
    };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise((r) => timer = setTimeout(r, 10000, "late"));
    const first = await Promise.race([hear("ready"), late]);
    clearTimeout(timer);
    assertEquals(first, "ready\n", `stdout stalled after ${JSON.stringify(heard)}`);
    const writer = p.stdin.getWriter();
    await writer.write(new TextEncoder().encode("go\n"));
    await writer.close();
    assertEquals(await hear("got go\n"), "ready\ngot go\n");
    assertEquals((await p.status).code, 0);
    // The flood waited in the host up to the limit, not beyond.
    let waiting = 0;
    for await (const chunk of p.stderr) waiting += chunk.length;
    assert(waiting > max, `only ${waiting} bytes of stderr arrived`);
    assert(waiting < 8 * max, `${waiting} bytes of stderr waited in the host`);
  }, { maxBuffered: max });
});
