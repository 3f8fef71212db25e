/**
 * What differs between the targets the control process is built for (scripts/platforms.ts),
 * checked against the one under test: `deno task test --platform NAME` runs this file with the
 * others.
 */
import { assertEquals, assertRejects } from "@std/assert";
import { Alcove, SystemCallError } from "../mod.ts";
import { CONTROL_EXECUTABLE, EMULATOR, PLATFORM, readAll, withDriver } from "./_helpers.ts";

Deno.test("execvp of a script without #! runs it with /bin/sh, except with musl (ENOEXEC)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "alcove_platform_" });
  try {
    const script = `${dir}/no-interpreter`;
    await Deno.writeTextFile(script, "echo from sh\n", { mode: 0o755 });
    await withDriver(async (drv) => {
      const p = await drv.fork([]);
      if (PLATFORM === "musl") {
        // musl's execvp does not retry with /bin/sh: the process stays a control process.
        const e = await assertRejects(() => drv.execvp([p], script, ["x"]), SystemCallError);
        assertEquals(e.code, "ENOEXEC");
        assertEquals(await drv.getpid([p]), p);
        return;
      }
      await drv.execvp([p], script, ["x"]);
      assertEquals(await readAll(drv, [p]), "from sh\n");
      assertEquals(await drv.event([p], { timeout: 5000 }), { type: "exit", status: 0 });
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a control process started through an exec prefix answers calls", async () => {
  // Its emulator, where it runs in one (as `--platform aarch64` does), or a plain prefix.
  const drv = await Alcove.start({
    exec: EMULATOR ? EMULATOR.split(" ") : ["env", "--"],
    helper: CONTROL_EXECUTABLE,
  });
  try {
    assertEquals(await drv.getpid([]), drv.pid);
    const p = await drv.fork([]);
    assertEquals(await drv.getppid([p]), drv.pid);
  } finally {
    await drv.stop();
  }
});

Deno.test("csrc/build.sh, the build that needs only cc, compiles the sources the Makefile does", () => {
  const csrc = new URL("../csrc/", import.meta.url).pathname;
  const makefile = Deno.readTextFileSync(csrc + "Makefile").replace(/\\\n/g, " ");
  const fromMake = /^CORE = (.*)$/m.exec(makefile)![1].split(/\s+/)
    .filter((f) => f.endsWith(".c"));
  const buildSh = Deno.readTextFileSync(csrc + "build.sh");
  const fromSh = /^core="([^"]*)"/m.exec(buildSh)![1].split(/\s+/);
  assertEquals(fromSh.toSorted(), fromMake.toSorted());
  // The executable's own sources, beside the core.
  const exeMake = /^EXE_OBJ = .*\$\(CORE\) ([^)]*)\)$/m.exec(makefile)![1].split(/\s+/);
  const exeSh = /^exe="([^"]*)"/m.exec(buildSh)![1].split(/\s+/);
  assertEquals(exeSh.toSorted(), exeMake.toSorted());
  for (const flag of ["-D_FILE_OFFSET_BITS=64", "-D_TIME_BITS=64"]) {
    assertEquals(buildSh.includes(flag), makefile.includes(flag), flag);
  }
});
