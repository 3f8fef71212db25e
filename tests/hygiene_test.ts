import { assert, assertEquals } from "@std/assert";
import { denoOnly, withDriver } from "./_helpers.ts";

function fds(pid: number): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of Deno.readDirSync(`/proc/${pid}/fd`)) {
    try {
      out.set(e.name, Deno.readLinkSync(`/proc/${pid}/fd/${e.name}`));
    } catch {
      // closed while listing
    }
  }
  return out;
}

function sorted(m: Map<string, string>): string[] {
  return [...m.keys()].map(Number).sort((a, b) => a - b).map(String);
}

Deno.test("an exec'd program starts with only descriptors 0, 1 and 2", async () => {
  await withDriver(async (drv) => {
    const a = await drv.fork([]);
    const b = await drv.fork([a]);
    await drv.execvp([a, b], "sleep", ["sleep", "100"]);
    await drv.execvp([a], "sleep", ["sleep", "100"]).catch(() => {});
    for (const pid of [a, b]) {
      // sleep may still be starting (setlocale opens and closes a file): a leaked
      // descriptor would stay, so wait for the set to settle, up to a second.
      let open = fds(pid);
      for (let i = 0; i < 50 && open.size !== 3; i++) {
        await new Promise((r) => setTimeout(r, 20));
        open = fds(pid);
      }
      assertEquals(sorted(open), ["0", "1", "2"], `descriptors of ${pid}: ${[...open]}`);
      for (const target of open.values()) assert(target.startsWith("pipe:"), target);
    }
  });
});

Deno.test("control processes hold only their own pipes, never the host's descriptors", async () => {
  await withDriver(async (drv) => {
    // Open something in the host that a leak would carry along.
    using _file = await Deno.open("/etc/hostname");
    // Answered: the root's work before its first call (the stale cgroups' sweep) is done.
    await drv.getpid([]);
    const root = fds(drv.pid);
    // stdin and stdout (/dev/null), stderr, the socket to the host, the signal self-pipe.
    assertEquals(sorted(root), ["0", "1", "2", "3", "4", "5"]);
    const p = await drv.fork([]);
    await drv.getpid([p]); // answered: its setup (closing what it inherited) is done
    const child = fds(p);
    // stdin, stdout, stderr, the control channel (two pipes) and the signal self-pipe.
    assertEquals(child.size, 7, `descriptors of ${p}: ${[...child]}`);
    const withChild = fds(drv.pid);
    // Each child costs its parent five: control in/out, stdin, stdout, stderr.
    assertEquals(withChild.size, root.size + 5);
    // The root's stderr is this process's own, whatever that is (a file when the output of
    // the tests goes to one); its children's are pipes.
    const stderr = Deno.readLinkSync("/proc/self/fd/2");
    assertEquals(root.get("2"), stderr);
    root.delete("2");
    withChild.delete("2");
    for (const target of [...root.values(), ...child.values(), ...withChild.values()]) {
      assert(
        target.startsWith("pipe:") || target.startsWith("socket:") || target.startsWith("/dev/"),
        target,
      );
      assert(!target.includes("hostname"), target);
    }
  });
});

Deno.test("descriptors are released when children go", async () => {
  await withDriver(async (drv) => {
    await drv.getpid([]); // answered: the root's work before its first call is done
    const before = fds(drv.pid).size;
    for (let i = 0; i < 10; i++) {
      const p = await drv.fork([]);
      await drv.execvp([p], "true", ["true"]);
      await drv.event([p]);
    }
    assertEquals(fds(drv.pid).size, before);
  });
});

Deno.test(
  denoOnly("no test changes the environment, folder or limits that the test files beside it share"),
  () => {
    // deno test --parallel runs the files in threads of one process: a variable set for a
    // moment by one is seen by a driver, a child or a parser of another (and so would a
    // working folder, umask, resource limit or dumpable flag, set by a local call). A test
    // gives such settings to a process of its own instead (output's env, or a fixture).
    const dir = new URL("./", import.meta.url).pathname;
    const found: string[] = [];
    for (const e of Deno.readDirSync(dir)) {
      if (!e.isFile || !e.name.endsWith(".ts")) continue;
      Deno.readTextFileSync(dir + e.name).split("\n").forEach((line, i) => {
        if (
          /\bDeno\.(env\.(set|delete)\(|chdir\(|umask\(\s*[^)\s])|\bprocess\.chdir\(/.test(line) ||
          // Calls in this process (openLocal's handle, named local in the tests).
          /\blocal\.(setrlimit\(|prctl\(\s*["'`]PR_SET_DUMPABLE)/.test(line)
        ) {
          found.push(`${e.name}:${i + 1}`);
        }
      });
    }
    assertEquals(found, []);
  },
);
