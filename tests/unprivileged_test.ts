import { assertEquals, assertRejects } from "@std/assert";
import { SystemCallError } from "../mod.ts";
import { findNative } from "../ffi/_native.ts";
import { IS_ROOT, needs, readAll, withDriver } from "./_helpers.ts";

const SETPRIV = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"];

function setprivMissing(): string | undefined {
  if (!IS_ROOT) return "needs root to start a control process as uid 65534 with setpriv";
  try {
    Deno.statSync("/usr/bin/setpriv");
  } catch {
    return "setpriv (util-linux) is not installed";
  }
  return undefined;
}

/** A copy of the control process that uid 65534 can run wherever the checkout is. */
async function publicHelper(): Promise<{ path: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await Deno.makeTempDir({ prefix: "alcove-unpriv-" });
  await Deno.chmod(dir, 0o755);
  const path = `${dir}/alcove`;
  await Deno.copyFile(findNative().helper, path);
  await Deno.chmod(path, 0o755);
  return { path, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

Deno.test(
  needs(
    "an unprivileged root control process still creates user and pid namespaces",
    setprivMissing(),
  ),
  async () => {
    await using helper = await publicHelper();
    await withDriver(async (drv) => {
      assertEquals(await drv.getuid([]), 65534);
      assertEquals(await drv.getgroups([]), []);
      // Without privilege a pid namespace alone is refused...
      const e = await assertRejects(() => drv.clone([], ["CLONE_NEWPID"]), SystemCallError);
      assertEquals(e.code, "EPERM");
      // ...but with a new user namespace it is allowed.
      const p = await drv.clone([], ["CLONE_NEWUSER", "CLONE_NEWPID", "CLONE_NEWUTS"]);
      assertEquals(await drv.getpid([p]), 1);
      await drv.sethostname([p], "unprivileged");
      assertEquals(await drv.gethostname([p]), "unprivileged");
      await drv.execvp([p], "/bin/sh", ["sh", "-c", "echo $$; hostname"]);
      assertEquals(await readAll(drv, [p]), "1\nunprivileged\n");
      assertEquals(await drv.event([p]), { type: "exit", status: 0 });
    }, { exec: SETPRIV, helper: helper.path });
  },
);

Deno.test(
  needs("a control process dropped to uid 65534 cannot regain root", setprivMissing()),
  async () => {
    await withDriver(async (drv) => {
      const p = await drv.fork([]);
      await drv.setgroups([p], []);
      await drv.setgid([p], 65534);
      await drv.setuid([p], 65534);
      assertEquals(await drv.getuid([p]), 65534);
      const e = await assertRejects(() => drv.setuid([p], 0), SystemCallError);
      assertEquals(e.code, "EPERM");
      await assertRejects(() => drv.sethostname([p], "x"), SystemCallError, "EPERM");
    });
  },
);
