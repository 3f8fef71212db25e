import { assert, assertEquals } from "@std/assert";
import { Alcove } from "../mod.ts";
import { fixtureCommand, le, output, readAll, running, unlessOn } from "./_helpers.ts";
import { spawn } from "node:child_process";

/** True while a process exists (a zombie counts: it has not been reaped). */
function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

async function waitGone(
  pids: number[],
  ms: number,
  gone: (pid: number) => boolean = (p) => !alive(p),
): Promise<number[]> {
  const deadline = Date.now() + ms;
  for (;;) {
    const left = pids.filter((p) => !gone(p));
    if (left.length === 0 || Date.now() > deadline) return left;
    await new Promise((r) => setTimeout(r, 20));
  }
}

const IGNORE_TERM = ["sh", "-c", "trap '' TERM; exec sleep 1000"];

Deno.test("stop() ends every descendant, also programs that ignore SIGTERM", async () => {
  const drv = await Alcove.start();
  const pids = [drv.pid];
  const a = await drv.fork([]);
  const b = await drv.fork([a]);
  const c = await drv.fork([a, b]);
  await drv.execvp([a, b, c], "/bin/sh", IGNORE_TERM);
  const d = await drv.fork([]);
  await drv.execvp([d], "/bin/sh", IGNORE_TERM);
  const e = await drv.fork([]);
  await drv.execvp([e], "sleep", ["sleep", "1000"]);
  pids.push(a, b, c, d, e);
  assert(pids.every(alive));
  await drv.stop();
  assertEquals(await waitGone(pids, 2000), []);
});

