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
    assertEquals(chdir.text, "No such file or directory");
    // A path of a megabyte: the message shows its start and its length, not all of it.
    const long = "/" + "a".repeat(1 << 20);
    const huge = await assertRejects(() => drv.chdir([], long), SystemCallError);
    assertEquals(
      huge.message,
      `chdir ${
        long.slice(0, 128)
      }... (${long.length} characters): ENAMETOOLONG (File name too long)`,
    );
    // Without a path, the descriptor, pid or id the call was about, or its constant.
    const kill = await assertRejects(() => drv.kill([], 0x7ffffff0, "SIGTERM"), SystemCallError);
    assertEquals(kill.message, `kill pid ${0x7ffffff0}: ESRCH (No such process)`);
    const close = await assertRejects(() => drv.close([], 999), SystemCallError);
    assertEquals(close.message, "close fd 999: EBADF (Bad file descriptor)");
    const read = await assertRejects(() => drv.read([pid], 999, 10), SystemCallError);
    assertEquals(read.message, `read fd 999 in [${pid}]: EBADF (Bad file descriptor)`);
    await drv.setresuid([pid], 65534, 65534, 65534);
    const setuid = await assertRejects(() => drv.setuid([pid], 0), SystemCallError);
    assertEquals(setuid.message, `setuid uid 0 in [${pid}]: EPERM (Operation not permitted)`);
    const rlimit = await assertRejects(
      () => drv.setrlimit([pid], "RLIMIT_NOFILE", { cur: 10, max: 2 ** 40 }),
      SystemCallError,
    );
    assertEquals(
      rlimit.message,
      `setrlimit RLIMIT_NOFILE in [${pid}]: EPERM (Operation not permitted)`,
    );
  });
  assertEquals(new SystemCallError("setuid", [], "EPERM", 1).message, "setuid: EPERM");
});
