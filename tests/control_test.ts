/**
 * Regression tests for the control processes' own state: what a fork copies, signals, faults,
 * guards on their descriptors, memory, queues and limits. Each reproduces a defect that was
 * found by review and fixed.
 */
import { assert, assertEquals } from "@std/assert";
import type { Alcove } from "../mod.ts";
import { withDriver } from "./_helpers.ts";

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