Deno.test("stop() with hundreds of spawns still queued runs none of them after it", async () => {
  // The host fails every waiting call at stop(): what was still queued in the control
  // process is for nobody, and a program it started then would only be killed again.
  const dir = Deno.makeTempDirSync({ prefix: "alcove-stop-" });
  try {
    const drv = await Alcove.start();
    // More than the channel holds: the host's last write waits for the control process to
    // read, and the stop comes after that write.
    const count = 2000;
    const calls = [];
    for (let i = 0; i < count; i++) {
      calls.push(
        drv.spawn(["/bin/sh", "-c", `: > ${dir}/${i}`], { stdout: "null", stderr: "null" })
          .then((p) => p.status, () => null),
      );
    }
    // Written to the control process (its queue holds them), not only queued in the host.
    await new Promise((r) => setTimeout(r, 20));
    await drv.stop();
    await Promise.all(calls);
    const ran = [...Deno.readDirSync(dir)].length;
    assert(ran < count / 4, `${ran} of ${count} spawns ran although stop() came before`);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

/** Starts the host_killed fixture (in a process group of its own when `group`), and gives
 * it with the pids it printed: its root control process first. */
async function hostWithTree(group: boolean) {
  const child = spawn(...fixtureCommand("host_killed"), {
    stdio: ["ignore", "pipe", "inherit"],
    detached: group,
  });
  const exited = new Promise((resolve) => child.once("close", resolve));
  let text = "";
  for await (const chunk of child.stdout!) {
    text += new TextDecoder().decode(chunk);
    if (text.includes("\n")) break;
  }
  const pids: number[] = JSON.parse(text);
  assertEquals(pids.length, 7);
  assert(pids.every(alive));
  return { child, exited, pids };
}

/** Kills what a failed test left (the spawned program's background child, reparented). */
function killLeft(pids: number[]): void {
  for (const p of pids.filter(alive)) {
    try {
      Deno.kill(p, "SIGKILL");
    } catch {
      // gone, or a zombie
    }
  }
}

Deno.test("a host killed with SIGKILL leaves no process behind within a second", async () => {
  const { child, exited, pids } = await hostWithTree(false);
  try {
    child.kill("SIGKILL");
    await exited;
    // The root control process was the host's child: with the host gone, init reaps
    // it. Everything below it is reaped by its own parent: not even a zombie remains.
    const [root, ...below] = pids;
    assertEquals(await waitGone([root], 1000, (p) => !running(p)), []);
    assertEquals(await waitGone(below, 1000), []);
  } finally {
    killLeft(pids);
  }
});

Deno.test("a SIGKILL to the host's whole process group leaves no process behind", async () => {
  // As `timeout -s KILL` and `kill -KILL -PGID` do. The root control process has a process
  // group of its own: the signal ends the host, and the root, at the channel's end, ends
  // the tree (a root killed with it would leave a program's children to init).
  const { child, exited, pids } = await hostWithTree(true);
  try {
    Deno.kill(-child.pid!, "SIGKILL");
    await exited;
    const [root, ...below] = pids;
    assertEquals(await waitGone([root], 2000, (p) => !running(p)), []);
    assertEquals(await waitGone(below, 2000), []);
  } finally {
    killLeft(pids);
  }
});

Deno.test("an idle, unref'd driver lets the program exit, over either channel", async () => {
  for (const transport of ["socket", "pipes"]) {
    // A program that would not end is ended at 30 s, and fails here.
    const [cmd, args] = fixtureCommand("unref");
    const out = await output("timeout", ["30", cmd, ...args], {
      stderr: "inherit",
      env: transport === "pipes" ? { ALCOVE_TRANSPORT: "pipes" } : {},
    });
    assertEquals(new TextDecoder().decode(out.stdout).trim(), "answered", transport);
    assertEquals(out.code, 0, transport);
  }
});

Deno.test("no zombies: every exited child is reaped at once", async () => {
  const drv = await Alcove.start();
  try {
    const pids: number[] = [];
    for (let i = 0; i < 20; i++) {
      const p = await drv.fork([]);
      await drv.execvp([p], "true", ["true"]);
      pids.push(p);
    }
    for (const p of pids) assertEquals(await drv.event([p]), { type: "exit", status: 0 });
    assertEquals(pids.filter(alive), []);
  } finally {
    await drv.stop();
  }
});

/** Where no control process is a subreaper, a program's descendants are ended through its
 * process group: one that left the group (a daemon in its own session) escapes. */
const NO_SUBREAPER = {
  portable: "the portable build has no subreapers: process groups end a program's descendants",
  emulated: "qemu-user does not emulate PR_SET_CHILD_SUBREAPER",
};

Deno.test(
  unlessOn("stop() also ends what a program left behind in another session", NO_SUBREAPER),
  async () => {
    const drv = await Alcove.start();
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    // The daemon leaves the process group and the session of its parent, which exits.
    await drv.execvp([a, b], "/bin/sh", [
      "sh",
      "-c",
      "setsid sleep 1000 </dev/null >/dev/null 2>&1 & echo $!",
    ]);
    const daemon = Number(await readAll(drv, [a, b], "stdout", 5000));
    assertEquals(await drv.event([a, b], { timeout: 5000 }), { type: "exit", status: 0 });
    assert(daemon > 0, "no pid");
    assert(alive(daemon));
    // Adopted by its nearest control process: not a child of init.
    const ppid = Number(Deno.readTextFileSync(`/proc/${daemon}/stat`).split(") ")[1].split(" ")[1]);
    assertEquals(ppid, a);
    await drv.stop();
    assertEquals(await waitGone([daemon], 2000), []);
  },
);

Deno.test(
  unlessOn(
    "a control process adopts orphans once it has children; an exec'd program does not",
    NO_SUBREAPER,
  ),
  async () => {
    const drv = await Alcove.start();
    try {
      const subreaper = async (p: number[]) => {
        const r = await drv.prctl(p, "PR_GET_CHILD_SUBREAPER", new Uint8Array(4), 0, 0, 0);
        return le(r.arg2 as Uint8Array).getInt32(0, true);
      };
      assertEquals(await subreaper([]), 1);
      const a = await drv.fork([]);
      // No children, so no descendants to adopt.
      assertEquals(await subreaper([a]), 0);
      const b = await drv.fork([a]);
      assertEquals(await subreaper([a]), 1);
      assertEquals(await subreaper([a, b]), 0);
      // The role is given up at exec: the program asks the kernel itself.
      await drv.execvp([a], "python3", [
        "python3",
        "-c",
        "import ctypes; v = ctypes.c_int(-1); " +
        "ctypes.CDLL(None).prctl(37, ctypes.byref(v), 0, 0, 0); print(v.value)",
      ]);
      assertEquals(await readAll(drv, [a], "stdout", 30000), "0\n");
      assertEquals(await drv.event([a], { timeout: 30000 }), { type: "exit", status: 0 });
    } finally {
      await drv.stop();
    }
  },
);
