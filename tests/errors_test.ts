// Error messages say what the call was about and what the errno means.
import { assertEquals, assertRejects } from "@std/assert";
import { SystemCallError } from "../mod.ts";
import { withDriver } from "./_helpers.ts";

Deno.test("SystemCallError names the path and gives the C library's text", async () => {
  await withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const exec = await assertRejects(
      () => drv.execvp([pid], "/bin/nope", ["nope"]),
      SystemCallError,
    );
    assertEquals(exec.message, `execvp /bin/nope in [${pid}]: ENOENT (No such file or directory)`);
    assertEquals([exec.code, exec.errno], ["ENOENT", 2]);
    const chdir = await assertRejects(() => drv.chdir([], "/nonexistent"), SystemCallError);
    assertEquals(chdir.message, "chdir /nonexistent: ENOENT (No such file or directory)");
    const kill = await assertRejects(() => drv.kill([], 0x7ffffff0, "SIGTERM"), SystemCallError);
    assertEquals(kill.message, "kill: ESRCH (No such process)");
  });
  assertEquals(new SystemCallError("setuid", [], "EPERM", 1).message, "setuid: EPERM");
});
