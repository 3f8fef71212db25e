/**
 * The call filter: calls a process refuses, calls its future children refuse, and
 * the rule that both sets only grow.
 *
 * @module
 */
import { assertEquals, assertRejects, assertStringIncludes } from "@std/assert";
import { Alcove, AlcoveError, FilteredError, UnsupportedError } from "../mod.ts";
import { withDriver } from "./_helpers.ts";

Deno.test("filter: a filtered fork fails in that process and works in others", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const other = await drv.fork([]);
    await drv.filter([pid], ["fork"], []);
    const e = await assertRejects(() => drv.fork([pid]), FilteredError);
    assertEquals(e.call, "fork");
    assertEquals(e.pipeline, [pid]);
    // A FilteredError is an UnsupportedError, like alcove's answer for a refused call.
    assertEquals(e instanceof UnsupportedError, true);
    const child = await drv.fork([other]);
    assertEquals(await drv.getpid([other, child]), child);
    assertEquals(await drv.getpid([pid]), pid);
    const more = await drv.fork([]);
    assertEquals(await drv.getppid([more]), drv.pid);
  }));

Deno.test("filter: the set only grows", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await drv.filter([pid], ["fork"], []);
    await drv.filter([pid], [], []);
    await assertRejects(() => drv.fork([pid]), FilteredError);
    await drv.filter([pid], ["getpid", "fork"], []);
    await assertRejects(() => drv.fork([pid]), FilteredError);
    await assertRejects(() => drv.getpid([pid]), FilteredError);
    // Unfiltered calls still answer, filter itself included.
    assertEquals(await drv.getppid([pid]), drv.pid);
    await drv.filter([pid], ["filter"], []);
    await assertRejects(() => drv.filter([pid], [], []), FilteredError);
    assertEquals(await drv.getppid([pid]), drv.pid);
  }));

Deno.test("filter: children forked later inherit the future set, children forked earlier do not", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    const before = await drv.fork([pid]);
    await drv.filter([pid], [], ["getcwd", "gethostname"]);
    // The future set does not apply to the process itself.
    assertEquals(typeof await drv.getcwd([pid]), "string");
    const after = await drv.fork([pid]);
    await assertRejects(() => drv.getcwd([pid, after]), FilteredError);
    await assertRejects(() => drv.gethostname([pid, after]), FilteredError);
    assertEquals(await drv.getpid([pid, after]), after);
    assertEquals(typeof await drv.getcwd([pid, before]), "string");
    // ... and their children inherit it again.
    const grandchild = await drv.fork([pid, after]);
    await assertRejects(() => drv.getcwd([pid, after, grandchild]), FilteredError);
    // A child can add to what it inherited, never remove.
    await drv.filter([pid, after], ["getpid"], []);
    await assertRejects(() => drv.getpid([pid, after]), FilteredError);
    assertEquals(await drv.getpid([pid, after, grandchild]), grandchild);
    // Clone inherits the future set too.
    const cloned = await drv.clone([pid], 0);
    await assertRejects(() => drv.gethostname([pid, cloned]), FilteredError);
  }));

Deno.test("filter: names in both spellings; unknown names are refused before sending", () =>
  withDriver(async (drv) => {
    const pid = await drv.fork([]);
    await drv.filter([pid], ["errnoId", "file_constant"], ["getcwd"]);
    await assertRejects(() => drv.errnoId([pid], 1), FilteredError);
    await assertRejects(() => drv.fileConstant([pid], "O_RDONLY"), FilteredError);
    await assertRejects(() => drv.filter([pid], ["nosuchcall"], []), RangeError, "calls[0]");
    await assertRejects(
      () => drv.filter([pid], [], ["fork", "stdout"]),
      RangeError,
      "childCalls[1]",
    );
    await assertRejects(() => drv.filter([pid], [1] as never, []), TypeError, "calls[0]");
    await assertRejects(() => drv.filter([pid], "fork" as never, []), TypeError, "calls");
    // Nothing was sent: fork still works there.
    const child = await drv.fork([pid]);
    assertEquals(await drv.getpid([pid, child]), child);
    assertEquals(await drv.errnoId([], 1), "EPERM");
  }));

Deno.test("await using on a process its parent cannot kill rejects, saying why, and never hangs", async () => {
  const drv = await Alcove.start();
  try {
    const parent = await drv.root.fork();
    const child = await parent.fork();
    const p = await parent.spawn(["sleep", "60"], { stdin: "null" });
    await parent.filter(["setcpid", "kill"], []);
    for (const [name, dispose] of [["Task", child], ["Process", p]] as const) {
      const e = await assertRejects(() => dispose[Symbol.asyncDispose](), AlcoveError);
      assertStringIncludes(e.message, "takes neither setcpid's kill_tree nor kill", name);
    }
  } finally {
    await drv.stop();
  }
});
